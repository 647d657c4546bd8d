"""caffelite serve as DIGITS' own clients use it (DIGITS' test_views.py and
docs/API.md replayed over HTTP): what they send and what they read back."""
import json
import os
import re
import shutil

import pytest

from server_fixtures import CLASSES, make_dataset, make_images
from server_fixtures import data_root, dataset, server, web_root  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')


def test_create_with_clone_takes_the_cloned_jobs_form(server, data_root):
    """DIGITS' test_clone posts clone=<id> with its default fields: the new
    job is made from the cloned job's form."""
    first = make_dataset(server, data_root / 'images', name='few',
                         folder_train_max_per_class='4', folder_pct_val='50')
    assert server.wait(first)['status'] == 'Done'
    second = make_dataset(server, data_root / 'images', name='other', clone=first)
    assert server.wait(second)['status'] == 'Done'
    a, b = (server.client.get('/datasets/%s.json' % j).json() for j in (first, second))
    assert a['ParseFolderTasks'][0]['train_count'] == 6
    for key in ('id', 'directory'):     # what DIGITS' test_clone lets differ
        a.pop(key), b.pop(key)
    assert a == b
    # a renamed job's clone takes the new name (DIGITS renames the form too)
    assert server.client.put('/jobs/%s' % first, data={'job_name': 'renamed'}).status_code == 200
    third = make_dataset(server, data_root / 'images', name='other', clone=first)
    assert server.client.get('/datasets/%s.json' % third).json()['name'] == 'renamed'
    missing = server.client.post('/datasets/images/classification.json',
                                 data={'clone': 'no-such-job'})
    assert missing.status_code == 404


TINY_NET = '''
layer { name: "hidden" type: "InnerProduct" bottom: "data" top: "output" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "output" bottom: "label" top: "loss"
        exclude { stage: "deploy" } }
layer { name: "accuracy" type: "Accuracy" bottom: "output" bottom: "label" top: "accuracy"
        include { stage: "val" } }
layer { name: "softmax" type: "Softmax" bottom: "output" top: "softmax"
        include { stage: "deploy" } }
'''


def tiny_model(server, dataset_id, **fields):
    """DIGITS' test_views model: one InnerProduct, one epoch, batch 10."""
    form = dict(model_name='tiny', dataset=dataset_id, method='custom',
                custom_network=TINY_NET, batch_size='10', train_epochs='1', framework='caffe',
                random_seed='1')
    form.update(fields)
    r = server.client.post('/models/images/classification.json', data=form)
    assert r.status_code == 200, r.text
    return r.json()['id']


@pytest.fixture(scope='module')
def tiny(server, dataset):
    model = tiny_model(server, dataset)
    assert server.wait(model)['status'] == 'Done'
    return model


def test_classify_one_page_lists_predictions_as_digits(server, data_root, tiny):
    """DIGITS' test_classify_one reads `ul.list-group li` texts as
    'percent% label'."""
    image = (data_root / 'images' / 'light' / '000.png').read_bytes()
    r = server.client.post('/models/images/classification/classify_one?job_id=%s' % tiny,
                           files={'image_file': ('image.png', image)})
    assert r.status_code == 200
    group = re.search(r'<ul class="[^"]*\blist-group\b[^"]*">(.*?)</ul>', r.text, re.S)
    items = [re.sub(r'<[^>]+>', ' ', li).split()
             for li in re.findall(r'<li[^>]*>(.*?)</li>', group.group(1), re.S)]
    predictions = server.client.post('/models/images/classification/classify_one.json',
                                     data={'job_id': tiny},
                                     files={'image_file': ('image.png', image)}).json()
    assert items == [['%s%%' % pct, label] for label, pct in predictions['predictions']]


def test_model_clone_has_the_same_json(server, dataset, tiny):
    clone = tiny_model(server, dataset, model_name='other', clone=tiny)
    assert server.wait(clone)['status'] == 'Done'
    a, b = (server.client.get('/models/%s.json' % j).json() for j in (tiny, clone))
    for key in ('id', 'directory', 'creation time', 'job id'):
        a.pop(key), b.pop(key)
    assert a == b


