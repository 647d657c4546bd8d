"""The INFO lines Caffe's Net::Init writes while it builds a net, in its
words and order: the filtered definition, then for each layer "Creating
Layer", its bottoms (<-) and tops (->), "Setting up", "Top shape" (and loss
weights), the running "Memory required for data"; which layers need
backward (last layer first), the outputs, "Network initialization done."
Course material and users read the Top shape lines to see a net's sizes.
"""
import logging
import re

from google.protobuf import text_format

from . import backend

log = logging.getLogger('caffelite.net')
# a text-format line holding a whole float: ``  lr_mult: 1.0``
WHOLE_FLOAT = re.compile(r'^(\s*\w+: -?\d+)\.0$', re.M)


def says_info(logger=log):
    """Caffe's LOG_IF(INFO, Caffe::root_solver()): INFO is on, and this is
    the root solver (in a multi-GPU run the others build the same nets)."""
    return logger.isEnabledFor(logging.INFO) and backend.root_solver()


def root_info(logger, message, *args):
    """``logger.info`` on the root solver only (see ``says_info``)."""
    if says_info(logger):
        logger.info(message, *args, stacklevel=2)


def shape_string(blob):
    """Caffe's Blob::shape_string: ``64 1 28 28 (50176)``; a scalar ``(1)``."""
    return ''.join('%d ' % d for d in blob.shape) + '(%d)' % blob.count


def debug_string(message):
    """``message`` as text, as C++'s DebugString writes it (whole floats
    without '.0': ``lr_mult: 1``), less the last newline, which glog's line
    end stands for."""
    return WHOLE_FLOAT.sub(r'\1', text_format.MessageToString(message)).rstrip('\n')


def log_legacy_constructor(model, weights, phase):
    """What pycaffe warns when a net is made as ``Net(model, weights, phase)``."""
    log.warning('DEPRECATION WARNING - deprecated use of Python interface')
    log.warning('Use this instead (with the named "weights" parameter):')
    log.warning("Net('%s', %d, weights='%s')", model, phase, weights)


def _definition(filtered):
    """The filtered NetParameter as text, without weights a NetParameter
    built from a caffemodel may hold."""
    if any(len(layer.blobs) for layer in filtered.layer):
        filtered = type(filtered).FromString(filtered.SerializeToString())
        for layer in filtered.layer:
            del layer.blobs[:]
    return debug_string(filtered)


def log_definition(filtered):
    """Before any layer: the NetParameter after NetState filtering."""
    if says_info():
        log.info('Initializing net from parameters: \n%s', _definition(filtered))


def log_rule_breach(layer_name, reason):
    """While the net is filtered: a rule of layer ``layer_name`` that the
    NetState breaks (``reason`` from netgraph.rule_breach)."""
    root_info(log, '%s specified by a rule in layer %s', reason, layer_name)


def log_creating(name):
    """Caffe's layer factory, each time it makes a layer, before the net
    connects it (and again for a layer a layer makes: SoftmaxWithLoss's
    softmax, a Scale's bias; see log_inner_layers)."""
    root_info(log, 'Creating layer %s', name)


# The layer types whose setup has Caffe's factory make a layer under the same
# name (softmax_loss_layer.cpp, infogain_loss_layer.cpp, scale_layer.cpp).
_INNER_FACTORY_LAYERS = {'SoftmaxWithLoss': lambda p: True,
                         'InfogainLoss': lambda p: True,
                         'Scale': lambda p: p.scale_param.bias_term}


def log_inner_layers(layer_param):
    """Between a layer's connections and its "Setting up": the layer that
    its setup makes through Caffe's factory, where it makes one."""
    makes = _INNER_FACTORY_LAYERS.get(layer_param.type)
    if makes is not None and makes(layer_param):
        log_creating(layer_param.name)


# The layer hooks read the net through pycaffe's surface (``_layer_names``,
# ``_bottom_ids(i)``, ``_top_ids(i)``, ``_blob_names``, ``_blobs``).

def log_connections(net, i):
    """Before layer ``i`` is set up: its name, bottoms and tops."""
    if not says_info():
        return
    name, names = net._layer_names[i], net._blob_names
    bottoms, tops = net._bottom_ids(i), net._top_ids(i)
    log.info('Creating Layer %s', name)
    for b in bottoms:
        log.info('%s <- %s', name, names[b])
    for j, b in enumerate(tops):
        in_place = j < len(bottoms) and bottoms[j] == b
        log.info('%s -> %s%s', name, names[b], ' (in-place)' if in_place else '')


def log_setup(net, i, floats):
    """After layer ``i`` is set up: its top shapes, loss weights and the
    bytes of ``floats``, the counts of every top so far (Caffe counts
    in-place and split tops again)."""
    if not says_info():
        return
    layer = net.layers[i]
    log.info('Setting up %s', net._layer_names[i])
    for j, b in enumerate(net._top_ids(i)):
        log.info('Top shape: %s', shape_string(net._blobs[b]))
        if layer.loss(j):
            log.info('    with loss weight %g', layer.loss(j))
    log.info('Memory required for data: %d', floats * 4)


def log_done(net, needs_backward):
    """After the last layer: ``needs_backward``, each layer's flag as decided
    before force_backward (what Caffe logs), last layer first; the outputs."""
    if not says_info():
        return
    for i in reversed(range(len(net.layers))):
        log.info('%s %s backward computation.', net._layer_names[i],
                 'needs' if needs_backward[i] else 'does not need')
    for name in net.outputs:
        log.info('This network produces output %s', name)
    log.info('Network initialization done.')
