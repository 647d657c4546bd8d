"""Image classification model jobs: the files DIGITS writes for one
(``original.prototxt`` as submitted, ``train_val.prototxt``,
``deploy.prototxt``, ``solver.prototxt``), the training worker's command,
its snapshots (every ``snapshot_iter_N.caffemodel``, only the newest
``.solverstate`` kept), its live curves and the job's JSON (DIGITS' keys).
"""
import math
import os
import re
import time

from ..codec import load_mean
from ..digits import hdf5_db, networks, solver as digits_solver, split
from ..digits.forms import lr_policy, parse_network_text, pretrained_paths
from ..errors import CaffeError
from ..model_folder import snapshot_files
from ..proto import caffe_pb2
from ..protoio import atomic_open, read_text
from ..training_log import parse_line
from . import dataset_kinds, datasets, detection_datasets, jobs, prebuilt_datasets
from .executor import worker_command
from .worker import error_of

ORIGINAL, TRAIN_VAL, DEPLOY, SOLVER = ('original.prototxt', 'train_val.prototxt',
                                       'deploy.prototxt', 'solver.prototxt')
LOG_FILE = 'caffe_output.log'
# the module DIGITS' Python layers of a model job import (form: python_layer_*)
PYTHON_LAYER_MODULE = 'digits_python_layers'
PYTHON_LAYER = PYTHON_LAYER_MODULE + '.py'
SOLVERSTATE_WRITTEN = re.compile(r'Snapshotting solver state to .*snapshot_iter_(\d+)')
# Where a resumed run starts: Caffe's restore line, or ours when there is no
# solverstate to restore.
RESUMING = re.compile(r'(?:Restoring previous solver status from .*snapshot_iter_|'
                      r'Training restarts from iteration )(\d+)')
# Seconds between two progress events (a curve point is sent at once).
PROGRESS_PERIOD = 1.0


