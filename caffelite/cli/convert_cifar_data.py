"""``caffelite convert_cifar_data INPUT_FOLDER OUTPUT_FOLDER DB_TYPE``: the
converter of Caffe's CIFAR-10 example (examples/cifar10/create_cifar10.sh)."""
from ..databases import check_backend
from ..tools.binary_datasets import convert_cifar
from ._common import setup_logging


def register(subparsers):
    p = subparsers.add_parser(
        'convert_cifar_data', help="CIFAR-10's binary batches to LMDBs or LevelDBs (Caffe's "
                                   'CIFAR-10 example)',
        description='Convert the CIFAR-10 binary version (data_batch_1.bin ... '
                    'data_batch_5.bin, test_batch.bin) to OUTPUT_FOLDER/cifar10_train_DB_TYPE '
                    'and cifar10_test_DB_TYPE, one Datum per image keyed %%05d.')
    p.add_argument('input_folder', help='folder of the .bin batch files')
    p.add_argument('output_folder', help='folder to create the two databases in')
    p.add_argument('db_type', help='database backend: lmdb or leveldb')
    p.set_defaults(func=run)


def run(args):
    check_backend(args.db_type)
    setup_logging()
    convert_cifar(args.input_folder, args.output_folder, args.db_type)
    return 0
