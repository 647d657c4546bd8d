"""The embedded demo: the whole DIGITS workflow on a dataset that ships
inside scikit-learn (1,797 8x8 handwritten digits).

1. Export the digits, upscaled to 28x28, as an image folder (one folder per
   class), the layout DIGITS' "new dataset" form asks for.
2. Create the dataset (as ``caffelite dataset create``): split
   train/val/test, LMDBs, mean, labels.
3. Write LeNet's train_val.prototxt, deploy.prototxt and solver.prototxt
   (built with NetSpec).
4. Train (as ``caffelite train --epochs``): SGD, testing on the val split.
5. Classify every held-out test image with the trained snapshot and report
   the accuracy.
"""
import os
import time

import numpy as np

from .net_spec import NetSpec, layers as L, params as P
from .protoio import atomic_open


def export_digits(folder):
    """Write sklearn's digits as 28x28 gray PNGs under folder/<label>/."""
    from PIL import Image
    from sklearn.datasets import load_digits
    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        sub = os.path.join(folder, str(label))
        os.makedirs(sub, exist_ok=True)
        pixels = np.uint8(np.round(image * (255.0 / 16.0)))
        Image.fromarray(pixels, 'L').resize((28, 28), Image.BILINEAR).save(
            os.path.join(sub, '%04d.png' % i))
    return len(digits.target)


