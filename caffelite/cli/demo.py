"""``caffelite demo``: the embedded end-to-end demo (see caffelite.demo)."""


def register(subparsers):
    p = subparsers.add_parser('demo', help='image folder -> dataset -> trained LeNet -> '
                                           'classified test images, on sklearn digits')
    p.add_argument('--dir', default='caffelite-demo', help='working folder')
    p.add_argument('--epochs', type=float, default=20, help='training epochs')
    p.set_defaults(func=run)


def run(args):
    from .. import demo
    from ._common import setup_logging
    setup_logging()
    accuracy = demo.run(args.dir, args.epochs)
    return 0 if accuracy >= 0.97 else 1
