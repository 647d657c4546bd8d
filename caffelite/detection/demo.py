"""The embedded detection demo: DIGITS' DetectNet workflow end to end on a
dataset made here (no download).

1. Paste digits at random places and sizes on noisy canvases: train, val
   and held-out test images with KITTI labels (:mod:`.synthetic`).
2. The dataset (as ``caffelite dataset create-detection``): DIGITS' LMDBs and mean.
3. Write a DetectNet-style train_val/deploy/solver with a small trunk
   (:mod:`.networks`): DetectNetTransformation, coverage and bbox heads,
   L1 and Euclidean losses, clustering and DetectNet's mAP on val.
4. Training (as ``caffelite train``).
5. Detect the held-out images with the deploy net, write the detections
   as KITTI result files, score them (VOC and COCO average precision,
   DetectNet's precision/recall) and draw the predicted and true boxes of a
   few of them.
"""
import os
import time

import numpy as np

from . import kitti, networks, overlay, scoring, synthetic

# Sizes of the full demo; the tests run a reduced one.
FULL = dict(train=400, val=32, test=64, iterations=400, batch=8)
CANVAS = dict(size=(128, 64), objects=(1, 2), scale=(20, 32))
WIDTHS = (8, 16, 32, 32)
STRIDE = 8
CLUSTERING = dict(threshold=0.5, group=2, eps=0.15, min_height=12)
AUGMENTATION = dict(crop_prob=1, shift_x=16, shift_y=16, flip_prob=0.5, rotation_prob=0,
                    scale_prob=0, hue_rotation_prob=0.5, hue_rotation=30,
                    desaturation_prob=0.5, desaturation_max=0.5)


VAL_BATCH = 16

# What the demo writes into its folder (and --force removes first).
OUTPUTS = ('images', 'dataset', 'snapshots', 'predictions', 'detections.png',
           'train_val.prototxt', 'deploy.prototxt', 'solver.prototxt',
           'detectnet_network.prototxt')


