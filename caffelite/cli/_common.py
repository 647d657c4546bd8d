"""Helpers shared by the caffelite subcommands: Caffe-style flags and
glog-style log lines that Caffe's and DIGITS' log parsers understand."""
import argparse
import logging
import os
import sys
import time

from .. import backend
from ..progress import BarSafeHandler


def flag(parser, name, **kwargs):
    """Add the option ``--name`` (underscores shown as hyphens; the parser
    also takes Caffe's ``-name``, ``-name_with_underscores`` and ``-name=V``)."""
    parser.add_argument('--' + name.replace('_', '-'), dest=name, **kwargs)


def positive_int(text):
    """An argparse type: an integer of at least 1 (Caffe CHECKs these)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected a whole number, got %r' % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1, got %d' % value)
    return value


def add_net_flags(parser, phase, iterations=50):
    """-model, -iterations, -phase, -level, -stage and -gpu (caffe test/time)."""
    flag(parser, 'model', required=True, help='the network definition')
    flag(parser, 'iterations', type=positive_int, default=iterations,
         help='number of iterations')
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


class GlogFormatter(logging.Formatter):
    """``I1128 19:00:00.123456 4242 solver.py:180] message``, like glog."""

    def format(self, record):
        t = time.localtime(record.created)
        micros = int((record.created % 1) * 1e6)
        return '%s%s %s.%06d %d %s:%d] %s' % (
            record.levelname[0], time.strftime('%m%d', t), time.strftime('%H:%M:%S', t),
            micros, os.getpid(), record.filename, record.lineno, record.getMessage())


def setup_logging(stream=None, level=logging.INFO):
    logger = logging.getLogger('caffelite')
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = BarSafeHandler(stream or sys.stderr)
    handler.setFormatter(GlogFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger
