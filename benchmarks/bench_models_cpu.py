"""Issue 3 target: batch-1 CPU forward and forward+backward of GoogLeNet,
ResNet-50 and VGG-16, caffelite beside PyTorch (same architectures, built
from the same prototxt by torch_peer.py), alternating in one run, plus the
peak resident memory of each caffelite forward (measured in a child
process so the models do not share one peak).

Usage: python benchmarks/bench_models_cpu.py [--repeats 5] [--models googlenet,...]
"""
import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import caffelite as caffe  # noqa: E402
from harness import compare, environment, report  # noqa: E402

MODELS = {'googlenet': 'googlenet', 'resnet50': 'resnet50', 'vgg16': 'vgg16'}


def deploy_path(name):
    return str(ROOT / 'model_zoo' / name / 'deploy.prototxt')


def load_net(name):
    """The zoo deploy net at batch 1 with backward to the input."""
    from caffelite.net import load_net_param
    param = load_net_param(deploy_path(name))
    param.force_backward = True
    for layer in param.layer:
        if layer.type == 'Input':
            layer.input_param.shape[0].dim[0] = 1
    return caffe.Net(param, caffe.TEST)


def peak_rss_of_forward(name):
    """Peak RSS (MiB) of a fresh process that builds the net and runs forward.

    Read from VmHWM, which starts anew at exec; getrusage's ru_maxrss would
    include the parent's memory at fork time.
    """
    code = ('import sys; sys.path.insert(0, %r); sys.path.insert(0, %r)\n'
            'from bench_models_cpu import load_net\n'
            'net = load_net(%r); net._forward()\n'
            'print([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])'
            % (str(ROOT), str(ROOT / 'benchmarks'), name))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.split()[-1]) / 1024.0


def bench(name, repeats):
    import torch
    from torch_peer import TorchPeer
    net = load_net(name)
    shape = net.blobs[net.inputs[0]].shape
    x = np.random.RandomState(0).rand(*shape).astype(np.float32)
    net.blobs[net.inputs[0]].data[...] = x
    peer = TorchPeer(net).eval()
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    out_name = net.outputs[0]

    def ours_fwd():
        net._forward()

    def ours_fwd_bwd():
        net._forward()
        net.blobs[out_name].diff[...] = 1
        net._backward()

    def torch_fwd():
        with torch.no_grad():
            peer(**{net.inputs[0]: tx})

    def torch_fwd_bwd():
        blobs, _ = peer(**{net.inputs[0]: tx})
        blobs[out_name].sum().backward()

    fwd = report('%s forward, batch 1' % name,
                 compare([('caffelite', ours_fwd), ('pytorch', torch_fwd)], repeats))
    both = report('%s forward+backward, batch 1' % name,
                  compare([('caffelite', ours_fwd_bwd), ('pytorch', torch_fwd_bwd)], repeats))
    rss = peak_rss_of_forward(name)
    print('  caffelite peak RSS of a forward pass (fresh process): %.0f MiB' % rss)
    return {'model': name, 'forward_ms': {k: v * 1e3 for k, v in fwd.items()},
            'forward_backward_ms': {k: v * 1e3 for k, v in both.items()},
            'peak_rss_mib': rss}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--models', default=','.join(MODELS))
    parser.add_argument('--json', default=None, help='also write results here')
    args = parser.parse_args()
    print(environment())
    results = [bench(MODELS[m], args.repeats) for m in args.models.split(',')]
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