class NetworkChoiceError(CaffeError):
    """The model form names a network that cannot be used; ``field`` is the
    form field at fault."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def split_dataset(dataset_job, dataset_dir):
    """The :class:`caffelite.digits.split.Dataset` of a finished dataset job."""
    h, w, c = dataset_job['image_dims']
    mean_file = os.path.join(dataset_dir, datasets.MEAN_FILE)
    backend = datasets.backend_of(dataset_job)

    def source(split_name):
        # an HDF5Data layer reads the folder's list of .h5 files
        folder = os.path.join(dataset_dir, split_name + '_db')
        return os.path.join(folder, hdf5_db.LIST_FILE) if backend == 'hdf5' else folder
    val_db = source('val') if dataset_job['counts']['val'] else None
    return split.Dataset(source('train'), val_db, mean_file,
                         split.mean_pixel(load_mean(mean_file)), h, w, c,
                         dataset_job['labels'], backend)


def split_generic_dataset(dataset_job, dataset_dir):
    """The :class:`caffelite.digits.split.GenericDataset` of a finished
    object-detection or prebuilt generic dataset job."""
    h, w, c = dataset_job['image_dims']
    mean_file = dataset_kinds.mean_file(dataset_job, dataset_dir)
    if prebuilt_datasets.is_prebuilt(dataset_job):
        form = dataset_job['form']
        dbs = {'%s_%s' % (stage, kind): form[field] or None
               for stage, fields in prebuilt_datasets.STAGES.items()
               for kind, field in zip(('features', 'labels'), fields)}
    else:
        dbs = {}
        for split_name in detection_datasets.SPLITS:
            for kind in ('features', 'labels'):
                path = os.path.join(dataset_dir, split_name + '_db', kind)
                dbs['%s_%s' % (split_name, kind)] = \
                    path if dataset_job['counts'].get(split_name) else None
    pixel = split.mean_pixel(load_mean(mean_file)) if mean_file else None
    return split.GenericDataset(mean_file=mean_file, mean_pixel=pixel,
                                height=h, width=w, channels=c, **dbs)


def split_network(network, dataset_job, dataset_dir, batch_size, crop_size, use_mean):
    """DIGITS' split of ``network`` for a finished dataset job: the generic
    split for a generic dataset, the classification one else."""
    if dataset_kinds.is_generic(dataset_job):
        return split.split_generic(network, split_generic_dataset(dataset_job, dataset_dir),
                                   batch_size, crop_size, use_mean)
    return split.split_classification(network, split_dataset(dataset_job, dataset_dir),
                                      batch_size, crop_size, use_mean)


def write_model_files(job, job_dir, network, dataset_job, dataset_dir, gpu=False):
    """Write the four prototxt files of a model job (DIGITS' split and
    solver rules) and record max_iter, batch and crop sizes in ``job``."""
    form = job['form']
    cut = split_network(network, dataset_job, dataset_dir, form['batch_size'],
                        form['crop_size'], form['use_mean'])
    counts = dataset_job['counts']
    solver = digits_solver.digits_solver(
        counts['train'], counts['val'], cut.train_batch, cut.val_batch,
        train_epochs=form['train_epochs'], snapshot_interval=form['snapshot_interval'],
        val_interval=form['val_interval'], learning_rate=form['learning_rate'],
        lr_policy=job['lr_policy'], solver_type=form['solver_type'],
        batch_accumulation=form['batch_accumulation'], rms_decay=form['rms_decay'],
        random_seed=form['random_seed'], gpu=gpu)
    for name, message in ((ORIGINAL, network), (TRAIN_VAL, cut.train_val),
                          (DEPLOY, cut.deploy), (SOLVER, solver)):
        with atomic_open(os.path.join(job_dir, name), 'w') as f:
            f.write(str(message))
    job.update(max_iter=solver.max_iter, train_batch=cut.train_batch, val_batch=cut.val_batch,
               crop_size=cut.crop_size, use_mean=cut.use_mean, files_written=True)


def mean_used(job):
    """The mean a model job's data layers subtract, which inference
    subtracts too: the form's use_mean, unless the split had to drop it
    (HDF5Data layers subtract none)."""
    return job.get('use_mean', job['form']['use_mean'])


def create_job(store, values, name, user, dataset_job, network, weights=(), source=None,
               gpu=False):
    """Reserve, write and register one model job of model form ``values``
    (not yet run): its original.prototxt and, when the dataset is done, the
    other prototxt files."""
    with store.reserved() as job_id:
        job_dir = store.path(job_id)
        job = jobs.new_job('model', name, user, values['group_name'], form=values,
                           dataset_id=dataset_job['id'], pretrained_model=list(weights),
                           source_job_id=source, lr_policy=lr_policy(values))
        job['id'] = job_id
        with atomic_open(os.path.join(job_dir, ORIGINAL), 'w') as f:
            f.write(str(network))
        if dataset_job['status'] == jobs.DONE:
            write_model_files(job, job_dir, network, dataset_job,
                              store.path(dataset_job['id']), gpu)
        return store.add(job_id, job)


def read_network(path):
    return read_text(path, caffe_pb2.NetParameter())


def network_for(values, store):
    """(NetParameter, [pretrained weight files], source job id or None) of
    a model form (the network tab it chose)."""
    method = values['method']
    if method == 'standard':
        return networks.standard_network(values['standard_networks']), [], None
    if method == 'custom':
        return parse_network_text(values['custom_network']), pretrained_paths(values), None
    field = method + '_networks'
    job_id = values[field]
    old = store.jobs.get(job_id)
    wanted = 'model' if method == 'previous' else 'pretrained'
    if old is None or old['type'] != wanted:
        raise NetworkChoiceError(field, "Selected job doesn't exist. Maybe it was deleted "
                                        "by another user.")
    folder = store.path(job_id)
    if method == 'pretrained':
        return read_network(os.path.join(folder, ORIGINAL)), [
            os.path.join(folder, 'model.caffemodel')], job_id
    same = old['dataset_id'] == values['dataset']
    network = split.network_from_previous(read_network(os.path.join(folder, ORIGINAL)), same)
    epoch = values['previous_snapshot']
    if epoch == 0:
        weights = []
    elif epoch == -1:
        weights = list(old.get('pretrained_model') or [])
    else:
        found = [path for path, e in snapshots(old, folder) if e == epoch]
        if not found:
            raise NetworkChoiceError(field, 'Job %s has no snapshot for epoch %g'
                                     % (job_id, epoch))
        weights = found
    return network, weights, job_id


def snapshots(job, job_dir):
    """[(path, epoch)] of a model job's .caffemodel snapshots, by iteration."""
    if not job.get('max_iter'):
        return []
    return [(path, digits_solver.snapshot_epoch(it, job['max_iter'],
                                                job['form']['train_epochs']))
            for it, path in snapshot_files(job_dir)]


