"""Issue 15's table: caffelite / PyTorch time on the CPU for AlexNet batch 10
forward and forward+backward, a CaffeNet batch 32 training step, VGG-16
batch 1 forward+backward and a LeNet batch 64 training step, each pair
alternating in one run; the fraction of the sgemm roofline (NumPy's
2048x2048 float32 product, measured in the same run) that each reaches; and
the peak memory of a CaffeNet batch 32 training step, caffelite beside
PyTorch, each in a fresh process.

``--busy N`` starts N CPU-bound processes first (the "busy machine" case)
and stops them by their process ids at the end.

Usage: python benchmarks/bench_cpu_table.py [--quick] [--busy 2] [--json out.json]
"""
import argparse
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import scipy.linalg.blas  # noqa: E402,F401  (loaded now, so that environment() lists it)

import caffelite as caffe  # noqa: E402
from caffelite.proto import caffe_pb2  # noqa: E402
from harness import compare, environment, report  # noqa: E402

ZOO = ROOT / 'model_zoo'


def deploy_net(name, batch, backward):
    """The zoo deploy net at ``batch``; with ``backward``, force_backward so
    that the backward pass reaches the input as PyTorch's does."""
    from caffelite.net import load_net_param
    param = load_net_param(str(ZOO / name / 'deploy.prototxt'))
    param.force_backward = backward
    for layer in param.layer:
        if layer.type == 'Input':
            layer.input_param.shape[0].dim[0] = batch
    return caffe.Net(param, caffe.TEST)


def training_solver(name, batch, classes):
    """SGD (momentum 0.9, weight decay 5e-4) on the zoo net with
    SoftmaxWithLoss on an Input label, fed with random data."""
    from bench_train_cpu import training_net
    net_param = training_net(str(ZOO / name / 'deploy.prototxt'), batch, classes)
    solver = caffe.get_solver(caffe_pb2.SolverParameter(
        net_param=net_param, base_lr=0.01, momentum=0.9, weight_decay=5e-4, lr_policy='fixed',
        max_iter=10 ** 6, display=0, snapshot_after_train=False, type='SGD'))
    rng = np.random.RandomState(0)
    solver.net.blobs['data'].data[...] = rng.rand(*solver.net.blobs['data'].shape)
    solver.net.blobs['label'].data[...] = rng.randint(0, classes, batch)
    return solver


def flops(net, backward):
    """Floating-point operations (2 per multiply-add) of the net's
    Convolution and InnerProduct layers: forward, plus with ``backward`` the
    weight gradients and the data gradients the net computes."""
    total = 0
    for i, layer in enumerate(net.layers):
        if layer.type not in ('Convolution', 'InnerProduct'):
            continue
        top = net.blobs[net.top_names[net._layer_names[i]][0]].shape
        # Each output element takes (weights per output unit) multiply-adds.
        macs = layer.blobs[0].count * int(np.prod(top)) // top[1]
        passes = 1
        if backward:
            passes += bool(layer.param_propagate_down and layer.param_propagate_down[0])
            passes += bool(net._bottom_need_backward[i] and net._bottom_need_backward[i][0])
        total += 2 * macs * passes
    return total


def sgemm_peak(repeats):
    """NumPy's float32 GEMM rate (GFLOP/s) on a 2048x2048 product."""
    a = np.random.RandomState(0).rand(2048, 2048).astype(np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, a, out=out)
        times.append(time.perf_counter() - start)
    return 2 * 2048 ** 3 / statistics.median(times) / 1e9


def inference(name, batch, backward):
    """(caffelite fn, torch fn, GFLOP per call) of a deploy net's forward
    (and backward from all-ones output diffs)."""
    import torch
    from torch_peer import TorchPeer
    net = deploy_net(name, batch, backward)
    x = np.random.RandomState(0).rand(*net.blobs['data'].shape).astype(np.float32)
    net.blobs['data'].data[...] = x
    out = net.outputs[0]
    peer = TorchPeer(net).eval()
    tx = torch.from_numpy(x.copy()).requires_grad_(backward)

    def ours():
        net._forward()
        if backward:
            net.blobs[out].diff[...] = 1
            net._backward()

    def theirs():
        if backward:
            peer(data=tx)[0][out].sum().backward()
        else:
            with torch.no_grad():
                peer(data=tx)
    return ours, theirs, flops(net, backward) / 1e9


