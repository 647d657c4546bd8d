"""caffelite serve as DIGITS' own clients use it (DIGITS' test_views.py and
docs/API.md replayed over HTTP): what they send and what they read back."""
import pytest

from server_fixtures import make_dataset
from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)

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
    assert b['name'] == 'few'
    assert b['ParseFolderTasks'] == a['ParseFolderTasks']
    assert a['ParseFolderTasks'][0]['train_count'] == 6
    missing = server.client.post('/datasets/images/classification.json',
                                 data={'clone': 'no-such-job'})
    assert missing.status_code == 404