def snapshot_path(job, job_dir, epoch=None):
    """The snapshot of ``epoch`` (None or -1: the newest)."""
    found = snapshots(job, job_dir)
    if not found:
        raise CaffeError('model %s has no snapshot yet' % job['id'])
    if epoch is None or epoch == -1:
        return found[-1][0]
    for path, e in found:
        if e == epoch:
            return path
    raise CaffeError('model %s has no snapshot for epoch %g (it has %s)'
                     % (job['id'], epoch, ', '.join(str(e) for _, e in found)))


def solverstates(job_dir):
    """[(iteration, path)] of the .solverstate files, oldest first."""
    return snapshot_files(job_dir, 'solverstate')


def prune_solverstates(job_dir, newest):
    """Keep only the newest .solverstate (of iteration ``newest``, which may
    still be being written), as DIGITS does."""
    for iteration, path in solverstates(job_dir):
        if iteration < newest:
            os.remove(path)


def worker_argv(job, job_dir, gpu=None):
    """The training command: from the newest solverstate when resuming,
    else from the pretrained weights if any."""
    args = ['train', '-solver', SOLVER]
    states = solverstates(job_dir)
    if job.get('resume') and states:
        args += ['-snapshot', os.path.basename(states[-1][1])]
    elif job.get('pretrained_model'):
        args += ['-weights', ','.join(job['pretrained_model'])]
    if gpu is not None:
        args += ['-gpu', str(gpu)]
    return worker_command(*args)


class TrainingProgress:
    """Reads the training worker's Caffe log: appends it to
    caffe_output.log (unless replaying it), follows the iteration, keeps
    the curves (``job['train_outputs']`` / ``['val_outputs']``: {name:
    [[epoch, value]]}) and announces progress, curve points and snapshots
    through ``publish(event, **data)``. A NaN output or an error line sets
    ``error`` ({'type', 'message'})."""

    def __init__(self, job, job_dir, publish, replay=False):
        self.job, self.job_dir, self.publish = job, job_dir, publish
        self.log = None if replay else open(os.path.join(job_dir, LOG_FILE), 'a',
                                            encoding='utf-8')
        job.setdefault('train_outputs', {})
        job.setdefault('val_outputs', {})
        self.iter_per_epoch = job['max_iter'] / float(job['form']['train_epochs'])
        self.epoch = 0.0
        self.error = None
        self.started, self.start_progress = time.time(), job.get('progress', 0.0)
        self.last_progress = 0.0

    def close(self):
        if self.log:
            self.log.close()

    def write(self, line):
        """A line of our own in the log (e.g. the resume marker)."""
        if self.log:
            self.log.write(line + '\n')
            self.log.flush()
        self.feed(line, logged=True)

    def feed(self, line, logged=False):
        if self.log and not logged:
            self.log.write(line + '\n')
            self.log.flush()
        event = parse_line(line)
        if event is not None:
            self._event(event)
        m = SOLVERSTATE_WRITTEN.search(line)
        if m and self.log:
            prune_solverstates(self.job_dir, int(m.group(1)))
            self.publish('snapshots', snapshots=[e for _, e in snapshots(self.job,
                                                                          self.job_dir)])
        m = RESUMING.search(line)
        if m:
            self._truncate(int(m.group(1)) / self.iter_per_epoch)
        self.error = error_of(line) or self.error

    def _event(self, event):
        kind = event[0]
        if kind in ('iteration', 'lr', 'loss', 'testing') and event[1] is not None:
            self._iteration(event[1])
        if kind == 'lr':
            self._point('train', 'learning_rate', event[2])
        elif kind == 'output':
            phase = 'train' if event[1] == 'Train' else 'val'
            if math.isnan(event[3]):
                self.error = {'type': 'NaNError', 'message':
                              'Network outputted NaN for "%s" (%s phase). Try decreasing '
                              'your learning rate.' % (event[2], event[1])}
            self._point(phase, event[2], event[3])

    def _iteration(self, it):
        epoch = it / self.iter_per_epoch
        if epoch == self.epoch:
            return
        self.epoch = epoch
        progress = min(1.0, epoch / self.job['form']['train_epochs'])
        self.job['progress'] = progress
        done = progress - self.start_progress
        elapsed = time.time() - self.started
        self.job['eta'] = elapsed * (1 - progress) / done if done > 0 else None
        if self.log and time.time() - self.last_progress >= PROGRESS_PERIOD:
            self.last_progress = time.time()
            self.publish('progress', percentage=int(round(100 * progress)),
                         eta=self.job['eta'])

    def _point(self, phase, name, value):
        series = self.job['%s_outputs' % phase].setdefault(name, [])
        series.append([round(self.epoch, 6), value])
        if self.log:
            self.publish('graph', phase=phase, name=name, epoch=round(self.epoch, 6),
                         value=value)

    def _truncate(self, epoch):
        """Forget curve points after ``epoch`` (training resumes there)."""
        self.epoch = epoch
        for phase in ('train', 'val'):
            outputs = self.job['%s_outputs' % phase]
            for name in outputs:
                outputs[name] = [p for p in outputs[name] if p[0] <= epoch + 1e-9]


