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
