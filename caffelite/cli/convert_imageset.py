"""``caffelite convert_imageset``: Caffe's tool, flag for flag."""
from ..errors import CaffeError
from ..tools.imageset import convert_imageset
from ._common import flag


def register(subparsers):
    p = subparsers.add_parser('convert_imageset',
                              help='convert a list of images to an LMDB of Datums')
    p.add_argument('root', help='root folder of the image paths in the list')
    p.add_argument('listfile', help='text file of "relative/path.jpg label" lines')
    p.add_argument('db', help='output database folder')
    flag(p, 'gray', action='store_true', help='read images as grayscale')
    flag(p, 'shuffle', action='store_true', help='shuffle the order of the images')
    flag(p, 'backend', default='lmdb', help='database backend (lmdb)')
    flag(p, 'resize_width', type=int, default=0, help='resize images to this width')
    flag(p, 'resize_height', type=int, default=0, help='resize images to this height')
    flag(p, 'check_size', action='store_true', help='check all images have the same size')
    flag(p, 'encoded', action='store_true', help='store encoded images (PNG/JPEG bytes)')
    flag(p, 'encode_type', default='', help='png or jpg: the encoding to store')
    flag(p, 'seed', type=int, default=0, help='random seed of --shuffle')
    p.set_defaults(func=run)


def run(args):
    if args.backend != 'lmdb':
        raise CaffeError('backend %r is not supported: caffelite writes LMDB (LevelDB is '
                         'not available)' % args.backend)
    convert_imageset(args.root, args.listfile, args.db, args.gray, args.shuffle,
                     args.resize_height, args.resize_width, args.encoded, args.encode_type,
                     args.check_size, args.seed)
    return 0
