"""Net construction logs Caffe's Net::Init lines, in its words and order."""
import logging

import pytest

import caffelite as caffe
from caffelite.blob import Blob
from caffelite.net_log import shape_string
from model_files import tiny_model

NET = '''
name: "tiny"
force_backward: true
layer { name: "data" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        param { lr_mult: 1 } param { lr_mult: 2 }
        inner_product_param { num_output: 4 } }
layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "acc" }
'''


def test_shape_string_is_caffes():
    assert shape_string(Blob(64, 1, 28, 28)) == '64 1 28 28 (50176)'
    assert shape_string(Blob(())) == '(1)'


def test_construction_lines_in_caffes_order(caplog):
    with caplog.at_level(logging.INFO, logger='caffelite.net'):
        caffe.Net(NET, caffe.TRAIN)
    lines = [r.getMessage() for r in caplog.records if r.name == 'caffelite.net']
    assert lines[0].startswith('Initializing net from parameters: \nname: "tiny"')
    assert '    lr_mult: 2\n' in lines[0]            # C++'s short float, not 2.0
    assert lines[1:] == [
        # the factory's line, then Net::Init's
        'Creating layer data', 'Creating Layer data', 'data -> data', 'data -> label',
        'Setting up data', 'Top shape: 2 3 (6)', 'Top shape: 2 (2)',
        'Memory required for data: 32',
        'Creating layer label_data_1_split', 'Creating Layer label_data_1_split',
        'label_data_1_split <- label',
        'label_data_1_split -> label_data_1_split_0',
        'label_data_1_split -> label_data_1_split_1', 'Setting up label_data_1_split',
        'Top shape: 2 (2)', 'Top shape: 2 (2)', 'Memory required for data: 48',
        'Creating layer ip', 'Creating Layer ip', 'ip <- data', 'ip -> ip', 'Setting up ip',
        'Top shape: 2 4 (8)', 'Memory required for data: 80',
        'Creating layer relu', 'Creating Layer relu', 'relu <- ip', 'relu -> ip (in-place)',
        'Setting up relu', 'Top shape: 2 4 (8)', 'Memory required for data: 112',
        'Creating layer ip_relu_0_split', 'Creating Layer ip_relu_0_split',
        'ip_relu_0_split <- ip',
        'ip_relu_0_split -> ip_relu_0_split_0', 'ip_relu_0_split -> ip_relu_0_split_1',
        'Setting up ip_relu_0_split', 'Top shape: 2 4 (8)', 'Top shape: 2 4 (8)',
        'Memory required for data: 176',
        'Creating layer loss', 'Creating Layer loss', 'loss <- ip_relu_0_split_0',
        'loss <- label_data_1_split_0', 'loss -> loss',
        'Creating layer loss',      # SoftmaxWithLoss makes its softmax through the factory
        'Setting up loss', 'Top shape: (1)', '    with loss weight 1',
        'Memory required for data: 180',
        'Creating layer acc', 'Creating Layer acc', 'acc <- ip_relu_0_split_1',
        'acc <- label_data_1_split_1',
        'acc -> acc', 'Setting up acc', 'Top shape: (1)', 'Memory required for data: 184',
        # decided before force_backward, as Caffe logs them
        'acc does not need backward computation.', 'loss needs backward computation.',
        'ip_relu_0_split needs backward computation.', 'relu needs backward computation.',
        'ip needs backward computation.',
        'label_data_1_split does not need backward computation.',
        'data does not need backward computation.',
        'This network produces output acc', 'This network produces output loss',
        'Network initialization done.']


def test_nothing_is_formatted_when_info_is_off(caplog, monkeypatch):
    import caffelite.net_log as net_log
    for name in ('shape_string', '_definition'):            # would fail if called
        monkeypatch.setattr(net_log, name, None)
    with caplog.at_level(logging.WARNING, logger='caffelite'):
        caffe.Net(NET, caffe.TEST)


def test_the_legacy_constructor_is_warned_as_pycaffe_does(tmp_path, caplog):
    model, weights = tiny_model(tmp_path)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger='caffelite.net'):
        caffe.Net(model, weights, caffe.TEST)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned[:3] == ['DEPRECATION WARNING - deprecated use of Python interface',
                          'Use this instead (with the named "weights" parameter):',
                          "Net('%s', 1, weights='%s')" % (model, weights)]
    caplog.clear()
    caffe.Net(model, caffe.TEST, weights=weights)
    assert not [r for r in caplog.records if 'DEPRECATION' in r.getMessage()]


