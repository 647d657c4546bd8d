"""Copying trained weights into a net, and saying what did not load.

``copy_weights`` keeps pycaffe's ``copy_from`` semantics: layers are matched
by name, layers of the file that the net lacks are ignored, and layers of
the net that the file lacks keep their values. What it adds is a report:
every layer with parameters that got no weights is named in a warning (a
Python ``WeightsWarning`` and a log line), with the file's layer of the
same shapes under another name when there is one (the fine-tuning rename
``ip2`` -> ``ip2_ft``), and callers that need weights (the command line,
``Classifier``, resuming) refuse a file from which nothing loaded. A file
that is empty or cut short is a ``WeightsError`` naming it.
"""
import logging
import os
import warnings

from . import protoio, upgrade
from .divergence import finite
from .errors import ParseError, WeightsError
from .proto import caffe_pb2

log = logging.getLogger('caffelite.net')


class WeightsWarning(UserWarning):
    """Some layers of a net got no weights from the file loaded into it."""


class WeightsReport:
    """What one load did: ``where`` (the file), ``loaded`` (names of the
    net's layers that got weights), ``missing`` (names of the net's layers
    with parameters that did not) and ``renamed`` ({missing layer: layer of
    the file with the same parameter shapes, absent from the net})."""

    def __init__(self, where, loaded, missing, renamed):
        self.where, self.loaded, self.missing, self.renamed = where, loaded, missing, renamed

    def __repr__(self):
        # what a notebook cell ending in net.copy_from(...) shows
        return '<WeightsReport %s: %d layer%s loaded, %d left as initialized%s>' % (
            self.where, len(self.loaded), '' if len(self.loaded) == 1 else 's',
            len(self.missing), ' (%s)' % ', '.join(self.missing) if self.missing else '')

    def _hints(self):
        return ["'%s' is '%s' in the file (same shapes: renamed?)" % (name, self.renamed[name])
                for name in self.missing if name in self.renamed]

    def message(self):
        """The warning text, or '' when every layer with parameters loaded."""
        if not self.missing:
            return ''
        text = '%s: no weights for layer%s %s (left as initialized)' % (
            self.where, 's' if len(self.missing) > 1 else '',
            ', '.join("'%s'" % name for name in self.missing))
        return '; '.join([text] + self._hints())

    def require_some(self):
        """Raise WeightsError when no layer with parameters got weights."""
        if self.missing and not self.loaded:
            text = ("%s: none of the net's layers with parameters (%s) is in the file: "
                    "weights of another net?" % (self.where, ', '.join(self.missing)))
            raise WeightsError('; '.join([text] + self._hints()))
        return self


def read_layers(path, hdf5=None):
    """[(layer name, [param arrays or BlobProtos])] of a weights file: a
    binary .caffemodel (legacy formats upgraded) or Caffe's .h5 layout
    (``hdf5``: True or False to say which; None judges by the extension)."""
    if hdf5 or hdf5 is None and path.endswith(('.h5', '.hdf5')):
        import h5py
        try:
            with h5py.File(path, 'r') as h5:
                group = h5['data']
                return [(name, [group[name][k][...] for k in sorted(group[name], key=int)])
                        for name in group]
        except (OSError, KeyError) as e:    # cut short, not HDF5, no 'data' group
            raise WeightsError('%s: not HDF5 weights as Caffe saves them (%s)'
                               % (path, e)) from None
    if os.path.getsize(path) == 0:
        raise WeightsError('%s is empty (0 bytes): not a .caffemodel' % path)
    try:
        param = protoio.read_binary(path, caffe_pb2.NetParameter())
    except ParseError as e:
        raise WeightsError('%s is cut short or not a .caffemodel (%s)'
                           % (path, str(e).split(': ', 1)[-1])) from None
    upgrade.upgrade_net(param, path)
    if not len(param.layer):
        raise WeightsError('%s holds no layers: not a .caffemodel' % path)
    return [(layer.name, list(layer.blobs)) for layer in param.layer]


