"""A model folder the way DIGITS leaves a model job: beside the snapshots,
``deploy.prototxt`` (the net the weights classify with), ``labels.txt`` and
the dataset's mean (``mean.binaryproto``, ``mean.jpg``), so that
``caffelite classify --model FOLDER`` and the course code find everything
there. ``caffelite train`` and the demo write it into the snapshot folder;
files already there are left as they are.
"""
import logging
import os
import shutil

from .deploy_net import DATA_TYPES, deploy_from_training
from .net import load_net_param
from .protoio import atomic_open

log = logging.getLogger('caffelite.train')


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
