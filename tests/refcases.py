"""Running the per-layer and whole-model cases of ../shared/reference the way
its README prescribes, and comparing with the stated tolerances."""
import json
import zlib

import numpy as np

import caffelite
from conftest import REFERENCE, reference_path


def lmdb_trainer(folder, solver):
    """Write the reference LMDB LeNet (data/data_lmdb_raw: 320 images, batch
    16, an Accuracy in the TEST phase) as folder/train_val.prototxt and
    ``solver`` (its text; ``%(prefix)s`` becomes folder/snaps/lenet) as
    folder/solver.prototxt; returns ``folder``."""
    data = reference_path('data')
    net = (data / 'data_lmdb_raw' / 'train.prototxt').read_text()
    net = net.replace('"../lmdb_raw"', '"%s"' % (data / 'lmdb_raw')).replace(
        '"../mean.binaryproto"', '"%s"' % (data / 'mean.binaryproto'))
    net += ('layer { name: "acc" type: "Accuracy" bottom: "ip2" bottom: "label" top: "acc" '
            'include { phase: TEST } }\n')
    (folder / 'train_val.prototxt').write_text(net)
    (folder / 'solver.prototxt').write_text(solver % {'prefix': folder / 'snaps' / 'lenet'})
    return folder


def layer_case_names():
    index = REFERENCE / 'layers' / 'index.json'
    return sorted(json.loads(index.read_text())) if index.exists() else []


def assert_close(ours, ref, rel, abs_scale, what):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, '%s: shape %s, Caffe %s' % (what, ours.shape, ref.shape)
    scale = max(1e-30, float(np.max(np.abs(ref)))) if ref.size else 1.0
    err = np.abs(ours - ref) - (rel * np.abs(ref) + abs_scale * scale)
    worst = int(np.argmax(err)) if err.size else 0
    assert err.size == 0 or err.flat[worst] <= 0, (
        '%s: max excess error %g at %d (ours %g, Caffe %g)'
        % (what, err.flat[worst], worst, ours.flat[worst], ref.flat[worst]))


def load_layer_case(name):
    """(net with the case's weights, its recorded arrays, {bottom blob:
    array}) of one layers/<name> case, the net reshaped to its bottoms."""
    folder = reference_path('layers', name)
    case = json.loads((folder / 'case.json').read_text())
    data = np.load(folder / 'data.npz')
    phase = caffelite.TRAIN if case.get('phase') == 'TRAIN' else caffelite.TEST
    net = caffelite.Net(str(folder / 'net.prototxt'), phase)
    weights = folder / 'weights.caffemodel'
    if weights.exists():
        net.copy_from(str(weights))
    bottoms = {}
    for key in data.files:
        kind, blob = key.split(':', 1)
        if kind == 'bottom':
            net.blobs[blob].reshape(data[key].shape)
            bottoms[blob] = data[key]
    net.reshape()
    return net, data, bottoms


def run_layer_case(name):
    """Build, run and compare one layers/<name> case."""
    net, data, bottoms = load_layer_case(name)
    for key in data.files:
        if key.startswith('param:'):
            # Recorded as saved, i.e. what copy_from must load (a TRAIN
            # forward may update some, e.g. BatchNorm's running statistics).
            layer, i = key[6:].rsplit(':', 1)
            assert_close(net.params[layer][int(i)].data, data[key], 1e-4, 1e-5,
                         '%s %s' % (name, key))
    for blob, value in bottoms.items():
        net.blobs[blob].data[...] = value
    net.clear_param_diffs()
    net._forward()
    for key in data.files:
        kind, rest = key.split(':', 1)
        if kind == 'top':
            assert_close(net.blobs[rest].data, data[key], 1e-4, 1e-5, '%s %s' % (name, key))
    for key in data.files:
        kind, rest = key.split(':', 1)
        if kind == 'top_diff':
            net.blobs[rest].diff[...] = data[key]
    net._backward()
    for key in data.files:
        kind, rest = key.split(':', 1)
        if kind == 'bottom_diff':
            ours = net.blobs[rest].diff
        elif kind == 'param_diff':
            layer, i = rest.rsplit(':', 1)
            ours = net.params[layer][int(i)].diff
        else:
            continue
        assert_close(ours, data[key], 1e-3, 1e-4, '%s %s' % (name, key))


