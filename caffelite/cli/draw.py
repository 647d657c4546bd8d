"""``caffelite draw NET.prototxt OUT.png|svg|pdf|dot``: draw a network as
pycaffe's draw_net.py does."""
from .. import draw
from ..net import TEST, TRAIN
from ..protoio import read_text
from ..proto import caffe_pb2
from ..upgrade import upgrade_net
from ..layers.python import check_no_user_modules
from ._common import PYTHON_LAYERS_HINT, add_python_layers_flag


def register(subparsers):
    p = subparsers.add_parser('draw', help='draw a network definition as a graph')
    p.add_argument('model', help='network definition (.prototxt)')
    p.add_argument('out', help='output file: .png, .svg, .pdf (Graphviz) or .dot/.gv/.raw '
                               '(the Graphviz source)')
    p.add_argument('--rankdir', default='LR', choices=('LR', 'TB', 'BT', 'RL'),
                   help='graph direction')
    p.add_argument('--phase', default='ALL', choices=('TRAIN', 'TEST', 'ALL'),
                   help='draw only the layers of this phase')
    add_python_layers_flag(p)
    p.add_argument('--display-lrm', action='store_true',
                   help='show the lr_mult of convolution and inner product layers')
    p.set_defaults(func=run)


def run(args):
    net = read_text(args.model, caffe_pb2.NetParameter())
    upgrade_net(net, args.model)
    if not args.allow_python_layers:
        check_no_user_modules(net, PYTHON_LAYERS_HINT)
    phase = {'TRAIN': TRAIN, 'TEST': TEST}.get(args.phase)
    draw.draw_net_to_file(net, args.out, args.rankdir, phase, args.display_lrm)
    print('Drawing net to %s' % args.out)
    return 0
