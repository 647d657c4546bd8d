"""``caffelite export onnx``: write a trained net as an ONNX model,
optionally with preprocessing baked in and checked in ONNX Runtime."""
import os

import numpy as np

from ..errors import CaffeError
from ._common import add_python_layers_flag


def register(subparsers):
    from ..export.onnx import DEFAULT_OPSET, OPSETS
    p = subparsers.add_parser('export', help='export a trained net to another format')
    formats = p.add_subparsers(dest='format', metavar='FORMAT')
    formats.required = True
    o = formats.add_parser('onnx', help='an ONNX model (ONNX Runtime, TensorRT, OpenVINO...)')
    o.add_argument('--model', required=True,
                   help='deploy.prototxt, or a DIGITS-style job folder (deploy.prototxt and '
                        'snapshots)')
    o.add_argument('--weights', help='.caffemodel (default with a folder: its latest snapshot)')
    o.add_argument('--out', required=True, help='the .onnx file to write')
    add_python_layers_flag(o)
    o.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                   help='ONNX opset, %d to %d (default %%(default)s)' % (OPSETS[0], OPSETS[-1]))
    o.add_argument('--batch', default=None,
                   help="'dynamic' (any batch size) or N (default: the prototxt's)")
    o.add_argument('--input', help='the input blob to preprocess (default: the first)')
    o.add_argument('--fold-mean', metavar='MEAN',
                   help='subtract this mean.binaryproto (or mean.jpg) inside the model')
    o.add_argument('--mean-pixel', metavar='B,G,R',
                   help='subtract this per-channel mean inside the model')
    o.add_argument('--raw-scale', type=float, help='multiply the input by this first '
                                                   '(255 for [0, 1] images)')
    o.add_argument('--input-scale', type=float, help='multiply by this after the mean')
    o.add_argument('--bgr-to-rgb', action='store_true',
                   help='the model takes RGB images and swaps them to Caffe\'s BGR')
    o.add_argument('--python-tail', action='store_true',
                   help='leave the Python layers that end the net (DetectNet\'s clustering) '
                        'out of the model; caffelite.export.postprocess runs them after it')
    o.add_argument('--check', action='store_true',
                   help='run the model in ONNX Runtime beside caffelite; fail above float32 '
                        'tolerance')
    o.add_argument('--check-input', nargs='+', default=[], metavar='FILE',
                   help='real inputs for --check: images, or .npy arrays of the model input')
    o.set_defaults(func=run)


def _preprocessing(args, channels):
    from ..export import Preprocessing
    if args.fold_mean and args.mean_pixel:
        raise CaffeError('give --fold-mean or --mean-pixel, not both')
    mean = args.fold_mean
    if args.mean_pixel:
        try:
            mean = [float(v) for v in args.mean_pixel.split(',')]
        except ValueError:
            raise CaffeError('--mean-pixel takes numbers separated by commas, got %r'
                             % args.mean_pixel) from None
    swap = None
    if args.bgr_to_rgb:
        if channels != 3:
            raise CaffeError('--bgr-to-rgb needs a 3-channel input; this one has %d' % channels)
        swap = (2, 1, 0)
    return Preprocessing(mean, args.raw_scale, swap, args.input_scale)


def _real_input(path, batch, shape, preprocessing):
    """A model input from a .npy array or an image, for a model whose input
    is ``shape`` with ``batch`` items (None: any). An image is resized, its
    channels in the order the model takes (RGB when it swaps them, else
    Caffe's BGR), its pixel values 0-255 divided by any raw_scale, and
    repeated ``batch`` (or 1) times. A file that cannot feed the input is
    refused naming it."""
    from .. import io
    if not os.path.isfile(path):
        raise CaffeError('--check-input %s: no such file' % path)
    if path.endswith('.npy'):
        array = np.load(path).astype(np.float32)
        if array.shape[1:] != tuple(shape[1:]) or batch not in (None, array.shape[0]):
            raise CaffeError('--check-input %s: an array of shape %s; the model input takes %s'
                             % (path, array.shape, (batch or 'N',) + tuple(shape[1:])))
        return array
    if len(shape) != 4 or shape[1] not in (1, 3):
        raise CaffeError('--check-input %s: an image cannot feed an input of shape %s; give a '
                         '.npy array' % (path, (batch or 'N',) + tuple(shape[1:])))
    channels, height, width = shape[1:]
    image = io.resize_image(io.load_image(path, color=channels == 3), (height, width))
    chw = image.transpose(2, 0, 1)
    if channels == 3 and preprocessing.channel_swap is None:
        chw = chw[::-1]
    chw = chw * (255.0 / (preprocessing.raw_scale or 1.0))
    return np.repeat(chw[None].astype(np.float32), batch or 1, axis=0)


def run(args):
    from ..job_classifier import resolve_model
    from ..export import build_model, check_model, save_model
    from ..export.refusals import refuse_before_build
    from ..export.verify import summary
    from ..net import TEST, Net, load_net_param
    from ..netgraph import filter_net
    # Checked first: building and checking a large net takes minutes.
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise CaffeError('--out %s: folder %s does not exist' % (args.out, folder))
    model_file, weights, _, _ = resolve_model(args.model, args.weights)
    definition = load_net_param(model_file)
    definition.state.phase = TEST
    refuse_before_build(filter_net(definition), model_file, args.python_tail)
    net = Net(model_file, TEST)
    if weights:
        net.copy_from(weights).require_some()   # not an ONNX file of initial values
    input_name = args.input or (net.inputs[0] if net.inputs else None)
    shape = net.blobs[input_name].shape if input_name in net.blobs else ()
    preprocessing = _preprocessing(args, shape[1] if len(shape) > 1 else 0)
    model = build_model(net, args.opset, args.batch, preprocessing, args.input,
                        python_tail=args.python_tail)
    checked = ''
    if args.check or args.check_input:
        dims = model.graph.input[0].type.tensor_type.shape.dim
        batch = None if dims[0].dim_param else dims[0].dim_value
        feeds = [{input_name: _real_input(p, batch, shape, preprocessing)}
                 for p in args.check_input]
        checked = '; ONNX Runtime vs caffelite: ' + summary(
            check_model(model, net, preprocessing, args.input, feeds=feeds))
    save_model(model, args.out)
    print('%s: wrote %s (opset %d, %d nodes, %.1f MB)%s'
          % (model_file, args.out, args.opset, len(model.graph.node),
             os.path.getsize(args.out) / 1e6, checked))
    return 0
