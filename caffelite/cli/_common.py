"""Helpers shared by the caffelite subcommands: Caffe-style flags and
glog-style log lines that Caffe's and DIGITS' log parsers understand."""
import logging
import sys

from .. import backend, glog


def flag(parser, name, **kwargs):
    """Add a gflags-style option accepted as -name, --name, -name=V, --name=V."""
    parser.add_argument('-' + name, '--' + name, dest=name, **kwargs)


def add_net_flags(parser, phase, iterations=50):
    """-model, -iterations, -phase, -level, -stage and -gpu (caffe test/time)."""
    flag(parser, 'model', required=True, help='the network definition')
    flag(parser, 'iterations', type=int, default=iterations, help='number of iterations')
    flag(parser, 'phase', default=phase, choices=('TRAIN', 'TEST'), help='network phase')
    flag(parser, 'level', type=int, default=0, help='NetState level')
    flag(parser, 'stage', default=None, help='comma-separated NetState stages')
    add_gpu_flag(parser)


def build_net(args, weights=None):
    """The Net named by add_net_flags' arguments."""
    from ..net import Net, TEST, TRAIN
    apply_gpu_flag(args)
    stages = args.stage.split(',') if args.stage else None
    return Net(args.model, TRAIN if args.phase == 'TRAIN' else TEST, weights=weights,
               level=args.level, stages=stages)


def add_gpu_flag(parser):
    flag(parser, 'gpu', default=None,
         help="GPU device id to use ('all' means device 0; omit for CPU)")


def apply_gpu_flag(args):
    if args.gpu is None:
        return
    device = 0 if args.gpu == 'all' else int(args.gpu.split(',')[0])
    backend.set_device(device)
    backend.set_mode_gpu()
    logging.getLogger('caffelite').info('Using GPU %d', device)


def setup_logging(stream=None, level=logging.INFO):
    return glog.configure([logging.StreamHandler(stream or sys.stderr)], level)
