"""``caffelite dataset create-detection``: DIGITS' object-detection dataset
form from the command line (see caffelite.detection.dataset)."""


def register_action(actions):
    c = actions.add_parser(
        'create-detection', help='images + KITTI labels -> DIGITS detection LMDBs and mean',
        description="Create an object-detection dataset the way DIGITS' object-detection "
                    'extension does: images and KITTI label files (foo.png <-> foo.txt) '
                    'become train_db/{features,labels} LMDBs and mean.binaryproto (and '
                    'val_db/ with --val-images/--val-labels).')
    c.add_argument('train_images', metavar='TRAIN_IMAGES', help='folder of training images')
    c.add_argument('train_labels', metavar='TRAIN_LABELS', help='folder of KITTI label files')
    c.add_argument('out_dir', metavar='OUT_DIR', help='dataset folder to create (must not exist)')
    c.add_argument('--val-images', dest='val_images', default=None, metavar='DIR')
    c.add_argument('--val-labels', dest='val_labels', default=None, metavar='DIR')
    c.add_argument('--padding', default='1248x384', metavar='WxH',
                   help="canvas the images are pasted on, top-left (default 1248x384; "
                        "'none' keeps their size)")
    c.add_argument('--resize', default=None, metavar='WxH',
                   help='resize the padded images (and boxes) to WxH')
    c.add_argument('--channels', default='RGB', choices=('RGB', 'L', 'none'),
                   help="RGB (default), L (gray) or none (each image as stored, DIGITS' 'None')")
    c.add_argument('--val-min-box-size', dest='val_min_box_size', type=float, default=25,
                   metavar='PX', help='validation boxes with a side under PX become '
                                      'dontcare (default 25)')
    c.add_argument('--custom-classes', dest='custom_classes', default=None, metavar='A,B,...',
                   help='class names in number order (first = 0, dontcare); default: '
                        "DIGITS' KITTI table (car = 1, ...)")
    c.add_argument('--seed', type=int, default=None,
                   help='seed of the record shuffle (default: a new one, printed)')
    c.set_defaults(func=run)


def _size(text, option):
    if text is None or text.lower() == 'none':
        return None
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError('%s takes WxH (for example 1248x384), got %r' % (option, text)) from None
    if width <= 0 or height <= 0:
        raise ValueError('%s must be positive, got %r' % (option, text))
    return width, height


def run(args):
    from ..detection.dataset import create_detection_dataset
    from .dataset import chosen_seed
    counts = create_detection_dataset(
        args.out_dir, args.train_images, args.train_labels, args.val_images, args.val_labels,
        _size(args.padding, '--padding'), _size(args.resize, '--resize'), args.channels,
        args.val_min_box_size, args.custom_classes, chosen_seed(args.seed))
    print('dataset written to %s: %s' % (args.out_dir, ', '.join(
        '%d %s images' % (n, split) for split, n in counts.items())))
    return 0
