"""The embedded demo: the whole DIGITS workflow on a dataset that ships
inside scikit-learn (1,797 8x8 handwritten digits), as DIGITS jobs that
``caffelite serve`` opens.

1. Export the digits, upscaled to 28x28, as an image folder (one folder per
   class), the layout DIGITS' "new dataset" form asks for.
2. A dataset job (as the form's ``folder`` method): train/val/test LMDBs,
   mean, labels, in ``jobs/<id>/``.
3. A model job of LeNet (an all-in-one network with DIGITS' stage rules):
   DIGITS writes its train_val, deploy and solver prototxt.
4. Train it (the job's worker: ``caffe train`` on the job's solver), testing
   on the val split every epoch.
5. Classify every held-out test image with the trained snapshot and report
   the accuracy.

``caffelite-demo/dataset`` and ``caffelite-demo/model`` name the two job
folders.
"""
import os
import time

import numpy as np

from .errors import CaffeError


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


def lenet():
    """LeNet as in Caffe's MNIST example, as a DIGITS all-in-one network:
    pixels scaled by 1/256 inside the net (so the deploy net takes
    mean-subtracted 0-255 pixels like every other Caffe classifier), the
    class probabilities in ``prob``."""
    from .digits import networks as n
    from .proto import caffe_pb2
    net = caffe_pb2.NetParameter(name='LeNet')
    n.data_layers(net, ['data', 'label'], 64, 60)
    n.layer(net, 'scaled', 'Power', ['data'], power_param=dict(scale=0.00390625))
    xavier = n.filler('xavier')
    x = n.conv(net, 'conv1', 'scaled', 20, 5, xavier)
    x = n.pool(net, 'pool1', x, 2, 2)
    x = n.conv(net, 'conv2', x, 50, 5, xavier)
    x = n.pool(net, 'pool2', x, 2, 2)
    x = n.fc(net, 'ip1', x, 500, xavier, relu='relu1')
    n.classifier_head(net, n.fc(net, 'ip2', x, 10, xavier), softmax='prob')
    return net


def dataset_job(store, images, log):
    """The dataset job of the image folder, built by its worker."""
    from .digits.forms import parse_dataset_form
    from .server import datasets, offline
    values, _ = parse_dataset_form(dict(
        dataset_name='digits', folder_train=images, resize_width='28', resize_height='28',
        resize_channels='1', folder_pct_val='10', folder_pct_test='10', encoding='png',
        seed='1'))
    job = datasets.create_job(store, values, 'demo', images)
    if offline.run_job(store, job) != 'Done':
        raise CaffeError('the dataset job failed: %s' % job['error'])
    counts = job['counts']
    log('  %d train, %d val, %d test images of %d classes'
        % (counts['train'], counts['val'], counts['test'], job['labels']))
    return job


def model_job(store, dataset, epochs, log):
    """A LeNet model job on ``dataset``, trained for ``epochs`` by its worker:
    SGD at a fixed rate of 0.05 (DIGITS' weight decay, rate / 100, is then
    Caffe's MNIST 5e-4), batch 64, a test every epoch, the final snapshot
    kept."""
    from .digits.forms import parse_model_form, sweep
    from .server import models, offline
    network = lenet()
    [(values, _)] = sweep(parse_model_form(dict(
        model_name='lenet', dataset=dataset['id'], method='custom', custom_network=str(network),
        batch_size='64', learning_rate='0.05', lr_policy='fixed', random_seed='1'))[0])
    # the form counts whole epochs; the demo also takes a fraction of one
    values.update(train_epochs=epochs, snapshot_interval=epochs)
    job = models.create_job(store, values, 'lenet', 'demo', dataset, network)

    def report(event, data):
        if event == 'graph' and (data['phase'], data['name']) == ('val', 'accuracy'):
            log('  epoch %g: val accuracy %.4f' % (data['epoch'], data['value']))
    if offline.run_job(store, job, report) != 'Done':
        raise CaffeError('the model job failed: %s' % job['error'])
    return job


def evaluate(deploy, weights, dataset):
    """Accuracy of the trained net on the test split, and each test image's
    (path, label), predicted class and class probabilities."""
    from .job_classifier import JobClassifier
    classifier = JobClassifier(deploy, weights, os.path.join(dataset, 'mean.binaryproto'),
                               os.path.join(dataset, 'labels.txt'))
    with open(os.path.join(dataset, 'test.txt')) as f:
        items = [line.rsplit(' ', 1) for line in f.read().splitlines() if line.strip()]
    probs = classifier.probabilities([classifier.load(path) for path, _ in items])
    labels = np.array([int(label) for _, label in items])
    predicted = probs.argmax(axis=1)
    return float((predicted == labels).mean()), items, predicted, probs


# What the demo writes into its folder (and --force removes first).
OUTPUTS = ('digits', 'jobs', 'dataset', 'model')


def prepare_folder(workdir, force, outputs=OUTPUTS):
    """Make ``workdir`` ready for a fresh demo: refuse one holding an
    earlier demo's files (``outputs``, names in workdir) unless ``force``,
    which removes those files."""
    import shutil
    present = [name for name in outputs if os.path.lexists(os.path.join(workdir, name))]
    if present and not force:
        raise CaffeError('%s already holds an earlier demo (%s); give --force to build it '
                         'again from scratch, or another --dir' % (workdir, ', '.join(present)))
    for name in present:
        path = os.path.join(workdir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.makedirs(workdir, exist_ok=True)


def run(workdir, epochs=20, log=print, force=False):
    """The whole demo in ``workdir`` (see prepare_folder for ``force``);
    returns the test accuracy."""
    from .model_folder import latest_snapshot
    from .server.jobs import JobStore
    start = time.time()
    workdir = os.path.abspath(workdir)
    prepare_folder(workdir, force)
    images = os.path.join(workdir, 'digits')
    store = JobStore(os.path.join(workdir, 'jobs'))
    log('[1/5] exporting %d scikit-learn digits as 28x28 PNGs into %s'
        % (export_digits(images), images))
    log('[2/5] creating the dataset job (train/val/test LMDBs, mean, labels) in %s'
        % store.jobs_dir)
    dataset = dataset_job(store, images, log)
    log('[3/5] making the LeNet model job (train_val, deploy and solver prototxt)')
    log('[4/5] training it for %g epochs' % epochs)
    model = model_job(store, dataset, epochs, log)
    for name, job in (('dataset', dataset), ('model', model)):
        os.symlink(os.path.join('jobs', job['id']), os.path.join(workdir, name))
    folder = os.path.join(workdir, 'model')
    weights = latest_snapshot(folder)
    log('[5/5] classifying the held-out test images with %s' % weights)
    data = os.path.join(workdir, 'dataset')
    accuracy, items, predicted, probs = evaluate(os.path.join(folder, 'deploy.prototxt'),
                                                 weights, data)
    for (path, label), guess, p in list(zip(items, predicted, probs))[:5]:
        log('  %s: true %s, predicted %d (p=%.3f)' % (os.path.relpath(path, workdir), label,
                                                      guess, p[guess]))
    log('test accuracy: %.2f%% on %d held-out images (%.0f s in all)'
        % (100 * accuracy, len(items), time.time() - start))
    log('the dataset and model are DIGITS jobs (%s = %s, %s = %s); open them with\n'
        '  caffelite serve --jobs-dir %s --data-root %s'
        % (os.path.join(workdir, 'dataset'), store.path(dataset['id']), folder,
           store.path(model['id']), store.jobs_dir, images))
    return accuracy
