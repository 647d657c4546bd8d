"""``caffelite convert_mnist_data [-backend lmdb|leveldb] IMAGES LABELS DB``: the
converter of Caffe's MNIST example (examples/mnist/create_mnist.sh)."""
from ..databases import check_backend
from ..tools.binary_datasets import convert_mnist
from ._common import flag, setup_logging


def register(subparsers):
    p = subparsers.add_parser(
        'convert_mnist_data',
        help="MNIST's idx files to an LMDB or LevelDB (Caffe's MNIST example)",
        description='Convert the MNIST dataset (gunzipped idx files) to the database format '
                    'Caffe reads: one Datum per image, keyed %%08d.')
    p.add_argument('images', help='an idx3 image file, e.g. train-images-idx3-ubyte')
    p.add_argument('labels', help='an idx1 label file, e.g. train-labels-idx1-ubyte')
    p.add_argument('db', help='output database folder (must not exist)')
    flag(p, 'backend', default='lmdb', help='database backend: lmdb or leveldb')
    p.set_defaults(func=run)


def run(args):
    check_backend(args.backend)
    setup_logging()
    convert_mnist(args.images, args.labels, args.db, args.backend)
    return 0
