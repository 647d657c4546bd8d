"""The ``caffelite`` command: Caffe's tool verbs plus DIGITS-style helpers.

Each subcommand lives in its own module of this package and defines
``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit code. Modules are
discovered, so adding a command touches no shared file.
"""
import argparse
import importlib
import logging
import pkgutil
import sys

from ..errors import CaffeError


def build_parser():
    parser = argparse.ArgumentParser(
        prog='caffelite',
        description='Caffe-compatible deep learning: train, test, time, '
                    'classify, datasets and model zoo.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module('%s.%s' % (__name__, info.name))
        module.register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, 'func', None):
        parser.print_help()
        return 2
    logger = logging.getLogger('caffelite')
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        return int(args.func(args) or 0)
    except CaffeError as e:
        print('caffelite %s: error: %s' % (args.command, e), file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print('caffelite %s: error: %s' % (args.command, e), file=sys.stderr)
        return 1
    finally:
        # Commands set up glog-style console logging; leave the library's
        # logger as it was for whoever called main() (a script, a test).
        logger.handlers[:], logger.level, logger.propagate = saved