def test_status_of_an_unknown_job_is_digits_error_json(server):
    r = server.client.get('/jobs/20000101-000000-dead/status')
    assert (r.status_code, r.json()) == (200, {'error': 'Job not found.'})
    # DIGITS' HTTP errors: {"error": {"message", "type", "description"}}
    r = server.client.get('/models/20000101-000000-dead.json')
    assert r.status_code == 404
    assert set(r.json()['error']) == {'message', 'type', 'description'}


def test_autocomplete_path_within_the_data_roots(server, data_root):
    root = str(data_root)
    r = server.client.get('/autocomplete/path', params={'query': root + '/im'})
    assert r.status_code == 200 and r.json() == {'suggestions': [root + '/images']}
    # the way down to a data root is offered, nothing beside it
    parent = root.rsplit('/', 1)[0]
    suggestions = server.client.get('/autocomplete/path',
                                    params={'query': parent + '/'}).json()['suggestions']
    real = [os.path.realpath(s) for s in suggestions]
    assert root in suggestions and all(root.startswith(s) or s.startswith(root) for s in real)
    assert server.client.get('/autocomplete/path',
                             params={'query': 'etc/pass'}).json() == {'suggestions': []}


def test_home_table_rows_and_bulk_actions(server, data_root, dataset, tiny):
    model = tiny
    table = server.client.get('/completed_jobs.json').json()
    row = next(m for m in table['models'] if m['id'] == model)
    assert {'loss (train) last', 'accuracy (val) max'} <= set(table['model_output_fields'])
    assert row['status_css'] == 'success' and row['type'] == 'model'
    assert row['elapsed'] > 0 and row['submitted'] > 0 and 'loss (train) min' in row
    one = server.client.get('/jobs/%s/table_data.json' % dataset).json()['job']
    assert (one['id'], one['backend'], one['type']) == (dataset, 'lmdb', 'dataset')

    others = [make_dataset(server, data_root / 'images', name='bulk%d' % i) for i in (1, 2)]
    r = server.client.post('/group', data={'group_name': 'batch', 'job_ids[]': others})
    assert (r.status_code, r.text) == (200, 'Jobs regrouped.')
    assert {server.client.get('/datasets/%s.json' % j).json()['group'] for j in others} == \
        {'batch'}
    for j in others:
        server.wait(j)
    r = server.client.post('/abort_jobs', data={'job_ids[]': others},
                           headers={'Accept': 'application/json'})
    assert r.status_code == 400 and r.json()['error']['message'] == '2 jobs failed to abort.'
    r = server.client.request('DELETE', '/jobs', data={'job_ids[]': others + ['nope']},
                              headers={'Accept': 'application/json'})
    assert r.status_code == 400 and r.json()['error']['message'] == '1 job not found.'
    assert all(server.client.get('/datasets/%s.json' % j).status_code == 404 for j in others)
    r = server.client.request('DELETE', '/jobs', data={'job_ids[]': [dataset]},
                              headers={'Accept': 'application/json'})
    assert r.json()['error']['message'] == '1 job failed to delete.'


def test_explore_as_digits_tests_read_it(server, data_root, dataset, tmp_path):
    r = server.client.get('/datasets/images/classification/explore',
                          params={'job_id': dataset, 'db': 'val'})
    assert r.status_code == 200 and 'Items per page' in r.text
    one_class = data_root / 'one-class'
    make_images(str(one_class), per_class=3)
    for name in CLASSES[1:]:
        shutil.rmtree(one_class / name)
    failed = make_dataset(server, one_class, name='one class')
    assert server.wait(failed)['status'] == 'Error'
    r = server.client.get('/datasets/images/classification/explore',
                          params={'job_id': failed, 'db': 'train'})
    assert r.status_code == 500 and 'status should be' in r.text


