"""DIGITS' textfile lists (parsing and refusals naming file:line), its HDF5
databases (datasets, dtypes, file split, read back by caffelite's HDF5Data
layer), the textfile/HDF5 form rules, and the split's HDF5Data layers."""
import os

import h5py
import numpy as np
import pytest
from PIL import Image

from caffelite import TRAIN, Net
from caffelite.digits import forms, hdf5_db, networks, split
from caffelite.digits.image_urls import FetchError
from caffelite.digits.inference import read_image_list
from caffelite.digits.textfiles import read_labelled_list
from caffelite.errors import NetError, ParseError
from caffelite.protoio import parse_text
from caffelite.proto import caffe_pb2
from caffelite.tools import dataset

H5 = split.Dataset('/jobs/h/train_db/list.txt', '/jobs/h/val_db/list.txt',
                   '/jobs/h/mean.binaryproto', [101.5], 28, 28, 1, 3, 'hdf5')
NO_DATA_NET = '''
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss"
        exclude { stage: "deploy" } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" include { stage: "deploy" } }
'''


def test_list_lines_as_digits_reads_them(tmp_path):
    listed = tmp_path / 'train.txt'
    listed.write_text('a b/c d.png 2\n\n  /abs/x.jpg\t0  \nrel.png 1\n')
    assert read_labelled_list(str(listed), '/images', 3) == [
        ('a b/c d.png', '/images/a b/c d.png', 2), ('/abs/x.jpg', '/abs/x.jpg', 0),
        ('rel.png', '/images/rel.png', 1)]
    # classify_many's lists follow the same line rule, labels optional
    assert read_image_list('x.png\nhttp://h/y.png 3\n', '/f') == (
        ['/f/x.png', 'http://h/y.png'], [None, 3])


@pytest.mark.parametrize('text, folder, message', [
    ('a.png 0\nb.png\n', '/i', 'up.txt:2: expected "path label"'),
    ('a.png 0\nb.png -1\n', '/i', 'up.txt:2: expected "path label"'),
    ('a.png 3\n', '/i', 'up.txt:1: label 3 but the labels file has 3 line(s)'),
    ('a.png 0\n', None, 'up.txt:1: a.png is a relative path'),
    ('\n\n', '/i', 'up.txt: no valid lines'),
])
def test_bad_lists_name_the_file_and_line(tmp_path, text, folder, message):
    listed = tmp_path / 'list.txt'
    listed.write_text(text)
    with pytest.raises(ParseError) as e:
        read_labelled_list(str(listed), folder, 3, 'up.txt')
    assert str(e.value).startswith(message)


def test_listed_urls_are_fetched_and_a_failure_names_the_line(tmp_path):
    """An http(s) URL is an image DIGITS downloads: kept as listed (not
    joined to the folder), handed to ``fetch`` with the list's other URLs
    once the list is read; the first URL that fails names its line."""
    listed = tmp_path / 'list.txt'
    listed.write_text('HTTPS://h/a.png 0\n/i/c.png 0\nhttp://h/b.png 1\nHTTPS://h/a.png 1\n')
    fetched = []
    assert read_labelled_list(str(listed), '/i', 2, fetch=fetched.append) == [
        ('HTTPS://h/a.png', 'HTTPS://h/a.png', 0), ('/i/c.png', '/i/c.png', 0),
        ('http://h/b.png', 'http://h/b.png', 1), ('HTTPS://h/a.png', 'HTTPS://h/a.png', 1)]
    assert fetched == [['HTTPS://h/a.png', 'http://h/b.png', 'HTTPS://h/a.png']]

    def refuse(urls):
        raise FetchError(urls[1], 'cannot fetch the image %s: timed out' % urls[1])
    with pytest.raises(ParseError, match=r'^up.txt:3: cannot fetch the image http://h/b.png: '
                                         r'timed out$'):
        read_labelled_list(str(listed), '/i', 2, 'up.txt', fetch=refuse)


def test_hdf5_writer_splits_files_as_digits(tmp_path):
    images = (np.arange(7 * 2 * 3 * 4) % 251).reshape(7, 2, 3, 4).astype(np.uint8)
    folder = tmp_path / 'train_db'
    # a limit of 3 images' values: files 0.h5, 3.h5, 6.h5
    with hdf5_db.Hdf5DbWriter(str(folder), (2, 3, 4), 'gzip', limit=3 * 24 + 5,
                              list_dir='/final/train_db') as db:
        for i, chw in enumerate(images):
            db.add(chw, i % 3)
    assert (folder / 'list.txt').read_text().split() == [
        '/final/train_db/0.h5', '/final/train_db/3.h5', '/final/train_db/6.h5']
    with h5py.File(folder / '3.h5', 'r') as h5:
        assert (h5['data'].dtype, h5['data'].shape, h5['data'].maxshape) == (
            np.float32, (3, 2, 3, 4), (3, 2, 3, 4))
        assert h5['data'].compression == 'gzip' and h5['label'].dtype == np.float32
        np.testing.assert_array_equal(h5['data'][:], images[3:6])
        np.testing.assert_array_equal(h5['label'][:], [0, 1, 2])


