"""``caffelite time``: per-layer forward and backward timing (``caffe time``)."""
import logging
import time

from .. import backend
from ._common import accept_caffe_flags, add_net_flags, build_net, flag, setup_logging

log = logging.getLogger('caffelite.time')


def register(subparsers):
    p = subparsers.add_parser('time', help='benchmark forward/backward time per layer')
    add_net_flags(p, 'TRAIN')
    flag(p, 'weights', default=None,
         help="accepted as Caffe's time accepts it (Caffe's docs give it), and not used: "
              'the timings do not depend on the weights')
    accept_caffe_flags(p)
    p.set_defaults(func=run)


def _sync():
    if backend.mode() == backend.GPU:
        import cupy
        cupy.cuda.Device().synchronize()


def _timed(fn):
    _sync()
    start = time.perf_counter()
    fn()
    _sync()
    return (time.perf_counter() - start) * 1e3


def time_layers(net, iterations):
    """Mean (forward ms, backward ms) per layer and of whole passes; logs
    each iteration's forward-backward time as ``caffe time`` does."""
    n = len(net.layers)
    fwd, bwd = [0.0] * n, [0.0] * n
    for j in range(iterations):
        start = time.perf_counter()
        for i in range(n):
            fwd[i] += _timed(lambda: net._forward(i, i))
        for i in reversed(range(n)):
            bwd[i] += _timed(lambda: net._backward(i, i))
        log.info('Iteration: %d forward-backward time: %g ms.', j + 1,
                 (time.perf_counter() - start) * 1e3)
    k = float(iterations)
    return [f / k for f in fwd], [b / k for b in bwd], sum(fwd) / k, sum(bwd) / k


def run(args):
    setup_logging()
    if args.weights:
        log.info('Not loading %s: time runs the net with its initial weights, as Caffe does',
                 args.weights)
    net = build_net(args)
    log.info('Performing Forward')
    log.info('Initial loss: %g', net._forward())
    log.info('Performing Backward')
    net._backward()
    log.info('*** Benchmark begins ***')
    log.info('Testing for %d iterations.', args.iterations)
    start = time.perf_counter()
    fwd, bwd, total_f, total_b = time_layers(net, args.iterations)
    elapsed = (time.perf_counter() - start) * 1e3
    log.info('Average time per layer: ')
    for name, f, b in zip(net._layer_names, fwd, bwd):
        log.info('%10s\tforward: %g ms.', name, f)
        log.info('%10s\tbackward: %g ms.', name, b)
    log.info('Average Forward pass: %g ms.', total_f)
    log.info('Average Backward pass: %g ms.', total_b)
    log.info('Average Forward-Backward: %g ms.', elapsed / args.iterations)
    log.info('Total Time: %g ms.', elapsed)
    log.info('*** Benchmark ends ***')
    return 0
