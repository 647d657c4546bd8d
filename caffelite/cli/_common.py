"""Helpers shared by the caffelite subcommands: Caffe-style flags and
glog-style log lines that Caffe's and DIGITS' log parsers understand."""
import argparse
import logging
import sys

from .. import backend, glog
from ..errors import CaffeError
from ..progress import BarSafeHandler


def flag(parser, name, **kwargs):
    """Add the option ``--name`` (underscores shown as hyphens; the parser
    also takes Caffe's ``-name``, ``-name_with_underscores`` and ``-name=V``)."""
    kwargs.setdefault('dest', name)
    parser.add_argument('--' + name.replace('_', '-'), **kwargs)


# The flags of Caffe's caffe tool (tools/caffe.cpp). gflags defines them for
# the whole program, so each verb takes all of them and ignores those it
# does not use: a script may pass -iterations to train.
CAFFE_FLAGS = ('gpu', 'solver', 'model', 'phase', 'level', 'stage', 'snapshot', 'weights',
               'iterations', 'sigint_effect', 'sighup_effect')
IGNORED = 'ignored_'


def accept_caffe_flags(parser):
    """Add, unlisted, the flags of the caffe tool that this verb lacks (call
    it last); ``ignored_flags`` names those given."""
    for name in CAFFE_FLAGS:
        if not parser.has_option(name):
            flag(parser, name, dest=IGNORED + name, default=None, help=argparse.SUPPRESS)


def ignored_flags(args):
    """The caffe tool's flags given to a verb that does not use them."""
    return sorted(k[len(IGNORED):] for k, v in vars(args).items()
                  if k.startswith(IGNORED) and v is not None)


def positive_int(text):
    """An argparse type: an integer of at least 1 (Caffe CHECKs these)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected a whole number, got %r' % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1, got %d' % value)
    return value


PYTHON_LAYERS_HINT = ('the caffelite commands run the code of Python layers only with '
                      '--allow-python-layers')


def add_python_layers_flag(parser):
    """--allow-python-layers, for the commands that load a prototxt."""
    flag(parser, 'allow_python_layers', action='store_true',
         help='build Python layers of modules outside caffelite: they run the code '
              'a prototxt names, with your permissions')


def add_net_flags(parser, phase, iterations=50):
    """-model, -iterations, -phase, -level, -stage, -gpu (caffe test/time)
    and --allow-python-layers."""
    flag(parser, 'model', required=True, help='the network definition')
    flag(parser, 'iterations', type=positive_int, default=iterations,
         help='number of iterations')
    flag(parser, 'phase', default=phase, choices=('TRAIN', 'TEST'), help='network phase')
    flag(parser, 'level', type=int, default=0, help='NetState level')
    flag(parser, 'stage', default=None, help='comma-separated NetState stages')
    add_gpu_flag(parser)
    add_python_layers_flag(parser)


def build_net(args, weights=None):
    """The Net named by add_net_flags' arguments, with ``weights`` loaded
    (refused when none of its layers are in the file)."""
    from ..net import Net, TEST, TRAIN
    apply_gpu_flag(args)
    # caffe.cpp's stages: -stage split at commas, so without it the one empty stage ""
    stages = (args.stage or '').split(',')
    net = Net(args.model, TRAIN if args.phase == 'TRAIN' else TEST, level=args.level,
              stages=stages)
    if weights:
        net.copy_from(weights).require_some()
    return net


def add_gpu_flag(parser):
    flag(parser, 'gpu', default=None,
         help="GPU device id to use ('all' means device 0; omit for CPU)")


def apply_gpu_flag(args, train=False):
    """Set the mode -gpu asks for (its first device) and log caffe.cpp's
    lines: ``Use CPU.``; for train ``Using GPUs 0`` and ``GPU 0: <name>``,
    for test and time ``Use GPU with device ID 0`` and ``GPU device name:
    <name>``."""
    log = logging.getLogger('caffelite')
    if args.gpu is None:
        log.info('Use CPU.')
        return
    device = 0 if args.gpu == 'all' else int(args.gpu.split(',')[0])
    backend.set_device(device)
    backend.set_mode_gpu()
    if train:
        log_training_gpus([device])
    else:
        log.info('Use GPU with device ID %d', device)
        log.info('GPU device name: %s', device_name(device))


def parse_gpus(flag_value):
    """Caffe's -gpu: None (CPU), 'all' (every device) or '0,1,...'."""
    if flag_value is None:
        return []
    if flag_value == 'all':
        cp = backend.cupy_or_none()
        if cp is None:
            raise CaffeError('-gpu all: no CUDA device (CuPy with a GPU is required)')
        return list(range(cp.cuda.runtime.getDeviceCount()))
    try:
        return [int(g) for g in flag_value.split(',')]
    except ValueError:
        raise CaffeError("-gpu takes 'all' or device ids like 0,1; got %r" % flag_value) from None


def log_training_gpus(gpus):
    """``caffe train``'s lines for the GPUs it trains on."""
    log = logging.getLogger('caffelite')
    log.info('Using GPUs %s', ', '.join(str(g) for g in gpus))
    for g in gpus:
        log.info('GPU %d: %s', g, device_name(g))


def device_name(device, props=None):
    """The name of CUDA device ``device`` (from CuPy's ``props`` of it when
    given), as cudaGetDeviceProperties has it."""
    if props is None:
        props = backend.cupy_or_none().cuda.runtime.getDeviceProperties(device)
    name = props['name']
    return name.decode() if isinstance(name, bytes) else name


def setup_logging(stream=None, level=logging.INFO):
    return glog.configure([BarSafeHandler(stream or sys.stderr)], level)
