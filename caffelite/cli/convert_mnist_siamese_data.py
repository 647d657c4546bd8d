"""``caffelite convert_mnist_siamese_data IMAGES LABELS DB``: the converter
of Caffe's siamese example (examples/siamese/create_mnist_siamese.sh),
writing a LevelDB of random MNIST image pairs as Caffe's does."""
from ..tools.binary_datasets import convert_mnist_siamese
from ._common import flag, setup_logging


def register(subparsers):
    p = subparsers.add_parser(
        'convert_mnist_siamese_data',
        help="MNIST's idx files to a LevelDB of image pairs (Caffe's siamese example)",
        description='Convert the MNIST dataset (gunzipped idx files) to the LevelDB of '
                    'Caffe\'s siamese example: one 2-channel Datum per random pair of '
                    'images, label 1 when both show the same digit, keyed %%08d.')
    p.add_argument('images', help='an idx3 image file, e.g. train-images-idx3-ubyte')
    p.add_argument('labels', help='an idx1 label file, e.g. train-labels-idx1-ubyte')
    p.add_argument('db', help='output LevelDB folder (must not exist)')
    flag(p, 'seed', type=int, default=None,
         help='seed of the pair draws (default: random, as in Caffe)')
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    convert_mnist_siamese(args.images, args.labels, args.db, args.seed)
    return 0
