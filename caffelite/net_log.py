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

log = logging.getLogger('caffelite.net')
# a text-format line holding a whole float: ``  lr_mult: 1.0``
WHOLE_FLOAT = re.compile(r'^(\s*\w+: -?\d+)\.0$', re.M)


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


def _layer_lines(net, i, memory):
    """(lines for layer ``i``'s construction, memory in floats after it).
    Reads the net through pycaffe's surface (``_layer_names``,
    ``_bottom_ids(i)``, ``_top_ids(i)``, ``_blob_names``, ``_blobs``)."""
    name, layer, blob_names = net._layer_names[i], net.layers[i], net._blob_names
    bottoms, tops = net._bottom_ids(i), net._top_ids(i)
    lines = ['Creating Layer %s' % name]
    lines += ['%s <- %s' % (name, blob_names[b]) for b in bottoms]
    for j, b in enumerate(tops):
        in_place = j < len(bottoms) and bottoms[j] == b
        lines.append('%s -> %s%s' % (name, blob_names[b], ' (in-place)' if in_place else ''))
    lines.append('Setting up %s' % name)
    for j, b in enumerate(tops):
        blob = net._blobs[b]
        lines.append('Top shape: %s' % shape_string(blob))
        if layer.loss(j):
            lines.append('    with loss weight %g' % layer.loss(j))
        memory += blob.count
    lines.append('Memory required for data: %d' % (memory * 4))
    return lines, memory


def log_init(net, filtered, needs_backward):
    """Log ``net``'s construction as Caffe does. ``filtered`` is the
    NetParameter after NetState filtering (before splits); ``needs_backward``
    each layer's flag as decided before force_backward, which Caffe logs."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info('Initializing net from parameters: \n%s', _definition(filtered))
    memory = 0
    for i in range(len(net.layers)):
        lines, memory = _layer_lines(net, i, memory)
        for line in lines:
            log.info('%s', line)
    for i in reversed(range(len(net.layers))):
        log.info('%s %s backward computation.', net._layer_names[i],
                 'needs' if needs_backward[i] else 'does not need')
    for name in net.outputs:
        log.info('This network produces output %s', name)
    log.info('Network initialization done.')
