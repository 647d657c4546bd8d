"""Bad input to caffelite serve: each answered 4xx with a message in
DIGITS' error shapes, the server still up, no job folder made."""
import io
import os
import shutil
import socket
import zipfile

import httpx
import pytest

from server_fixtures import LiveServer, make_images
from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)

BAD_PROTOTXT = 'name: "broken"\nlayer {\n  name: "conv1"\n  type: \n}\n'


@pytest.fixture
def unchanged(server):
    """Checks after the test that no job folder appeared, nothing was left
    in the jobs folder, and the server still answers."""
    before = sorted(os.listdir(server.jobs_dir))
    yield
    assert sorted(os.listdir(server.jobs_dir)) == before
    assert server.client.get('/index.json').status_code == 200


def model_form(dataset_id, **fields):
    form = dict(method='standard', standard_networks='lenet', train_epochs='1',
                model_name='bad', dataset=dataset_id)
    form.update(fields)
    return form


def test_prototxt_syntax_error_names_line_and_column(server, dataset, unchanged):
    r = server.client.post('/models/images/classification.json', data=model_form(
        dataset, method='custom', custom_network=BAD_PROTOTXT))
    assert r.status_code == 400
    [message] = r.json()['errors']['custom_network']
    assert 'custom_network:5:1' in message
    r = server.client.post('/models/visualize-network', data={'custom_network': BAD_PROTOTXT},
                           headers={'Accept': 'application/json'})
    assert r.status_code == 400 and 'custom_network:5:1' in r.json()['error']['message']


def test_network_that_cannot_split_names_the_layer(server, dataset, unchanged):
    text = server.client.post('/models/customize?network=lenet').json()['network']
    text = text.replace('bottom: "pool1"', 'bottom: "pool9"')
    r = server.client.post('/models/images/classification.json', data=model_form(
        dataset, method='custom', custom_network=text))
    assert r.status_code == 400
    assert "bottom 'pool9'" in r.json()['errors']['custom_network'][0]


def test_visualize_network_draws_svg(server):
    text = server.client.post('/models/customize?network=alexnet').json()['network']
    r = server.client.post('/models/visualize-network?framework=caffe',
                           data={'custom_network': text})
    assert r.status_code == 200 and r.headers['content-type'].startswith('image/svg+xml')
    assert '<svg' in r.text and 'conv5' in r.text


@pytest.mark.parametrize('field, value, message', [
    ('train_epochs', '0', 'Number must be at least 1.'),
    ('learning_rate', '0.1,abc', 'Not a valid float value.'),
    ('standard_networks', 'resnet', 'Not a valid choice'),
    ('dataset', 'no-such-dataset', 'Unknown dataset job_id "no-such-dataset"'),
    ('model_name', '', 'This field is required.'),
    ('select_gpu', '0', 'Not a valid choice (this server trains on the CPU)'),
])
def test_form_fields_that_fail_validation(server, dataset, unchanged, field, value, message):
    r = server.client.post('/models/images/classification.json',
                           data=model_form(dataset, **{field: value}))
    assert r.status_code == 400 and r.json() == {'errors': {field: [message]}}


def post_dataset(server, folder):
    return server.client.post('/datasets/images/classification.json', data=dict(
        method='folder', folder_train=str(folder), dataset_name='x'))


def test_folder_outside_the_data_root(server, tmp_path, unchanged):
    make_images(str(tmp_path / 'outside'), per_class=2)
    r = post_dataset(server, tmp_path / 'outside')
    assert r.status_code == 403
    assert 'outside the allowed data roots' in r.json()['error']['message']


def test_val_folder_with_a_class_the_train_folder_lacks(server, data_root, tmp_path,
                                                      unchanged):
    root = data_root / ('unknown-class-%s' % tmp_path.name)
    train, val = make_images(str(root / 'train'), 2, 8), make_images(str(root / 'val'), 1, 8)
    shutil.rmtree(os.path.join(train, 'stripes'))
    r = server.client.post('/datasets/images/classification.json', data=dict(
        method='folder', folder_train=train, dataset_name='x', has_val_folder='y',
        folder_val=val))
    assert r.status_code == 400
    assert r.json() == {'errors': {'folder_val': [
        '%s has class folder(s) that the training images do not: stripes'
        % os.path.realpath(val)]}}


