"""caffelite serve as DIGITS' medical-imaging walkthrough uses it: the
Sunnybrook dataset form (DICOM images and contour folders) over HTTP, and
a generic model trained on its 16-bit features."""
import importlib.util
import os
import pathlib

import numpy as np
import pytest

from caffelite.codec import datum_to_array
from caffelite.lmdbs import open_readonly
from caffelite.proto import caffe_pb2
from server_fixtures import data_root, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
URL = '/datasets/generic/create/image-sunnybrook.json'
# the generated challenge files of the plug-in's unit tests, shared
_spec = importlib.util.spec_from_file_location(
    'sunnybrook_files', pathlib.Path(__file__).parents[1] / 'digits' / 'test_digits_sunnybrook.py')
sunnybrook_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sunnybrook_files)
# a per-pixel two-class scorer of the 16-bit image, as the walkthrough's FCN ends
SEGMENTATION_NET = '''
layer { name: "scale" type: "Power" bottom: "data" top: "scaled" power_param { scale: 0.001 } }
layer { name: "score" type: "Convolution" bottom: "scaled" top: "score"
        convolution_param { num_output: 2 kernel_size: 3 pad: 1
                            weight_filler { type: "gaussian" std: 0.01 } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss"
        exclude { stage: "deploy" } }
'''


@pytest.fixture(scope='module')
def challenge(data_root):
    return sunnybrook_files.write_challenge(data_root / 'sunnybrook', images_per_case=5)


@pytest.fixture(scope='module')
def sunnybrook_model(server, challenge):
    """(dataset job id, model job id) of a grayscale Sunnybrook dataset and
    a generic model trained on it."""
    images, contours = challenge
    r = server.client.post(URL, data=dict(dataset_name='lv-infer', folder_pct_val='20',
                                          image_folder=str(images),
                                          contour_folder=str(contours)))
    dataset = r.json()['id']
    assert server.wait(dataset)['status'] == 'Done'
    r = server.client.post('/models/images/generic.json', data=dict(
        method='custom', custom_network=SEGMENTATION_NET, dataset=dataset, use_mean='none',
        train_epochs='1', batch_size='4', learning_rate='0.01', model_name='lv-infer'))
    assert server.wait(r.json()['id'])['status'] == 'Done'
    return dataset, r.json()['id']


def deploy_scores(server, model, feature):
    """The deploy net's 'score' of an H x W feature fed as it is, the net
    reshaped to H x W."""
    from caffelite.model_folder import latest_snapshot
    from caffelite.net import TEST, Net
    folder = os.path.join(server.jobs_dir, model)
    net = Net(os.path.join(folder, 'deploy.prototxt'), TEST)
    net.copy_from(latest_snapshot(folder))
    net.blobs['data'].reshape(1, 1, *np.shape(feature)[-2:])
    net.reshape()
    net.blobs['data'].data[...] = feature
    return net.forward()['score']


def test_sunnybrook_inference_as_its_form(server, challenge, sunnybrook_model):
    """infer_one takes the plug-in's inference form: a record of the
    validation set, or a DICOM image by path or upload; the net is fed
    the raw 16-bit pixels (DIGITS' extension inference), and DIGITS'
    infer_extension route answers the same, keyed by record."""
    dataset, model = sunnybrook_model
    with open_readonly(os.path.join(server.jobs_dir, dataset, 'val_db', 'features')).begin() \
            as txn:
        record = datum_to_array(caffe_pb2.Datum.FromString(next(iter(txn.cursor()))[1]))
    expected = deploy_scores(server, model, record)
    r = server.client.post('/models/images/generic/infer_one.json',
                           data=dict(job_id=model, validation_record='0'))
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()['outputs']['score'], expected, rtol=1e-5, atol=1e-6)
    r = server.client.post('/models/images/generic/infer_extension.json',
                           data=dict(job_id=model, validation_record='0'))
    np.testing.assert_allclose(r.json()['outputs']['000000000']['score'], expected[0],
                               rtol=1e-5, atol=1e-6)
    page = server.client.get('/models/%s' % model).text
    assert 'name="validation_record"' in page and 'SC-' in page
    images, _ = challenge
    dicom = sorted(pathlib.Path(images).rglob('*.dcm'))[0]
    from caffelite.digits.sunnybrook import read_dicom
    expected = deploy_scores(server, model, read_dicom(str(dicom)))
    r = server.client.post('/models/images/generic/infer_one.json',
                           data=dict(job_id=model, image_path=str(dicom)))
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()['outputs']['score'], expected, rtol=1e-5, atol=1e-6)
    with open(dicom, 'rb') as f:
        r = server.client.post('/models/images/generic/infer_one.json', data=dict(job_id=model),
                               files={'image_file': ('slice.dcm', f.read())})
    np.testing.assert_allclose(r.json()['outputs']['score'], expected, rtol=1e-5, atol=1e-6)
    r = server.client.post('/models/images/generic/infer_one.json', data=dict(
        job_id=model, image_path=str(dicom), validation_record='0'))
    assert r.status_code == 400 and 'either an image or a record' in r.text
    r = server.client.post('/models/images/generic/infer_one.json',
                           data=dict(job_id=model, validation_record='99'))
    assert r.status_code == 400 and 'not a record of the validation set' in r.text


