"""DIGITS' textfile datasets and HDF5 databases over HTTP, with DIGITS'
field names: a dataset from uploaded "path label" lists, one from server
lists into HDF5 (gzip), a tiny model trained on the HDF5 one, and Test
One Image / Test Many on it."""
import os

import h5py
import numpy as np
import pytest

from server_fixtures import CLASSES, server, data_root  # noqa: F401
from test_digits_clients import TINY_NET

IMAGES = 'images'
# HDF5Data transforms nothing: the net scales the 0-255 pixels itself
HDF5_NET = '''
layer { name: "scale" type: "Power" bottom: "data" top: "scaled"
        power_param { scale: 0.00390625 } }
''' + TINY_NET.replace('bottom: "data"', 'bottom: "scaled"')


def list_text(data_root, names, prefix=''):
    """"path label" lines of the generated images ``names`` (per class)."""
    return ''.join('%s%s/%s %d\n' % (prefix, cls, name, label)
                   for label, cls in enumerate(CLASSES) for name in names)


def post_dataset(server, files=None, **fields):
    """A textfile dataset, shuffled with seed 0: a drawn seed (the server's
    default) made the tiny model below miss an image about once in 40."""
    form = dict(method='textfile', dataset_name='lists', resize_channels='1',
                resize_width='28', resize_height='28', seed='0')
    form.update(fields)
    return server.client.post('/datasets/images/classification.json', data=form,
                              files=files or {})


@pytest.fixture(scope='module')
def lists(data_root):
    """Server lists: train (paths relative to the images folder), val
    (absolute paths) and labels."""
    folder = data_root / 'lists'
    folder.mkdir(exist_ok=True)
    (folder / 'train.txt').write_text(list_text(data_root, ['%03d.png' % i for i in range(20)]))
    (folder / 'val.txt').write_text(list_text(
        data_root, ['%03d.png' % i for i in range(20, 26)], str(data_root / IMAGES) + '/'))
    (folder / 'labels.txt').write_text('\n'.join(CLASSES) + '\n')
    return folder


@pytest.fixture(scope='module')
def hdf5_dataset(server, data_root, lists):
    r = post_dataset(server, dataset_name='h5', textfile_use_local_files='true',
                     textfile_local_train_images=str(lists / 'train.txt'),
                     textfile_train_folder=str(data_root / IMAGES),
                     textfile_use_val='true', textfile_local_val_images=str(lists / 'val.txt'),
                     textfile_local_labels_file=str(lists / 'labels.txt'),
                     backend='hdf5', compression='gzip', encoding='png')
    assert r.status_code == 200, r.text
    job = r.json()['id']
    assert server.wait(job)['status'] == 'Done'
    return job


def test_uploaded_lists_make_an_lmdb_dataset_in_list_order(server, data_root):
    train = list_text(data_root, ['%03d.png' % i for i in range(4)])
    files = {'textfile_train_images': ('mine.txt', train),
             'textfile_labels_file': ('names.txt', '\n'.join(CLASSES) + '\n')}
    r = post_dataset(server, files, textfile_train_folder=str(data_root / IMAGES),
                     textfile_shuffle='0')
    assert r.status_code == 200, r.text
    job = r.json()['id']
    assert server.wait(job)['status'] == 'Done'
    d = server.client.get('/datasets/%s.json' % job).json()
    assert [(t['name'], t['entries'], t['backend']) for t in d['CreateDbTasks']] == [
        ('Create DB (train)', 12, 'lmdb')]
    assert d['ParseFolderTasks'] == []
    with open(os.path.join(server.jobs_dir, job, 'train.txt')) as f:
        written = f.read()
    # unshuffled: the records in the list's order, paths joined to the folder
    assert written == list_text(data_root, ['%03d.png' % i for i in range(4)],
                                str(data_root / IMAGES) + '/')


