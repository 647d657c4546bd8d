"""``caffelite upgrade IN OUT``: rewrite a legacy (V0/V1) net, caffemodel or
solver in the current format (text or binary chosen by OUT's extension)."""
from .. import protoio, upgrade
from ..proto import caffe_pb2

TEXT_EXTENSIONS = ('.prototxt', '.pt', '.txt', '.pbtxt')


def register(subparsers):
    p = subparsers.add_parser('upgrade', help='upgrade a legacy net, caffemodel or solver')
    p.add_argument('input', help='a .prototxt (text) or .caffemodel (binary) file')
    p.add_argument('output', help='output path; .prototxt/.pt/.txt write text, else binary')
    p.add_argument('--solver', action='store_true', help='the input is a solver definition')
    p.set_defaults(func=run)


def run(args):
    message = caffe_pb2.SolverParameter() if args.solver else caffe_pb2.NetParameter()
    protoio.read_text_or_binary(args.input, message)
    if args.solver:
        applied = ['solver type'] if upgrade.upgrade_solver(message, args.input) else []
    else:
        applied = upgrade.upgrade_net(message, args.input)
    write = protoio.write_text if args.output.endswith(TEXT_EXTENSIONS) else protoio.write_binary
    write(args.output, message)
    print('%s -> %s: %s' % (args.input, args.output,
                            'upgraded ' + ', '.join(applied) if applied else 'already current'))
    return 0
