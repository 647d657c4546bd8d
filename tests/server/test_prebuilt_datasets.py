"""DIGITS' generic image dataset ("New Dataset > Images > Other") of
prebuilt LMDBs, as its regression, siamese and autoencoder walkthroughs use
it: image and label databases and a mean file on the server, a custom
generic network trained on them and inferred with infer_one."""
import io

import lmdb
import numpy as np
import pytest
from PIL import Image

from caffelite.digits import split
from caffelite.digits.forms import parse_prebuilt_dataset_form
from caffelite.proto import caffe_pb2
from caffelite.protoio import parse_text

from server_fixtures import data_root, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')

# the regression walkthrough's network: one InnerProduct learns two numbers
REGRESSION_NET = '''
layer { name: "scale" type: "Power" bottom: "data" top: "scale" power_param { scale: 0.004 } }
layer { name: "hidden" type: "InnerProduct" bottom: "scale" top: "output"
        inner_product_param { num_output: 2 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "output" bottom: "label" top: "loss"
        exclude { stage: "deploy" } }
'''


def write_lmdbs(folder, count, size=8, seed=0, bad_last=False):
    """``folder/{images,labels}`` as DIGITS' test_lmdb_creator writes them
    (PNG-encoded gray images, float labels of shape 1 x 1 x 2) and
    ``folder/mean.binaryproto``; with ``bad_last`` the last image is larger."""
    rng = np.random.RandomState(seed)
    images = lmdb.open(str(folder / 'images'), map_size=1 << 24)
    labels = lmdb.open(str(folder / 'labels'), map_size=1 << 24)
    with images.begin(write=True) as ti, labels.begin(write=True) as tl:
        for i in range(count):
            side = size + 2 if bad_last and i == count - 1 else size
            pixels = rng.randint(0, 255, (side, side)).astype(np.uint8)
            png = io.BytesIO()
            Image.fromarray(pixels).save(png, format='PNG')
            datum = caffe_pb2.Datum(channels=1, height=side, width=side, encoded=True,
                                    data=png.getvalue())
            ti.put(b'%08d' % i, datum.SerializeToString())
            label = caffe_pb2.Datum(channels=1, height=1, width=2)
            label.float_data.extend([pixels.mean() / 255.0, 0.5])
            tl.put(b'%08d' % i, label.SerializeToString())
    images.close()
    labels.close()
    blob = caffe_pb2.BlobProto(num=1, channels=1, height=size, width=size,
                               data=[127.0] * (size * size))
    (folder / 'mean.binaryproto').write_bytes(blob.SerializeToString())
    return folder


@pytest.fixture(scope='module')
def lmdbs(data_root):
    folder = data_root / 'prebuilt'
    for name, count in (('train', 24), ('val', 8)):
        (folder / name).mkdir(parents=True)
        write_lmdbs(folder / name, count, seed=count)
    return folder


def prebuilt_form(lmdbs, **fields):
    form = dict(dataset_name='gradients',
                prebuilt_train_images=str(lmdbs / 'train' / 'images'),
                prebuilt_train_labels=str(lmdbs / 'train' / 'labels'),
                prebuilt_val_images=str(lmdbs / 'val' / 'images'),
                prebuilt_val_labels=str(lmdbs / 'val' / 'labels'),
                prebuilt_mean_file=str(lmdbs / 'train' / 'mean.binaryproto'))
    form.update(fields)
    return form


def test_prebuilt_form_fields():
    """DIGITS' fields: training images required, the rest optional;
    validation labels without validation images are refused."""
    values, errors = parse_prebuilt_dataset_form({'dataset_name': 'x'})
    assert errors == {'prebuilt_train_images': ['This field is required.']}
    values, errors = parse_prebuilt_dataset_form({
        'dataset_name': 'x', 'prebuilt_train_images': ' /a ', 'prebuilt_val_labels': '/b',
        'force_same_shape': '0'})
    assert values['prebuilt_train_images'] == '/a' and values['force_same_shape'] is False
    assert list(errors) == ['prebuilt_val_images']


def test_generic_split_without_mean_subtracts_none():
    """DIGITS subtracts no mean when a generic dataset has none (its
    autoencoder walkthrough leaves the field blank): the split's data layer
    names no mean and reports use_mean 'none' for inference."""
    network = caffe_pb2.NetParameter()
    parse_text(REGRESSION_NET, network)
    dataset = split.GenericDataset('train_images', 'train_labels', None, None, None, None,
                                   8, 8, 1)
    cut = split.split_generic(network, dataset, use_mean='image')
    assert cut.use_mean == 'none'
    data = [lp for lp in cut.train_val.layer if lp.type == 'Data' and 'data' in lp.top][0]
    assert not data.transform_param.HasField('mean_file')
    assert data.data_param.source == 'train_images'


