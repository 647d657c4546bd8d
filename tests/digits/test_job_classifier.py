"""caffelite.job_classifier.JobClassifier: the one classifier of model jobs,
behind ``caffelite classify``, the demo and the server."""
import json

import numpy as np
from PIL import Image

from caffelite.cli import main
from caffelite import protoio
from caffelite.codec import array_to_blobproto
from caffelite.net import TEST, Net

DEPLOY = """name: 'tiny'
layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 3 dim: 24 dim: 24 } } }
layer { name: 'ip' type: 'InnerProduct' bottom: 'data' top: 'ip'
        inner_product_param { num_output: 3 weight_filler { type: 'gaussian' std: 0.002 } } }
layer { name: 'prob' type: 'Softmax' bottom: 'ip' top: 'prob' }
"""


def test_classify_answers_as_digits_does(tmp_path, capsys):
    """A job folder whose mean (32 x 32, fractional) is larger than the net
    input, and an image of another size: the image is squashed with PIL's
    bilinear filter, the mean truncated to integers and resized the same
    way (not cropped), RGB turned to BGR, as DIGITS' inference does."""
    rng = np.random.RandomState(0)
    (tmp_path / 'deploy.prototxt').write_text(DEPLOY)
    net = Net(str(tmp_path / 'deploy.prototxt'), TEST)
    net.save(str(tmp_path / 'snapshot_iter_7.caffemodel'))
    (tmp_path / 'labels.txt').write_text('red\ngreen\nblue\n')
    mean = rng.uniform(0, 255, (3, 32, 32)).astype(np.float32)
    protoio.write_binary(str(tmp_path / 'mean.binaryproto'), array_to_blobproto(mean[None]))
    image = tmp_path / 'x.png'
    Image.fromarray(rng.randint(0, 256, (37, 45, 3)).astype(np.uint8)).save(image)

    assert main(['classify', '--model', str(tmp_path), '--json', '--top-k', '3',
                 str(image)]) == 0
    [result] = json.loads(capsys.readouterr().out)
    got = {p['label']: p['probability'] for p in result['predictions']}

    def squashed(pixels):
        return np.asarray(Image.fromarray(pixels).resize((24, 24), Image.BILINEAR), np.float32)
    rgb = squashed(np.asarray(Image.open(image).convert('RGB')))
    mean_bgr = squashed(mean.astype(np.uint8).transpose(1, 2, 0)).transpose(2, 0, 1)
    expected = net.forward(data=(rgb.transpose(2, 0, 1)[::-1] - mean_bgr)[None])['prob'][0]
    assert sorted(got) == ['blue', 'green', 'red']
    np.testing.assert_allclose([got['red'], got['green'], got['blue']], expected, rtol=1e-5)


def test_scores_of_earlier_batches_survive_later_ones(tmp_path):
    """``each`` collected whole (as the server's classify_many does): five
    images two at a time give each image its own scores, not those of the
    last, smaller batch, whose forward pass reuses the output blob."""
    from caffelite.job_classifier import JobClassifier
    rng = np.random.RandomState(1)
    # pixels scaled to [0, 1] so that the scores differ from image to image
    scaled = DEPLOY.replace("bottom: 'data' top: 'ip'", "bottom: 'scaled' top: 'ip'").replace(
        "layer { name: 'ip'", "layer { name: 'scaled' type: 'Power' bottom: 'data' top: 'scaled'"
        " power_param { scale: 0.00390625 } }\nlayer { name: 'ip'")
    (tmp_path / 'deploy.prototxt').write_text(scaled)
    Net(str(tmp_path / 'deploy.prototxt'), TEST).save(str(tmp_path / 'snapshot_iter_1.caffemodel'))
    paths = []
    for i in range(5):
        paths.append(str(tmp_path / ('%d.png' % i)))
        Image.fromarray(rng.randint(0, 256, (24, 24, 3)).astype(np.uint8)).save(paths[-1])
    classifier = JobClassifier(str(tmp_path))

    together = [scores for _, scores, _ in list(classifier.each(paths, batch_size=2))]
    alone = [classifier.probabilities([classifier.load(p)])[0] for p in paths]
    assert np.ptp(np.array(alone)[:, 0]) > 1e-3
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-6)
