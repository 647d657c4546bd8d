"""Issue 6 targets, on a CUDA GPU:

1. Training-step time of AlexNet (batch 128) and ResNet-50 (batch 32),
   caffelite GPU beside PyTorch with cuDNN on the same architectures
   (torch_peer.py builds them from the same prototxt), alternating in one run,
   both in float32 (PyTorch's TF32 off). Target: within 1.5x of PyTorch + cuDNN.
2. Achieved memory bandwidth of the im2col, max pooling, LRN and softmax
   kernels as a fraction of a device-to-device copy of the same bytes.
   Target: at least 60% each.

Usage: python benchmarks/bench_gpu.py [--repeats 10] [--json OUT]
"""
import argparse
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import caffelite as caffe  # noqa: E402
from bench_train_cpu import training_net  # noqa: E402
from harness import report  # noqa: E402


def cuda_time(fn, repeats):
    """Median milliseconds of ``fn`` with CUDA events."""
    import cupy
    fn()
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return times


def torch_time(fn, repeats):
    import torch
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    return times


def training_step(name, batch, classes, repeats):
    import torch
    from caffelite.proto import caffe_pb2
    from torch_peer import TorchPeer
    caffe.set_mode_gpu()
    param = training_net(str(ROOT / 'model_zoo' / name / 'deploy.prototxt'), batch, classes)
    solver = caffe.get_solver(caffe_pb2.SolverParameter(
        net_param=param, base_lr=0.01, momentum=0.9, weight_decay=5e-4, lr_policy='fixed',
        max_iter=10 ** 6, display=0, snapshot_after_train=False, type='SGD'))
    rng = np.random.RandomState(0)
    x = rng.rand(*solver.net.blobs['data'].shape).astype(np.float32)
    y = rng.randint(0, classes, batch).astype(np.float32)
    solver.net.blobs['data'].data[...] = x
    solver.net.blobs['label'].data[...] = y
    torch.backends.cudnn.benchmark = True
    # Both sides in full float32, as Caffe computes: PyTorch would otherwise
    # run its convolutions in TF32 (a 10-bit mantissa), which caffelite's
    # float32 conformance to Caffe rules out.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    peer = TorchPeer(solver.net).cuda().train()
    opt = torch.optim.SGD(peer.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()

    def torch_step():
        opt.zero_grad()
        _, loss = peer(data=tx, label=ty)
        loss.backward()
        opt.step()

    times = {}
    for _ in range(3):      # alternate the two, several rounds
        times.setdefault('caffelite', []).extend(cuda_time(lambda: solver.step(1), repeats))
        times.setdefault('pytorch+cudnn', []).extend(torch_time(torch_step, repeats))
    return report('%s training step, batch %d' % (name, batch), times, 1, 'iter')


def bandwidth(repeats):
    """Kernel bytes moved / time, relative to a device-to-device copy."""
    import cupy
    from caffelite.geometry import ConvWindow, PoolWindow
    from caffelite.ops import im2col, lrn, pooling, softmax
    rng = np.random.RandomState(0)
    x = cupy.asarray(rng.rand(64, 96, 55, 55).astype(np.float32))
    conv = ConvWindow((3, 3), (1, 1), (1, 1), (1, 1))
    pool = PoolWindow((3, 3), (2, 2), (0, 0))
    cases = {
        'im2col 3x3': (lambda: im2col.im2col(x, conv, (55, 55)), x.nbytes * 10),
        # x in; the maxima and their int32 argmax mask out (27 x 27 of 55 x 55).
        'max pool 3x3/2': (lambda: pooling.max_forward(x, pool, (27, 27)),
                           x.nbytes * (1 + 2 * 27 ** 2 / 55 ** 2)),
        # x in; the scale (kept for the backward) and y out.
        'lrn across 5': (lambda: lrn.lrn_across_forward(x, 5, 1e-4, 0.75, 1.0), x.nbytes * 3),
        # x in, y out (the kernel reads x twice, so 2/3 of copy speed at best).
        'softmax': (lambda: softmax.softmax_forward(x.reshape(64, 96, -1), 1), x.nbytes * 2),
    }
    results = {}
    for name, (fn, moved) in cases.items():
        src = cupy.empty(int(moved // 8), np.float32)
        dst = cupy.empty_like(src)
        copy = np.median(cuda_time(lambda: dst.__setitem__(Ellipsis, src), repeats))
        kernel = np.median(cuda_time(fn, repeats))
        results[name] = copy / kernel
        print('  %-16s %.0f%% of device-to-device copy bandwidth' % (name, 100 * copy / kernel))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--json', default=None)
    args = parser.parse_args()
    results = {'alexnet': training_step('alexnet', 128, 1000, args.repeats),
               'resnet50': training_step('resnet50', 32, 1000, args.repeats)}
    print('== kernel bandwidth')
    results['bandwidth'] = bandwidth(args.repeats)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
