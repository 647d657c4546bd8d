"""Issue 17: CPU inference of GoogLeNet and ResNet-50 exported to ONNX.
ONNX Runtime on the exported model beside caffelite and PyTorch (the same
architecture built from the prototxt by torch_peer.py), alternating in one
run, at batch 1 and 32; then the peak resident memory of each in its own
fresh process (VmHWM): of the whole run (loading included) and of the
inference alone (the peak is reset once the model is loaded).

Weights follow the reference README's synthetic recipe (saved to a
temporary .caffemodel that every process loads); ONNX Runtime's outputs
are compared with caffelite's before timing.

Usage: python benchmarks/bench_onnx.py [--models googlenet,resnet50]
       [--batches 1,32] [--repeats 5]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))
sys.path.insert(0, str(ROOT / 'tests'))

import caffelite as caffe  # noqa: E402
from harness import compare, environment, report  # noqa: E402


def load_net(name, batch, weights=None):
    """The zoo deploy net at ``batch`` (synthetic weights unless given)."""
    from caffelite.net import load_net_param
    param = load_net_param(str(ROOT / 'model_zoo' / name / 'deploy.prototxt'))
    for layer in param.layer:
        if layer.type == 'Input':
            layer.input_param.shape[0].dim[0] = batch
    net = caffe.Net(param, caffe.TEST, weights=weights)
    if weights is None:
        from refcases import synthetic_weights
        synthetic_weights(net)
    return net


def _peak_mib():
    return int([line.split()[1] for line in open('/proc/self/status')
                if line.startswith('VmHWM')][0]) / 1024.0


def _reset_peak():
    """Start VmHWM afresh from the current resident size (Linux >= 4.0)."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def child(framework, name, batch, weights, onnx_path):
    """Load one framework's model, run two forwards; print peak MiB."""
    x = np.random.RandomState(0).rand(batch, 3, 224, 224).astype(np.float32)
    if framework == 'caffelite':
        net = load_net(name, batch, weights)
        run = lambda: net.forward(data=x)
    elif framework == 'onnxruntime':
        import onnxruntime
        session = onnxruntime.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
        run = lambda: session.run(None, {'data': x})
    else:
        import gc
        import torch
        from torch_peer import TorchPeer
        net = load_net(name, batch, weights)
        peer = TorchPeer(net).eval()
        del net
        gc.collect()
        tx = torch.from_numpy(x)

        def run():
            with torch.no_grad():
                peer(data=tx)
    loaded = _peak_mib()
    _reset_peak()
    run()
    run()
    print(json.dumps({'load_peak_mib': loaded, 'inference_peak_mib': _peak_mib()}))


def peak_memory(framework, name, batch, weights, onnx_path):
    out = subprocess.run([sys.executable, __file__, '--child', framework, '--models', name,
                          '--batches', str(batch), '--weights', weights, '--onnx', onnx_path],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def uptime():
    return open('/proc/loadavg').read().split()[:3]


def bench(name, batch, repeats, workdir):
    import time
    import onnxruntime
    import torch
    from caffelite.export import to_onnx
    from torch_peer import TorchPeer
    print('\n### %s, batch %d (load average %s)' % (name, batch, ' '.join(uptime())))
    net = load_net(name, batch)
    weights = os.path.join(workdir, '%s.caffemodel' % name)
    net.save(weights)
    onnx_path = os.path.join(workdir, '%s_b%d.onnx' % (name, batch))
    start = time.perf_counter()
    to_onnx(net, onnx_path)
    print('  export: %.1f s, %.1f MB' % (time.perf_counter() - start,
                                         os.path.getsize(onnx_path) / 1e6))
    session = onnxruntime.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    x = np.random.RandomState(0).rand(batch, 3, 224, 224).astype(np.float32)
    peer = TorchPeer(net).eval()
    tx = torch.from_numpy(x)
    ours = net.forward(data=x)['prob'].copy()
    theirs = session.run(['prob'], {'data': x})[0]
    print('  ONNX Runtime vs caffelite: max |diff| of prob %.3g (max prob %.3g)'
          % (np.abs(ours - theirs).max(), ours.max()))

    def torch_fwd():
        with torch.no_grad():
            peer(data=tx)

    times = compare([('caffelite', lambda: net.forward(data=x)),
                     ('onnxruntime', lambda: session.run(['prob'], {'data': x})),
                     ('pytorch', torch_fwd)], repeats)
    medians = report('%s forward, batch %d' % (name, batch), times, batch, 'images')
    del session, peer, net
    memory = {}
    for framework in ('caffelite', 'onnxruntime', 'pytorch'):
        memory[framework] = peak_memory(framework, name, batch, weights, onnx_path)
        print('  %-12s peak RSS: %7.0f MiB loading, %7.0f MiB during inference (fresh '
              'process)' % (framework, memory[framework]['load_peak_mib'],
                            memory[framework]['inference_peak_mib']))
    print('  load average after: %s' % ' '.join(uptime()))
    return {'model': name, 'batch': batch, 'forward_ms': {k: v * 1e3 for k, v in medians.items()},
            'memory_mib': memory}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--models', default='googlenet,resnet50')
    parser.add_argument('--batches', default='1,32')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--json', default=None, help='also write results here')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--weights', help=argparse.SUPPRESS)
    parser.add_argument('--onnx', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.models, int(args.batches), args.weights, args.onnx)
    print(environment())
    import onnxruntime
    import torch
    print('onnxruntime %s (%s), torch %s (%d threads)' % (
        onnxruntime.__version__, ','.join(onnxruntime.get_available_providers()),
        torch.__version__, torch.get_num_threads()))
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models.split(','):
            for batch in (int(b) for b in args.batches.split(',')):
                results.append(bench(name, batch, args.repeats if batch == 1 else
                                     max(2, args.repeats // 2), workdir))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
