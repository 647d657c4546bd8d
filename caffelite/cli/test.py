"""``caffelite test``: score a trained model over N batches (``caffe test``)."""
import logging

import numpy as np

from ..net import Net, TEST, TRAIN
from ._common import add_gpu_flag, apply_gpu_flag, flag, setup_logging

log = logging.getLogger('caffelite.test')


def register(subparsers):
    p = subparsers.add_parser('test', help='score a model: mean outputs over N batches')
    flag(p, 'model', required=True, help='the network definition (train_val.prototxt)')
    flag(p, 'weights', required=True, help='the trained .caffemodel')
    flag(p, 'iterations', type=int, default=50, help='number of batches to run')
    flag(p, 'phase', default='TEST', choices=('TRAIN', 'TEST'), help='network phase')
    flag(p, 'level', type=int, default=0, help='NetState level')
    flag(p, 'stage', default=None, help='comma-separated NetState stages')
    add_gpu_flag(p)
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    apply_gpu_flag(args)
    phase = TRAIN if args.phase == 'TRAIN' else TEST
    stages = args.stage.split(',') if args.stage else None
    net = Net(args.model, phase, weights=args.weights, level=args.level, stages=stages)
    log.info('Running for %d iterations.', args.iterations)
    totals, loss = {}, 0.0
    for i in range(args.iterations):
        loss += net._forward()
        for name in net.outputs:
            values = np.asarray(net.blobs[name].data, np.float64).ravel()
            for k, value in enumerate(values):
                log.info('Batch %d, %s = %g', i, name, value)
            totals[name] = totals.get(name, 0) + values
    log.info('Loss: %g', loss / args.iterations)
    for name, total in totals.items():
        weight = net.blob_loss_weights[name]
        for value in total / args.iterations:
            note = ' (* %g = %g loss)' % (weight, weight * value) if weight else ''
            log.info('%s = %g%s', name, value, note)
    return 0
