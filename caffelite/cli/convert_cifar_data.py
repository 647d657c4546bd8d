"""``caffelite convert_cifar_data INPUT_FOLDER OUTPUT_FOLDER DB_TYPE``: the
converter of Caffe's CIFAR-10 example (examples/cifar10/create_cifar10.sh)."""
from ..tools.binary_datasets import convert_cifar
from ._common import setup_logging
from .convert_imageset import check_backend


def register(subparsers):
    p = subparsers.add_parser(
        'convert_cifar_data', help="CIFAR-10's binary batches to LMDBs (Caffe's CIFAR-10 "
                                   'example)',
        description='Convert the CIFAR-10 binary version (data_batch_1.bin ... '
                    'data_batch_5.bin, test_batch.bin) to OUTPUT_FOLDER/cifar10_train_lmdb '
                    'and cifar10_test_lmdb, one Datum per image keyed %%05d.')
    p.add_argument('input_folder', help='folder of the .bin batch files')
    p.add_argument('output_folder', help='folder to create the two databases in')
    p.add_argument('db_type', help='database backend (only lmdb)')
    p.set_defaults(func=run)


def run(args):
    check_backend(args.db_type)
    setup_logging()
    convert_cifar(args.input_folder, args.output_folder, args.db_type)
    return 0
