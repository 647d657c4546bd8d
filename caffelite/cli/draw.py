"""``caffelite draw NET.prototxt OUT.png|svg|pdf|dot``: draw a network."""
from .. import draw
from ..net import TEST, TRAIN
from ..protoio import read_text
from ..proto import caffe_pb2
from ..upgrade import upgrade_net


def register(subparsers):
    p = subparsers.add_parser('draw', help='draw a network definition as a graph')
    p.add_argument('model', help='network definition (.prototxt)')
    p.add_argument('out', help='output file: .png, .svg, .pdf (Graphviz) or .dot')
    p.add_argument('--rankdir', default='LR', choices=('LR', 'TB', 'BT', 'RL'),
                   help='graph direction')
    p.add_argument('--phase', default='ALL', choices=('TRAIN', 'TEST', 'ALL'),
                   help='draw only the layers of this phase')
    p.add_argument('--display-lrm', action='store_true',
                   help='show lr_mult and decay_mult of each layer')
    p.set_defaults(func=run)


def run(args):
    net = read_text(args.model, caffe_pb2.NetParameter())
    upgrade_net(net, args.model)
    phase = {'TRAIN': TRAIN, 'TEST': TEST}.get(args.phase)
    draw.draw_net_to_file(net, args.out, args.rankdir, phase, args.display_lrm)
    print('Drawing net to %s' % args.out)
    return 0
