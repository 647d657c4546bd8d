"""``caffelite detect``: the course's sliding-window detection, batched, or
(``--fcn``) one forward pass of a fully convolutional net giving a
per-class heatmap. Writes OUT/<image>.json and an overlay OUT/<image>.png."""
import json
import os

from ._common import add_python_layers_flag


def register(subparsers):
    p = subparsers.add_parser(
        'detect', help='classify every window of a grid over large images (or --fcn heatmaps)',
        description='Slide a classifier over a grid of window x window squares of each '
                    'image, all squares through the net in batches; or, with --fcn, run a '
                    'fully convolutional net (caffelite surgery fcn) once over the image. '
                    'Writes the grid of labels and scores as JSON and an overlay PNG.')
    p.add_argument('images', nargs='+', metavar='IMAGE')
    p.add_argument('--model', required=True, help='deploy prototxt')
    p.add_argument('--weights', required=True, help='.caffemodel')
    p.add_argument('--mean', default=None,
                   help="mean.binaryproto, or a mean image (DIGITS' mean.jpg)")
    p.add_argument('--labels', default=None, help='labels.txt, one class name per line')
    p.add_argument('--window', type=int, default=None,
                   help='window side in pixels (default 256; with --fcn the net input size)')
    p.add_argument('--stride', type=int, default=None,
                   help='step between windows (default: the window; --fcn: the net stride)')
    p.add_argument('--batch-size', dest='batch_size', type=int, default=32,
                   help='windows per forward pass (default 32)')
    p.add_argument('--fcn', action='store_true', help='the model is fully convolutional: '
                                                     'one forward pass per image')
    p.add_argument('--raw-scale', dest='raw_scale', type=float, default=255.0,
                   help='multiplier of the [0, 1] pixels (default 255)')
    p.add_argument('--no-channel-swap', dest='channel_swap', action='store_false',
                   help='keep RGB order (default: RGB -> BGR, as Caffe models expect)')
    p.add_argument('--out', default='detections', help='output folder (default ./detections)')
    add_python_layers_flag(p)
    p.set_defaults(func=run)


def run(args):
    from .. import io
    from ..detection import overlay, sliding_window
    from ..protoio import atomic_open
    swap = (2, 1, 0) if args.channel_swap else None
    if args.fcn:
        classifier = sliding_window.HeatmapClassifier(args.model, args.weights, args.mean,
                                                      args.labels, swap, args.raw_scale,
                                                      args.window)
    else:
        classifier = sliding_window.WindowClassifier(args.model, args.weights, args.mean,
                                                     args.labels, swap, args.raw_scale,
                                                     args.batch_size)
    os.makedirs(args.out, exist_ok=True)
    for path in args.images:
        image = io.load_image(path, color=classifier.channels == 3)
        grid = classifier.classify(image, args.window or (None if args.fcn else 256),
                                   args.stride)
        stem = os.path.join(args.out, os.path.splitext(os.path.basename(path))[0])
        with atomic_open(stem + '.json', 'w') as f:
            json.dump(sliding_window.grid_json(grid, path, heatmaps=args.fcn), f)
        # overlapping windows: colour each one's central stride x stride cell
        inset = max(grid.window - grid.stride, 0) / 2.0
        overlay.save_cells(stem + '.png', image, grid.labels, grid.scores, grid.names,
                           grid.boxes + [inset, inset, -inset, -inset])
        counts = ', '.join('%s %d' % (grid.names[k], n) for k, n in enumerate(
            (grid.labels.ravel() == k).sum() for k in range(len(grid.names))) if n)
        print('%s: %dx%d %s (%s) -> %s.json, %s.png' % (
            path, grid.labels.shape[0], grid.labels.shape[1],
            'heatmap cells' if args.fcn else 'windows', counts, stem, stem))
    return 0