def test_test_folder_outside_the_data_root(server, data_root, tmp_path, unchanged):
    make_images(str(tmp_path / 'outside'), per_class=1, size=8)
    r = server.client.post('/datasets/images/classification.json', data=dict(
        method='folder', folder_train=str(data_root / 'images'), dataset_name='x',
        has_test_folder='y', folder_test=str(tmp_path / 'outside')))
    assert r.status_code == 403
    assert 'folder_test %s is outside the allowed data roots' % (tmp_path / 'outside') in \
        r.json()['error']['message']


def test_dotdot_escape(server, data_root, tmp_path, unchanged):
    r = post_dataset(server, '%s/images/../../../../%s' % (data_root, tmp_path))
    assert r.status_code == 403


def test_symlink_escape(server, data_root, tmp_path, unchanged):
    make_images(str(tmp_path / 'secret'), per_class=2)
    link = data_root / ('link-%s' % tmp_path.name)
    link.symlink_to(tmp_path / 'secret')
    try:
        r = post_dataset(server, link)
        assert r.status_code == 403
        r = server.client.post('/models/images/classification/classify_one.json', data={
            'job_id': 'x', 'image_path': str(link / 'dark' / '000.png')})
        assert r.status_code in (403, 404)
    finally:
        link.unlink()


def test_zip_slip_archive(server, tmp_path, unchanged):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as z:
        z.writestr('dark/000.png', b'not really a png')
        z.writestr('../../escaped.png', b'payload')
    r = server.client.post('/datasets/images/classification.json',
                           data=dict(method='archive', dataset_name='slip'),
                           files={'archive': ('images.zip', buffer.getvalue())})
    assert r.status_code == 400 and 'outside the archive folder' in r.json()['error']['message']
    assert not os.path.exists(os.path.join(os.path.dirname(server.jobs_dir), 'escaped.png'))


def test_dataset_from_an_uploaded_archive(server, tmp_path):
    make_images(str(tmp_path / 'set' / 'top'), per_class=4)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as z:
        for folder, _, files in os.walk(tmp_path / 'set'):
            for name in files:
                path = os.path.join(folder, name)
                z.write(path, os.path.relpath(path, tmp_path / 'set'))
    r = server.client.post('/datasets/images/classification.json',
                           data=dict(method='archive', dataset_name='zipped', resize_width='28',
                                     resize_height='28', resize_channels='1'),
                           files={'archive': ('images.zip', buffer.getvalue())})
    assert r.status_code == 200, r.text
    job_id = r.json()['id']
    # a model made while its dataset is still being built waits for it
    model = server.client.post('/models/images/classification.json', data=model_form(
        job_id, batch_size='4')).json()
    assert server.wait(job_id)['status'] == 'Done'
    assert server.client.get('/datasets/%s.json' % job_id).json()[
        'ParseFolderTasks'][0]['label_count'] == 3
    assert server.wait(model['id'])['status'] == 'Done'
    assert server.client.get('/models/%s.json' % model['id']).json()['snapshots'] == [1]
    for kind, job in (('models', model['id']), ('datasets', job_id)):
        assert server.client.delete('/%s/%s' % (kind, job)).text == 'Job deleted.'


def test_upload_announced_over_the_cap_is_refused_before_reading(server, unchanged):
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as s:
        s.sendall(b'POST /datasets/images/classification.json HTTP/1.1\r\n'
                  b'Host: 127.0.0.1\r\nCookie: username=fred\r\n'
                  b'Content-Type: multipart/form-data; boundary=x\r\n'
                  b'Content-Length: 1073741824\r\n\r\n--x\r\n')
        answer = b''
        while b'upload limit' not in answer:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b'HTTP/1.1 413') and b'upload limit' in answer


