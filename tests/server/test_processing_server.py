"""caffelite serve as DIGITS' binary-segmentation walkthrough uses it: the
image-processing dataset form (feature and label image folders) and a
fully convolutional generic model trained on it, over HTTP."""
import os

import numpy as np
import pytest
from PIL import Image

from caffelite.codec import datum_to_array
from caffelite.digits import processing
from caffelite.lmdbs import open_readonly
from caffelite.proto import caffe_pb2

from server_fixtures import data_root, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
URL = '/datasets/generic/create/image-processing.json'
# the walkthrough's model, narrowed: conv, deconv, L1Loss against the label image
SEGMENTATION_NET = '''
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 4 stride: 4
                            weight_filler { type: "gaussian" std: 0.001 } } }
layer { name: "upsample" type: "Deconvolution" bottom: "conv1" top: "upsample"
        convolution_param { num_output: 1 kernel_size: 4 stride: 4
                            bias_filler { type: "constant" value: 128.0 } } }
layer { name: "lossL1" type: "L1Loss" bottom: "upsample" bottom: "label" top: "lossL1"
        exclude { stage: "deploy" } }
'''


@pytest.fixture(scope='module')
def triangles(data_root):
    """``input/NN.png`` (an outlined square) and ``target/NN.png`` (it
    filled), 16x16 gray."""
    root = data_root / 'segmentation'
    rng = np.random.RandomState(0)
    for sub in ('input', 'target'):
        (root / sub).mkdir(parents=True)
    for i in range(10):
        x, y = rng.randint(0, 8, 2)
        target = np.zeros((16, 16), np.uint8)
        target[y:y + 8, x:x + 8] = 255
        outline = target.copy()
        outline[y + 1:y + 7, x + 1:x + 7] = 0
        Image.fromarray(outline).save(root / 'input' / ('%02d.png' % i))
        Image.fromarray(target).save(root / 'target' / ('%02d.png' % i))
    return root


def test_processing_dataset_and_segmentation_model(server, triangles):
    """DIGITS' fields (feature_folder, label_folder, folder_pct_val...) make
    train_db/val_db features and labels; the walkthrough's kind of model
    (use_mean pixel) trains on them and infer_one answers an image."""
    form = server.client.get('/datasets/generic/new/image-processing').text
    for field in ('feature_folder', 'label_folder', 'folder_pct_val', 'has_val_folder',
                  'validation_feature_folder', 'channel_conversion', 'dsopts_feature_encoding',
                  'dsopts_label_encoding', 'seed'):
        assert 'name="%s"' % field in form
    # DIGITS' defaults: PNG features, raw labels
    assert '<option value="png" selected>' in form.split('name="dsopts_label_encoding"')[0]
    assert '<option value="none" selected>' in form.split('name="dsopts_label_encoding"')[1]
    r = server.client.post(URL, data=dict(dataset_name='squares', folder_pct_val='20',
                                          feature_folder=str(triangles / 'input'),
                                          label_folder=str(triangles / 'target')))
    assert r.status_code == 200, r.text
    dataset = r.json()['id']
    assert server.wait(dataset)['status'] == 'Done'
    info = server.client.get('/datasets/%s.json' % dataset).json()
    assert info['extension_id'] == 'image-processing' and info['feature_dims'] == [16, 16, 1]
    assert [(t['stage'], t['entry_count']) for t in info['create_db_tasks']] == [
        ('train', 8), ('val', 2)]
    # the validation pairs are those the job's own recorded seed draws
    pairs = processing.pair_folders(str(triangles / 'input'), str(triangles / 'target'))
    expected = [np.asarray(Image.open(feature)) for feature, _ in
                processing.split_pairs(pairs, 20, info['seed'])['val']]
    with open_readonly(os.path.join(server.jobs_dir, dataset, 'val_db', 'features')).begin() \
            as txn:
        stored = [datum_to_array(caffe_pb2.Datum.FromString(v))[0] for _, v in txn.cursor()]
    assert len(stored) == 2 and all(np.array_equal(a, b) for a, b in zip(stored, expected))
    # the encodings DIGITS' form names, its defaults here: PNG features, raw labels
    for db, encoded in (('features', True), ('labels', False)):
        with open_readonly(os.path.join(server.jobs_dir, dataset, 'train_db', db)).begin() \
                as txn:
            assert {caffe_pb2.Datum.FromString(v).encoded for _, v in txn.cursor()} == {encoded}
    assert 'Image processing dataset' in server.client.get('/datasets/%s' % dataset).text
    r = server.client.post('/models/images/generic.json', data=dict(
        method='custom', custom_network=SEGMENTATION_NET, dataset=dataset, use_mean='pixel',
        train_epochs='2', batch_size='4', learning_rate='1e-4', model_name='segmentation'))
    assert r.status_code == 200, r.text
    model = r.json()['id']
    assert server.wait(model)['status'] == 'Done'
    r = server.client.post('/models/images/generic/infer_one.json', data={
        'job_id': model, 'image_path': str(triangles / 'input' / '00.png')})
    assert r.status_code == 200, r.text
    assert np.asarray(r.json()['outputs']['upsample']).shape == (1, 1, 16, 16)


def test_processing_dataset_form_errors(server, triangles):
    """Required folders, separate validation folders required with
    has_val_folder, pairs matched by name; other extensions are 404."""
    r = server.client.post(URL, data=dict(dataset_name='x', has_val_folder='y'))
    assert r.status_code == 400
    assert sorted(r.json()['errors']) == ['feature_folder', 'label_folder',
                                          'validation_feature_folder',
                                          'validation_label_folder']
    partial = triangles / 'partial'
    partial.mkdir()
    (partial / '00.png').write_bytes((triangles / 'target' / '00.png').read_bytes())
    r = server.client.post(URL, data=dict(dataset_name='x',
                                          feature_folder=str(triangles / 'input'),
                                          label_folder=str(partial)))
    failed = server.wait(r.json()['id'])
    assert failed['status'] == 'Error' and "has no image named" in failed['error']
    assert server.client.get('/datasets/generic/new/image-segmentation').status_code == 404
    r = server.client.post(URL, data=dict(dataset_name='x', dsopts_label_encoding='gif',
                                          feature_folder=str(triangles / 'input'),
                                          label_folder=str(triangles / 'target')))
    assert r.status_code == 400 and r.json()['errors'] == {
        'dsopts_label_encoding': ['Not a valid choice']}
    r = server.client.post(URL, data=dict(dataset_name='jpeg labels', dsopts_label_encoding='jpg',
                                          dsopts_feature_encoding='none',
                                          feature_folder=str(triangles / 'input'),
                                          label_folder=str(triangles / 'target')))
    assert server.wait(r.json()['id'])['status'] == 'Done'
    folder = os.path.join(server.jobs_dir, r.json()['id'], 'train_db')
    with open_readonly(os.path.join(folder, 'labels')).begin() as txn:
        assert next(iter(txn.cursor()))[1].find(b'\xff\xd8') >= 0
    with open_readonly(os.path.join(folder, 'features')).begin() as txn:
        assert not caffe_pb2.Datum.FromString(next(iter(txn.cursor()))[1]).encoded
