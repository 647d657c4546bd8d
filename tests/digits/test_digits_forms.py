"""DIGITS' form fields: defaults, wtforms' messages, the sweep, and the
visualizations of a classified image."""
import numpy as np
import pytest

from caffelite import TEST, Net
from caffelite.digits import forms, networks, split, visualize


def test_model_form_defaults_are_digits():
    values, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd'})
    assert errors == {'standard_networks': ['This field is required.']}
    assert (values['train_epochs'], values['learning_rate'], values['lr_policy']) == (
        30, [0.01], 'step')
    assert (values['use_mean'], values['solver_type'], values['batch_size']) == (
        'image', 'SGD', [None])
    assert forms.lr_policy(values) == {'policy': 'step', 'stepsize': 33.0, 'gamma': 0.1}


def test_dataset_form_defaults_and_limits():
    values, errors = forms.parse_dataset_form({'dataset_name': 'x', 'folder_train': '/d'})
    assert not errors
    assert (values['resize_width'], values['resize_channels'], values['folder_pct_val'],
            values['encoding'], values['resize_mode']) == (256, '3', 25, 'png', 'squash')
    _, errors = forms.parse_dataset_form({'dataset_name': 'x', 'folder_train': '/d',
                                          'folder_pct_val': '70', 'folder_pct_test': '40',
                                          'backend': 'hdf5', 'has_val_folder': 'y'})
    assert set(errors) == {'folder_pct_val', 'backend', 'has_val_folder'}


def test_sweep_makes_one_job_per_rate_and_batch_named_like_digits():
    values, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd',
                                             'standard_networks': 'lenet',
                                             'learning_rate': '0.1, 0.01',
                                             'batch_size': '32,64'})
    assert not errors
    jobs = forms.sweep(values)
    assert [(v['learning_rate'], v['batch_size'], suffix) for v, suffix in jobs] == [
        (0.1, 32, ' learning_rate:0.1 batch_size:32'),
        (0.01, 32, ' learning_rate:0.01 batch_size:32'),
        (0.1, 64, ' learning_rate:0.1 batch_size:64'),
        (0.01, 64, ' learning_rate:0.01 batch_size:64')]


def test_previous_network_snapshot_field():
    values, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd',
                                             'method': 'previous', 'previous_networks': 'j1',
                                             'j1-snapshot': '3'})
    assert not errors and values['previous_snapshot'] == 3.0
    _, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd',
                                        'method': 'previous', 'previous_networks': 'j1',
                                        'j1-snapshot': 'last'})
    assert errors == {'j1-snapshot': ['Not a valid float value.']}


def test_custom_network_parse_error_names_line_and_column():
    _, errors = forms.parse_model_form({'model_name': 'm', 'dataset': 'd', 'method': 'custom',
                                        'custom_network': 'layer {\n  name: \n'})
    assert errors['custom_network'][0].startswith('Bad network: custom_network:2:8: ')


def test_visualizations_of_a_deploy_net():
    dataset = split.Dataset('t', None, 'm', [0.0], 28, 28, 1, 4)
    deploy = split.split_classification(networks.lenet(), dataset, use_mean='none').deploy
    net = Net(deploy, TEST)
    net.blobs['data'].data[...] = np.random.RandomState(0).rand(1, 1, 28, 28) * 255
    net.forward()
    shown = visualize.layer_visualizations(net)
    names = [(v['name'], v['vis_type']) for v in shown]
    assert names[:4] == [('data', 'Activation'), ('scaled', 'Activation'),
                         ('conv1', 'Weights'), ('conv1', 'Activation')]
    weights = dict(((v['name'], v['vis_type']), v) for v in shown)
    assert weights['ip2', 'Weights']['param_count'] == 4 * 500 + 4
    assert weights['ip2', 'Weights']['image'] is None
    assert sum(weights['conv2', 'Weights']['histogram']['y']) == 50 * 20 * 25


@pytest.mark.parametrize('shape, size', [((20, 1, 5, 5), (30, 30)), ((4, 3, 2, 2), (6, 6, 3)),
                                         ((50, 4, 4), (40, 40)), ((10,), (5, 5))])
def test_tile_grid_sizes(shape, size):
    import base64
    import io
    from PIL import Image
    uri = visualize.tile_image(np.arange(np.prod(shape), dtype=np.float32).reshape(shape))
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(',', 1)[1]))))
    assert picture.shape == size
