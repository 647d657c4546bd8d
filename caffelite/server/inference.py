"""Classifiers of model jobs, kept loaded: a request to classify pays for
loading a snapshot once, not every time. Each classifier is used by one
request at a time (a net is not thread-safe); requests run in threads so
the event loop stays free for other requests and live updates."""
import collections
import os
import sys
import threading

from ..job_classifier import JobClassifier
from . import dataset_kinds, jobs, models

CACHE_SIZE = 4
# Held while a classifier is built: its job's Python layer module replaces
# another job's module of the same name.
PYTHON_LAYER_LOCK = threading.Lock()


def classifier_settings(store, job):
    """The JobClassifier keywords (mean, labels, image_dims, resize_mode,
    use_mean) of model ``job``: its dataset's mean, labels, size and resize
    mode and the mean the model's data layers subtracted, so that every
    entry point preprocesses an image as the model was trained."""
    dataset = store.get(job['dataset_id'])
    dataset_dir = store.path(dataset['id'])
    return dict(mean=dataset_kinds.mean_file(dataset, dataset_dir),
                labels=dataset_kinds.labels_file(dataset, dataset_dir),
                image_dims=dataset['image_dims'], resize_mode=dataset['resize_mode'],
                use_mean=models.mean_used(job))


def job_folder_settings(folder):
    """``classifier_settings`` of the model job in ``folder`` when it is a
    job folder of ``caffelite serve`` whose dataset job sits beside it;
    {} for any other folder or file."""
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, jobs.STATE_FILE)):
        return {}
    store = jobs.JobStore(os.path.dirname(folder))
    store.load_all()
    job = store.jobs.get(os.path.basename(folder))
    if not job or job['type'] != 'model' or job.get('dataset_id') not in store.jobs:
        return {}
    return classifier_settings(store, job)


class LoadedClassifier:
    def __init__(self, classifier):
        self.classifier = classifier
        self.lock = threading.Lock()


class ClassifierCache:
    """The newest CACHE_SIZE classifiers, by (job, snapshot file, mtime)."""

    def __init__(self, store, size=CACHE_SIZE):
        self.store, self.size = store, size
        self.loaded = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, job, epoch=None):
        """The LoadedClassifier of model ``job`` at snapshot ``epoch``
        (None: newest). Raises CaffeError when there is none."""
        job_dir = self.store.path(job['id'])
        weights = models.snapshot_path(job, job_dir, epoch)
        key = (job['id'], weights, os.path.getmtime(weights))
        with self.lock:
            if key in self.loaded:
                self.loaded.move_to_end(key)
                return self.loaded[key]
        with PYTHON_LAYER_LOCK:
            # every job has its own digits_python_layers (DIGITS ran each
            # inference in a process of its own): import this job's, not the
            # one an earlier job left in sys.modules
            sys.modules.pop(models.PYTHON_LAYER_MODULE, None)
            classifier = JobClassifier(os.path.join(job_dir, models.DEPLOY), weights,
                                       **classifier_settings(self.store, job))
        with self.lock:
            self.loaded[key] = LoadedClassifier(classifier)
            while len(self.loaded) > self.size:
                self.loaded.popitem(last=False)
            return self.loaded[key]

    def forget(self, job_id):
        with self.lock:
            for key in [k for k in self.loaded if k[0] == job_id]:
                del self.loaded[key]
