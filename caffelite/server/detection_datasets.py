"""Object-detection, image-processing and Sunnybrook dataset jobs (DIGITS'
generic datasets made by its data extensions and plug-ins): what the worker is asked to build
and the job's JSON.

Files of a finished job (DIGITS' names): ``train_db/features`` and
``train_db/labels`` LMDBs with ``train_db/mean.binaryproto``, the same
under ``val_db/`` when validation folders were given, ``classes.txt``, and
the logs ``create_train_db.log`` / ``create_val_db.log``.
"""
import os

from ..codec import datum_to_array
from ..digits.forms import IMAGE_PROCESSING, OBJECT_DETECTION, SUNNYBROOK, detection_sizes
from ..lmdbs import open_readonly
from ..proto import caffe_pb2
from . import jobs
from .datasets import draw_seed
from .executor import worker_command

SPLITS = ('train', 'val')
# the mean of a detection dataset is its training DB's
MEAN_FILE = 'train_db/mean.binaryproto'


# the data extensions caffelite has
EXTENSIONS = (OBJECT_DETECTION, IMAGE_PROCESSING, SUNNYBROOK)


def is_detection(job):
    return job.get('extension_id') == OBJECT_DETECTION


def is_extension(job):
    """Whether a dataset job was made by a data extension (this module's)."""
    return job.get('extension_id') in EXTENSIONS


def create_processing_job(store, values, user, extension_id=IMAGE_PROCESSING):
    """Register an image-processing (or Sunnybrook: ``extension_id``)
    dataset job of form ``values`` (not yet run); its image dimensions are
    known once it is built."""
    with store.reserved() as job_id:
        job = jobs.new_job('dataset', values['dataset_name'], user, values['group_name'],
                           form=draw_seed(values), extension_id=extension_id,
                           image_dims=[0, 0, 0],
                           resize_mode='squash', encoding=values['dsopts_feature_encoding'])
        return store.add(job_id, job)


def create_job(store, values, user):
    """Register an object-detection dataset job of form ``values`` (not yet
    run). Its image dimensions are those of the form (resize, else padding)
    until the finished training DB tells."""
    padding, resize = detection_sizes(values)
    width, height = resize or padding or (0, 0)
    channels = 1 if values['channel_conversion'] == 'L' else 3
    with store.reserved() as job_id:
        job = jobs.new_job('dataset', values['dataset_name'], user, values['group_name'],
                           form=draw_seed(values), extension_id=OBJECT_DETECTION,
                           image_dims=[height, width, channels], resize_mode='squash',
                           encoding=values['dsopts_feature_encoding'])
        return store.add(job_id, job)


def worker_argv(job_dir):
    return worker_command('extension', job_dir)


def finished_facts(job_dir):
    """{'counts': {split: entries}, 'image_dims': [H, W, C],
    'feature_dims', 'label_dims'} of a finished detection dataset."""
    counts = {'test': 0}
    for split in SPLITS:
        path = os.path.join(job_dir, split + '_db', 'features')
        counts[split] = first_datum(path)[0] if os.path.isdir(path) else 0
    channels, height, width = first_datum(os.path.join(job_dir, 'train_db', 'features'))[1]
    labels = first_datum(os.path.join(job_dir, 'train_db', 'labels'))[1]
    return dict(counts=counts, image_dims=[height, width, channels],
                feature_dims=[height, width, channels], label_dims=list(labels))


def first_datum(path):
    """(entries, C x H x W shape of the first Datum) of an LMDB, through
    the process's one environment of it (a net may hold it too)."""
    env = open_readonly(path)
    with env.begin() as txn:
        datum = caffe_pb2.Datum()
        datum.ParseFromString(next(iter(txn.cursor()))[1])
        return env.stat()['entries'], datum_to_array(datum).shape


def dataset_json(job, job_dir, detailed=True):
    """DIGITS' JSON of a generic (object-detection) dataset job: its
    create_db_tasks (name 'Create <stage> DB', stage, entry_count, feature
    and label DB paths) and feature_dims [H, W, C]."""
    d = dict(id=job['id'], name=job['name'], status=job['status'], type='dataset',
             username=job['username'], group=job['group'], extension_id=job['extension_id'],
             progress=int(round(100 * job['progress'])), eta=job['eta'], error=job['error'],
             **{'image dimensions': job['image_dims'], 'image resize mode': 'squash',
                'mean file': MEAN_FILE})
    if not detailed:
        return d
    counts = job.get('counts') or {}
    d.update(directory=job_dir, feature_dims=job.get('feature_dims'), seed=job['form'].get('seed'),
             ParseFolderTasks=[], CreateDbTasks=[],
             create_db_tasks=[{'name': 'Create %s DB' % split, 'stage': split,
                               'entry_count': counts.get(split, 0),
                               'feature_db_path': '%s_db/features' % split,
                               'label_db_path': '%s_db/labels' % split}
                              for split in SPLITS if job['status'] != jobs.DONE
                              or counts.get(split)])
    return d