def test_upload_archive_makes_a_pretrained_model_from_a_download(server, tiny):
    """DIGITS' test_upload_archive: a model's download (with its info.json)
    posted as ``archive`` to /pretrained_models/upload_archive."""
    made = []
    for extension in ('tar.gz', 'zip'):
        archive = server.client.get('/models/%s/download.%s' % (tiny, extension)).content
        r = server.client.post('/pretrained_models/upload_archive',
                               files={'archive': ('model.' + extension, archive)})
        assert r.status_code == 200 and r.json()['status'] == 'success', r.text
        made.append(r.json()['id'])
    listed = {j['id']: j for j in server.client.get('/index.json').json()['pretrained_models']}
    model = server.client.get('/models/%s.json' % tiny).json()
    for job_id in made:
        assert listed[job_id]['name'] == model['name']
        assert listed[job_id]['image dimensions'] == model['image dimensions']
        assert sorted(os.listdir(os.path.join(server.jobs_dir, job_id)))[:4] == [
            'labels.txt', 'mean.binaryproto', 'model.caffemodel', 'original.prototxt']
    r = server.client.post('/pretrained_models/upload_archive', headers={'Accept': 'application/json'},
                           files={'archive': ('notes.txt', b'not an archive')})
    assert r.status_code == 400 and 'notes.txt' in r.json()['error']['message']


def test_classify_one_errors_name_the_image(server, data_root, tiny):
    url = '/models/images/classification/classify_one.json'
    missing = str(data_root / 'images' / 'light' / 'missing.png')
    r = server.client.post(url, data={'job_id': tiny, 'image_path': missing})
    assert r.status_code == 400 and missing in r.json()['error']['message']
    r = server.client.post(url, data={'job_id': tiny},
                           files={'image_file': ('x.png', b'not a picture')})
    assert r.status_code == 400 and 'the upload' in r.json()['error']['message']


PYTHON_NET = TINY_NET.replace('layer { name: "softmax"', '''
layer { name: "py" type: "Python" bottom: "output" top: "py"
        python_param { module: "digits_python_layers" layer: "PythonLayer" } }
layer { name: "softmax"''').replace('bottom: "output" top: "softmax"', 'bottom: "py" top: "softmax"')
# DIGITS' test layer, passing its input through so that the deploy net uses it
PYTHON_LAYER = '''
import caffe


class PythonLayer(caffe.Layer):
    def setup(self, bottom, top):
        if len(bottom) != 1:
            raise Exception("Need one input.")

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = bottom[0].data
'''


def test_python_layer_file_of_a_model(server, data_root, dataset):
    """DIGITS' test_python_layer: python_layer_server_file (or an upload
    with python_layer_from_client) becomes the job's digits_python_layers.py;
    each job classifies with its own module."""
    form = server.client.get('/models/images/classification/new').text
    assert all('name="%s"' % f in form for f in (
        'python_layer_server_file', 'python_layer_from_client', 'python_layer_client_file'))
    script = data_root / 'py_test.py'
    script.write_text(PYTHON_LAYER)
    from_server = tiny_model(server, dataset, custom_network=PYTHON_NET,
                             python_layer_server_file=str(script))
    other = PYTHON_LAYER.replace('PythonLayer', 'OtherLayer')
    r = server.client.post('/models/images/classification.json', data=dict(
        model_name='py', dataset=dataset, method='custom', train_epochs='1', batch_size='10',
        custom_network=PYTHON_NET.replace('PythonLayer', 'OtherLayer'),
        python_layer_from_client='true'),
        files={'python_layer_client_file': ('layer.py', other.encode())})
    assert r.status_code == 200, r.text
    image = str(data_root / 'images' / 'light' / '001.png')
    for job_id, module in ((from_server, PYTHON_LAYER), (r.json()['id'], other)):
        assert server.wait(job_id)['status'] == 'Done'
        with open(os.path.join(server.jobs_dir, job_id, 'digits_python_layers.py')) as f:
            assert f.read() == module
    for job_id in (from_server, r.json()['id'], from_server):
        r = server.client.post('/models/images/classification/classify_one.json',
                               data={'job_id': job_id, 'image_path': image})
        assert r.status_code == 200, r.text


