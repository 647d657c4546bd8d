"""Generic image dataset jobs (DIGITS' "Images > Other" dataset,
GenericImageDatasetJob): LMDBs the user built (images, and optional labels
of any shape, for training and validation) and a mean file, named by path
on the server. The job copies nothing but the mean (into
``mean.binaryproto``); its models read the databases where they are.

The worker analyzes each database as DIGITS' AnalyzeDbTask does: it counts
the entries and, with ``force_same_shape``, checks that every entry has the
first one's shape.
"""
import json
import logging
import os
import shutil

from ..codec import datum_to_array
from ..digits.forms import PREBUILT_DBS
from ..errors import CaffeError
from ..lmdbs import open_readonly
from ..proto import caffe_pb2
from . import jobs
from .detection_datasets import first_datum
from .executor import worker_command

MEAN_FILE = 'mean.binaryproto'
# the database fields of each stage: (images, labels)
STAGES = {'train': ('prebuilt_train_images', 'prebuilt_train_labels'),
          'val': ('prebuilt_val_images', 'prebuilt_val_labels')}
LOG_FILE = 'analyze_db.log'
# progress is logged every this many entries
PROGRESS_EVERY = 1000

log = logging.getLogger('caffelite.worker')


def is_prebuilt(job):
    return job['type'] == 'dataset' and job.get('form', {}).get('method') == 'prebuilt'


def create_job(store, values, user):
    """Register the generic dataset job of form ``values`` (paths already
    checked), with a copy of its mean file."""
    with store.reserved() as job_id:
        if values['prebuilt_mean_file']:
            shutil.copyfile(values['prebuilt_mean_file'], store.path(job_id, MEAN_FILE))
        job = jobs.new_job('dataset', values['dataset_name'], user, values['group_name'],
                           form=values, image_dims=[0, 0, 0], resize_mode='squash',
                           encoding='none')
        return store.add(job_id, job)


def worker_argv(job_dir):
    return worker_command('analyze', job_dir)


def databases(form):
    """[(field, path)] of the databases a form names, in DIGITS' order."""
    return [(name, form[name]) for name in PREBUILT_DBS if form[name]]


def analyze(job_dir):
    """The worker's task: analyze every database of the job's form,
    logging entries and shape; raises CaffeError naming the database and
    key of the first entry whose shape differs (force_same_shape)."""
    form = _form(job_dir)
    dbs = databases(form)
    for name, path in dbs:
        log.info('Analyzing %s DB %s', PREBUILT_DBS[name], path)
        count, shape = analyze_db(path, form['force_same_shape'])
        log.info('%s: %d entries of shape %s', PREBUILT_DBS[name], count,
                 ' x '.join(str(d) for d in shape))
    log.info('Processed %d/%d images', len(dbs), len(dbs))


def analyze_db(path, same_shape=True):
    """(entries, C x H x W shape of the first) of the LMDB ``path``; every
    entry is decoded and compared to the first when ``same_shape``."""
    env = open_readonly(path)
    count = env.stat()['entries']
    if not count:
        raise CaffeError('%s: the database is empty' % path)
    first = None
    with env.begin() as txn:
        for index, (key, value) in enumerate(txn.cursor()):
            datum = caffe_pb2.Datum()
            datum.ParseFromString(value)
            shape = datum_to_array(datum).shape
            if first is None:
                first = shape
                if not same_shape:
                    break
            elif shape != first:
                raise CaffeError('%s: entry %r has shape %s, the first entry %s'
                                 % (path, key.decode('utf-8', 'replace'), shape, first))
            if (index + 1) % PROGRESS_EVERY == 0:
                log.info('%d/%d entries checked', index + 1, count)
    return count, first


def finished_facts(job_dir):
    """{'counts': {stage: entries}, 'image_dims': [H, W, C] of the images,
    'feature_dims', 'label_dims' (C x H x W of a label, None: no labels)}."""
    form = _form(job_dir)
    counts, label_dims = {'test': 0}, None
    for stage, (images, labels) in STAGES.items():
        counts[stage] = first_datum(form[images])[0] if form[images] else 0
    channels, height, width = first_datum(form['prebuilt_train_images'])[1]
    if form['prebuilt_train_labels']:
        label_dims = list(first_datum(form['prebuilt_train_labels'])[1])
    return dict(counts=counts, image_dims=[height, width, channels],
                feature_dims=[height, width, channels], label_dims=label_dims)


def _form(job_dir):
    with open(os.path.join(job_dir, 'status.json'), encoding='utf-8') as f:
        return json.load(f)['form']


def mean_path(job_dir):
    """The job's mean.binaryproto, None when the form named no mean file."""
    path = os.path.join(job_dir, MEAN_FILE)
    return path if os.path.isfile(path) else None


def dataset_json(job, job_dir, detailed=True):
    """DIGITS' JSON of a generic image dataset job: its analyze-DB tasks
    (one per database: entries, image width, height and channels) and the
    feature and label dimensions."""
    d = dict(id=job['id'], name=job['name'], status=job['status'], type='dataset',
             username=job['username'], group=job['group'],
             progress=int(round(100 * job['progress'])), eta=job['eta'], error=job['error'],
             **{'image dimensions': job['image_dims'],
                'mean file': MEAN_FILE if mean_path(job_dir) else None})
    if not detailed:
        return d
    form = job['form']
    tasks = []
    for name, path in databases(form):
        task = {'name': 'Analyze DB (%s)' % PREBUILT_DBS[name], 'purpose': PREBUILT_DBS[name],
                'database': path}
        if job['status'] == jobs.DONE:
            count, (c, h, w) = first_datum(path)
            task.update(entry_count=count, image_width=w, image_height=h, image_channels=c)
        tasks.append(task)
    d.update(directory=job_dir, feature_dims=job.get('feature_dims'),
             label_dims=job.get('label_dims'), analyze_db_tasks=tasks,
             force_same_shape=form['force_same_shape'])
    return d
