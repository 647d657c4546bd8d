"""``caffelite demo [detection]``: the embedded end-to-end demos (see
caffelite.demo and caffelite.detection.demo). The classification demo
prints its test accuracy and exits 0 once it has run (the test suite holds
the accuracy bar); any other end says why in one line."""
from ..errors import CaffeError


def register(subparsers):
    p = subparsers.add_parser('demo', help='image folder -> dataset -> trained LeNet -> '
                                           'classified test images, on sklearn digits; '
                                           '"demo detection": the same for DetectNet')
    p.add_argument('which', nargs='?', default='classification',
                   choices=('classification', 'detection'),
                   help='classification (default) or detection')
    p.add_argument('--dir', default=None, help='working folder (default ./caffelite-demo, '
                                               'or ./caffelite-detection-demo)')
    p.add_argument('--epochs', type=float, default=20, help='training epochs of the '
                                                            'classification demo (default 20)')
    p.add_argument('--iterations', type=int, default=None,
                   help='training iterations of the detection demo (default 400)')
    p.add_argument('--force', action='store_true',
                   help='rebuild the demo in a folder holding an earlier one')
    p.set_defaults(func=run)


def run(args):
    from ._common import setup_logging
    setup_logging()
    if args.which == 'detection':
        from ..detection import demo as detection_demo
        sizes = {'iterations': args.iterations} if args.iterations else None
        ap, _ = detection_demo.run(args.dir or 'caffelite-detection-demo', sizes,
                                   force=args.force)
        if ap < 0.8:
            raise CaffeError('the detection demo ran, but its average precision %.2f is below '
                             'the 0.8 it reaches when training goes well' % ap)
        return 0
    from .. import demo
    demo.run(args.dir or 'caffelite-demo', args.epochs, force=args.force)
    return 0
