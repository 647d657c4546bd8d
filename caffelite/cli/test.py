"""``caffelite test``: score a trained model over N batches (``caffe test``)."""
import logging

import numpy as np

from ._common import add_net_flags, build_net, flag, setup_logging

log = logging.getLogger('caffelite.test')


def register(subparsers):
    p = subparsers.add_parser('test', help='score a model: mean outputs over N batches')
    add_net_flags(p, 'TEST')
    flag(p, 'weights', required=True, help='the trained .caffemodel')
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    net = build_net(args, args.weights)
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
