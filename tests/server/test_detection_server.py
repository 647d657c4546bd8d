"""caffelite serve as a DIGITS user doing object detection uses it: the
object-detection dataset form (DIGITS' generic dataset with its
image-object-detection extension) over HTTP."""
import os

import numpy as np
import pytest

from server_fixtures import tiny_detectnet, write_kitti
from server_fixtures import data_root, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
EXTENSION = 'image-object-detection'


@pytest.fixture(scope='module')
def kitti(data_root):
    root = data_root / 'kitti'
    write_kitti(str(root / 'train'), 8, 0)
    write_kitti(str(root / 'val'), 4, 1)
    return root


def detection_form(kitti, **fields):
    form = dict(dataset_name='boxes', train_image_folder=str(kitti / 'train' / 'images'),
                train_label_folder=str(kitti / 'train' / 'labels'),
                val_image_folder=str(kitti / 'val' / 'images'),
                val_label_folder=str(kitti / 'val' / 'labels'), padding_image_width='64',
                padding_image_height='32', val_min_box_size='4', custom_classes='dontcare,car',
                seed='0')
    form.update(fields)
    return form


@pytest.fixture(scope='module')
def detection_dataset(server, kitti):
    r = server.client.post('/datasets/generic/create/%s.json' % EXTENSION,
                           data=detection_form(kitti))
    assert r.status_code == 200, r.text
    job_id = r.json()['id']
    assert server.wait(job_id)['status'] == 'Done'
    return job_id


def test_detection_dataset_as_digits_makes_it(server, kitti, detection_dataset):
    """DIGITS' job folder (train_db/{features,labels,mean.binaryproto},
    val_db/...), its status type and its JSON's create_db_tasks."""
    folder = os.path.join(server.jobs_dir, detection_dataset)
    for split in ('train', 'val'):
        for name in ('features', 'labels', 'mean.binaryproto'):
            assert os.path.exists(os.path.join(folder, split + '_db', name))
        assert os.path.isfile(os.path.join(folder, 'create_%s_db.log' % split))
    status = server.client.get('/datasets/%s/status' % detection_dataset).json()
    assert status['type'] == 'Generic Dataset'
    info = server.client.get('/datasets/%s.json' % detection_dataset).json()
    assert info['feature_dims'] == [32, 64, 3]
    assert [(t['name'], t['stage'], t['entry_count'], t['feature_db_path'])
            for t in info['create_db_tasks']] == [
        ('Create train DB', 'train', 8, 'train_db/features'),
        ('Create val DB', 'val', 4, 'val_db/features')]
    for page in ('/datasets/%s' % detection_dataset, '/',
                 '/datasets/summary?job_id=%s' % detection_dataset):
        r = server.client.get(page)
        assert r.status_code == 200 and 'boxes' in r.text, page
    form = server.client.get('/datasets/generic/new/%s' % EXTENSION).text
    for field in detection_form(kitti):
        assert 'name="%s"' % field in form
    r = server.client.get('/datasets/generic/explore', params={
        'job_id': detection_dataset, 'db': 'val_db/features', 'size': 3})
    assert r.status_code == 200 and r.text.count('<figure>') == 3
    assert 'explore?job_id=%s&amp;db=train_db/features' % detection_dataset in \
        server.client.get('/datasets/%s' % detection_dataset).text
    r = server.client.get('/clone/%s' % detection_dataset)
    assert r.headers['location'] == '/datasets/generic/new/%s?clone=%s' % (
        EXTENSION, detection_dataset)


def test_detection_dataset_form_errors(server, kitti):
    """wtforms' messages for DIGITS' fields: required, required with its
    partner, folders that do not exist; an unknown extension is 404."""
    url = '/datasets/generic/create/%s.json' % EXTENSION
    r = server.client.post(url, data=detection_form(kitti, train_label_folder='',
                                                    val_image_folder='',
                                                    resize_image_width='32'))
    errors = r.json()['errors']
    assert r.status_code == 400 and errors['train_label_folder'] == ['This field is required.']
    assert errors['val_image_folder'] == errors['resize_image_height'] == [
        'This field is required.']
    r = server.client.post(url, data=detection_form(
        kitti, train_image_folder=str(kitti / 'missing')))
    assert r.json()['errors']['train_image_folder'] == [
        'Folder does not exist or is not reachable']
    r = server.client.post('/datasets/generic/create/image-segmentation.json',
                           data=detection_form(kitti))
    assert r.status_code == 404
    # DIGITS' 'None' conversion keeps the images as stored (here RGB)
    r = server.client.post(url, data=detection_form(kitti, channel_conversion='none'))
    assert r.status_code == 200, r.text
    assert server.wait(r.json()['id'])['status'] == 'Done'
    info = server.client.get('/datasets/%s.json' % r.json()['id']).json()
    assert info['feature_dims'] == [32, 64, 3]


@pytest.fixture(scope='module')
def detection_model(server, detection_dataset):
    r = server.client.post('/models/images/generic.json', data=dict(
        model_name='detectnet', dataset=detection_dataset, method='custom',
        custom_network=tiny_detectnet(), train_epochs='2', batch_size='4',
        solver_type='ADAM', learning_rate='0.001', use_mean='none', random_seed='1'))
    assert r.status_code == 200, r.text
    job_id = r.json()['id']
    assert server.wait(job_id)['status'] == 'Done', server.wait(job_id)
    return job_id


def test_detectnet_model_as_digits_trains_it(server, detection_dataset, detection_model):
    """The generic model form trains DIGITS' all-in-one DetectNet: its data
    layers read the dataset's features and labels LMDBs, DetectNet's
    mAP/precision/recall are validation curves; the classification form
    refuses the dataset and the generic one a standard network."""
    folder = os.path.join(server.jobs_dir, detection_model)
    with open(os.path.join(folder, 'train_val.prototxt')) as f:
        train_val = f.read()
    for split in ('train', 'val'):
        for db in ('features', 'labels'):
            assert 'source: "%s"' % os.path.join(server.jobs_dir, detection_dataset,
                                                  split + '_db', db) in train_val
    info = server.client.get('/models/%s.json' % detection_model).json()
    assert info['snapshots'] == [1, 2]
    assert {'mAP', 'precision', 'recall', 'loss_bbox', 'loss_coverage'} <= set(
        info['val_outputs'])
    page = server.client.get('/models/%s' % detection_model).text
    assert 'href="/models/images/generic/large_graph?job_id=%s"' % detection_model in page
    assert server.client.get('/models/images/generic/large_graph',
                             params={'job_id': detection_model}).status_code == 200
    status = server.client.get('/models/%s/status' % detection_model).json()
    assert status['type'] == 'Generic Image Model'
    r = server.client.post('/models/images/classification.json', data=dict(
        model_name='x', dataset=detection_dataset, method='standard', standard_networks='lenet'))
    assert r.status_code == 400 and 'dataset' in r.json()['errors']
    r = server.client.post('/models/images/generic.json', data=dict(
        model_name='x', dataset=detection_dataset, method='standard', standard_networks='lenet'))
    assert r.status_code == 400 and 'standard_networks' in r.json()['errors']
    page = server.client.get('/models/images/generic/new').text
    assert 'value="%s"' % detection_dataset in page and 'action="/models/images/generic"' in page
    assert detection_model in page
    assert detection_model not in server.client.get('/models/images/classification/new').text
    assert 'href="/models/images/generic/new"' in server.client.get('/').text
    # the form's Check button builds the nets of a DetectNet for its dataset
    r = server.client.post('/models/images/classification/check-network.json', data=dict(
        custom_network=tiny_detectnet(), dataset=detection_dataset, use_mean='none'))
    assert r.status_code == 200 and r.json()['parameters'] > 0, r.text


def test_generic_inference_outputs(server, kitti, detection_dataset, detection_model):
    """infer_one / infer_many / infer_db answer DIGITS' {"outputs": ...}
    with DetectNet's bbox-list of 50 rows of 5; the page draws the boxes."""
    image = str(kitti / 'val' / 'images' / '000.png')
    url = '/models/images/generic/'
    r = server.client.post(url + 'infer_one.json', data={'job_id': detection_model,
                                                         'image_path': image})
    assert r.status_code == 200, r.text
    assert list(r.json()) == ['outputs']
    assert np.array(r.json()['outputs']['bbox-list']).shape == (1, 50, 5)
    with open(image, 'rb') as f:
        r = server.client.post(url + 'infer_one.json', data={'job_id': detection_model,
                                                             'snapshot_epoch': '1'},
                               files={'image_file': ('x.png', f.read())})
    assert np.array(r.json()['outputs']['bbox-list']).shape == (1, 50, 5)
    listed = [str(kitti / 'val' / 'images' / ('%03d.png' % i)) for i in range(3)]
    missing = str(kitti / 'val' / 'images' / 'missing.png')
    r = server.client.post(url + 'infer_many.json', data={'job_id': detection_model},
                           files={'image_list': ('list.txt',
                                                 '\n'.join(listed + [missing]).encode())})
    assert r.status_code == 200, r.text
    assert sorted(r.json()['outputs']) == listed
    assert r.json()['errors'] == {missing: 'no such file: %s' % missing}
    assert np.array(r.json()['outputs'][listed[0]]['bbox-list']).shape == (50, 5)
    db = os.path.join(server.jobs_dir, detection_dataset, 'val_db', 'features')
    r = server.client.post(url + 'infer_db.json', data={'job_id': detection_model,
                                                        'db_path': db})
    assert r.status_code == 200, r.text
    assert sorted(r.json()['outputs']) == ['%09d' % i for i in range(4)]
    page = server.client.post(url + 'infer_one', data={'job_id': detection_model,
                                                       'image_path': image}).text
    assert 'id="bbox-view"' in page and 'bounding box' in page
    page = server.client.post(url + 'infer_one', data={
        'job_id': detection_model, 'image_path': image, 'show_visualizations': 'y'}).text
    assert 'learned parameters' in page and 'cvg/classifier' in page


def test_detectnet_model_download_and_pretrained(server, detection_model):
    """A detection model's download holds the dataset's mean and no labels
    (the dataset has none), and, as DIGITS reports a model of a dataset
    without a labels file, neither its JSON nor the download's info.json nor
    the pretrained model made from it names one."""
    import io
    import json
    import zipfile
    info = server.client.get('/models/%s.json' % detection_model).json()
    assert 'labels file' not in info and info['mean file'] == 'mean.binaryproto'
    r = server.client.get('/models/%s/download.zip' % detection_model)
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert 'mean.binaryproto' in archive.namelist() and 'labels.txt' not in archive.namelist()
    assert 'labels file' not in json.loads(archive.read('info.json'))
    r = server.client.post('/models/%s/to_pretrained' % detection_model,
                           headers={'Accept': 'application/json'})
    assert r.status_code == 200, r.text
    pretrained = r.json()
    assert pretrained['has_labels'] is False and 'labels file' not in pretrained
    folder = os.path.join(server.jobs_dir, pretrained['id'])
    assert not os.path.exists(os.path.join(folder, 'labels.txt'))
