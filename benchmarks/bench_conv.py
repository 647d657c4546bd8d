"""Forward and forward+backward time of single Convolution, Deconvolution
and Pooling layers at shapes typical of ImageNet models (CPU, current
mode). Prints one line per layer; compare runs on the same machine only.

Usage: python benchmarks/bench_conv.py [--batch 8] [--repeats 5]
"""
import argparse
import pathlib
import sys

import numpy as np
from google.protobuf import text_format

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

from caffelite.blob import Blob  # noqa: E402
from caffelite.layers import create_layer  # noqa: E402
from caffelite.proto import caffe_pb2  # noqa: E402
from harness import compare, environment, report  # noqa: E402

FILLER = 'weight_filler { type: "gaussian" std: 0.01 }'
# (name, layer definition, bottom shape without the batch)
LAYERS = [
    ('conv 7x7/2 3->64 @224', 'type: "Convolution" convolution_param { num_output: 64 '
     'kernel_size: 7 stride: 2 pad: 3 %s }' % FILLER, (3, 224, 224)),
    ('conv 3x3 128->128 @56', 'type: "Convolution" convolution_param { num_output: 128 '
     'kernel_size: 3 pad: 1 %s }' % FILLER, (128, 56, 56)),
    ('conv 1x1 256->64 @56', 'type: "Convolution" convolution_param { num_output: 64 '
     'kernel_size: 1 %s }' % FILLER, (256, 56, 56)),
    ('conv 1x1 512->2048 @7', 'type: "Convolution" convolution_param { num_output: 2048 '
     'kernel_size: 1 %s }' % FILLER, (512, 7, 7)),
    ('conv 5x5 group 2 @27', 'type: "Convolution" convolution_param { num_output: 256 '
     'kernel_size: 5 pad: 2 group: 2 %s }' % FILLER, (96, 27, 27)),
    ('deconv 4x4/2 21->21 @32', 'type: "Deconvolution" convolution_param { num_output: 21 '
     'kernel_size: 4 stride: 2 bias_term: false %s }' % FILLER, (21, 32, 32)),
    ('max pool 3x3/2 @112', 'type: "Pooling" pooling_param { pool: MAX kernel_size: 3 '
     'stride: 2 }', (64, 112, 112)),
    ('ave pool 3x3/1 pad 1 @28', 'type: "Pooling" pooling_param { pool: AVE kernel_size: 3 '
     'stride: 1 pad: 1 }', (256, 28, 28)),
]


def build(definition, shape):
    """(layer, bottom, top) set up on random data."""
    param = text_format.Parse('name: "bench" ' + definition, caffe_pb2.LayerParameter())
    layer = create_layer(param)
    bottom, top = Blob(shape), Blob()
    bottom.data[...] = np.random.RandomState(0).randn(*shape)
    layer.layer_setup([bottom], [top])
    top.diff[...] = 1
    return layer, bottom, top


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    print(environment())
    for name, definition, shape in LAYERS:
        layer, bottom, top = build(definition, (args.batch,) + shape)

        def forward():
            layer.layer_forward([bottom], [top])

        def forward_backward():
            forward()
            layer.layer_backward([top], [True], [bottom])

        report('%s (batch %d)' % (name, args.batch),
               compare([('forward', forward), ('forward+backward', forward_backward)],
                       repeats=args.repeats), unit_count=args.batch, unit='img')
    return 0


if __name__ == '__main__':
    sys.exit(main())
