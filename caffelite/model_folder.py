"""A model folder the way DIGITS leaves a model job: beside the snapshots,
``deploy.prototxt`` (the net the weights classify with), ``labels.txt`` and
the dataset's mean (``mean.binaryproto``, ``mean.jpg``), so that
``caffelite classify --model FOLDER`` and the course code find everything
there. ``caffelite train`` and the demo write it into the snapshot folder;
files already there are left as they are.

Its newest snapshot (``latest_snapshot``) is the one lookup every reader of
a model folder uses: ``classify`` and ``export onnx --model``, the demo,
the course examples and the server's model jobs.
"""
import glob
import logging
import os
import re
import shutil

from .deploy_net import DATA_TYPES, deploy_from_training
from .errors import CaffeError
from .net import load_net_param
from .protoio import atomic_open

log = logging.getLogger('caffelite.train')

# Caffe's snapshot names: <prefix>_iter_<N>.caffemodel or .solverstate, with
# .h5 after them when the solver's snapshot_format is HDF5.
SNAPSHOT_NAME = re.compile(r'_iter_(\d+)\.(caffemodel|solverstate)(?:\.h5)?$')
WEIGHT_FILES = ('*.caffemodel', '*.caffemodel.h5')


def snapshot_files(folder, kind='caffemodel'):
    """[(iteration, path)] of the ``kind`` snapshots ('caffemodel' or
    'solverstate') directly in ``folder``, oldest first; [] when the folder
    does not exist."""
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = SNAPSHOT_NAME.search(name)
        if match and match.group(2) == kind:
            found.append((int(match.group(1)), os.path.join(folder, name)))
    return sorted(found)


def latest_snapshot(folder):
    """The weights a model folder's training left last: the highest
    iteration of its ``<prefix>_iter_N.caffemodel`` (or ``.caffemodel.h5``)
    files, in ``folder`` or a sub-folder (``snapshots/`` of ``caffelite
    train`` and the detection demo, ``model/`` of the demo's folder), the
    newest file on a tie. A folder without numbered snapshots gives its
    newest .caffemodel (pretrained or surgery weights), looked for in the
    folder, then in its sub-folders."""
    if not os.path.isdir(folder):
        raise CaffeError('%s is not a folder' % folder)
    folders = [folder] + sorted(e.path for e in os.scandir(folder) if e.is_dir())
    numbered = [(iteration, os.path.getmtime(path), path)
                for sub in folders for iteration, path in snapshot_files(sub)]
    if numbered:
        return max(numbered)[2]
    for places in (folders[:1], folders[1:]):
        plain = [path for sub in places for pattern in WEIGHT_FILES
                 for path in glob.glob(os.path.join(glob.escape(sub), pattern))]
        if plain:
            return max(plain, key=os.path.getmtime)
    raise CaffeError('no .caffemodel in %s or its sub-folders' % folder)


def training_net_param(solver_param):
    """The NetParameter a SolverParameter trains (inline or from its file)."""
    for field in ('train_net_param', 'net_param'):
        if solver_param.HasField(field):
            return getattr(solver_param, field)
    for field in ('train_net', 'net'):
        if solver_param.HasField(field):
            return load_net_param(getattr(solver_param, field))
    return None


def _copy(source, folder, name):
    target = os.path.join(folder, name)
    if not source or not os.path.isfile(source) or os.path.exists(target):
        return
    with open(source, 'rb') as src, atomic_open(target, 'wb') as dst:
        shutil.copyfileobj(src, dst)


def write_model_folder(solver, folder):
    """deploy.prototxt, labels.txt and the mean for ``solver``'s snapshots
    into ``folder``, from its train net and its data layer's dataset."""
    os.makedirs(folder, exist_ok=True)
    net_param = training_net_param(solver.param)
    data = next((layer for layer in solver.net.layers if layer.type in DATA_TYPES), None)
    deploy = os.path.join(folder, 'deploy.prototxt')
    if net_param is not None and data is not None and not os.path.exists(deploy):
        shape = solver.net.blobs[solver.net.top_names[data.name][0]].shape[1:]
        with atomic_open(deploy, 'w') as f:
            f.write(str(deploy_from_training(net_param, shape)))
        log.info('Wrote %s', deploy)
    if data is None:
        return
    mean = data.layer_param.transform_param.mean_file
    _copy(mean, folder, 'mean.binaryproto')
    if mean:
        _copy(os.path.join(os.path.dirname(mean), 'mean.jpg'), folder, 'mean.jpg')
    for source in (data.layer_param.data_param.source,
                   data.layer_param.image_data_param.source):
        if source:
            _copy(os.path.join(os.path.dirname(os.path.abspath(source)), 'labels.txt'),
                  folder, 'labels.txt')