def test_customize_a_model_to_fine_tune_it(server, data_root, dataset):
    """DIGITS' fine-tuning and python-layer walkthroughs: Customize a
    previous model (POST /models/customize) fills the form with its network,
    its snapshot and its Python layer module, which live in the jobs folder,
    not under --data-root; the custom model made of them trains."""
    script = data_root / 'py_customize.py'
    script.write_text(PYTHON_LAYER)
    source = tiny_model(server, dataset, custom_network=PYTHON_NET,
                        python_layer_server_file=str(script))
    assert server.wait(source)['status'] == 'Done'
    answer = server.client.post('/models/customize',
                                data={'network': source, 'snapshot_epoch': '1'}).json()
    folder = os.path.realpath(os.path.join(server.jobs_dir, source))
    assert answer['python_layer'] == os.path.join(folder, 'digits_python_layers.py')
    assert os.path.dirname(answer['snapshot']) == folder
    tuned = tiny_model(server, dataset, custom_network=answer['network'],
                       custom_network_snapshot=answer['snapshot'],
                       python_layer_server_file=answer['python_layer'])
    assert server.wait(tuned)['status'] == 'Done'
    with open(os.path.join(server.jobs_dir, tuned, 'caffe_output.log')) as f:
        assert 'Finetuning from %s' % answer['snapshot'] in f.read()
    # other files of a job folder stay out of reach
    r = server.client.post('/models/images/classification.json', data=dict(
        model_name='no', dataset=dataset, method='custom', custom_network=TINY_NET,
        custom_network_snapshot=os.path.join(folder, 'status.json')))
    assert r.status_code == 403


def test_job_lists_open_the_home_tab(server):
    """DIGITS' test_models_page: GET /models (redirects followed) is a page
    listing the models."""
    for path, tab in (('/datasets', 'tab-datasets'), ('/models', 'tab-models'),
                      ('/pretrained_models', 'tab-pretrained')):
        r = server.client.get(path, follow_redirects=True)
        assert r.status_code == 200 and 'Models' in r.text
        assert re.search(r'id="%s"[^>]*aria-selected="true"' % tab, r.text)


def test_classify_one_image_url(server, data_root, tiny, web_root):
    """DIGITS' Getting Started: 'paste the URL into the Image URL field'
    (image_path may be an http address; here one on 127.0.0.1)."""
    url = web_root + 'images/light/002.png'
    answers = [server.client.post('/models/images/classification/classify_one.json',
                                  data={'job_id': tiny, 'image_path': path})
               for path in (url, str(data_root / 'images' / 'light' / '002.png'))]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    r = server.client.post('/models/images/classification/classify_one.json',
                           data={'job_id': tiny, 'image_path': url + '.missing'})
    assert r.status_code == 400 and url in r.json()['error']['message']


def test_image_folder_as_digits_documents_it(server, data_root, tmp_path):
    """DIGITS' ImageFolderFormat: any case of .jpg/.jpeg/.png/.bmp, sub-folders
    flattened, linked folders followed (once, even in a loop)."""
    from PIL import Image
    root, synsets = data_root / 'folder-format', tmp_path / 'synsets'
    shutil.rmtree(root, ignore_errors=True)
    pixels = Image.new('RGB', (6, 6), (200, 10, 10))
    for path, fmt in ((root / 'cat/1.PNG', 'PNG'), (root / 'cat/2.JPEG', 'JPEG'),
                      (root / 'cat/siamese/1.jpg', 'JPEG'), (root / 'dog/2.BMP', 'BMP'),
                      (root / 'dog/big/great-dane/1.jpg', 'JPEG'),
                      (synsets / 'jack/1.png', 'PNG'), (synsets / 'jack/2.png', 'PNG')):
        os.makedirs(str(path.parent), exist_ok=True)
        pixels.save(str(path), fmt)
    (root / 'dog' / 'notes.txt').write_text('not an image')
    os.makedirs(str(root / 'dog' / 'small'))
    (root / 'dog' / 'small' / 'jack_russell').symlink_to(synsets / 'jack')
    (synsets / 'jack' / 'loop').symlink_to(root / 'dog')
    job = make_dataset(server, root, name='folder format', folder_pct_val='0',
                       folder_train_min_per_class='1')
    assert server.wait(job)['status'] == 'Done'
    assert server.client.get('/datasets/%s.json' % job).json()['distribution']['train'] == [3, 4]