def test_streamed_upload_over_the_cap(server, unchanged):
    def body():
        yield b'--x\r\nContent-Disposition: form-data; name="archive"; filename="a.zip"\r\n\r\n'
        for _ in range(3):
            yield b'\0' * (1 << 20)
    r = server.client.post('/datasets/images/classification.json', content=body(),
                           headers={'Content-Type': 'multipart/form-data; boundary=x'})
    assert r.status_code == 413 and 'upload limit' in r.json()['error']['message']


def test_changes_need_a_login(server, dataset, unchanged):
    with httpx.Client(base_url=server.base) as anonymous:
        r = anonymous.post('/models/images/classification.json', data=model_form(dataset))
        assert r.status_code == 401 and 'log in' in r.json()['error']['message']
        r = anonymous.post('/login', data={'username': 'Fred!'})
        assert r.status_code == 400
        # reading needs no login
        assert anonymous.get('/datasets/%s.json' % dataset).status_code == 200


def test_cross_origin_changes_are_refused(server, dataset, unchanged):
    for headers in ({'Origin': 'http://evil.example'}, {'Sec-Fetch-Site': 'cross-site'}):
        r = server.client.post('/models/images/classification.json', data=model_form(dataset),
                               headers=headers)
        assert r.status_code == 403 and 'cross-origin' in r.json()['error']['message']
    r = server.client.post('/login', data={'username': 'fred'},
                           headers={'Origin': server.base, 'Sec-Fetch-Site': 'same-origin'})
    assert r.status_code == 302


def test_missing_jobs_and_images(server, dataset, unchanged):
    r = server.client.get('/models/20000101-000000-abcd.json')
    assert r.status_code == 404 and r.json()['error']['type'] == 'NotFound'
    r = server.client.post('/models/images/classification/classify_one.json',
                           data={'job_id': '20000101-000000-abcd'})
    assert r.status_code == 404
    r = server.client.post('/models/images/classification/classify_one.json', data={})
    assert r.status_code == 400 and 'job_id' in r.json()['error']['message']
    r = server.client.get('/datasets/%s' % dataset, headers={'Accept': 'text/html'})
    assert r.status_code == 200 and '<html' in r.text


def test_token_is_required_when_set(tmp_path):
    live = LiveServer(tmp_path / 'jobs', '--token', 'sesame')
    live.headers = lambda: {'Authorization': 'Bearer sesame'}
    live.start()
    try:
        with httpx.Client(base_url=live.base) as client:
            r = client.get('/index.json')
            assert r.status_code == 401 and 'token' in r.json()['error']['message']
            assert client.get('/index.json', headers={'Authorization': 'Bearer nope'}
                              ).status_code == 401
            assert client.get('/index.json', headers={'Authorization': 'Bearer sesame'}
                              ).status_code == 200
            assert client.get('/?token=sesame').status_code == 200
            assert client.get('/index.json').status_code == 200      # the cookie it set
    finally:
        live.stop()


def test_a_failing_job_names_its_exception(server, data_root, tmp_path):
    lonely = data_root / ('one-class-%s' % tmp_path.name)
    make_images(str(lonely), per_class=3)
    for name in ('light', 'stripes'):
        for f in os.listdir(lonely / name):
            os.remove(lonely / name / f)
        os.rmdir(lonely / name)
    r = post_dataset(server, lonely)
    assert r.status_code == 200
    job_id = r.json()['id']
    status = server.wait(job_id)
    assert status['status'] == 'Error'
    assert status['error'].startswith('CaffeError: ') and 'needs 2 or more' in status['error']
    error = server.client.get('/datasets/%s.json' % job_id).json()['error']
    assert error['type'] == 'CaffeError'
    assert server.client.delete('/datasets/%s' % job_id).status_code == 200


def test_a_sweep_makes_one_job_each(server, dataset):
    r = server.client.post('/models/images/classification.json', data=model_form(
        dataset, learning_rate='0.01,0.02', train_epochs='50'))
    made = r.json()['jobs']
    assert [j['name'] for j in made] == ['bad learning_rate:0.01', 'bad learning_rate:0.02']
    for job in made:
        assert server.client.delete('/models/%s' % job['id']).text == 'Job deleted.'
        assert not os.path.exists(os.path.join(server.jobs_dir, job['id']))
