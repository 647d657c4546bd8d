"""Helpers shared by the caffelite subcommands: Caffe-style flags and
glog-style log lines that Caffe's and DIGITS' log parsers understand."""
import logging
import os
import sys
import time

from .. import backend


def flag(parser, name, **kwargs):
    """Add a gflags-style option accepted as -name, --name, -name=V, --name=V."""
    parser.add_argument('-' + name, '--' + name, dest=name, **kwargs)


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
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(GlogFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger
