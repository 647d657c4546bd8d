"""Pretrained model jobs: uploading one (DIGITS' /pretrained_models/new)."""
import os

from caffelite.digits import networks
from server_fixtures import data_root, server  # noqa: F401 (fixtures)


def _files(prototxt):
    return {'weights_file': ('w.caffemodel', b'\x00weights'),
            'model_def_file': ('net.prototxt', prototxt.encode()),
            'labels_file': ('labels.txt', b'a\nb\n')}


def test_upload_makes_a_pretrained_job(server):
    fields = {'job_name': 'uploaded', 'image_type': '1', 'resize_mode': 'crop',
              'width': '28', 'height': '28'}
    r = server.client.post('/pretrained_models/new.json', data=fields,
                           files=_files(networks.standard_network_text('lenet')))
    assert r.status_code == 200, r.text
    job = r.json()
    try:
        assert job['image dimensions'] == [28, 28, 1] and job['image resize mode'] == 'crop'
        folder = os.path.join(server.jobs_dir, job['id'])
        assert sorted(f for f in os.listdir(folder) if not f.startswith('.')) == [
            'labels.txt', 'model.caffemodel', 'original.prototxt', 'status.json']
        page = server.client.get('/pretrained_models/%s' % job['id'])
        assert 'uploaded' in page.text and 'Train a new model from it' in page.text
    finally:
        server.client.delete('/pretrained_models/%s' % job['id'])


def test_upload_errors_name_the_fields(server):
    before = sorted(os.listdir(server.jobs_dir))
    r = server.client.post('/pretrained_models/new.json', data={'width': 'x'},
                           files=_files('layer { name: "a" typo }'))
    errors = r.json()['errors']
    assert r.status_code == 400 and set(errors) == {'job_name', 'model_def_file', 'width'}
    assert errors['model_def_file'][0].startswith('model_def_file:1:')
    assert sorted(os.listdir(server.jobs_dir)) == before
