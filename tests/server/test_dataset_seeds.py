"""Each new dataset is shuffled differently, as in DIGITS, by a seed the
job records: its JSON shows it, a clone (or a form naming it) repeats the
split."""
import os
import random

import pytest

from caffelite.server import datasets
from server_fixtures import make_dataset
from server_fixtures import data_root, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')


def test_a_blank_seed_is_drawn_and_a_given_one_kept(monkeypatch):
    drawn = iter([12345, 678])
    monkeypatch.setattr(random.SystemRandom, 'randrange', lambda self, n: next(drawn))
    assert datasets.draw_seed({'seed': None})['seed'] == 12345
    assert datasets.draw_seed({})['seed'] == 678
    assert datasets.draw_seed({'seed': 0})['seed'] == 0


def val_list(server, job_id):
    with open(os.path.join(server.jobs_dir, job_id, 'val.txt')) as f:
        return f.read()


def test_the_json_shows_the_drawn_seed_and_a_clone_repeats_the_split(server, data_root):
    few = dict(folder_train_max_per_class='8', folder_pct_val='50')
    first = make_dataset(server, data_root / 'images', name='drawn', seed='', **few)
    assert server.wait(first)['status'] == 'Done'
    seed = server.client.get('/datasets/%s.json' % first).json()['seed']
    assert isinstance(seed, int) and 0 <= seed < 2 ** 31
    clone = make_dataset(server, data_root / 'images', name='clone', clone=first)
    named = make_dataset(server, data_root / 'images', name='named', seed=str(seed), **few)
    for job_id in (clone, named):
        assert server.wait(job_id)['status'] == 'Done'
        assert server.client.get('/datasets/%s.json' % job_id).json()['seed'] == seed
        assert val_list(server, job_id) == val_list(server, first)
    r = server.client.post('/datasets/images/classification.json',
                           data=dict(method='folder', folder_train=str(data_root / 'images'),
                                     dataset_name='x', seed='-1'))
    assert r.status_code == 400 and 'seed' in r.json()['errors']
