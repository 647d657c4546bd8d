"""``caffelite dataset create``: DIGITS' image-classification dataset form."""
from ..tools import dataset, images
from ._common import flag


def register(subparsers):
    p = subparsers.add_parser('dataset', help='create datasets from image folders (DIGITS)')
    sub = p.add_subparsers(dest='action', metavar='ACTION')
    c = sub.add_parser('create', help='image folder (one sub-folder per class) -> LMDBs')
    c.add_argument('image_dir', nargs='?', help='folder with one sub-folder per class')
    c.add_argument('out_dir', help='output dataset folder (must not exist)')
    flag(c, 'list', default=None, help='a "path label" list file instead of IMAGE_DIR')
    flag(c, 'root', default='', help='folder the --list paths are relative to')
    flag(c, 'width', type=int, default=256, help='image width (default 256)')
    flag(c, 'height', type=int, default=256, help='image height (default 256)')
    flag(c, 'resize_mode', default='squash', choices=images.RESIZE_MODES,
         help='how to reach WIDTHxHEIGHT (default squash)')
    group = c.add_mutually_exclusive_group()
    group.add_argument('--color', dest='color', action='store_true', default=True,
                       help='3-channel images (default)')
    group.add_argument('--gray', dest='color', action='store_false', help='1-channel images')
    c.add_argument('--val-percent', '-val_percent', type=float, default=25,
                   help='percentage of images for validation (default 25)')
    c.add_argument('--test-percent', '-test_percent', type=float, default=0,
                   help='percentage of images for testing (default 0)')
    flag(c, 'encoding', default='png', choices=('none', 'png', 'jpg'),
         help='store raw pixels or PNG/JPEG bytes (default png)')
    flag(c, 'seed', type=int, default=0, help='random seed of the split')
    c.set_defaults(func=run)


def run(args):
    if args.list:
        classes, items = dataset.items_from_list(args.list, args.root)
    elif args.image_dir:
        classes, items = dataset.scan_folder(args.image_dir)
    else:
        raise ValueError('give IMAGE_DIR or --list')
    print('%d images in %d classes' % (len(items), len(classes)))
    dataset.create_dataset(args.out_dir, items, classes, args.width, args.height, args.color,
                           args.resize_mode, args.val_percent, args.test_percent, args.encoding,
                           args.seed)
    print('dataset written to %s' % args.out_dir)
    return 0