def torch_step(net):
    """PyTorch's SGD step (momentum 0.9, weight decay 5e-4) on the same
    architecture as the training ``net``, fed the same data and labels."""
    import torch
    from torch_peer import TorchPeer
    peer = TorchPeer(net).train()
    opt = torch.optim.SGD(peer.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    tx = torch.from_numpy(net.blobs['data'].data.copy())
    ty = torch.from_numpy(net.blobs['label'].data.copy())

    def theirs():
        opt.zero_grad()
        peer(data=tx, label=ty)[1].backward()
        opt.step()
    return theirs


def training(name, batch, classes):
    """(caffelite fn, torch fn, GFLOP per call) of one training step."""
    solver = training_solver(name, batch, classes)
    return (lambda: solver.step(1)), torch_step(solver.net), flops(solver.net, True) / 1e9


WORKLOADS = [
    ('AlexNet b10 forward', lambda: inference('alexnet', 10, False), 1),
    ('AlexNet b10 forward+backward', lambda: inference('alexnet', 10, True), 1),
    ('CaffeNet b32 training step', lambda: training('caffenet', 32, 1000), 1),
    ('VGG-16 b1 forward+backward', lambda: inference('vgg16', 1, True), 1),
    ('LeNet b64 training step', lambda: training('lenet', 64, 10), 5),
]

PEAK_CODE = '''
import sys; sys.path[:0] = [%(root)r, %(bench)r]
from bench_cpu_table import training_solver
solver = training_solver('caffenet', 32, 1000)
solver.step(1)
if %(torch)r:
    import gc, torch
    from torch_peer import TorchPeer
    net = solver.net
    tx = torch.from_numpy(net.blobs['data'].data.copy())
    ty = torch.from_numpy(net.blobs['label'].data.copy())
    peer = TorchPeer(net).train()
    del solver, net
    gc.collect()
    opt = torch.optim.SGD(peer.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    def step():
        opt.zero_grad(); peer(data=tx, label=ty)[1].backward(); opt.step()
else:
    step = lambda: solver.step(1)
open('/proc/self/clear_refs', 'w').write('5')   # the peak restarts from here
for _ in range(2):
    step()
print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])
'''


def peak_memory(use_torch):
    """Peak resident memory (MiB) of CaffeNet b32 training steps in a fresh
    process, counted from after the first step (for PyTorch: after its
    model replaced the caffelite net it was built from)."""
    code = PEAK_CODE % dict(root=str(ROOT), bench=str(ROOT / 'benchmarks'), torch=use_torch)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.split()[-1]) / 1024.0


def start_busy(count):
    """``count`` CPU-bound processes (their Popen objects)."""
    return [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(count)]


def stop_busy(processes):
    for p in processes:
        os.kill(p.pid, signal.SIGTERM)
        p.wait()


def run_table(repeats, quick, only):
    peak = sgemm_peak(5)
    print('NumPy sgemm 2048x2048: %.1f GFLOP/s (the roofline below)' % peak)
    rows = []
    for title, make, weight in WORKLOADS:
        if only and not any(word.lower() in title.lower() for word in only.split(',')):
            continue
        ours, theirs, gflop = make()
        medians = report(title, compare([('caffelite', ours), ('pytorch', theirs)],
                                        repeats * weight))
        rows.append(dict(workload=title, gflop=gflop, caffelite_ms=medians['caffelite'] * 1e3,
                         pytorch_ms=medians['pytorch'] * 1e3,
                         ratio=medians['caffelite'] / medians['pytorch'],
                         roofline_caffelite=gflop / medians['caffelite'] / peak,
                         roofline_pytorch=gflop / medians['pytorch'] / peak))
    print('\n%-30s %8s %8s  %s' % ('workload', 'ratio', 'GFLOP', 'roofline caffelite / pytorch'))
    for r in rows:
        print('%-30s %8.2f %8.1f  %5.0f%% / %3.0f%%' % (
            r['workload'], r['ratio'], r['gflop'], 100 * r['roofline_caffelite'],
            100 * r['roofline_pytorch']))
    memory = None
    if not quick and not only:
        memory = dict(caffelite_mib=peak_memory(False), pytorch_mib=peak_memory(True))
        print('CaffeNet b32 training step, peak RSS: caffelite %(caffelite_mib).0f MiB, '
              'pytorch %(pytorch_mib).0f MiB' % memory)
    return dict(sgemm_gflops=peak, rows=rows, peak_memory=memory)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true',
                        help='2 alternations per workload, no memory measurement')
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--busy', type=int, default=0, help='CPU-bound processes to start')
    parser.add_argument('--only', default='',
                        help='comma-separated words: run the workloads whose title has one')
    parser.add_argument('--json', default=None, help='also write the results here')
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    print(environment())
    busy = start_busy(args.busy)
    try:
        print('busy processes: %s; load average %s' % (
            [p.pid for p in busy] or 'none', ' '.join('%.2f' % v for v in os.getloadavg())))
        results = run_table(repeats, args.quick, args.only)
    finally:
        stop_busy(busy)
    results['busy'] = args.busy
    results['load_average_after'] = os.getloadavg()
    print('load average after: %s' % ' '.join('%.2f' % v for v in results['load_average_after']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
