"""Image classification dataset jobs: what the worker is asked to build,
what the finished folder holds, and the job's JSON (DIGITS' keys).

Files of a finished job (DIGITS' names): ``labels.txt``, ``train.txt`` /
``val.txt`` / ``test.txt``, ``train_db`` / ``val_db`` / ``test_db`` (LMDBs,
or folders of .h5 files and their ``list.txt`` with ``backend=hdf5``),
``mean.binaryproto``, ``mean.jpg``, and the logs ``parse_folder.log`` and
``create_<split>_db.log``.
"""
import os
import re
import time

from .. import textfile
from ..digits.forms import SEPARATE_SPLITS
from ..tools.dataset import SPLITS, new_seed
from . import jobs
from .executor import worker_command
from .worker import error_of

LABELS_FILE, MEAN_FILE, MEAN_IMAGE = 'labels.txt', 'mean.binaryproto', 'mean.jpg'
# The worker's progress lines, and the line that starts each split's DB.
PROCESSED = re.compile(r'Processed (\d+)/(\d+) images')
CREATING = re.compile(r'Creating (train|val|test)_db')


def new_dataset_facts(values, image_folder, separate=None):
    """The facts a dataset job starts with, from its form values; a
    separate val or test folder (``separate``: {split: real path}) is the
    fact ``<split>_folder``. A textfile dataset (no ``image_folder``) has
    the fact ``textfiles`` too (see :mod:`.textfile_datasets`)."""
    return dict(image_folder=image_folder,
                image_dims=[values['resize_height'], values['resize_width'],
                            int(values['resize_channels'])],
                resize_mode=values['resize_mode'], encoding=values['encoding'],
                **{split + '_folder': path for split, path in (separate or {}).items()})


def draw_seed(values):
    """Give a new dataset job's form ``values`` its shuffle seed: the one
    asked for, else one drawn now. DIGITS shuffles each new dataset
    differently (parse_folder and the object-detection extension shuffle
    unseeded, the image-processing extension draws a seed per job); here
    the seed stays in the job's form, its JSON shows it and a clone repeats
    the split."""
    if values.get('seed') is None:
        values['seed'] = new_seed()
    return values


def create_job(store, values, user, image_folder, separate=None, textfiles=None,
               max_url_bytes=0):
    """Register a dataset job of dataset form ``values`` reading
    ``image_folder`` and the ``separate`` val/test folders ({split: real
    path or URL}) (not yet run); the form's seed (drawn when blank) drives
    the split's shuffle. ``textfiles(job folder)``, for a textfile form,
    fills the reserved job folder and returns the job's ``textfiles`` fact.
    ``max_url_bytes``: the size limit of an image of a folder URL."""
    with store.reserved() as job_id:
        job = jobs.new_job('dataset', values['dataset_name'], user, values['group_name'],
                           form=draw_seed(values), max_url_bytes=max_url_bytes,
                           **new_dataset_facts(values, image_folder, separate))
        if textfiles:
            job['textfiles'] = textfiles(store.path(job_id))
        return store.add(job_id, job)


def folders_of(job):
    """{split: folder} of the splits a dataset job reads from a folder of
    their own."""
    return {split: job[split + '_folder'] for split in SEPARATE_SPLITS
            if job.get(split + '_folder')}


def backend_of(job):
    """'lmdb' or 'hdf5': the databases of a dataset job."""
    return job['form'].get('backend', 'lmdb')


def text_source(textfiles, split):
    """The list and images folder a textfile dataset's ``split`` came
    from (DIGITS' CreateDbTask input_file and image_folder); {} for a
    dataset made from folders."""
    if not textfiles or split not in textfiles['lists']:
        return {}
    path, _, folder = textfiles['lists'][split]
    return {'input_file': path, 'image_folder': folder}


def parse_task_name(splits):
    """DIGITS' name of a folder's parse task, e.g. 'Parse Folder (train/val)'."""
    return 'Parse Folder (%s)' % '/'.join(splits)


def parse_folder_tasks(job, counts):
    """DIGITS' ParseFolderTasks of a dataset job: one per folder read (the
    training folder, then each separate val/test folder), with its counts
    and, beyond DIGITS' keys, the folder."""
    separate = folders_of(job)
    form = job['form']
    percents = {'val': form['folder_pct_val'], 'test': form['folder_pct_test']}
    cut = [s for s in SEPARATE_SPLITS if percents[s] and s not in separate]
    from_train = (['train'] if sum(percents[s] for s in cut) < 100 else []) + cut
    tasks = [dict(name=parse_task_name(from_train), folder=job['image_folder'],
                  label_count=job.get('labels', 0),
                  **{s + '_count': counts.get(s, 0) if s in from_train else 0
                     for s in SPLITS})]
    distribution = job.get('distribution') or {}
    for split, folder in separate.items():
        tasks.append(dict(name=parse_task_name([split]), folder=folder,
                          label_count=sum(1 for n in distribution.get(split, []) if n),
                          **{s + '_count': counts.get(s, 0) if s == split else 0
                             for s in SPLITS}))
    return tasks


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
    """Reads a dataset worker's output: routes lines to DIGITS' log files
    (``first_log`` until a DB starts; default parse_folder.log), tracks
    progress and the error line. ``publish(event, **data)``
    announces progress."""

    def __init__(self, job, job_dir, publish, first_log=None):
        self.job, self.job_dir, self.publish = job, job_dir, publish
        self.log_name = first_log or 'parse_folder.log'
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
    with caffelite's progress, error and class distribution. Nothing in it
    differs between a job and its clone but the id and the directory (DIGITS'
    test_clone compares them so): no creation time, no status history."""
    h, w, c = job['image_dims']
    d = dict(id=job['id'], name=job['name'], status=job['status'], type='dataset',
             username=job['username'], group=job['group'],
             progress=int(round(100 * job['progress'])), eta=job['eta'], error=job['error'],
             **{'image dimensions': [h, w, c], 'image resize mode': job['resize_mode'],
                'labels file': LABELS_FILE, 'mean file': MEAN_FILE})
    if not detailed:
        return d
    counts = job.get('counts') or {}
    d.update(directory=job_dir, distribution=job.get('distribution'), encoding=job['encoding'],
             seed=job['form'].get('seed'))
    textfiles = job.get('textfiles')
    d['ParseFolderTasks'] = [] if textfiles else parse_folder_tasks(job, counts)
    form = job['form']
    d['CreateDbTasks'] = [dict({'name': 'Create DB (%s)' % split, 'entries': counts[split],
                                'image_width': w, 'image_height': h, 'image_channels': c,
                                'backend': backend_of(job), 'encoding': job['encoding'],
                                'compression': form.get('compression', 'none')},
                               **text_source(textfiles, split))
                          for split in SPLITS if counts.get(split)]
    return d
