"""The ``caffelite`` command: Caffe's tool verbs plus DIGITS-style helpers.

Each subcommand lives in its own module of this package and defines
``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit code. Modules are
discovered, so adding a command touches no shared file.

Whatever goes wrong, a command prints one line naming the file, layer or
argument at fault and exits non-zero; ``--debug`` adds the traceback.

Exit statuses follow Caffe's tools where they return one: 1 for a usage
error (gflags' status for a bad flag, the tools' for wrong arguments), 2
where Caffe's upgrade tools cannot parse their input (1 where they dropped
a legacy field, after writing the file), and 0 after printing
the usage when run bare as ``caffe`` and the MNIST/CIFAR converters do.
Where Caffe aborts on a failed CHECK (status 134: a missing -solver, an
unknown action, a file that does not parse), a command ends with its one
line and status 1, as for any other failure.
"""
import contextlib
import importlib
import logging
import os
import pkgutil
import sys
import traceback
import warnings

from .. import __version__
from ..errors import CaffeError
from ..layers.python import refusing_user_modules
from ..weights import WeightsWarning
from ._common import PYTHON_LAYERS_HINT, ignored_flags
from ._flags import GflagsParser

# NumPy's RuntimeWarnings for IEEE floating-point events.
FLOAT_WARNINGS = r'(overflow|invalid value|divide by zero|underflow) encountered'

# The extra of setup.py that installs each optional module a command may need.
EXTRAS = {'matplotlib': 'plot', 'pydot': 'draw', 'sklearn': 'demo', 'cupy': 'gpu',
          'onnx': 'onnx', 'onnxruntime': 'onnx', 'skimage': 'detect', 'cv2': 'opencv',
          'starlette': 'serve', 'uvicorn': 'serve', 'jinja2': 'serve', 'multipart': 'serve',
          'python_multipart': 'serve'}


def build_parser(prog='caffelite'):
    parser = GflagsParser(
        prog=prog,
        description='Caffe-compatible deep learning: train, test, time, '
                    'classify, datasets and model zoo.')
    # gflags' words ("caffe version 1.0.0"), which DIGITS reads from ``caffe -version``
    parser.add_argument('--version', action='version', version='%(prog)s version ' + __version__)
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module('%s.%s' % (__name__, info.name))
        module.register(subparsers)
    parser.commands = tuple(subparsers.choices)
    parser.subcommands = subparsers.choices
    return parser


def command_first(argv, commands):
    """``argv`` with its command at the front: gflags reads flags anywhere,
    so Caffe's tools take ``caffe -gpu 0 train -solver s.prototxt`` too."""
    if not argv or not argv[0].startswith('-') or argv[0] in ('-h', '--help', '--version'):
        return argv
    for i, token in enumerate(argv):
        if token in commands:
            return [token] + argv[:i] + argv[i + 1:]
    return argv


def describe_failure(error):
    """(one-line message, exit code) for an exception that ended a command."""
    if isinstance(error, KeyboardInterrupt):
        return 'interrupted', 130
    if isinstance(error, MemoryError):
        return 'out of memory%s' % (': %s' % error if str(error) else ''), 1
    if isinstance(error, ImportError) and error.name and error.name.split('.')[0] != 'caffelite':
        # A missing optional dependency; a module of our own that fails to
        # import is an internal error, reported below.
        top = error.name.split('.')[0]
        extra = EXTRAS.get(top)
        hint = "pip install 'caffelite[%s]'" % extra if extra else 'pip install %s' % top
        return 'this needs the Python module %s: %s' % (top, hint), 1
    if isinstance(error, (CaffeError, OSError, ValueError)):
        return str(error) or type(error).__name__, 1
    return ('%s: %s (an internal error; rerun with --debug for the traceback)'
            % (type(error).__name__, error)), 1


def _weights_warning_line(show, prefix):
    """A warnings.showwarning that prints a WeightsWarning as one line,
    unless the verb's log already said it (it set up logging), and hands
    the other warnings to ``show``."""
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, WeightsWarning):
            show(message, category, filename, lineno, file, line)
        elif not logging.getLogger('caffelite.net').hasHandlers():
            print('%s: warning: %s' % (prefix, message), file=sys.stderr)
    return showwarning


def program_name():
    """'caffe' when run through the ``caffe`` command (Caffe's own name, so
    that course material's ``caffe train -solver ...`` runs as written),
    else 'caffelite'."""
    return 'caffe' if os.path.basename(sys.argv[0] or '') == 'caffe' else 'caffelite'


