"""The three kinds of dataset jobs and the module that runs and describes
each: classification (:mod:`.datasets`), object detection
and image processing (:mod:`.detection_datasets`) and prebuilt generic LMDBs
(:mod:`.prebuilt_datasets`). Each module has ``worker_argv(job_dir)``,
``finished_facts(job_dir)`` and ``dataset_json(job, job_dir, detailed)``."""
import os

from . import datasets, detection_datasets, prebuilt_datasets


def kind_of(job):
    """The module of a dataset job's kind."""
    if detection_datasets.is_extension(job):
        return detection_datasets
    if prebuilt_datasets.is_prebuilt(job):
        return prebuilt_datasets
    return datasets


def is_generic(job):
    """Whether a dataset job is one of DIGITS' generic kinds (its models are
    generic image models, fed features and labels from two databases)."""
    return kind_of(job) is not datasets


def labels_file(job, job_dir):
    """The labels.txt of a dataset job; None for DIGITS' generic kinds,
    which have none (a model of one reports no labels file, as in DIGITS)."""
    return None if is_generic(job) else os.path.join(job_dir, datasets.LABELS_FILE)


def mean_file(job, job_dir):
    """The mean.binaryproto of a dataset job (None: it has none)."""
    if detection_datasets.is_extension(job):
        return os.path.join(job_dir, detection_datasets.MEAN_FILE)
    if prebuilt_datasets.is_prebuilt(job):
        return prebuilt_datasets.mean_path(job_dir)
    return os.path.join(job_dir, datasets.MEAN_FILE)
