"""``caffelite surgery``: network surgery from the command line.

``fcn``: turn a classifier's InnerProducts into convolutions, weights
included (caffelite.surgery.to_fully_convolutional). ``check``: the course's
two rules (data must flow, the math matters) on a prototxt."""
import os

from ._common import add_python_layers_flag


def register(subparsers):
    p = subparsers.add_parser('surgery', help='FC -> conv conversion and net checks')
    p.set_defaults(func=lambda args: p.print_help() or 2)
    actions = p.add_subparsers(dest='action', metavar='ACTION')
    f = actions.add_parser('fcn', help='InnerProduct -> Convolution, weights reshaped',
                           description='Write DIR/deploy.prototxt and DIR/weights.caffemodel '
                                       'of the fully convolutional version of a classifier.')
    f.add_argument('--model', required=True, help='deploy prototxt')
    f.add_argument('--weights', required=True, help='.caffemodel')
    f.add_argument('--out', required=True, metavar='DIR', help='output folder')
    f.add_argument('--input-size', dest='input_size', default=None, metavar='HxW',
                   help="the new net's input height x width (default: unchanged)")
    add_python_layers_flag(f)
    f.set_defaults(func=run_fcn)
    c = actions.add_parser('check', help='data must flow, the math matters')
    c.add_argument('model', help='prototxt')
    c.add_argument('--phase', default='TEST', choices=('TRAIN', 'TEST'))
    c.add_argument('--stage', default=None, help='comma-separated NetState stages')
    c.set_defaults(func=run_check)


def run_fcn(args):
    from .. import protoio
    from ..surgery import to_fully_convolutional
    size = None
    if args.input_size:
        try:
            size = tuple(int(v) for v in args.input_size.lower().split('x'))
        except ValueError:
            raise ValueError('--input-size takes HxW, got %r' % args.input_size) from None
    param, weights = to_fully_convolutional(args.model, args.weights, input_size=size)
    os.makedirs(args.out, exist_ok=True)
    protoio.write_text(os.path.join(args.out, 'deploy.prototxt'), param)
    protoio.write_binary(os.path.join(args.out, 'weights.caffemodel'), weights)
    converted = [l.name for l in param.layer if l.name.endswith('-conv')]
    print('%s: %s -> %s/deploy.prototxt, %s/weights.caffemodel'
          % (args.model, ', '.join(converted), args.out, args.out))
    return 0


def run_check(args):
    from ..net import TEST, TRAIN
    from ..surgery import EditableNet
    edit = EditableNet(args.model)
    stages = args.stage.split(',') if args.stage else ()
    shapes = edit.check(TRAIN if args.phase == 'TRAIN' else TEST, stages)
    outputs = sorted(edit.outputs & set(shapes))
    print('%s: data flows and shapes infer; outputs %s' % (
        args.model, ', '.join('%s %s' % (o, 'x'.join(map(str, shapes[o]))) for o in outputs)))
    return 0