def _fits(value, shape):
    """True when a BlobProto or array can fill a blob of ``shape``."""
    if hasattr(value, 'ListFields'):
        return protoio.proto_fits_shape(value, shape)
    return value.shape == tuple(shape)


def _copy_blob(value, blob, where, name, k):
    """Copy one BlobProto or array into ``blob``, as Caffe checks shapes."""
    if hasattr(value, 'ListFields'):
        if not protoio.proto_fits_shape(value, blob.shape):
            raise WeightsError("%s: cannot copy param %d of layer '%s': shape mismatch, "
                               "file %s vs net %s" % (where, k, name,
                                                      protoio.blob_shape_of(value), blob.shape))
        blob.from_proto(value, reshape=False)
        return
    if value.size != blob.count:
        raise WeightsError("%s: param %d of layer '%s' has %s, net %s"
                           % (where, k, name, value.shape, blob.shape))
    blob.data[...] = value.reshape(blob.shape)


def copy_weights(net, weights, hdf5=None):
    """Copy the weights of ``weights`` (a path, or a NetParameter) into the
    same-named layers of ``net``; warn about the net's layers with
    parameters that got none. ``hdf5`` as in read_layers. Returns a
    WeightsReport."""
    if isinstance(weights, caffe_pb2.NetParameter):
        where, layers = 'weights', [(lp.name, list(lp.blobs)) for lp in weights.layer]
    else:
        where = os.fspath(weights)
        layers = read_layers(where, hdf5)
    targets = net.layer_dict
    loaded = []
    for name, values in layers:
        target = targets.get(name)
        if target is None:
            log.info('Ignoring source layer %s', name)   # Caffe's line
            continue
        if not values and not target.blobs:
            continue
        if len(values) != len(target.blobs):
            raise WeightsError("%s: layer '%s' has %d param blobs in the file, %d in the net"
                               % (where, name, len(values), len(target.blobs)))
        for k, (value, blob) in enumerate(zip(values, target.blobs)):
            _copy_blob(value, blob, where, name, k)
        loaded.append(name)
    report = _report(net, where, loaded, layers)
    if report.missing:
        _warn(report.message())
    damaged = _non_finite(net, loaded)
    if damaged:
        _warn('%s holds NaN or infinite values (in %s): a damaged file, or the snapshot '
              'of a run that diverged' % (where, ', '.join(damaged)))
    return report


def _warn(text):
    if log.hasHandlers():   # else logging's last resort would print it twice
        log.warning('%s', text)
    warnings.warn(text, WeightsWarning, stacklevel=4)


def _non_finite(net, loaded):
    """["param k of layer 'name'"] of the loaded layers' non-finite blobs."""
    layers = net.layer_dict
    return ["param %d of layer '%s'" % (k, name) for name in loaded
            for k, blob in enumerate(layers[name].blobs) if not finite(blob.xdata)]


def load_net_weights(model_list, nets):
    """Caffe's LoadNetWeights (a solver's ``weights`` field, ``caffe train
    -weights``): each .caffemodel of the comma-separated ``model_list``, in
    order, into every net of ``nets``. The first net (the train net) must
    take some layer of each file."""
    for path in model_list.split(','):
        path = path.strip()
        log.info('Finetuning from %s', path)
        nets[0].copy_from(path).require_some()
        for net in nets[1:]:
            net.copy_from(path)


def _report(net, where, loaded, layers):
    """The WeightsReport of a load: which layers with parameters missed out,
    and which file layer absent from the net fits each of them."""
    mine = net.layer_dict
    missing = [name for name, layer in mine.items() if layer.blobs and name not in loaded]
    unused = [(name, values) for name, values in layers if values and name not in mine]
    renamed = {}
    for name in missing:
        blobs = mine[name].blobs
        fits = [other for other, values in unused if len(values) == len(blobs)
                and all(_fits(v, b.shape) for v, b in zip(values, blobs))]
        if len(fits) == 1:
            renamed[name] = fits[0]
    return WeightsReport(where, loaded, missing, renamed)
