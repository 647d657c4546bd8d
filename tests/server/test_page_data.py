"""What the pages show beyond their JSON: form values, times, the image
folders a dataset form offers, and each page rendered for a browser."""
import os

from caffelite.server import page_data
from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)

HTML = {'Accept': 'text/html'}


def test_form_values_as_inputs_show_them():
    assert page_data.form_value(None) == ''
    assert page_data.form_value([None]) == ''
    assert page_data.form_value([0.01, 0.001]) == '0.01,0.001'
    assert page_data.form_value(33.0) == '33.0'


def test_durations_and_sizes():
    assert [page_data.duration_text(s) for s in (None, 4.4, 125, 7325)] == [
        '', '4 s', '2 min 5 s', '2 h 2 min']
    assert [page_data.size_text(n) for n in (10, 2048, 3 << 20)] == ['10 B', '2.0 KB', '3.0 MB']


def test_image_folders_are_those_with_class_folders(tmp_path):
    for path in ('a/cats', 'a/dogs', 'b/only', 'c/d/x', 'c/d/y', 'c/d/z'):
        os.makedirs(tmp_path / path)
    assert page_data.image_folders([str(tmp_path)]) == [
        str(tmp_path), str(tmp_path / 'a'), str(tmp_path / 'c' / 'd')]


def test_pages_render_for_a_browser(server, dataset):
    home = server.client.get('/', headers=HTML)
    assert home.status_code == 200 and 'href="/datasets/%s"' % dataset in home.text
    page = server.client.get('/datasets/%s' % dataset, headers=HTML).text
    assert 'Train database' in page and page.count('<figure>') == 24
    assert '/files/%s/mean.jpg' % dataset in page
    form = server.client.get('/models/images/classification/new?dataset=%s' % dataset,
                             headers=HTML).text
    assert '<option value="%s" selected>' % dataset in form
    assert 'name="%s"' % 'standard_networks' in form and 'name="custom_network"' in form
    assert 'name="folder_train"' in server.client.get('/datasets/images/classification/new',
                                                      headers=HTML).text


def test_an_unknown_job_is_a_page_with_the_message(server):
    r = server.client.get('/models/20000101-000000-beef', headers=HTML)
    assert r.status_code == 404 and 'id="error-message"' in r.text
    assert 'Job not found: 20000101-000000-beef' in r.text