def test_hdf5_dataset_feeds_hdf5data_in_list_order(tmp_path):
    """An unshuffled list into HDF5 (BGR planes, raw values), read back
    through caffelite's HDF5Data layer as a split train_val would."""
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]
    items = []
    for i, rgb in enumerate(colors):
        path = str(tmp_path / ('%d.png' % i))
        Image.new('RGB', (5, 4), rgb).save(path)
        items.append(dataset.Item(path, '%d.png' % i, i % 2))
    out = tmp_path / 'ds'
    dataset.create_dataset(str(out), items, ['a', 'b'], 5, 4, True, 'squash', 0, 0, 'none',
                           shuffle=False, backend='hdf5')
    assert sorted(os.listdir(out)) == ['labels.txt', 'mean.binaryproto', 'mean.jpg',
                                       'train.txt', 'train_db']
    net = parse_text('''layer { name: "d" type: "HDF5Data" top: "data" top: "label"
                          hdf5_data_param { source: "%s" batch_size: 4 } }'''
                     % (out / 'train_db' / 'list.txt'), caffe_pb2.NetParameter())
    blobs = Net(net, TRAIN).forward()
    np.testing.assert_array_equal(blobs['data'][:, :, 0, 0],
                                  [list(reversed(c)) for c in colors])
    np.testing.assert_array_equal(blobs['label'], [0, 1, 0, 1])


def test_hdf5_options_are_checked(tmp_path):
    item = [dataset.Item('/x.png', 'x.png', 0)]
    for kwargs, message in (({'backend': 'hdf5', 'encoding': 'png'}, 'raw pixels'),
                            ({'backend': 'lmdb', 'compression': 'gzip'}, 'LMDB takes none'),
                            ({'backend': 'tfrecords'}, 'unknown backend')):
        with pytest.raises(Exception, match=message):
            dataset.create_dataset(str(tmp_path / 'o'), item, ['a'], **kwargs)


def test_textfile_form_fields_and_backend_rules():
    values, errors = forms.parse_dataset_form({
        'dataset_name': 'x', 'method': 'textfile', 'textfile_use_local_files': 'y',
        'textfile_use_test': 'y', 'backend': 'hdf5', 'encoding': 'jpg', 'compression': 'gzip'})
    assert errors == {name: ['This field is required.'] for name in (
        'textfile_local_train_images', 'textfile_local_test_images',
        'textfile_local_labels_file')}
    # a missing checkbox is unchecked, as wtforms reads it; the form shows it checked
    assert values['textfile_use_val'] is False
    assert forms.DATASET_FIELDS['textfile_use_val'].initial is True
    assert (values['encoding'], values['compression'], values['textfile_shuffle']) == (
        'none', 'gzip', '1')
    values, errors = forms.parse_dataset_form({
        'dataset_name': 'x', 'method': 'textfile', 'textfile_use_val': '1',
        'compression': 'gzip', 'folder_pct_val': '80', 'folder_pct_test': '80'})
    assert values['compression'] == 'none' and 'folder_pct_val' not in errors
    assert forms.textfile_uploads(values) == {'textfile_train_images': 'train.txt',
                                              'textfile_val_images': 'val.txt',
                                              'textfile_labels_file': 'labels.txt'}
    _, errors = forms.parse_dataset_form({'dataset_name': 'x', 'textfile_shuffle': 'yes',
                                          'method': 'textfile', 'textfile_use_local_files': '1',
                                          'textfile_local_train_images': '/t.txt',
                                          'textfile_local_labels_file': '/l.txt'})
    assert errors == {'textfile_shuffle': ['Not a valid choice']}


def test_split_for_hdf5_makes_hdf5data_layers_without_mean():
    net = parse_text(NO_DATA_NET, caffe_pb2.NetParameter())
    s = split.split_classification(net, H5, batch_size=8)
    train, val = s.train_val.layer[:2]
    assert (train.type, train.hdf5_data_param.source, train.hdf5_data_param.batch_size) == (
        'HDF5Data', '/jobs/h/train_db/list.txt', 8)
    assert val.hdf5_data_param.source == '/jobs/h/val_db/list.txt'
    assert not train.HasField('transform_param') and s.use_mean == 'none'
    assert (s.train_batch, s.val_batch) == (8, 8)
    assert split.split_classification(net, H5._replace(backend='lmdb')).use_mean == 'image'


@pytest.mark.parametrize('kwargs, message', [
    ({'crop_size': 20}, 'HDF5Data layer does not support cropping'),
    ({'use_mean': 'pixel'}, 'HDF5Data layer does not support mean subtraction'),
    ({'network': 'lenet'}, "'train-data': expecting an HDF5Data layer"),
])
def test_split_for_hdf5_refuses_what_digits_refuses(kwargs, message):
    net = networks.lenet() if kwargs.pop('network', None) else \
        parse_text(NO_DATA_NET, caffe_pb2.NetParameter())
    with pytest.raises(NetError, match=message):
        split.split_classification(net, H5, **kwargs)
