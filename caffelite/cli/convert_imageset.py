"""``caffelite convert_imageset [FLAGS] ROOTFOLDER/ LISTFILE DB_NAME``:
Caffe's tool, flag for flag (gflags spellings -flag, --flag, --flag=V)."""
from ..databases import check_backend
from ..tools.imageset import convert_imageset
from ._common import flag, setup_logging


def register(subparsers):
    p = subparsers.add_parser(
        'convert_imageset', help='convert a list of images to an LMDB or LevelDB of Datums',
        description='Convert a set of images to the LMDB or LevelDB format used as input '
                    'for Caffe. LISTFILE lines are "subfolder/file.jpg label".')
    p.add_argument('root', help='folder the list paths are relative to')
    p.add_argument('listfile', help='text file of "path label" lines')
    p.add_argument('db', help='output database folder (must not exist)')
    flag(p, 'gray', action='store_true', help='read images as grayscale')
    flag(p, 'shuffle', action='store_true', help='shuffle the order of the images')
    flag(p, 'backend', default='lmdb', help='database backend: lmdb or leveldb')
    flag(p, 'resize_width', type=int, default=0, help='width images are resized to')
    flag(p, 'resize_height', type=int, default=0, help='height images are resized to')
    flag(p, 'check_size', action='store_true', help='check that all images have one size')
    flag(p, 'encoded', action='store_true', help='store encoded images (file or PNG/JPEG bytes)')
    flag(p, 'encode_type', default='',
         help="encoding to store: 'png', 'jpg'... (implies -encoded; default: the file's)")
    flag(p, 'seed', type=int, default=None, help='random seed of -shuffle (default: random)')
    p.set_defaults(func=run)


def run(args):
    check_backend(args.backend)
    setup_logging()
    convert_imageset(args.root, args.listfile, args.db, args.gray, args.shuffle,
                     args.resize_height, args.resize_width, args.encoded, args.encode_type,
                     args.check_size, args.seed, args.backend)
    return 0