def test_the_definition_ends_without_a_blank_line(caplog):
    with caplog.at_level(logging.INFO, logger='caffelite.net'):
        caffe.Net(NET, caffe.TEST)
    assert caplog.records[0].getMessage().endswith('}')


def test_a_layers_own_lines_come_between_its_connections_and_its_shapes(tmp_path, caplog):
    """As in Caffe, where Net::Init logs around each layer's SetUp: an
    ImageData layer's "output data size" line, and a failing layer's
    "Creating Layer" line just before the error."""
    from PIL import Image
    for k in range(2):
        Image.new('RGB', (8, 6), (40 * k, 90, 200)).save(tmp_path / ('%d.png' % k))
    (tmp_path / 'list.txt').write_text('0.png 0\n1.png 1\n')
    net = ('layer { name: "data" type: "ImageData" top: "data" top: "label" '
           'image_data_param { source: "%s" root_folder: "%s/" batch_size: 2 } }\n'
           'layer { name: "bad" type: "InnerProduct" bottom: "data" top: "bad" }\n'
           % (tmp_path / 'list.txt', tmp_path))
    with caplog.at_level(logging.INFO, logger='caffelite'):
        with pytest.raises(caffe.LayerError):      # InnerProduct without num_output
            caffe.Net(net, caffe.TEST)
    said = caplog.messages
    at = said.index('Creating Layer data')
    assert said[at:at + 7] == [
        'Creating Layer data', 'data -> data', 'data -> label',
        'Opening file %s' % (tmp_path / 'list.txt'), 'A total of 2 images.',
        'output data size: 2,3,6,8', 'Setting up data']
    assert said[-4:] == ['Creating layer bad', 'Creating Layer bad', 'bad <- data', 'bad -> bad']


def test_classifier_and_detector_warn_as_pycaffes_do(tmp_path, caplog):
    """pycaffe's Classifier and Detector make their nets the legacy way."""
    model, weights = tiny_model(tmp_path, (1, 3, 4, 4))
    for kind in (caffe.Classifier, caffe.Detector):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger='caffelite.net'):
            kind(model, weights)
        assert caplog.messages[:3] == ['DEPRECATION WARNING - deprecated use of Python interface',
                                       'Use this instead (with the named "weights" parameter):',
                                       "Net('%s', 1, weights='%s')" % (model, weights)]


def test_only_the_root_solver_says_it(caplog, monkeypatch):
    """In a multi-GPU run every rank builds the same nets; Caffe logs the
    construction of rank 0's (LOG_IF(INFO, Caffe::root_solver()))."""
    from caffelite import backend
    monkeypatch.setattr(backend, 'root_solver', lambda: False)
    with caplog.at_level(logging.INFO, logger='caffelite'):
        caffe.Net(NET, caffe.TRAIN)
    assert caplog.messages == []


def test_each_rule_the_state_breaks_is_said_before_the_definition(caplog):
    """As Caffe's FilterNet: every rule tried and broken, in layer and rule
    order, an exclude rule too when its layer stays in."""
    net = ('layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 } } }\n'
           'layer { name: "a" type: "ReLU" bottom: "x" top: "a" include { phase: TEST } '
           'include { stage: "s" } }\n'
           'layer { name: "b" type: "ReLU" bottom: "x" top: "b" include { min_level: 2 } '
           'include { max_level: -1 } }\n'
           'layer { name: "c" type: "ReLU" bottom: "x" top: "c" exclude { not_stage: "t" } }\n'
           'layer { name: "d" type: "ReLU" bottom: "x" top: "d" exclude { phase: TEST } }\n')
    with caplog.at_level(logging.INFO, logger='caffelite.net'):
        caffe.Net(net, caffe.TRAIN, stages=['t'])
    said = caplog.messages
    assert said[:6] == [
        'The NetState phase (0) differed from the phase (1) specified by a rule in layer a',
        "The NetState did not contain stage 's' specified by a rule in layer a",
        'The NetState level (0) is above the min_level (2) specified by a rule in layer b',
        'The NetState level (0) is above the max_level (-1) specified by a rule in layer b',
        "The NetState contained a not_stage 't' specified by a rule in layer c",
        'The NetState phase (0) differed from the phase (1) specified by a rule in layer d']
    assert said[6].startswith('Initializing net from parameters:')
    assert 'Creating Layer d' in said and 'Creating Layer c' in said
    assert 'Creating Layer a' not in said and 'Creating Layer b' not in said
