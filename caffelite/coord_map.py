"""Spatial coordinate maps between NetSpec tops, for aligning feature maps
(the Crop offsets of fully convolutional nets), as pycaffe's coord_map.

A map is ``(axis, scale, shift)``: output coordinate ``i * scale + shift``
corresponds to input coordinate ``i``; pointwise layers map by
``(None, 1, 0)``. Maps compose along the graph; ``crop(from, to)`` walks
both tops back to a common ancestor and emits the Crop layer that aligns
``from`` onto ``to``.
"""
import numpy as np

from .errors import CaffeError, CoordMapError, UnconnectedTopsError
from .net_spec import layers as L

PASS_THROUGH_LAYERS = {'AbsVal', 'BatchNorm', 'Bias', 'BNLL', 'Dropout', 'Eltwise', 'ELU',
                       'Log', 'LRN', 'Exp', 'MVN', 'Power', 'ReLU', 'PReLU', 'Scale',
                       'Sigmoid', 'Split', 'TanH', 'Threshold'}


class UndefinedMapException(CaffeError):
    """The layer type has no coordinate mapping (e.g. InnerProduct)."""


class AxisMismatchException(CaffeError):
    """Two maps act on different axes and cannot be composed."""


def conv_params(fn):
    """(axis, stride, effective kernel extent, pad) of a conv/pool Function."""
    params = fn.params.get('convolution_param', fn.params)
    if {'pad_h', 'pad_w', 'kernel_h', 'kernel_w', 'stride_h', 'stride_w'} & set(params):
        raise CoordMapError('cropping does not support legacy _h/_w params (%s layer)'
                            % fn.type_name)
    kernel = np.array(params['kernel_size'], ndmin=1)
    dilation = np.array(params.get('dilation', 1), ndmin=1)
    return (params.get('axis', 1), np.array(params.get('stride', 1), ndmin=1),
            (kernel - 1) * dilation + 1, np.array(params.get('pad', 0), ndmin=1))


def crop_params(fn):
    params = fn.params.get('crop_param', fn.params)
    return params.get('axis', 2), np.array(params.get('offset', 0), ndmin=1)


def coord_map(fn):
    """The (axis, scale, shift) map of one layer Function."""
    if fn.type_name in ('Convolution', 'Pooling', 'Im2col'):
        axis, stride, extent, pad = conv_params(fn)
        return axis, 1 / stride, (pad - (extent - 1) / 2) / stride
    if fn.type_name == 'Deconvolution':
        axis, stride, extent, pad = conv_params(fn)
        return axis, stride, (extent - 1) / 2 - pad
    if fn.type_name in PASS_THROUGH_LAYERS:
        return None, 1, 0
    if fn.type_name == 'Crop':
        axis, offset = crop_params(fn)
        return axis - 1, 1, -offset
    raise UndefinedMapException('no coordinate map for %s layers' % fn.type_name)


def compose(base, following):
    """Apply ``base`` then ``following``: scales multiply, shifts add scaled."""
    ax1, a1, b1 = base
    ax2, a2, b2 = following
    if ax1 is not None and ax2 is not None and ax1 != ax2:
        raise AxisMismatchException('cannot compose maps on axes %s and %s' % (ax1, ax2))
    return (ax2 if ax1 is None else ax1), a1 * a2, a1 * b2 + b1


def inverse(mapping):
    ax, a, b = mapping
    return ax, 1 / a, -b / a


def _mappable_bottoms(top):
    """Bottoms to walk through: all, except a Crop's reference bottom."""
    return top.fn.inputs[:1] if top.fn.type_name == 'Crop' else top.fn.inputs


def _maps_to_ancestors(start, stop_at=None):
    """Walk from ``start`` toward the inputs, composing maps; return the
    first map found for a top in ``stop_at`` (or all maps when None)."""
    maps, frontier = {start: (None, 1, 0)}, [start]
    while frontier:
        top = frontier.pop()
        if stop_at is not None and top in stop_at:
            return top, maps[top]
        try:
            step = coord_map(top.fn)
        except UndefinedMapException:
            continue
        for bottom in _mappable_bottoms(top):
            maps[bottom] = compose(maps[top], step)
            frontier.append(bottom)
    return None, maps


def coord_map_from_to(top_from, top_to):
    """The map taking ``top_from`` coordinates to ``top_to`` coordinates."""
    _, from_maps = _maps_to_ancestors(top_from)
    common, to_map = _maps_to_ancestors(top_to, from_maps)
    if common is None:
        raise UnconnectedTopsError('Could not compute map between tops; are they connected '
                                   'by spatial layers?')
    return compose(to_map, inverse(from_maps[common]))


def crop(top_from, top_to):
    """A Crop layer cropping ``top_from`` to align with ``top_to``."""
    ax, a, b = coord_map_from_to(top_from, top_to)
    if not np.all(a == 1):
        raise CoordMapError('scale mismatch on crop (a = %s)' % (a,))
    if not np.all(b <= 0):
        raise CoordMapError('cannot crop negative offset (b = %s)' % (b,))
    if not np.all(np.round(b) == b):
        raise CoordMapError('cannot crop noninteger offset (b = %s)' % (b,))
    return L.Crop(top_from, top_to,
                  crop_param=dict(axis=ax + 1, offset=list(-np.round(b).astype(int))))
