"""Image classification dataset jobs: what the worker is asked to build,
what the finished folder holds, and the job's JSON (DIGITS' keys).

Files of a finished job (DIGITS' names): ``labels.txt``, ``train.txt`` /
``val.txt`` / ``test.txt``, ``train_db`` / ``val_db`` / ``test_db``,
``mean.binaryproto``, ``mean.jpg``, and the logs ``parse_folder.log`` and
``create_<split>_db.log``.
"""
import os
import re
import time

from .. import textfile
from ..tools.dataset import SPLITS
from . import jobs
from .executor import worker_command
from .worker import error_of

LABELS_FILE, MEAN_FILE, MEAN_IMAGE = 'labels.txt', 'mean.binaryproto', 'mean.jpg'
# The worker's progress lines, and the line that starts each split's DB.
PROCESSED = re.compile(r'Processed (\d+)/(\d+) images')
CREATING = re.compile(r'Creating (train|val|test)_db')


def new_dataset_facts(values, image_folder):
    """The facts a dataset job starts with, from its form values."""
    return dict(image_folder=image_folder,
                image_dims=[values['resize_height'], values['resize_width'],
                            int(values['resize_channels'])],
                resize_mode=values['resize_mode'], encoding=values['encoding'])


def create_job(store, values, user, image_folder, seed=0):
    """Register a dataset job of dataset form ``values`` reading
    ``image_folder`` (not yet run); ``seed`` drives the split's shuffle."""
    with store.reserved() as job_id:
        job = jobs.new_job('dataset', values['dataset_name'], user, values['group_name'],
                           form=values, seed=seed, **new_dataset_facts(values, image_folder))
        return store.add(job_id, job)


def worker_argv(job_dir):
    return worker_command('dataset', job_dir)


def read_labels(job_dir):
    return textfile.read_labels(os.path.join(job_dir, LABELS_FILE))


def finished_facts(job_dir):
    """Counts of a finished dataset: {'labels': n, 'counts': {split: n},
    'distribution': {split: [images per class]}} from its list files."""
    n = len(read_labels(job_dir))
    counts, distribution = {}, {}
    for split in SPLITS:
        per_class = [0] * n
        path = os.path.join(job_dir, split + '.txt')
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                for line in f:
                    if line.strip():
                        per_class[int(line.rsplit(' ', 1)[1])] += 1
        counts[split], distribution[split] = sum(per_class), per_class
    return dict(labels=n, counts=counts, distribution=distribution)


class DatasetProgress:
    """Reads a dataset worker's output: routes lines to DIGITS' log files,
    tracks progress and the error line. ``publish(event, **data)``
    announces progress."""

    def __init__(self, job, job_dir, publish):
        self.job, self.job_dir, self.publish = job, job_dir, publish
        self.log_name = 'parse_folder.log'
        self.error = None
        self.started = time.time()

    def feed(self, line):
        m = CREATING.search(line)
        if m:
            self.log_name = 'create_%s_db.log' % m.group(1)
        with open(os.path.join(self.job_dir, self.log_name), 'a', encoding='utf-8') as f:
            f.write(line + '\n')
        self.error = error_of(line) or self.error
        m = PROCESSED.search(line)
        if m and int(m.group(2)):
            progress = int(m.group(1)) / float(m.group(2))
            elapsed = time.time() - self.started
            self.job['progress'] = progress
            self.job['eta'] = elapsed * (1 - progress) / progress if progress else None
            self.publish('progress', percentage=int(round(100 * progress)),
                         eta=self.job['eta'])


def dataset_json(job, job_dir, detailed=True):
    """DIGITS' JSON of a dataset job (the keys of its REST walkthrough),
    with caffelite's progress, error and class distribution."""
    h, w, c = job['image_dims']
    d = dict(id=job['id'], name=job['name'], status=job['status'], type='dataset',
             username=job['username'], group=job['group'],
             progress=int(round(100 * job['progress'])), eta=job['eta'], error=job['error'],
             **{'job id': job['id'],
                'creation time': time.strftime('%Y-%m-%d %H:%M:%S',
                                               time.localtime(job['created'])),
                'image dimensions': [h, w, c], 'image resize mode': job['resize_mode'],
                'labels file': LABELS_FILE, 'mean file': MEAN_FILE})
    if not detailed:
        return d
    counts = job.get('counts') or {}
    d.update(directory=job_dir, status_history=job['status_history'],
             distribution=job.get('distribution'), encoding=job['encoding'])
    d['ParseFolderTasks'] = [{'name': 'Parse Folder (train/val)',
                              'label_count': job.get('labels', 0),
                              'train_count': counts.get('train', 0),
                              'val_count': counts.get('val', 0),
                              'test_count': counts.get('test', 0)}]
    d['CreateDbTasks'] = [{'name': 'Create DB (%s)' % split, 'entries': counts[split],
                           'image_width': w, 'image_height': h, 'image_channels': c,
                           'backend': 'lmdb', 'encoding': job['encoding'],
                           'compression': 'none'}
                          for split in SPLITS if counts.get(split)]
    return d
