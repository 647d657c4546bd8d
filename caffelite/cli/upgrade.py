"""``caffelite upgrade IN OUT``: rewrite a legacy (V0/V1) net or caffemodel,
or (with ``--solver``) an old solver, in the current format. IN may be text
or binary; OUT is written as text when its name ends in .prototxt, .pt or
.txt, else as binary.

Caffe's own converters are verbs too, under their names and with their
fixed formats: ``upgrade_net_proto_text`` (text in, text out),
``upgrade_net_proto_binary`` (binary in, binary out) and
``upgrade_solver_proto_text``."""
import sys

from .. import protoio, upgrade
from ..errors import ParseError
from ..proto import caffe_pb2

TEXT_EXTENSIONS = ('.prototxt', '.pt', '.txt')

# Caffe's converter tools: name -> (is a solver, reads and writes text).
CAFFE_TOOLS = {'upgrade_net_proto_text': (False, True),
               'upgrade_net_proto_binary': (False, False),
               'upgrade_solver_proto_text': (True, True)}


def register(subparsers):
    p = subparsers.add_parser('upgrade', help='upgrade a legacy net, caffemodel or solver')
    p.add_argument('input', help='a net, caffemodel or solver, text or binary')
    p.add_argument('output', help='output path; .prototxt/.pt/.txt write text, else binary')
    p.add_argument('--solver', action='store_true', help='the input is a solver definition')
    p.set_defaults(func=run, text=None)
    for name, (is_solver, text) in CAFFE_TOOLS.items():
        kind = 'solver' if is_solver else 'net'
        form = 'text' if text else 'binary'
        p = subparsers.add_parser(name, help="Caffe's tool: upgrade a legacy %s %s file"
                                  % (kind, form))
        p.add_argument('input', help='the legacy %s (%s)' % (kind, form))
        p.add_argument('output', help='the upgraded %s (%s)' % (kind, form))
        p.set_defaults(func=run, solver=is_solver, text=text)


def _upgrade(path, is_solver, text, problems):
    """(message read from ``path`` and upgraded, [names of upgrades applied]);
    ``text`` True/False reads only that format, None either; ``problems``
    receives what the upgrade dropped or could not convert."""
    message = caffe_pb2.SolverParameter() if is_solver else caffe_pb2.NetParameter()
    read = {None: protoio.read_text_or_binary, True: protoio.read_text,
            False: protoio.read_binary}[text]
    read(path, message)
    if is_solver:
        return message, ['solver_type'] if upgrade.upgrade_solver(message, path) else []
    return message, upgrade.upgrade_net(message, path, problems)


def run(args):
    problems = []
    try:
        message, applied = _upgrade(args.input, args.solver, args.text, problems)
    except ParseError as e:
        if args.text is not None:
            e.exit_status = 2  # what Caffe's tools return for an input that does not parse
        raise
    text = args.text if args.text is not None else \
        args.output.lower().endswith(TEXT_EXTENSIONS)
    (protoio.write_text if text else protoio.write_binary)(args.output, message)
    done = 'upgraded ' + ', '.join(applied) if applied else 'already in the current format'
    print('%s: %s; wrote %s (%s)' % (args.input, done, args.output,
                                     'text' if text else 'binary'))
    if problems:
        # Caffe's tools write the upgraded file, then return 1 (!success)
        print('%s: %d problem%s while upgrading (see the warnings above): check %s'
              % (args.input, len(problems), '' if len(problems) == 1 else 's', args.output),
              file=sys.stderr)
        return 1
    return 0