def test_sunnybrook_segmentation_page(server, sunnybrook_model):
    """The HTML answer is DIGITS' image-segmentation view: the input, the
    class map the page colours (the dataset's palette by default), the
    legend of the classes found, the opacity/mask/line-width options."""
    _, model = sunnybrook_model
    r = server.client.post('/models/images/generic/infer_one',
                           data=dict(job_id=model, validation_record='0'))
    assert r.status_code == 200, r.text
    assert 'class="seg-view"' in r.text and 'data-colours="#000000,#ffffff"' in r.text
    for option in ('opacity', 'mask', 'threshold', 'line_width', 'gamma', 'colormap'):
        assert 'data-option="%s"' % option in r.text
    assert 'value="0.3" data-option="opacity" data-default="0.3"' in r.text
    assert '/static/segmentation.js' in r.text
    r = server.client.post('/models/images/generic/infer_one', data=dict(
        job_id=model, validation_record='0', colormap='paired', opacity='0.6', threshold='-5'))
    # Paired over the class map's range: 0 its first colour, 1 its last (or
    # all the first when the map is one class)
    assert ('data-colours="#a6cee3,#b15928"' in r.text
            or 'data-colours="#a6cee3,#a6cee3"' in r.text)
    # the options the request names win over those the browser saved
    assert 'value="0.6" data-option="opacity" data-default="0.3" data-requested' in r.text
    assert 'value="-5" data-option="threshold" data-default="0" data-requested' in r.text
    assert 'data-option="mask" data-default="0.0" style' in r.text
    r = server.client.post('/models/images/generic/infer_one', data=dict(
        job_id=model, validation_record='0', line_width='9'))
    assert r.status_code == 400 and 'line_width must be an integer from 0 to 6' in r.text


def test_sunnybrook_dicom_of_another_size(server, data_root, sunnybrook_model):
    """A DICOM of another size than the net input's (24 x 20 beside 16 x
    16) is not resized: the net is reshaped to it, as DIGITS does, and the
    class map is at the image's size."""
    _, model = sunnybrook_model
    pixels = (np.arange(24 * 20).reshape(24, 20) * 3 + 1000) % 4000
    dicom = data_root / 'sunnybrook' / 'other-size.dcm'
    sunnybrook_files.write_dicom(dicom, pixels)
    r = server.client.post('/models/images/generic/infer_one.json',
                           data=dict(job_id=model, image_path=str(dicom)))
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()['outputs']['score'], deploy_scores(server, model, pixels),
                               rtol=1e-5, atol=1e-6)
    r = server.client.post('/models/images/generic/infer_one',
                           data=dict(job_id=model, image_path=str(dicom)))
    assert r.status_code == 200 and 'width="20" height="24"' in r.text
    # the net is back at its own size for the validation records
    r = server.client.post('/models/images/generic/infer_one.json',
                           data=dict(job_id=model, validation_record='0'))
    assert np.shape(r.json()['outputs']['score']) == (1, 2, 16, 16)


