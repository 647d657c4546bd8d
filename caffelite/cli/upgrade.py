"""``caffelite upgrade IN OUT``: rewrite a legacy (V0/V1) net or caffemodel,
or (with ``--solver``) an old solver, in the current format. IN may be text
or binary; OUT is written as text when its name ends in .prototxt, .pt or
.txt, else as binary (the upgrade_net_proto_text/_binary tools of Caffe)."""
from .. import protoio, upgrade
from ..proto import caffe_pb2

TEXT_EXTENSIONS = ('.prototxt', '.pt', '.txt')


def register(subparsers):
    p = subparsers.add_parser('upgrade', help='upgrade a legacy net, caffemodel or solver')
    p.add_argument('input', help='a net, caffemodel or solver, text or binary')
    p.add_argument('output', help='output path; .prototxt/.pt/.txt write text, else binary')
    p.add_argument('--solver', action='store_true', help='the input is a solver definition')
    p.set_defaults(func=run)


def _upgrade(path, is_solver):
    """(message read from ``path`` and upgraded, [names of upgrades applied])."""
    if is_solver:
        message = protoio.read_text_or_binary(path, caffe_pb2.SolverParameter())
        return message, ['solver_type'] if upgrade.upgrade_solver(message, path) else []
    message = protoio.read_text_or_binary(path, caffe_pb2.NetParameter())
    return message, upgrade.upgrade_net(message, path)


def run(args):
    message, applied = _upgrade(args.input, args.solver)
    text = args.output.lower().endswith(TEXT_EXTENSIONS)
    (protoio.write_text if text else protoio.write_binary)(args.output, message)
    done = 'upgraded ' + ', '.join(applied) if applied else 'already in the current format'
    print('%s: %s; wrote %s (%s)' % (args.input, done, args.output,
                                     'text' if text else 'binary'))
    return 0