# Caffe's tool programs (tools/*.cpp and its examples' converters), installed
# as commands of their own (setup.py), as Debian's caffe packages install
# them, so that scripts calling ``convert_imageset ...`` run as written.
CAFFE_TOOLS = ('convert_imageset', 'compute_image_mean', 'extract_features',
               'upgrade_net_proto_text', 'upgrade_net_proto_binary',
               'upgrade_solver_proto_text', 'convert_mnist_data', 'convert_mnist_siamese_data',
               'convert_cifar_data')
# The verbs whose Caffe programs log each net's construction (Net::Init's
# lines): the caffe tool's actions and the tools that build a net.
NET_LOGGING_VERBS = ('train', 'test', 'time', 'device_query', 'extract_features')
# Caffe's programs that, run without arguments, print their usage and
# return 0 (caffe.cpp's main falls off its end; the MNIST and CIFAR
# converters print and return 0); the other tools return 1.
USAGE_IS_SUCCESS = ('convert_mnist_data', 'convert_mnist_siamese_data', 'convert_cifar_data')


def tool_main():
    """The commands named after Caffe's tools: ``convert_imageset ARGS`` is
    ``caffelite convert_imageset ARGS``; the name may end in ``.bin``, as
    Caffe's built examples do (``build/examples/mnist/convert_mnist_data.bin``
    linked to it)."""
    name = os.path.basename(sys.argv[0])
    if name.endswith('.bin'):
        name = name[:-len('.bin')]
    if name not in CAFFE_TOOLS:
        print('caffelite: %s is not one of the Caffe tools installed as commands (%s)'
              % (name, ', '.join(CAFFE_TOOLS)), file=sys.stderr)
        return 1
    return main([name] + sys.argv[1:])


def main(argv=None):
    parser = build_parser(program_name())
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        parser.print_help()
        return 0
    if len(argv) == 1 and argv[0] in USAGE_IS_SUCCESS:
        parser.subcommands[argv[0]].print_help()
        return 0
    args = parser.parse_args(command_first(argv, parser.commands))
    if not getattr(args, 'func', None):
        parser.error('no command given (only flags)')
    for name in ignored_flags(args):
        print('%s %s: -%s is not used by %s: ignored, as caffe does'
              % (parser.prog, args.command, name, args.command), file=sys.stderr)
    logger = logging.getLogger('caffelite')
    saved = (list(logger.handlers), logger.level, logger.propagate)
    net_logger = logging.getLogger('caffelite.net')
    saved_net_level = net_logger.level
    if args.command not in NET_LOGGING_VERBS:
        # caffelite's own verbs (demo, classify, detect...) tell their story
        # without Caffe's Net::Init lines, which Caffe's tools print
        net_logger.setLevel(logging.WARNING)
    # pycaffe's default stderr output is for Python programs; a verb logs
    # only what it sets up (setup_logging), else warnings through Python's
    logger.handlers[:] = []
    logger.setLevel(logging.NOTSET)
    guard = (refusing_user_modules(PYTHON_LAYERS_HINT)
             if getattr(args, 'allow_python_layers', True) is False else contextlib.nullcontext())
    try:
        with warnings.catch_warnings(), guard:
            warnings.simplefilter('always', WeightsWarning)
            warnings.showwarning = _weights_warning_line(warnings.showwarning, '%s %s' % (
                parser.prog, args.command))
            # NumPy's floating-point warnings (a diverging run's overflow):
            # the divergence check names where values went non-finite
            warnings.filterwarnings('ignore', FLOAT_WARNINGS, RuntimeWarning)
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe fails here, not at exit
            return code
    except BrokenPipeError:
        # The reader of our output went away (| head): end quietly, as
        # Unix tools do, and point stdout at nothing so that the flush at
        # exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: the status a shell gives a tool that signal ended
    except (Exception, KeyboardInterrupt) as e:
        if getattr(args, 'debug', False):
            traceback.print_exc()
        message, code = describe_failure(e)
        code = getattr(e, 'exit_status', code)
        print('%s %s: error: %s' % (parser.prog, args.command, message.splitlines()[0]),
              file=sys.stderr)
        return code
    finally:
        # Commands set up glog-style console logging; leave the library's
        # logger as it was for whoever called main() (a script, a test).
        logger.handlers[:], logger.level, logger.propagate = saved
        net_logger.setLevel(saved_net_level)