def lenet(source, batch_size, mean_file, phase_include=None, deploy=False):
    """LeNet as in Caffe's MNIST example, with a data layer or a deploy input."""
    n = NetSpec()
    if deploy:
        n.data = L.Input(shape=dict(dim=[1, 1, 28, 28]))
    else:
        n.data, n.label = L.Data(source=source, backend=P.Data.LMDB, batch_size=batch_size,
                                 ntop=2, transform_param=dict(mean_file=mean_file),
                                 include=phase_include)
    # Pixel scaling lives in the net (as in DIGITS' LeNet), so the deploy net
    # takes mean-subtracted 0-255 pixels like every other Caffe classifier.
    n.scaled = L.Power(n.data, scale=0.00390625)
    xavier = dict(type='xavier')
    learn = [dict(lr_mult=1), dict(lr_mult=2)]
    n.conv1 = L.Convolution(n.scaled, kernel_size=5, num_output=20, weight_filler=xavier,
                            param=learn)
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.conv2 = L.Convolution(n.pool1, kernel_size=5, num_output=50, weight_filler=xavier,
                            param=learn)
    n.pool2 = L.Pooling(n.conv2, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.ip1 = L.InnerProduct(n.pool2, num_output=500, weight_filler=xavier, param=learn)
    n.relu1 = L.ReLU(n.ip1, in_place=True)
    n.ip2 = L.InnerProduct(n.relu1, num_output=10, weight_filler=xavier, param=learn)
    if deploy:
        n.prob = L.Softmax(n.ip2)
    else:
        n.loss = L.SoftmaxWithLoss(n.ip2, n.label)
    return n.to_proto()


def write_models(workdir, dataset):
    """train_val.prototxt, deploy.prototxt and solver.prototxt in workdir."""
    from .proto import caffe_pb2
    mean = os.path.join(dataset, 'mean.binaryproto')
    train = lenet(os.path.join(dataset, 'train_db'), 64, mean, [dict(phase=caffe_pb2.TRAIN)])
    val_data = lenet(os.path.join(dataset, 'val_db'), 60, mean,
                     [dict(phase=caffe_pb2.TEST)]).layer[0]
    net = caffe_pb2.NetParameter(name='LeNet')
    # Both data layers feed 'data' and 'label', each in its own phase.
    for layer in [train.layer[0], val_data] + list(train.layer[1:]):
        net.layer.add().CopyFrom(layer)
    net.layer.add(name='accuracy', type='Accuracy', bottom=['ip2', 'label'],
                  top=['accuracy']).include.add(phase=caffe_pb2.TEST)
    paths = {}
    for name, text in (('train_val', str(net)),
                       ('deploy', str(lenet(None, None, None, deploy=True)))):
        paths[name] = os.path.join(workdir, name + '.prototxt')
        with atomic_open(paths[name], 'w') as f:
            f.write(text)
    paths['solver'] = os.path.join(workdir, 'solver.prototxt')
    with atomic_open(paths['solver'], 'w') as f:
        f.write('net: "%s"\ntest_iter: 3\ntest_interval: 50\nbase_lr: 0.01\nmomentum: 0.9\n'
                'weight_decay: 0.0005\nlr_policy: "inv"\ngamma: 0.0001\npower: 0.75\n'
                'display: 25\nmax_iter: 1000\nsnapshot: 0\nsnapshot_prefix: "%s"\n'
                'random_seed: 1\n' % (paths['train_val'], os.path.join(workdir, 'snapshots',
                                                                        'lenet')))
    return paths


def train(solver_path, epochs):
    """Train from the solver file for ``epochs`` passes over the training
    set; return the path of the final snapshot's weights."""
    from .model_folder import write_model_folder
    from .solver import get_solver
    solver = get_solver(solver_path)
    solver.set_epochs(epochs)
    solver.param.snapshot = 0       # the final snapshot is enough for the demo
    write_model_folder(solver, os.path.dirname(solver.param.snapshot_prefix))
    solver.solve()
    return '%s_iter_%d.caffemodel' % (solver.param.snapshot_prefix, solver.iter)


def evaluate(deploy, weights, dataset):
    """Accuracy of the trained net on the test split, and each test image's
    (path, label), predicted class and class probabilities."""
    from .job_classifier import JobClassifier
    classifier = JobClassifier(deploy, weights, os.path.join(dataset, 'mean.binaryproto'),
                               os.path.join(dataset, 'labels.txt'))
    with open(os.path.join(dataset, 'test.txt')) as f:
        items = [line.rsplit(' ', 1) for line in f.read().splitlines() if line.strip()]
    probs = classifier.probabilities([classifier.preprocess(path) for path, _ in items])
    labels = np.array([int(label) for _, label in items])
    predicted = probs.argmax(axis=1)
    return float((predicted == labels).mean()), items, predicted, probs


# What the demo writes into its folder (and --force removes first).
OUTPUTS = ('digits', 'dataset', 'snapshots', 'train_val.prototxt', 'deploy.prototxt',
           'solver.prototxt')


def prepare_folder(workdir, force):
    """Make ``workdir`` ready for a fresh demo: refuse one holding an
    earlier demo's files unless ``force``, which removes those files."""
    import shutil
    from .errors import CaffeError
    present = [name for name in OUTPUTS if os.path.exists(os.path.join(workdir, name))]
    if present and not force:
        raise CaffeError('%s already holds an earlier demo (%s); give --force to build it '
                         'again from scratch, or another --dir' % (workdir, ', '.join(present)))
    for name in present:
        path = os.path.join(workdir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.makedirs(workdir, exist_ok=True)


def run(workdir, epochs=20, log=print, force=False):
    """The whole demo in ``workdir`` (see prepare_folder for ``force``);
    returns the test accuracy."""
    from .tools import dataset as datasets
    start = time.time()
    workdir = os.path.abspath(workdir)
    prepare_folder(workdir, force)
    images, dataset = os.path.join(workdir, 'digits'), os.path.join(workdir, 'dataset')
    log('[1/5] exporting %d scikit-learn digits as 28x28 PNGs into %s'
        % (export_digits(images), images))
    log('[2/5] creating the dataset (train/val/test LMDBs, mean, labels) in %s' % dataset)
    classes, items = datasets.scan_folder(images)
    report = datasets.create_dataset(dataset, items, classes, width=28, height=28,
                                     color=False, val_percent=10, test_percent=10,
                                     encoding='png', seed=1)
    log(datasets.summary(report, classes))
    log('[3/5] writing LeNet prototxts into %s' % workdir)
    paths = write_models(workdir, dataset)
    log('[4/5] training %g epochs from %s' % (epochs, paths['solver']))
    weights = train(paths['solver'], epochs)
    log('[5/5] classifying the held-out test images with %s' % weights)
    accuracy, items, predicted, probs = evaluate(paths['deploy'], weights, dataset)
    for (path, label), guess, p in list(zip(items, predicted, probs))[:5]:
        log('  %s: true %s, predicted %d (p=%.3f)' % (os.path.relpath(path, workdir), label,
                                                      guess, p[guess]))
    log('test accuracy: %.2f%% on %d held-out images (%.0f s in all)'
        % (100 * accuracy, len(items), time.time() - start))
    return accuracy
