"""caffelite.coord_map (pycaffe's coord_map): crop offsets that align an
FCN's upsampled map with its input."""
import numpy as np

import caffelite as caffe
from caffelite import coord_map
from caffelite import layers as L, params as P


def fcn():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 3, 32, 32]))
    n.conv = L.Convolution(n.data, kernel_size=3, pad=10, num_output=4)
    n.pool = L.Pooling(n.conv, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.up = L.Deconvolution(n.pool, convolution_param=dict(kernel_size=4, stride=2,
                                                          num_output=4))
    n.score = coord_map.crop(n.up, n.data)
    return n


def test_coord_map_crop_aligns_the_upsampled_map():
    n = fcn()
    proto = n.to_proto()
    crop = proto.layer[-1]
    assert crop.type == 'Crop' and crop.crop_param.axis == 2
    net = caffe.Net(proto, caffe.TEST)
    assert net.blobs['score'].shape[2:] == (32, 32)
    ax, a, b = coord_map.coord_map_from_to(n.up, n.data)
    assert ax == 1 and np.all(a == 1) and np.all(-b == crop.crop_param.offset[0])