def synthetic_weights(net):
    """Fill ``net`` with the reference README's synthetic weight recipe."""
    for layer_name, blobs in net.params.items():
        layer_type = net.layer_dict[layer_name].type
        for i, blob in enumerate(blobs):
            s = blob.shape
            rng = np.random.RandomState(zlib.crc32(('%s/%d' % (layer_name, i)).encode())
                                        & 0x7FFFFFFF)
            if layer_type == 'BatchNorm':
                value = [lambda: rng.randn(*s) * 0.1,
                         lambda: rng.uniform(0.5, 1.5, size=s),
                         lambda: np.ones(s)][i]()
            elif layer_type == 'Scale' and i == 0:
                value = 1 + 0.1 * rng.randn(*s)
            elif i == 0 and len(s) >= 2:
                value = rng.randn(*s) * np.sqrt(1.0 / np.prod(s[1:]))
            else:
                value = rng.randn(*s) * 0.1
            blob.data[...] = np.asarray(value, np.float64).astype(np.float32)


def run_model_case(folder):
    """Forward and backward one models/<case> (or legacy/<case>) and compare."""
    case = json.loads((folder / 'case.json').read_text())
    data = np.load(folder / 'data.npz')
    net = caffelite.Net(str(folder / 'net.prototxt'), caffelite.TEST)
    weights = case.get('weights', 'local')
    if weights == 'local':
        net.copy_from(str(folder / 'weights.caffemodel'))
    elif weights.startswith('file:'):
        net.copy_from(str(REFERENCE / 'weights' / weights[5:]))
    elif weights == 'synthetic':
        synthetic_weights(net)
    return net, case, data


def assert_input_gradient_close(ours, ref, what, max_l2=0.05):
    """The reference README's rule for a whole net's input gradient: the
    elementwise diff tolerance, or a relative L2 error of at most ``max_l2``
    (deep nets have ReLU inputs and max-pool candidates within float32
    rounding of their switching point, so the last bit of a BLAS sum decides
    which units are active; a wrong backward is off by O(1))."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, '%s: shape %s, Caffe %s' % (what, ours.shape, ref.shape)
    scale = max(1e-30, float(np.max(np.abs(ref))))
    if np.all(np.abs(ours - ref) <= 1e-3 * np.abs(ref) + 1e-4 * scale):
        return
    l2 = float(np.linalg.norm(ours - ref) / max(1e-30, np.linalg.norm(ref)))
    assert l2 <= max_l2, '%s: relative L2 error %.4f > %g' % (what, l2, max_l2)


def check_model_case(folder, rel=1e-3, abs_scale=1e-4, max_l2=0.05):
    """Run a whole-model case: forward, compare recorded blobs; backward from
    the recorded top diffs, compare the input gradient
    (assert_input_gradient_close with ``max_l2``)."""
    net, case, data = run_model_case(folder)
    name = folder.name
    blob = net.blobs[case['input']]
    blob.reshape(case['input_shape'])
    blob.data[...] = data['input:' + case['input']]
    net._forward()
    for key in data.files:
        if key.startswith('blob:'):
            assert_close(net.blobs[key[5:]].data, data[key], rel, abs_scale, '%s %s' % (name, key))
    top_diffs = [k for k in data.files if k.startswith('top_diff:')]
    if not top_diffs:
        return
    for key in top_diffs:
        net.blobs[key[9:]].diff[...] = data[key]
    net._backward()
    for key in data.files:
        if key.startswith('input_diff:'):
            assert_input_gradient_close(net.blobs[key[11:]].diff, data[key],
                                        '%s %s' % (name, key), max_l2)
    return net
