"""Jobs on disk, in DIGITS' layout: ``jobs_dir/<YYYYMMDD-HHMMSS-4hex>/``
holds a job's files and its state, ``status.json`` (JSON written
atomically; DIGITS kept a Python-2 pickle there as ``status.pickle``).

A job's state is a plain dict: ``id``, ``type`` ('dataset', 'model' or
'pretrained'), ``name``, ``username``, ``group``, ``status`` (DIGITS'
names: Initialized, Waiting, Running, Done, Aborted, Error),
``status_history`` ([[status, unix time]]), ``progress`` (0..1), ``eta``
(seconds or None), ``error`` ({'type', 'message'} or None), ``form`` (the
form values that made it, for cloning), ``pid`` (of its running worker) and
the facts of its type (see :mod:`caffelite.server.datasets` and
:mod:`caffelite.server.models`).
"""
import contextlib
import json
import os
import re
import shutil
import time

from ..errors import CaffeError
from ..protoio import atomic_open

STATE_FILE = 'status.json'
INIT, WAIT, RUN, DONE, ABORT, ERROR = 'Initialized', 'Waiting', 'Running', 'Done', 'Aborted', 'Error'
RUNNING = (INIT, WAIT, RUN)
ID_PATTERN = re.compile(r'^\d{8}-\d{6}-[0-9a-f]{4}$')


class JobNotFound(CaffeError, LookupError):
    """No job has this id."""


def new_job_id(jobs_dir):
    """A fresh DIGITS job id: creation time and 4 random hex digits."""
    while True:
        job_id = '%s-%s' % (time.strftime('%Y%m%d-%H%M%S'), os.urandom(2).hex())
        if not os.path.exists(os.path.join(jobs_dir, job_id)):
            return job_id


def new_job(job_type, name, username, group='', form=None, **facts):
    """The state dict of a new job (not yet saved; see JobStore.add)."""
    now = time.time()
    job = dict(type=job_type, name=name, username=username, group=group or '',
               status=INIT, status_history=[[INIT, now]], created=now, progress=0.0,
               eta=None, error=None, form=form or {}, pid=None, notes=None)
    job.update(facts)
    return job


class JobStore:
    """The jobs of one jobs folder, in memory and on disk."""

    def __init__(self, jobs_dir):
        self.jobs_dir = os.path.abspath(jobs_dir)
        os.makedirs(self.jobs_dir, exist_ok=True)
        self.jobs = {}

    def path(self, job_id, *parts):
        return os.path.join(self.jobs_dir, job_id, *parts)

    def get(self, job_id):
        if job_id not in self.jobs:
            raise JobNotFound('Job not found: %s' % job_id)
        return self.jobs[job_id]

    def reserve(self):
        """A new job id with its (empty) folder created."""
        while True:
            job_id = new_job_id(self.jobs_dir)
            try:
                os.mkdir(self.path(job_id))
                return job_id
            except FileExistsError:
                continue

    @contextlib.contextmanager
    def reserved(self):
        """A new job id (``reserve``) for the block, whose folder is
        discarded when the block raises: the block registers the job
        (``add``) or leaves nothing behind."""
        job_id = self.reserve()
        try:
            yield job_id
        except BaseException:
            self.discard(job_id)
            raise

    def add(self, job_id, job):
        """Register ``job`` under a reserved id and save it."""
        job['id'] = job_id
        self.jobs[job_id] = job
        self.save(job)
        return job

    def save(self, job):
        with atomic_open(self.path(job['id'], STATE_FILE), 'w') as f:
            json.dump(job, f, indent=1, sort_keys=True)

    def set_status(self, job, status, error=None):
        job['status'] = status
        job['status_history'].append([status, time.time()])
        if error is not None:
            job['error'] = error
        if status not in RUNNING:
            job['pid'] = None
            job['eta'] = None
        self.save(job)

    def discard(self, job_id):
        """Remove a reserved or failed job's folder and forget it."""
        self.jobs.pop(job_id, None)
        shutil.rmtree(self.path(job_id), ignore_errors=True)

    def load_all(self):
        """Read every job folder. A job that was waiting or running when the
        server stopped becomes Aborted (it can be resumed); returns those."""
        interrupted = []
        for name in sorted(os.listdir(self.jobs_dir)):
            state = self.path(name, STATE_FILE)
            if not ID_PATTERN.match(name) or not os.path.isfile(state):
                continue
            with open(state, encoding='utf-8') as f:
                try:
                    job = json.load(f)
                except ValueError:
                    continue
            job['id'] = name
            if job['status'] == 'Abort':     # a state written before the status took DIGITS' name
                job['status'] = ABORT
            self.jobs[name] = job
            if job['status'] in RUNNING:
                interrupted.append(job)
        return interrupted

    def list(self, job_type=None):
        """Jobs, newest first, optionally of one type."""
        jobs = [j for j in self.jobs.values() if job_type is None or j['type'] == job_type]
        return sorted(jobs, key=lambda j: j['created'], reverse=True)

    def dependents(self, job_id):
        """Jobs that use ``job_id`` (models of a dataset, of a pretrained
        model or trained from a previous model)."""
        return [j for j in self.jobs.values()
                if job_id in (j.get('dataset_id'), j.get('source_job_id'))]
