"""Issue 5 target: training iterations/second on the CPU for LeNet (batch
64, 28x28) and CaffeNet (batch 32, 227x227), caffelite beside PyTorch with
the same architecture and the same solver settings (SGD, momentum 0.9,
weight decay 5e-4), alternating in one run.

Usage: python benchmarks/bench_train_cpu.py [--repeats 5]
"""
import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import caffelite as caffe  # noqa: E402
from caffelite.proto import caffe_pb2  # noqa: E402
from harness import compare, environment, report  # noqa: E402


def training_net(deploy, batch, classes):
    """The zoo deploy net with its softmax replaced by SoftmaxWithLoss on an
    Input label, at the given batch size."""
    from caffelite.net import load_net_param
    param = load_net_param(deploy)
    layers = [l for l in param.layer if l.type != 'Softmax']
    data = layers[0]
    data.input_param.shape[0].dim[0] = batch
    data.top.append('label')
    data.input_param.shape.add().dim.append(batch)
    last = layers[-1].top[0]
    out = caffe_pb2.NetParameter(name=param.name)
    for layer in layers:
        out.layer.add().CopyFrom(layer)
    out.layer.add(name='loss', type='SoftmaxWithLoss', bottom=[last, 'label'], top=['loss'])
    return out


def bench(name, batch, classes, repeats):
    import torch
    from torch_peer import TorchPeer
    net_param = training_net(str(ROOT / 'model_zoo' / name / 'deploy.prototxt'), batch, classes)
    solver_param = caffe_pb2.SolverParameter(
        net_param=net_param, base_lr=0.01, momentum=0.9, weight_decay=5e-4, lr_policy='fixed',
        max_iter=10 ** 6, display=0, snapshot_after_train=False, type='SGD')
    solver = caffe.get_solver(solver_param)
    net = solver.net
    rng = np.random.RandomState(0)
    x = rng.rand(*net.blobs['data'].shape).astype(np.float32)
    y = rng.randint(0, classes, batch).astype(np.float32)
    net.blobs['data'].data[...] = x
    net.blobs['label'].data[...] = y
    peer = TorchPeer(net).train()
    opt = torch.optim.SGD(peer.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step():
        opt.zero_grad()
        _, loss = peer(data=tx, label=ty)
        loss.backward()
        opt.step()

    times = compare([('caffelite', lambda: solver.step(1)), ('pytorch', torch_step)], repeats)
    report('%s training step, batch %d' % (name, batch), times, unit_count=1, unit='iter')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    print(environment())
    bench('lenet', 64, 10, args.repeats * 4)
    bench('caffenet', 32, 1000, args.repeats)


if __name__ == '__main__':
    main()
