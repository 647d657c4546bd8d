"""How close issue 15's LeNet b64 target (a training step in at most 0.7 of
PyTorch's time) can come with NumPy: PyTorch's step alternating, in one run,
with caffelite's step and with the matrix products alone that the step must
compute (each Convolution's and InnerProduct's forward, weight gradient and,
where the net needs it, data gradient, at the shapes caffelite runs them:
a convolution's batch in the GEMM's columns), nothing else.

The products run on one core (BLAS threads 1): their time divided by
caffelite's threads (the cores) is what a perfect split of every product
would take. (Not with OpenBLAS's own threads: those spin after each call and
slowed the PyTorch step that followed to twice its time.) Its ratio to
PyTorch's step is a floor for any NumPy implementation of the step:
im2col, col2im, pooling, ReLU, softmax, the solver update and Python's calls
all come on top.

A fourth contender bounds what splitting the batch over the cores could
gain for the rest: caffelite's own forward and backward, each of
``cores`` worker processes running its share of the batch on one thread
(no GIL shared, no hand-off inside a pass, no solver update, no sum of the
gradients), started together and waited for: the same NumPy passes split
over the cores with none of a split's costs. A fifth runs one of those
processes alone: what the split would take if the cores did not slow each
other down (they share the memory bus and the last-level cache).

Usage: python benchmarks/bench_lenet_floor.py [--repeats 7] [--batch 64]
"""
import argparse
import math
import multiprocessing
import os
import pathlib
import statistics
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / 'benchmarks')]

from bench_cpu_table import torch_step, training_solver  # noqa: E402
from caffelite import threads  # noqa: E402
from harness import compare, environment  # noqa: E402


def step_products(net):
    """(M, K, N) of every GEMM of one training step of ``net``."""
    shapes = []
    for i, layer in enumerate(net.layers):
        if layer.type not in ('Convolution', 'InnerProduct'):
            continue
        bottom = net.blobs[net.bottom_names[net._layer_names[i]][0]].shape
        top = net.blobs[net.top_names[net._layer_names[i]][0]].shape
        weights = layer.blobs[0].shape
        if layer.type == 'Convolution':
            group = layer.layer_param.convolution_param.group
            m, k = weights[0] // group, math.prod(weights[1:])
            n = top[0] * math.prod(top[2:])
            products = [(m, k, n)] * group + [(m, n, k)] * group
            if net._bottom_need_backward[i][0]:
                products += [(k, m, n)] * group
        else:
            b, k, m = bottom[0], math.prod(bottom[1:]), weights[0]
            products = [(b, k, m), (m, b, k)]
            if net._bottom_need_backward[i][0]:
                products.append((b, m, k))
        shapes += products
    return shapes


def products_fn(shapes):
    """A function running the products of ``shapes`` once, on one core."""
    rng = np.random.RandomState(0)
    operands = [(rng.rand(m, k).astype(np.float32), rng.rand(k, n).astype(np.float32),
                 np.empty((m, n), np.float32)) for m, k, n in shapes]

    def run():
        with threads.blas_threads(1):
            for a, b, out in operands:
                np.matmul(a, b, out=out)
    return run


def _half_worker(connection, batch):
    """A worker process of ``split_fn``: builds caffelite's LeNet at
    ``batch`` on one thread, then runs a forward and backward per message
    until it gets a false one."""
    os.environ['CAFFELITE_THREADS'] = '1'
    solver = training_solver('lenet', batch, 10)
    with threads.blas_threads(1):
        connection.send(True)
        while connection.recv():
            solver.net._forward()
            solver.net._backward()
            connection.send(True)


def split_fn(batch, workers):
    """(run, run_one, stop): ``run`` makes ``workers`` processes each run a
    forward and backward of its share of ``batch`` at once and waits for
    them all; ``run_one`` makes the first do so alone (the time ``run``
    would take if the cores did not slow each other); ``stop`` ends them."""
    context = multiprocessing.get_context('spawn')
    connections, processes = [], []
    for share in threads.slices(batch, workers):
        ours, theirs = context.Pipe()
        process = context.Process(target=_half_worker, args=(theirs, share.stop - share.start))
        process.start()
        connections.append(ours)
        processes.append(process)
    for connection in connections:
        connection.recv()

    def run(count=len(connections)):
        for connection in connections[:count]:
            connection.send(True)
        for connection in connections[:count]:
            connection.recv()

    def stop():
        for connection in connections:
            connection.send(False)
        for process in processes:
            process.join()
    return run, lambda: run(1), stop


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--batch', type=int, default=64)
    args = parser.parse_args()
    print(environment())
    lanes = threads.count()
    solver = training_solver('lenet', args.batch, 10)
    shapes = step_products(solver.net)
    print('%d products per step, %.2f GFLOP' % (len(shapes),
                                              sum(2 * m * k * n for m, k, n in shapes) / 1e9))
    split, split_one, stop = split_fn(args.batch, lanes)
    try:
        times = compare([('pytorch step', torch_step(solver.net)),
                         ('caffelite step', lambda: solver.step(1)),
                         ('products, one core', products_fn(shapes)),
                         ('%d processes, fwd+bwd' % lanes, split),
                         ('1 of them alone', split_one)], args.repeats * 5)
    finally:
        stop()
    base = statistics.median(times['pytorch step'])
    print('== LeNet b%d training step, medians of %d alternations; ratio to PyTorch\'s step '
          '(the target for caffelite\'s step: 0.70)' % (args.batch, args.repeats * 5))
    for name, values in times.items():
        median = statistics.median(values)
        if name == 'products, one core':
            name, median = 'products, one core / %d' % lanes, median / lanes
        print('  %-28s %8.2f ms   %5.2f' % (name, median * 1e3, median / base))


if __name__ == '__main__':
    main()