def test_prebuilt_dataset_and_regression_model(server, lmdbs):
    """The regression walkthrough over HTTP: the generic dataset of four
    LMDBs and a mean, its JSON (entries and shapes of each database), its
    page; a generic model of the walkthrough's network trains on it and
    infer_one answers the two outputs."""
    r = server.client.post('/datasets/images/generic.json', data=prebuilt_form(lmdbs))
    assert r.status_code == 200, r.text
    dataset = r.json()['id']
    assert server.wait(dataset)['status'] == 'Done'
    status = server.client.get('/datasets/%s/status' % dataset).json()
    assert status['type'] == 'Generic Image Dataset'
    info = server.client.get('/datasets/%s.json' % dataset).json()
    assert info['feature_dims'] == [8, 8, 1] and info['label_dims'] == [1, 1, 2]
    assert info['mean file'] == 'mean.binaryproto'
    assert [(t['purpose'], t['entry_count'], t['image_width']) for t in
            info['analyze_db_tasks']] == [('Training Images', 24, 8), ('Training Labels', 24, 2),
                                          ('Validation Images', 8, 8),
                                          ('Validation Labels', 8, 2)]
    page = server.client.get('/datasets/%s' % dataset)
    assert page.status_code == 200 and '24 entries of 1×8×8' in page.text
    assert 'name="prebuilt_mean_file"' in server.client.get('/datasets/images/generic/new').text
    assert dataset in server.client.get('/models/images/generic/new').text
    r = server.client.post('/models/images/generic.json', data=dict(
        method='custom', custom_network=REGRESSION_NET, dataset=dataset, train_epochs=2,
        batch_size=8, model_name='regression'))
    assert r.status_code == 200, r.text
    model = r.json()['id']
    assert server.wait(model)['status'] == 'Done'
    train_val = (server.jobs_dir + '/%s/train_val.prototxt') % model
    with open(train_val) as f:
        text = f.read()
    assert str(lmdbs / 'val' / 'labels') in text and 'mean.binaryproto' in text
    # DIGITS' JSON of a model of a dataset without labels names no labels file
    info = server.client.get('/models/%s.json' % model).json()
    assert 'labels file' not in info and info['mean file'] == 'mean.binaryproto'
    png = io.BytesIO()
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(png, format='PNG')
    r = server.client.post('/models/images/generic/infer_one.json', data={'job_id': model},
                           files={'image_file': ('x.png', png.getvalue())})
    assert r.status_code == 200, r.text
    assert np.asarray(r.json()['outputs']['output']).shape == (1, 2)
    # its page tests images with the generic routes, not classify_one
    page = server.client.get('/models/%s' % model).text
    assert 'data-test="infer_one"' in page and 'classify_one' not in page
    # a classification model cannot use it, as DIGITS lists it only for generic models
    r = server.client.post('/models/images/classification.json', data=dict(
        method='standard', standard_networks='lenet', dataset=dataset, model_name='no'))
    assert r.status_code == 400 and 'dataset' in r.json()['errors']


def test_prebuilt_dataset_errors(server, lmdbs, data_root):
    """Paths that do not exist are wtforms errors; an entry of another shape
    fails the job naming the database and key (force_same_shape), and is let
    through with force_same_shape=0."""
    r = server.client.post('/datasets/images/generic.json', data=prebuilt_form(
        lmdbs, prebuilt_train_labels=str(lmdbs / 'missing'),
        prebuilt_mean_file=str(lmdbs / 'missing.binaryproto')))
    assert r.status_code == 400
    assert r.json()['errors'] == {'prebuilt_train_labels': ['Folder does not exist'],
                                  'prebuilt_mean_file': ['File does not exist']}
    bad = data_root / 'prebuilt-bad'
    bad.mkdir()
    write_lmdbs(bad, 3, bad_last=True)
    form = dict(dataset_name='bad', prebuilt_train_images=str(bad / 'images'))
    r = server.client.post('/datasets/images/generic.json', data=form)
    failed = server.wait(r.json()['id'])
    assert failed['status'] == 'Error'
    assert str(bad / 'images') in failed['error'] and "'00000002'" in failed['error']
    r = server.client.post('/datasets/images/generic.json', data=dict(form, force_same_shape='0'))
    assert server.wait(r.json()['id'])['status'] == 'Done'