def replay_log(job, job_dir):
    """Rebuild a model job's curves from its caffe_output.log."""
    job['train_outputs'], job['val_outputs'] = {}, {}
    path = os.path.join(job_dir, LOG_FILE)
    if not job.get('max_iter') or not os.path.exists(path):
        return
    progress = TrainingProgress(job, job_dir, lambda *a, **k: None, replay=True)
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            progress.feed(line.rstrip('\n'))


def output_types(job, job_dir):
    """{blob: type of the first layer of the job's train_val that makes it}:
    what DIGITS takes as the kind of a logged output, so that an Accuracy
    layer's output goes on the accuracy axis whatever its name (GoogLeNet's
    'loss3/top-1'), read once the file is written."""
    if 'output_types' not in job:
        path = os.path.join(job_dir, TRAIN_VAL)
        if not os.path.exists(path):
            return {}
        types = {}
        for layer in read_text(path, caffe_pb2.NetParameter()).layer:
            for top in layer.top:
                types.setdefault(top, layer.type)
        job['output_types'] = types
    return job['output_types']


def model_json(job, job_dir, dataset_job, dataset_dir, detailed=True):
    """DIGITS' JSON of a model job (the keys of its REST walkthrough), with
    caffelite's progress, error and curves. As DIGITS, it names a labels
    file only when the dataset has one (generic datasets have none) and the
    mean file by its base name ('' when the dataset has no mean)."""
    found = snapshots(job, job_dir)
    d = dict(id=job['id'], name=job['name'], status=job['status'], type='model',
             username=job['username'], group=job['group'], dataset_id=job['dataset_id'],
             framework='caffe', progress=int(round(100 * job['progress'])), eta=job['eta'],
             error=job['error'],
             **{'job id': job['id'],
                'creation time': time.strftime('%Y-%m-%d %H:%M:%S',
                                               time.localtime(job['created'])),
                'deploy file': DEPLOY, 'train_val file': TRAIN_VAL, 'solver file': SOLVER,
                'network file': ORIGINAL, 'model file': ORIGINAL,
                'snapshot file': os.path.basename(found[-1][0]) if found else 'no snapshots'})
    if dataset_job is not None:
        labels = dataset_kinds.labels_file(dataset_job, dataset_dir)
        if labels:
            d['labels file'] = os.path.basename(labels)
        d['mean file'] = os.path.basename(dataset_kinds.mean_file(dataset_job, dataset_dir)
                                          or '')
        d['image dimensions'] = dataset_job['image_dims']
        d['image resize mode'] = dataset_job['resize_mode']
    if detailed:
        d.update(directory=job_dir, snapshots=[e for _, e in found],
                 max_iter=job.get('max_iter'),
                 train_epochs=job['form']['train_epochs'],
                 train_outputs=job.get('train_outputs', {}),
                 val_outputs=job.get('val_outputs', {}),
                 output_types=output_types(job, job_dir),
                 resumable=job['status'] in (jobs.ABORT, jobs.ERROR) and bool(job.get('max_iter')))
    return d
