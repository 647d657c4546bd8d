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
       [--batches 1,32] [--repeats 5] [--threads N]
(--threads: every framework's thread count, e.g. 1 on a machine shared
with other work, where spinning worker threads distort the ratios.)
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


def limit_threads(threads, torch_too=True):
    """OpenBLAS (under caffelite) and PyTorch on ``threads`` threads (0:
    their defaults). A memory-measuring child imports no torch it does not
    run, since the import alone holds ~190 MiB."""
    if threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
        if torch_too:
            import torch
            torch.set_num_threads(threads)


def ort_session(path, threads):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def child(framework, name, batch, weights, onnx_path, threads):
    """Load one framework's model, run two forwards; print peak MiB."""
    limit_threads(threads, torch_too=framework == 'pytorch')
    x = np.random.RandomState(0).rand(batch, 3, 224, 224).astype(np.float32)
    if framework == 'caffelite':
        net = load_net(name, batch, weights)
        run = lambda: net.forward(data=x)
    elif framework == 'onnxruntime':
        session = ort_session(onnx_path, threads)
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


def peak_memory(framework, name, batch, weights, onnx_path, threads):
    out = subprocess.run([sys.executable, __file__, '--child', framework, '--models', name,
                          '--batches', str(batch), '--weights', weights, '--onnx', onnx_path,
                          '--threads', str(threads or 0)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def uptime():
    return open('/proc/loadavg').read().split()[:3]


def bench(name, batch, repeats, workdir, threads):
    import time
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
    session = ort_session(onnx_path, threads)
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
        memory[framework] = peak_memory(framework, name, batch, weights, onnx_path, threads)
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
    parser.add_argument('--threads', type=int, default=0,
                        help='threads for every framework (default: each its own default)')
    parser.add_argument('--json', default=None, help='also write results here')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--weights', help=argparse.SUPPRESS)
    parser.add_argument('--onnx', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.models, int(args.batches), args.weights, args.onnx,
                     args.threads)
    limit_threads(args.threads)
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
                                     max(2, args.repeats // 2), workdir, args.threads))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