def test_bad_lists_are_refused_naming_the_file_and_line(server, data_root, lists):
    files = {'textfile_train_images': ('mine.txt', 'light/000.png 0\nlight/001.png 7\n'),
             'textfile_labels_file': ('names.txt', 'a\nb\n')}
    r = post_dataset(server, files, textfile_train_folder=str(data_root / IMAGES))
    assert r.status_code == 400
    assert r.json()['errors'] == {'textfile_train_images': [
        'mine.txt:2: label 7 but the labels file has 2 line(s) (labels 0 to 1)']}
    r = post_dataset(server, {'textfile_labels_file': ('names.txt', 'a\n')},
                     textfile_use_val='y', textfile_val_folder='/nowhere')
    assert r.status_code == 400
    assert set(r.json()['errors']) == {'textfile_train_images', 'textfile_val_images',
                                       'textfile_val_folder'}
    r = post_dataset(server, {'textfile_train_images': ('t.txt', '/etc/passwd.png 0\n'),
                              'textfile_labels_file': ('names.txt', 'a\n')})
    assert r.status_code == 400 and 't.txt:1: ' in r.json()['errors']['textfile_train_images'][0]
    assert 'outside the allowed data roots' in r.text
    r = post_dataset(server, textfile_use_local_files='1',
                     textfile_local_train_images=str(lists / 'missing.txt'),
                     textfile_local_labels_file=str(lists / 'labels.txt'))
    assert r.json()['errors'] == {'textfile_local_train_images': ['file does not exist']}


def test_hdf5_dataset_folder_and_json(server, hdf5_dataset):
    d = server.client.get('/datasets/%s.json' % hdf5_dataset).json()
    assert [(t['name'], t['entries'], t['backend'], t['compression'], t['encoding'])
            for t in d['CreateDbTasks']] == [('Create DB (train)', 60, 'hdf5', 'gzip', 'none'),
                                             ('Create DB (val)', 18, 'hdf5', 'gzip', 'none')]
    folder = os.path.join(server.jobs_dir, hdf5_dataset)
    listed = open(os.path.join(folder, 'train_db', 'list.txt')).read().split()
    assert listed == [os.path.join(folder, 'train_db', '0.h5')]
    with h5py.File(listed[0], 'r') as h5:
        assert (h5['data'].shape, h5['data'].dtype, h5['label'].shape) == (
            (60, 1, 28, 28), np.float32, (60,))
        assert h5['data'].compression == 'gzip'
        assert sorted(np.unique(h5['label'])) == [0, 1, 2]
    assert os.path.isfile(os.path.join(folder, 'mean.binaryproto'))
    page = server.client.get('/datasets/%s' % hdf5_dataset).text
    assert 'HDF5, gzip compression' in page and 'data:image/png' in page


def test_tiny_model_trained_on_hdf5_classifies(server, data_root, hdf5_dataset):
    r = server.client.post('/models/images/classification.json', data=dict(
        model_name='tiny-h5', dataset=hdf5_dataset, method='custom', custom_network=HDF5_NET,
        batch_size='10', train_epochs='5', framework='caffe', random_seed='1',
        learning_rate='0.05', lr_policy='fixed', use_mean='image'))
    assert r.status_code == 200, r.text
    model = r.json()['id']
    assert server.wait(model)['status'] == 'Done'
    train_val = open(os.path.join(server.jobs_dir, model, 'train_val.prototxt')).read()
    assert train_val.count('type: "HDF5Data"') == 2 and 'mean_file' not in train_val
    image = (data_root / IMAGES / 'light' / '025.png').read_bytes()
    one = server.client.post('/models/images/classification/classify_one.json',
                             data={'job_id': model}, files={'image_file': ('i.png', image)})
    assert one.json()['predictions'][0][0] == 'light', one.text
    many = server.client.post('/models/images/classification/classify_many.json',
                              data={'job_id': model, 'image_folder': str(data_root / IMAGES)},
                              files={'image_list': ('l.txt', list_text(data_root, ['029.png']))})
    assert many.status_code == 200, many.text
    assert [p[0][0] for p in many.json()['classifications'].values()] == list(CLASSES)
    r = server.client.post('/models/images/classification.json', data=dict(
        model_name='crop', dataset=hdf5_dataset, method='custom', custom_network=TINY_NET,
        crop_size='20', framework='caffe'))
    assert r.status_code == 400 and 'HDF5Data layer does not support cropping' in r.text
