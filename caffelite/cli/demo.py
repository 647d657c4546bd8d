"""``caffelite demo``: the embedded end-to-end demo (see caffelite.demo); it
prints the test accuracy and exits 0 once it has run (the test suite, not
the command, holds the accuracy bar)."""


def register(subparsers):
    p = subparsers.add_parser('demo', help='image folder -> dataset -> trained LeNet -> '
                                           'classified test images, on sklearn digits')
    p.add_argument('--dir', default='caffelite-demo', help='working folder (default '
                                                           './caffelite-demo)')
    p.add_argument('--epochs', type=float, default=20, help='training epochs (default 20)')
    p.set_defaults(func=run)


def run(args):
    from .. import demo
    from ._common import setup_logging
    setup_logging()
    demo.run(args.dir, args.epochs)
    return 0
