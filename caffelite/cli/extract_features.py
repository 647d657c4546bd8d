"""``caffelite extract_features WEIGHTS MODEL BLOB[,BLOB...] DB[,DB...]
NUM_MINI_BATCHES DB_TYPE [CPU|GPU] [DEVICE_ID]``: Caffe's extract_features
tool, its positional arguments in its order."""
import logging

from .. import backend
from ..databases import check_backend
from ..errors import CaffeError
from ..net import Net, TEST
from ..tools.features import extract_features
from ._common import add_python_layers_flag, positive_int, setup_logging

log = logging.getLogger('caffelite.tools')


def register(subparsers):
    p = subparsers.add_parser(
        'extract_features',
        help='write blobs of a trained net to LMDBs or LevelDBs of float Datums',
        description='Run a trained net over its data layer and save the values of blobs, '
                    'one Datum per image keyed %%010d, in new databases. Several blobs '
                    'and databases are given separated by commas, in the same number.')
    p.add_argument('weights', help='the trained .caffemodel')
    p.add_argument('model', help='the net definition, with a data layer (built in TEST phase)')
    p.add_argument('blobs', help='comma-separated names of the blobs to save')
    p.add_argument('dbs', help='comma-separated output databases, one per blob')
    p.add_argument('num_mini_batches', type=positive_int, help='number of forward passes')
    p.add_argument('db_type', help='database backend: lmdb or leveldb')
    p.add_argument('mode', nargs='?', default='CPU', choices=('CPU', 'GPU'),
                   help='where to run')
    p.add_argument('device_id', nargs='?', type=int, default=0, help='GPU device id')
    add_python_layers_flag(p)
    p.set_defaults(func=run)


def run(args):
    check_backend(args.db_type)
    setup_logging()
    if args.mode == 'GPU':
        if args.device_id < 0:
            raise CaffeError('device id must be at least 0, got %d' % args.device_id)
        log.info('Using GPU %d', args.device_id)
        backend.set_device(args.device_id)
        backend.set_mode_gpu()
    else:
        log.info('Using CPU')
    net = Net(args.model, TEST)
    net.copy_from(args.weights).require_some()
    extract_features(net, args.model, args.blobs.split(','), args.dbs.split(','),
                     args.num_mini_batches, args.db_type)
    return 0