def test_classify_many_with_image_urls(server, data_root, tiny, web_root):
    """DIGITS' image lists may hold http(s) URLs (not joined to image_folder)."""
    base = web_root + 'images/'
    (data_root / 'not-an-image.png').write_bytes(b'text')
    listing = '%sdark/003.png 0\nstripes/004.png 2\n%s../not-an-image.png\n%snone.png\n' % (
        base, base, base)
    r = server.client.post('/models/images/classification/classify_many.json',
                           data={'job_id': tiny, 'image_folder': str(data_root / 'images')},
                           files={'image_list': ('list.txt', listing)})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer['classifications']) == {
        base + 'dark/003.png', str(data_root / 'images' / 'stripes' / '004.png')}
    assert set(answer['errors']) == {base + '../not-an-image.png', base + 'none.png'}
    assert all(url in reason for url, reason in answer['errors'].items())


def test_large_graph_page(server, tiny):
    """DIGITS' /models/images/classification/large_graph?job_id=: the model's
    curves on a page of their own, linked from the model page."""
    url = '/models/images/classification/large_graph?job_id=%s' % tiny
    assert url.replace('&', '&amp;') in server.client.get('/models/%s' % tiny).text
    r = server.client.get(url)
    assert r.status_code == 200 and 'id="loss-chart"' in r.text and 'large_graph.js' in r.text
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', r.text).group(1))
    assert data['train_outputs'] == server.client.get('/models/%s.json' % tiny).json()[
        'train_outputs']


def test_download_names_the_epoch_as_digits(server, tiny):
    """DIGITS names a download <id>_epoch_<epoch>.<ext>: -1 when no epoch is
    asked for, else the epoch as a Python float."""
    for query, epoch in (('', '-1'), ('?epoch=1', '1.0'), ('?epoch=-1', '-1.0')):
        r = server.client.get('/models/%s/download.zip%s' % (tiny, query))
        assert r.status_code == 200, r.text
        assert '%s_epoch_%s.zip' % (tiny, epoch) in r.headers['content-disposition']


def test_pretrained_model_keeps_the_python_layer_module(server, data_root, dataset):
    """A pretrained model made from a model with Python layers (to_pretrained,
    or upload_archive of its download) holds its digits_python_layers.py, and
    a model trained from it imports that module."""
    script = data_root / 'py_pretrained.py'
    script.write_text(PYTHON_LAYER)
    source = tiny_model(server, dataset, custom_network=PYTHON_NET,
                        python_layer_server_file=str(script))
    assert server.wait(source)['status'] == 'Done'
    r = server.client.post('/models/%s/to_pretrained' % source,
                           headers={'Accept': 'application/json'})
    assert r.status_code == 200, r.text
    made = [r.json()['id']]
    archive = server.client.get('/models/%s/download.tar.gz' % source).content
    r = server.client.post('/pretrained_models/upload_archive',
                           files={'archive': ('model.tar.gz', archive)})
    made.append(r.json()['id'])
    for pretrained in made:
        with open(os.path.join(server.jobs_dir, pretrained, 'digits_python_layers.py')) as f:
            assert f.read() == PYTHON_LAYER
    model = tiny_model(server, dataset, method='pretrained', pretrained_networks=made[0])
    assert server.wait(model)['status'] == 'Done'
    r = server.client.post('/models/images/classification/classify_one.json', data={
        'job_id': model, 'image_path': str(data_root / 'images' / 'light' / '001.png')})
    assert r.status_code == 200, r.text


def test_dataset_summary_fragment(server, dataset):
    """GET /datasets/summary?job_id= is the HTML fragment DIGITS' New model
    form shows for the chosen dataset: name, size, type, each DB's count."""
    r = server.client.get('/datasets/summary', params={'job_id': dataset})
    assert r.status_code == 200 and r.headers['content-type'].startswith('text/html')
    assert '<html' not in r.text and 'href="/datasets/%s"' % dataset in r.text
    info = server.client.get('/datasets/%s.json' % dataset).json()
    assert '28x28' in r.text and 'GRAYSCALE' in r.text
    for task in info['CreateDbTasks']:
        assert '<dt>%s</dt><dd>%d images</dd>' % (task['name'], task['entries']) in r.text
    assert server.client.get('/datasets/summary', params={'job_id': 'nope'}).status_code == 404
