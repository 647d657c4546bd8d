"""``caffelite classify --model JOB`` on a model job of ``caffelite serve``
gives the server's scores: the dataset's resize mode, size and mean, and
the model's use_mean, not a squash to the net input with the folder's mean."""
import json
import os

import numpy as np
from PIL import Image

import caffelite as caffe
from caffelite.cli import main
from caffelite.job_classifier import JobClassifier

DEPLOY = '''name: "tiny"
input: "data"
input_shape { dim: 1 dim: 3 dim: 6 dim: 6 }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.01 } } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
'''


def _job(folder, **state):
    os.makedirs(folder)
    with open(os.path.join(folder, 'status.json'), 'w') as f:
        json.dump(dict(state, status='Done', created=0), f)
    return folder


def _jobs(tmp_path):
    """A crop-resized colour dataset job (8x10) with a mean far from zero,
    and a pixel-mean model job of a 6x6 input (a crop size) beside it."""
    dataset = _job(str(tmp_path / '20260101-000000-aaaa'), type='dataset',
                   image_dims=[8, 10, 3], resize_mode='crop', form={'method': 'folder'})
    mean = np.arange(240, dtype=np.float32).reshape(1, 3, 8, 10)
    with open(os.path.join(dataset, 'mean.binaryproto'), 'wb') as f:
        f.write(caffe.io.array_to_blobproto(mean).SerializeToString())
    model = _job(str(tmp_path / '20260101-000001-bbbb'), type='model',
                 dataset_id=os.path.basename(dataset), form={'use_mean': 'pixel'})
    for folder in (dataset, model):     # the server copies labels.txt into the model job
        with open(os.path.join(folder, 'labels.txt'), 'w') as f:
            f.write('a\nb\nc\n')
    with open(os.path.join(model, 'deploy.prototxt'), 'w') as f:
        f.write(DEPLOY)
    caffe.Net(os.path.join(model, 'deploy.prototxt'), caffe.TEST).save(
        os.path.join(model, 'snapshot_iter_1.caffemodel'))
    return dataset, model


def test_classify_a_server_model_job_as_the_server_does(tmp_path, capsys):
    dataset, model = _jobs(tmp_path)
    image = str(tmp_path / 'wide.png')
    Image.fromarray(np.random.RandomState(0).randint(0, 256, (13, 40, 3)).astype(np.uint8)
                    ).save(image)
    assert main(['classify', '--json', '--model', model, image]) == 0
    printed = json.loads(capsys.readouterr().out)[0]['predictions']
    server = JobClassifier(os.path.join(model, 'deploy.prototxt'),
                           os.path.join(model, 'snapshot_iter_1.caffemodel'),
                           os.path.join(dataset, 'mean.binaryproto'),
                           os.path.join(dataset, 'labels.txt'), (8, 10, 3), 'crop', 'pixel')
    expected = server.probabilities([server.load(image)])[0]
    got = {p['label']: p['probability'] for p in printed}
    np.testing.assert_allclose([got[label] for label in 'abc'], expected, atol=1e-6)
