"""DIGITS' classification dataset of a folder given as a URL (the web
server's listing; here http.server on 127.0.0.1, started and stopped by the
fixture): the worker walks the listing and downloads the images; a URL
whose listing cannot be had is a 400 naming it."""
import os

import pytest

from caffelite.lmdbs import open_readonly
from server_fixtures import CLASSES, free_port
from server_fixtures import data_root, server, web_root  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
FORM = dict(method='folder', dataset_name='web folder', encoding='png', resize_channels='1',
            resize_width='28', resize_height='28', seed='0', folder_pct_val='25',
            folder_train_max_per_class='8')


def records(folder):
    with open_readonly(folder).begin() as txn:
        return [key.decode() for key, _ in txn.cursor()]


def test_a_folder_url_makes_the_dataset_its_folder_on_disk_makes(server, data_root, web_root):
    """Same classes, same split, same record keys as the folder read from
    disk; the lists name the images' URLs, as DIGITS' do."""
    jobs = {}
    for name, folder in (('web', web_root + 'images'), ('disk', str(data_root / 'images'))):
        r = server.client.post('/datasets/images/classification.json',
                               data=dict(FORM, folder_train=folder, dataset_name=name))
        assert r.status_code == 200, r.text
        assert server.wait(r.json()['id'])['status'] == 'Done'
        jobs[name] = os.path.join(server.jobs_dir, r.json()['id'])
    web, disk = jobs['web'], jobs['disk']
    with open(os.path.join(web, 'labels.txt')) as f:
        assert f.read().split() == list(CLASSES)
    for split in ('train', 'val'):
        assert records(os.path.join(web, split + '_db')) == records(
            os.path.join(disk, split + '_db'))
        with open(os.path.join(web, split + '.txt')) as f, \
                open(os.path.join(disk, split + '.txt')) as g:
            assert f.read() == g.read().replace(str(data_root) + '/', web_root)
    assert not os.path.exists(os.path.join(web, '.downloads'))


def test_an_unreachable_folder_url_is_a_form_error_naming_it(server):
    url = 'http://127.0.0.1:%d/images/' % free_port()
    r = server.client.post('/datasets/images/classification.json',
                           data=dict(FORM, folder_train=url))
    assert r.status_code == 400
    [message] = r.json()['errors']['folder_train']
    assert message.startswith('cannot fetch the folder listing %s: ' % url)
    assert '\n' not in message


def test_the_folder_check_reads_a_folder_url_listing(server, data_root, web_root):
    """Check folder on a URL: the classes and counts of its listing, the
    same as the folder on disk; no image fetched (none checked)."""
    check = '/datasets/images/classification/check-folder.json'
    web = server.client.post(check, data={'folder_train': web_root + 'images'}).json()
    disk = server.client.post(check, data={'folder_train': str(data_root / 'images')}).json()
    assert web['classes'] == disk['classes'] and web['image_count'] == disk['image_count']
    assert web['checked'] == 0 and web['unreadable'] == []
    url = 'http://127.0.0.1:%d/images/' % free_port()
    r = server.client.post(check, data={'folder_train': url})
    assert r.status_code == 400 and url in r.json()['errors']['folder_train'][0]
