"""The checks and previews of the forms: the resize preview, the image
folder check and the custom network check with its error line."""
import base64
import io

import pytest

from caffelite.digits import networks
from caffelite.server import previews
from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)


def _png_size(uri):
    from PIL import Image
    assert uri.startswith('data:image/png;base64,')
    with Image.open(io.BytesIO(base64.b64decode(uri.split(',', 1)[1]))) as img:
        return img.size, img.mode


def test_resize_example_shows_every_mode(server, data_root):
    r = server.client.post('/datasets/images/resize-example.json',
                           data={'width': '32', 'height': '16', 'channels': '1', 'encoding': 'png'})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer['source'] == 'example picture'
    assert [e['resize_mode'] for e in answer['examples']] == ['squash', 'crop', 'fill', 'half_crop']
    assert {_png_size(e['src']) for e in answer['examples']} == {((32, 16), 'L')}
    mine = server.client.post('/datasets/images/resize-example.json', data={
        'width': '8', 'height': '8', 'folder_train': str(data_root / 'images')}).json()
    assert mine['source'] == '000.png'
    html = server.client.post('/datasets/images/resize-example', data={
        'width': '8', 'height': '8', 'channels': '3', 'resize_mode': 'fill', 'encoding': 'jpg'}).text
    assert html.startswith('<img src="data:image/png;base64,') and 'Image size:' in html
    bad = server.client.post('/datasets/images/resize-example.json', data={'width': '0'})
    assert bad.status_code == 400 and 'width' in bad.json()['error']['message']


def test_folder_check_counts_classes_and_finds_unreadable_images(server, data_root, tmp_path):
    check = '/datasets/images/classification/check-folder.json'
    answer = server.client.post(check, data={'folder_train': str(data_root / 'images')}).json()
    assert [(c['name'], c['images']) for c in answer['classes']] == [
        ('dark', 30), ('light', 30), ('stripes', 30)]
    assert answer['image_count'] == 90 and answer['unreadable'] == []
    outside = server.client.post(check, data={'folder_train': str(tmp_path)})
    assert outside.status_code == 403 and 'outside' in outside.json()['error']['message']
    assert previews.unreadable_images([str(data_root / 'images' / 'dark' / '000.png')]) == []
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    assert previews.unreadable_images([str(broken)]) == [str(broken)]


def test_folder_check_of_one_class_says_two_are_needed(server, data_root):
    r = server.client.post('/datasets/images/classification/check-folder.json',
                           data={'folder_train': str(data_root / 'images'),
                                 'folder_train_min_per_class': '31'})
    assert r.status_code == 400
    assert 'needs 2 or more' in r.json()['errors']['folder_train'][0]


@pytest.mark.parametrize('change, line_of, before', [
    (('num_output: 20', 'num_outptu: 20'), 'num_outptu', 0),      # parse error: its own line
    (('kernel_size: 5', 'kernel_size: 55'), 'name: "conv1"', 1),  # shape error: its layer's
    (('bottom: "pool1"', 'bottom: "pool9"'), 'name: "conv2"', 1),  # unknown bottom: the same
])
def test_network_check_places_the_error_at_its_line(server, dataset, change, line_of, before):
    """A parse error at its own line, a layer's error where its block opens
    (the line before its name in the standard networks)."""
    text = networks.standard_network_text('lenet').replace(*change, 1)
    r = server.client.post('/models/images/classification/check-network.json',
                           data={'custom_network': text, 'dataset': dataset})
    assert r.status_code == 400
    answer = r.json()
    lines = text.split('\n')
    expected = next(i for i, l in enumerate(lines, 1) if line_of in l) - before
    assert answer['line'] == expected and lines[expected - 1].strip().startswith(
        ('layer', 'num_outptu'))
    assert answer['errors']['custom_network'][0].startswith('Bad network: ')


def test_network_check_of_a_good_network(server, dataset):
    text = networks.standard_network_text('lenet')
    parsed = server.client.post('/models/images/classification/check-network.json',
                                data={'custom_network': text}).json()
    assert parsed['parameters'] is None and 'parsed only' in parsed['checked']
    built = server.client.post('/models/images/classification/check-network.json',
                               data={'custom_network': text, 'dataset': dataset}).json()
    # LeNet for 3 classes: conv1 520, conv2 25,050, ip1 400,500, ip2 1,503
    assert built['parameters'] == 427573


