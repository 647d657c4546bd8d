"""``caffelite test``: score a trained model over N batches (``caffe test``)."""
import logging

from ..net_outputs import mean_outputs, output_lines
from ._common import accept_caffe_flags, add_net_flags, build_net, flag, setup_logging

log = logging.getLogger('caffelite.test')


def register(subparsers):
    p = subparsers.add_parser('test', help='score a model: mean outputs over N batches')
    add_net_flags(p, 'TEST')
    flag(p, 'weights', required=True, help='the trained .caffemodel')
    accept_caffe_flags(p)
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    net = build_net(args, args.weights)
    log.info('Running for %d iterations.', args.iterations)

    def log_batch(i, outputs):
        for name, value, _ in output_lines(net, outputs):
            log.info('Batch %d, %s = %g', i, name, value)
    loss, means = mean_outputs(net, args.iterations, on_batch=log_batch)
    log.info('Loss: %g', loss)
    for name, value, note in output_lines(net, means):
        log.info('%s = %g%s', name, value, note)
    return 0
