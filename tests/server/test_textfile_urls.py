"""DIGITS' textfile datasets whose lists name images by http(s) URL: the
worker downloads them (here from a server on 127.0.0.1 started and stopped
by the test), the lists keep the URLs, and a URL that cannot be fetched
fails the job naming the list, its line and the URL."""
import os

import numpy as np
import pytest
from PIL import Image

from caffelite.codec import datum_to_array
from caffelite.lmdbs import open_readonly
from caffelite.proto import caffe_pb2
from server_fixtures import CLASSES
from server_fixtures import data_root, server, web_root  # noqa: F401 (fixtures)
from test_textfile_hdf5 import post_dataset

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')
NAMES = ('names.txt', '\n'.join(CLASSES) + '\n')


def url_list(web_root, count):
    return ''.join('%simages/%s/%03d.png %d\n' % (web_root, cls, i, label)
                   for label, cls in enumerate(CLASSES) for i in range(count))


def test_a_list_of_image_urls_makes_a_dataset(server, data_root, web_root):
    listed = url_list(web_root, 2)
    # a page that is no image is skipped, as an unreadable file is, by its URL
    page = '%simages/ 0\n' % web_root
    r = post_dataset(server, {'textfile_train_images': ('web.txt', listed + page),
                              'textfile_labels_file': NAMES},
                     dataset_name='web', textfile_shuffle='0', encoding='none')
    assert r.status_code == 200, r.text
    job = r.json()['id']
    assert server.wait(job)['status'] == 'Done'
    folder = os.path.join(server.jobs_dir, job)
    with open(os.path.join(folder, 'train.txt')) as f:
        assert f.read() == listed          # the URLs, as the list gave them
    assert not os.path.exists(os.path.join(folder, '.downloads'))
    with open_readonly(os.path.join(folder, 'train_db')).begin() as txn:
        stored = [datum_to_array(caffe_pb2.Datum.FromString(v)) for _, v in txn.cursor()]
    assert len(stored) == 6
    logs = ''.join(open(os.path.join(folder, name)).read() for name in os.listdir(folder)
                   if name.endswith('.log'))
    assert 'Skipped cannot read image %simages/: cannot identify image file' % web_root in logs
    first = np.asarray(Image.open(data_root / 'images' / CLASSES[0] / '000.png'))
    np.testing.assert_array_equal(stored[0][0], first)


def test_an_unreachable_url_fails_the_job_naming_list_line_and_url(server, web_root):
    missing = '%simages/%s/missing.png' % (web_root, CLASSES[1])
    r = post_dataset(server, {'textfile_train_images': ('web.txt', url_list(web_root, 1) +
                                                        '%s 1\n' % missing),
                              'textfile_labels_file': NAMES}, dataset_name='broken web')
    assert r.status_code == 200, r.text
    failed = server.wait(r.json()['id'])
    assert failed['status'] == 'Error'
    assert 'web.txt:4: cannot fetch the image %s: HTTP Error 404' % missing in failed['error']
    assert not os.path.exists(os.path.join(server.jobs_dir, r.json()['id'], '.downloads'))