def test_sunnybrook_dataset_and_model(server, challenge):
    """DIGITS' fields (image_folder, contour_folder, channel_conversion,
    folder_pct_val) make train_db/val_db of raw 16-bit features and 0/1
    labels; a generic model trains on them."""
    images, contours = challenge
    form = server.client.get('/datasets/generic/new/image-sunnybrook').text
    for field in ('image_folder', 'contour_folder', 'channel_conversion', 'folder_pct_val',
                  'dsopts_feature_encoding', 'dsopts_label_encoding', 'seed'):
        assert 'name="%s"' % field in form
    assert 'image-sunnybrook' in server.client.get('/').text
    r = server.client.post(URL, data=dict(dataset_name='sunnybrook', folder_pct_val='20',
                                          image_folder=str(images),
                                          contour_folder=str(contours)))
    assert r.status_code == 200, r.text
    dataset = r.json()['id']
    assert server.wait(dataset)['status'] == 'Done'
    info = server.client.get('/datasets/%s.json' % dataset).json()
    assert info['extension_id'] == 'image-sunnybrook' and info['feature_dims'] == [16, 16, 1]
    assert [(t['stage'], t['entry_count']) for t in info['create_db_tasks']] == [
        ('train', 8), ('val', 2)]
    folder = os.path.join(server.jobs_dir, dataset, 'train_db')
    with open_readonly(os.path.join(folder, 'features')).begin() as txn:
        feature = datum_to_array(caffe_pb2.Datum.FromString(next(iter(txn.cursor()))[1]))
    with open_readonly(os.path.join(folder, 'labels')).begin() as txn:
        label = datum_to_array(caffe_pb2.Datum.FromString(next(iter(txn.cursor()))[1]))
    assert feature.min() >= 1000 and feature.max() > 255 and set(np.unique(label)) == {0, 1}
    page = server.client.get('/datasets/%s' % dataset).text
    assert 'Sunnybrook LV segmentation dataset' in page and str(contours) in page
    r = server.client.get('/datasets/generic/explore', params={
        'job_id': dataset, 'db': 'train_db/features', 'size': 2})
    assert r.status_code == 200 and r.text.count('<figure>') == 2
    r = server.client.post('/models/images/generic.json', data=dict(
        method='custom', custom_network=SEGMENTATION_NET, dataset=dataset, use_mean='none',
        train_epochs='2', batch_size='4', learning_rate='0.01', model_name='lv'))
    assert r.status_code == 200, r.text
    assert server.wait(r.json()['id'])['status'] == 'Done'


def test_sunnybrook_form_errors(server, challenge):
    """Required folders; PNG or JPEG of 16-bit features refused; a
    contour folder with no contours fails the job, saying so."""
    images, contours = challenge
    r = server.client.post(URL, data=dict(dataset_name='x', dsopts_feature_encoding='png'))
    assert r.status_code == 400
    assert sorted(r.json()['errors']) == ['contour_folder', 'dsopts_feature_encoding',
                                          'image_folder']
    r = server.client.post(URL, data=dict(dataset_name='x', image_folder=str(images),
                                          contour_folder=str(images)))
    failed = server.wait(r.json()['id'])
    assert failed['status'] == 'Error' and 'no contour files' in failed['error']


def test_sunnybrook_validation_db_as_segmentation(server, sunnybrook_model):
    """infer_db of the dataset's validation features (raw 16-bit Datums)
    answers each record and draws each as an image-segmentation view."""
    dataset, model = sunnybrook_model
    db = os.path.join(server.jobs_dir, dataset, 'val_db', 'features')
    r = server.client.post('/models/images/generic/infer_db.json',
                           data=dict(job_id=model, db_path=db))
    assert r.status_code == 200, r.text
    assert sorted(r.json()['outputs']) == ['000000000', '000000001']
    r = server.client.post('/models/images/generic/infer_db', data=dict(job_id=model, db_path=db))
    assert r.status_code == 200, r.text
    assert r.text.count('class="seg-view"') == 2 and '/static/segmentation.js' in r.text
