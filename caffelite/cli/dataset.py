"""``caffelite dataset create``: DIGITS' image classification dataset form
from the command line (see caffelite.tools.dataset for what it writes)."""
import tempfile

from .. import images
from ..digits.image_urls import Downloads
from ..tools import dataset
from ._common import flag, positive_int

# The largest image of a folder URL (caffelite serve's default upload limit).
URL_IMAGE_BYTES = 500 << 20


def register(subparsers):
    p = subparsers.add_parser('dataset', help='create classification and detection datasets '
                                              '(DIGITS)')
    p.set_defaults(func=lambda args: p.print_help() or 2)
    actions = p.add_subparsers(dest='action', metavar='ACTION')
    c = actions.add_parser(
        'create', help='image folder or list -> train/val/test LMDBs, labels, mean',
        description='Create an image classification dataset the way DIGITS does: '
                    'IMAGE_DIR has one sub-folder per class (sorted names give labels '
                    '0..n-1), or --list gives "path label" lines.')
    c.add_argument('image_dir', nargs='?', metavar='IMAGE_DIR',
                   help='folder with one sub-folder of images per class (or the URL of '
                        "a web server's listing of one)")
    c.add_argument('out_dir', metavar='OUT_DIR',
                   help='dataset folder to create (must not exist)')
    flag(c, 'list', default=None, metavar='FILE',
         help='a "path label" list file instead of IMAGE_DIR')
    flag(c, 'root', default='', metavar='DIR', help='folder the --list paths are relative to')
    flag(c, 'labels', default=None, metavar='FILE',
         help='class names of the --list labels, one per line')
    flag(c, 'width', type=positive_int, default=256, metavar='W', help='image width')
    flag(c, 'height', type=positive_int, default=256, metavar='H', help='image height')
    c.add_argument('--resize-mode', default='squash',
                   choices=images.RESIZE_MODES,
                   help='how images reach W x H')
    group = c.add_mutually_exclusive_group()
    group.add_argument('--color', dest='color', action='store_true', default=True,
                       help='3-channel images (default)')
    group.add_argument('--gray', '--grayscale', dest='color', action='store_false',
                       help='1-channel images (default: off)')
    c.add_argument('--val-percent', type=float, default=25, metavar='P',
                   help='percent of the images for validation')
    c.add_argument('--test-percent', type=float, default=0, metavar='P',
                   help='percent of the images for testing')
    c.add_argument('--val-folder', default=None, metavar='DIR',
                   help='validation images: all of DIR (class sub-folders named as the '
                        'training classes) instead of --val-percent')
    c.add_argument('--test-folder', default=None, metavar='DIR',
                   help='test images: all of DIR instead of --test-percent')
    flag(c, 'encoding', default='png', choices=('none', 'png', 'jpg'),
         help='store raw pixels or PNG/JPEG bytes in the Datums')
    flag(c, 'seed', type=int, default=None, metavar='N',
         help='seed of the split shuffle and the fill noise (default: a new one, '
              'printed, as the server draws one per dataset)')
    c.set_defaults(func=run_create)
    from . import _dataset_detection
    _dataset_detection.register_action(actions)


def chosen_seed(seed):
    """The shuffle seed given, else a new one; printed either way, so that
    the split can be repeated with --seed."""
    seed = dataset.new_seed() if seed is None else seed
    print('shuffle seed %d (--seed %d repeats this split)' % (seed, seed))
    return seed


def run_create(args):
    if bool(args.list) == bool(args.image_dir):
        raise ValueError('give either IMAGE_DIR or --list FILE')
    if args.list:
        classes, items = dataset.scan_list(args.list, args.root, args.labels)
    else:
        classes, items = dataset.scan_folder(args.image_dir)
    print('%d images in %d classes' % (len(items), len(classes)))
    seed = chosen_seed(args.seed)
    fixed = {}
    for split, folder in (('val', args.val_folder), ('test', args.test_folder)):
        if folder:
            fixed[split] = dataset.relabel(*dataset.scan_folder(folder), classes, folder)
            print('%s: %d images in %s' % (split, len(fixed[split]), folder))
    with tempfile.TemporaryDirectory(prefix='caffelite-downloads-') as copies:
        # the images of a folder URL, fetched for this build only
        downloads = Downloads(copies, URL_IMAGE_BYTES)
        downloads.save_items([items, *fixed.values()])
        report = dataset.create_dataset(args.out_dir, items, classes, args.width, args.height,
                                        args.color, args.resize_mode, args.val_percent,
                                        args.test_percent, args.encoding, seed,
                                        fixed=fixed, read=downloads.read)
    print(dataset.summary(report, classes))
    print('dataset written to %s' % args.out_dir)
    return 0