def write_models(workdir, dataset, size, batch, iterations, val_count):
    """train_val.prototxt, deploy.prototxt and solver.prototxt in workdir;
    each test covers the ``val_count`` validation canvases once. Beside
    them, detectnet_network.prototxt: the same net in DIGITS' all-in-one
    layout, the custom network of an object-detection model in the web app."""
    from google.protobuf import text_format
    from ..protoio import atomic_open
    paths = {name: os.path.join(workdir, name + '.prototxt')
             for name in ('train_val', 'deploy', 'solver', 'detectnet_network')}

    def trunk(net, bottom, train):
        return networks.small_trunk(net, bottom, train, WIDTHS)
    nets = {'train_val': networks.train_val(
                trunk, dataset, size, STRIDE, batch=(batch, VAL_BATCH), mean=64,
                augmentation=AUGMENTATION, clustering=CLUSTERING, min_cvg_len=12, coverage_bias=-3,
                name='DetectNet-demo'),
            'deploy': networks.deploy(trunk, size, STRIDE, mean=64,
                                      clustering=CLUSTERING, name='DetectNet-demo'),
            'detectnet_network': networks.all_in_one(
                trunk, size, STRIDE, mean=64, batch=(batch, VAL_BATCH),
                augmentation=AUGMENTATION, clustering=CLUSTERING, min_cvg_len=12,
                coverage_bias=-3, name='DetectNet-demo'),
            'solver': networks.solver(paths['train_val'], lr=2e-3, max_iter=iterations,
                                      stepsize=int(iterations * 0.7),
                                      test_iter=-(-val_count // VAL_BATCH),
                                      test_interval=max(iterations // 3, 1),
                                      display=max(iterations // 20, 1), seed=1,
                                      snapshot_prefix=os.path.join(workdir, 'snapshots',
                                                                   'detectnet'))}
    nets['solver'].snapshot = 0
    for name, message in nets.items():
        with atomic_open(paths[name], 'w') as f:
            f.write(text_format.MessageToString(message))
    return paths


def detect(deploy, weights, image_dir, names):
    """{name: (K, 4) boxes, (K,) scores} of images ``names`` (file names in
    ``image_dir``), through the deploy net in batches."""
    from .. import io
    from ..net import TEST, Net
    net = Net(deploy, TEST)
    net.copy_from(weights).require_some()
    pixels = np.stack([io.load_image(os.path.join(image_dir, n)) for n in names])
    batch = (pixels[..., ::-1] * 255).transpose(0, 3, 1, 2)        # RGB [0, 1] -> BGR 0..255
    net.blobs['data'].reshape(min(16, len(names)), *batch.shape[1:])
    net.reshape()
    lists = net.forward_all(data=batch)['bbox-list']
    found = {}
    for name, rows in zip(names, lists):
        rows = rows[(rows[:, :4] != 0).any(axis=1)]
        found[name] = (rows[:, :4], rows[:, 4])
    return found


def write_predictions(folder, found):
    """KITTI result files (label rows plus a score) of the detections."""
    os.makedirs(folder, exist_ok=True)
    for name, (boxes, scores) in found.items():
        kitti.write_objects(os.path.join(folder, os.path.splitext(name)[0] + '.txt'), [
            kitti.KittiObject(synthetic.CLASS_NAME, 0.0, 0, 0.0, x1, y1, x2, y2, 0.0, 0.0, 0.0,
                              0.0, 0.0, 0.0, 0.0, float(s))
            for (x1, y1, x2, y2), s in zip(boxes, scores)])


def score(found, label_dir):
    """(ClassResult, truths by name) of detections against KITTI labels."""
    truths, detections = [], []
    by_name = {}
    for name, (boxes, scores) in found.items():
        objects = kitti.read_objects(os.path.join(label_dir, os.path.splitext(name)[0] + '.txt'))
        truth = np.array([[o.left, o.top, o.right, o.bottom] for o in objects]).reshape(-1, 4)
        by_name[name] = truth
        truths.append(scoring.GroundTruth(truth, np.zeros(len(truth), bool)))
        detections.append(scoring.Detections(boxes, scores))
    return scoring.evaluate_class(synthetic.CLASS_NAME, truths, detections), by_name


def draw(path, image_dir, names, found, truths):
    """One PNG of the first images stacked, predicted and true boxes."""
    from .. import io
    rows = [io.load_image(os.path.join(image_dir, n)) for n in names]
    gap = np.ones((4,) + rows[0].shape[1:], np.float32)
    offsets = np.cumsum([0] + [r.shape[0] + len(gap) for r in rows[:-1]])
    stacked = np.concatenate(sum(([r, gap] for r in rows), [])[:-1])
    shift = lambda boxes, dy: np.asarray(boxes, np.float64).reshape(-1, 4) + [0, dy, 0, dy]
    predicted = np.concatenate([shift(found[n][0], dy) for n, dy in zip(names, offsets)])
    scores = np.concatenate([found[n][1] for n in names])
    true = np.concatenate([shift(truths[n], dy) for n, dy in zip(names, offsets)])
    overlay.save_boxes(path, stacked, [('true', true, None), ('predicted', predicted, scores)])


def run(workdir, sizes=None, log=print, force=False):
    """The whole demo; returns (VOC AP, seconds of training). A folder
    holding an earlier run is refused before anything is written, unless
    ``force`` (see caffelite.demo.prepare_folder)."""
    from ..demo import prepare_folder
    from ..solver import get_solver
    from .dataset import create_detection_dataset
    sizes = dict(FULL, **(sizes or {}))
    start = time.time()
    workdir = os.path.abspath(workdir)
    prepare_folder(workdir, force, OUTPUTS)
    data = os.path.join(workdir, 'images')
    splits = {}
    for k, split in enumerate(('train', 'val', 'test')):
        splits[split] = synthetic.write_split(os.path.join(data, split), sizes[split], k + 1,
                                              **CANVAS)
    log('[1/5] %d train, %d val and %d test canvases with KITTI labels in %s'
        % (sizes['train'], sizes['val'], sizes['test'], data))
    dataset = os.path.join(workdir, 'dataset')
    log('[2/5] caffelite dataset create-detection -> %s' % dataset)
    width, height = CANVAS['size']
    create_detection_dataset(dataset, splits['train'][0], splits['train'][1], splits['val'][0],
                             splits['val'][1], padding=(width, height), val_min_box_size=0,
                             custom_classes='dontcare,' + synthetic.CLASS_NAME)
    paths = write_models(workdir, dataset, CANVAS['size'], sizes['batch'], sizes['iterations'],
                         sizes['val'])
    log('[3/5] DetectNet-style train_val, deploy and solver in %s' % workdir)
    log('[4/5] caffelite train -solver %s' % paths['solver'])
    trained = time.time()
    solver = get_solver(paths['solver'])
    solver.solve()
    seconds = time.time() - trained
    weights = solver.last_snapshot
    image_dir, label_dir = splits['test']
    names = sorted(os.listdir(image_dir))
    found = detect(paths['deploy'], weights, image_dir, names)
    result, truths = score(found, label_dir)
    write_predictions(os.path.join(workdir, 'predictions'), found)
    picture = os.path.join(workdir, 'detections.png')
    draw(picture, image_dir, names[:4], found, truths)
    precision, recall, dn_map = result.detectnet
    log('[5/5] %d held-out images, %d objects, %d detections: VOC AP %.3f, COCO AP@[.5:.95] '
        '%.3f; DetectNet precision %.1f%%, recall %.1f%%, "mAP" %.1f'
        % (len(names), result.n_truth, result.n_detections, result.voc_ap, result.coco_ap,
           precision, recall, dn_map))
    log('boxes drawn in %s, predictions (KITTI format) in %s; training took %.0f s, '
        'the demo %.0f s in all' % (picture, os.path.join(workdir, 'predictions'), seconds,
                                    time.time() - start))
    return result.voc_ap, seconds
