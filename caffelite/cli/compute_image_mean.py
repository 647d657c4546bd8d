"""``caffelite compute_image_mean [-backend lmdb|leveldb] INPUT_DB [OUTPUT_FILE]``:
Caffe's tool, encoded Datums included."""
import logging

import numpy as np

from ..databases import check_backend
from ..tools.imageset import compute_image_mean, write_mean
from ._common import flag, setup_logging

log = logging.getLogger('caffelite.tools')


def register(subparsers):
    p = subparsers.add_parser('compute_image_mean',
                              help='mean image of an LMDB or LevelDB of Datums')
    p.add_argument('db', help='input database')
    p.add_argument('out', nargs='?', help='output mean.binaryproto')
    flag(p, 'backend', default='lmdb', help='database backend: lmdb or leveldb')
    p.set_defaults(func=run)


def run(args):
    check_backend(args.backend)
    setup_logging()
    mean, count = compute_image_mean(args.db, args.backend)
    log.info('Processed %d files.', count)
    if args.out:
        log.info('Write to %s', args.out)
        write_mean(mean, args.out)
    log.info('Number of channels: %d', mean.shape[0])
    channel_means = mean.reshape(mean.shape[0], -1).astype(np.float64).mean(axis=1)
    for c, value in enumerate(channel_means):
        log.info('mean_value channel [%d]: %g', c, value)
    return 0
