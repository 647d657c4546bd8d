"""``caffelite compute_image_mean DB [OUT.binaryproto]``: as Caffe's tool."""
from ..errors import CaffeError
from ..tools.imageset import compute_image_mean, write_mean
from ._common import flag


def register(subparsers):
    p = subparsers.add_parser('compute_image_mean', help='mean image of an LMDB of Datums')
    p.add_argument('db', help='input database')
    p.add_argument('out', nargs='?', help='output mean.binaryproto')
    flag(p, 'backend', default='lmdb', help='database backend (lmdb)')
    p.set_defaults(func=run)


def run(args):
    if args.backend != 'lmdb':
        raise CaffeError('backend %r is not supported (LMDB only)' % args.backend)
    mean, count = compute_image_mean(args.db)
    if args.out:
        write_mean(mean, args.out)
    print('Processed %d files.' % count)
    for c, value in enumerate(mean.reshape(mean.shape[0], -1).mean(axis=1)):
        print('mean_value channel [%d]: %g' % (c, value))
    return 0
