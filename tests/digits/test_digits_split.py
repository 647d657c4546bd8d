"""DIGITS' split of all-in-one networks into train_val and deploy nets."""
import numpy as np
import pytest

from caffelite import TEST, Net
from caffelite.digits import networks, split
from caffelite.errors import NetError
from caffelite.protoio import parse_text
from caffelite.proto import caffe_pb2

GRAY = split.Dataset('/jobs/d/train_db', '/jobs/d/val_db', '/jobs/d/mean.binaryproto',
                     [101.5], 28, 28, 1, 3)
COLOR = split.Dataset('/jobs/c/train_db', '/jobs/c/val_db', '/jobs/c/mean.binaryproto',
                      [104.0, 117.0, 123.0], 256, 256, 3, 10)


def by_name(net):
    return {lp.name: lp for lp in net.layer}


def phases(lp):
    return [caffe_pb2.Phase.Name(r.phase) for r in lp.include]


def test_lenet_split_fills_data_layers_and_deploy_input():
    s = split.split_classification(networks.lenet(), GRAY)
    tv, dp = by_name(s.train_val), by_name(s.deploy)
    assert [lp.name for lp in s.train_val.layer][:2] == ['train-data', 'val-data']
    assert phases(tv['train-data']) == ['TRAIN'] and phases(tv['val-data']) == ['TEST']
    assert tv['train-data'].data_param.source == '/jobs/d/train_db'
    assert tv['val-data'].data_param.source == '/jobs/d/val_db'
    assert tv['train-data'].data_param.backend == caffe_pb2.DataParameter.LMDB
    assert tv['val-data'].transform_param.mean_file == '/jobs/d/mean.binaryproto'
    assert (s.train_batch, s.val_batch, s.crop_size) == (64, 100, None)
    # the deploy-only Power layer and Softmax stay out of train_val
    assert 'scale' not in tv and 'softmax' not in tv
    assert phases(tv['accuracy']) == ['TEST'] and phases(tv['loss']) == []
    # the bare last InnerProduct gets the class count
    assert tv['ip2'].inner_product_param.num_output == 3
    assert dp['ip2'].inner_product_param.num_output == 3
    # DIGITS' deploy input (net-level input + input_shape), which its example.py reads
    assert list(s.deploy.input) == ['data'] and not any(lp.type == 'Input' for lp in s.deploy.layer)
    assert list(s.deploy.input_shape[0].dim) == [1, 1, 28, 28]
    assert [lp.name for lp in s.deploy.layer][-1] == 'softmax'
    assert 'loss' not in dp and 'accuracy' not in dp
    assert all(not len(lp.include) and not len(lp.exclude) for lp in s.deploy.layer)


def test_deploy_net_runs_and_sums_to_one():
    s = split.split_classification(networks.lenet(), GRAY)
    net = Net(parse_text(str(s.deploy), caffe_pb2.NetParameter()), TEST)
    net.blobs['data'].data[...] = np.random.RandomState(0).uniform(-100, 100, (1, 1, 28, 28))
    prob = net.forward()['softmax']
    assert prob.shape == (1, 3) and prob.sum() == pytest.approx(1, abs=1e-5)


def test_form_batch_size_and_mean_pixel():
    s = split.split_classification(networks.lenet(), GRAY, batch_size=32, use_mean='pixel')
    tv = by_name(s.train_val)
    for name in ('train-data', 'val-data'):
        assert tv[name].data_param.batch_size == 32
        assert list(tv[name].transform_param.mean_value) == [101.5]
        assert not tv[name].transform_param.HasField('mean_file')
    s = split.split_classification(networks.lenet(), GRAY, use_mean='none')
    t = by_name(s.train_val)['train-data'].transform_param
    assert not t.HasField('mean_file') and not len(t.mean_value)


def test_alexnet_crop_and_mirror():
    s = split.split_classification(networks.alexnet(), COLOR)
    tv = by_name(s.train_val)
    assert s.crop_size == 227 and tv['train-data'].transform_param.mirror
    assert not tv['val-data'].transform_param.mirror
    assert tv['val-data'].transform_param.crop_size == 227
    assert list(s.deploy.input_shape[0].dim) == [1, 3, 227, 227]
    assert tv['fc8'].inner_product_param.num_output == 10
    small = COLOR._replace(height=200, width=210)
    assert split.split_classification(networks.alexnet(), small).crop_size == 200
    s = split.split_classification(networks.alexnet(), COLOR, crop_size=128)
    assert list(s.deploy.input_shape[0].dim) == [1, 3, 128, 128]
    with pytest.raises(NetError, match='crop_size 300 is larger'):
        split.split_classification(networks.alexnet(), COLOR, crop_size=300)


def test_googlenet_drops_top5_for_few_classes_and_aux_heads_from_deploy():
    s = split.split_classification(networks.googlenet(), GRAY._replace(channels=3, height=256,
                                                                        width=256))
    tv, dp = by_name(s.train_val), by_name(s.deploy)
    assert 'loss1/top-5' not in tv and 'loss3/top-1' in tv
    assert tv['loss1/classifier'].inner_product_param.num_output == 3
    assert tv['loss1/fc'].inner_product_param.num_output == 1024
    assert tv['loss2/loss'].loss_weight == [pytest.approx(0.3)]
    assert not any(name.startswith(('loss1', 'loss2')) for name in dp)
    assert 'loss3/classifier' in dp and 'softmax' in dp
    s = split.split_classification(networks.googlenet(), COLOR)
    assert 'loss1/top-5' in by_name(s.train_val)


def test_no_val_set_means_no_val_data_layer():
    s = split.split_classification(networks.lenet(), GRAY._replace(val_db=None))
    assert 'val-data' not in by_name(s.train_val) and s.val_batch is None


def test_network_without_data_layers_gets_digits_defaults():
    net = networks.lenet()
    del net.layer[:2]
    for lp in net.layer:
        lp.bottom[:] = ['data' if b == 'scaled' else b for b in lp.bottom]
    del net.layer[0]
    s = split.split_classification(net, GRAY)
    train, val = s.train_val.layer[:2]
    assert (train.name, list(train.top), phases(train)) == ('data', ['data', 'label'], ['TRAIN'])
    assert phases(val) == ['TEST'] and (s.train_batch, s.val_batch) == (16, 16)


def test_data_layer_in_both_stages_is_split_per_phase():
    net = networks.lenet()
    del net.layer[1]
    net.layer[0].ClearField('include')
    tv = split.split_classification(net, GRAY).train_val
    assert [phases(lp) for lp in tv.layer[:2]] == [['TRAIN'], ['TEST']]
    assert tv.layer[1].data_param.source == '/jobs/d/val_db'


@pytest.mark.parametrize('edit, message', [
    (lambda n: setattr(n.layer[0].data_param, 'source', '/elsewhere'), "don't set"),
    (lambda n: n.layer[1].include[0].stage.__setitem__(0, 'train'), 'two train data layers'),
    (lambda n: n.layer.remove(by_name(n)['softmax']), 'no Softmax'),
    (lambda n: by_name(n)['conv2'].bottom.__setitem__(0, 'nowhere'), "bottom 'nowhere'"),
])
def test_bad_networks_are_named(edit, message):
    net = networks.lenet()
    edit(net)
    with pytest.raises(NetError, match=message):
        split.split_classification(net, GRAY)


def test_previous_network_renames_the_last_inner_product_for_a_new_dataset():
    net = networks.lenet()
    assert by_name(split.network_from_previous(net, True))['ip2']
    renamed = by_name(split.network_from_previous(net, False))
    assert 'ip2_retrain' in renamed and 'ip1' in renamed and 'ip2' not in renamed


def test_mean_pixel_is_per_channel():
    mean = np.stack([np.full((4, 4), 10.0), np.arange(16.0).reshape(4, 4)])
    assert split.mean_pixel(mean) == [10.0, 7.5]


DETECTION = split.GenericDataset('/jobs/k/train_db/features', '/jobs/k/train_db/labels',
                                 '/jobs/k/val_db/features', '/jobs/k/val_db/labels',
                                 '/jobs/k/train_db/mean.binaryproto', [90.0, 91.0, 92.0],
                                 384, 1248, 3)


def test_generic_split_of_digits_detectnet():
    """DIGITS' all-in-one DetectNet cut as save_files_generic cuts it: the
    data layers (found by a top naming data / label) read the features and
    labels LMDBs, the mean and crop go to the image layer only, the deploy
    net has an Input of the feature size, the deploy Power shift and the
    clustering, and no loss; no Softmax is asked for."""
    from caffelite.detection import networks as detectnet
    s = split.split_generic(detectnet.all_in_one(detectnet.small_trunk), DETECTION,
                            batch_size=2, use_mean='pixel')
    tv, dp = by_name(s.train_val), by_name(s.deploy)
    sources = {name: (phases(tv[name]), tv[name].data_param.source)
               for name in ('train_data', 'train_label', 'val_data', 'val_label')}
    assert sources == {'train_data': (['TRAIN'], DETECTION.train_features),
                       'train_label': (['TRAIN'], DETECTION.train_labels),
                       'val_data': (['TEST'], DETECTION.val_features),
                       'val_label': (['TEST'], DETECTION.val_labels)}
    assert list(tv['train_data'].transform_param.mean_value) == [90.0, 91.0, 92.0]
    assert not tv['train_label'].transform_param.mean_value
    assert (s.train_batch, s.val_batch) == (2, 2)
    assert list(s.deploy.input_shape[0].dim) == [1, 3, 384, 1248]
    assert 'deploy_transform' in dp and 'cluster' in dp and 'coverage_loss' not in dp
    assert 'deploy_transform' not in tv and phases(tv['mAP']) == ['TEST']


def test_generic_split_without_validation_or_data_layers():
    """Without a validation DB no TEST data layer is made; a net without
    data layers gets DIGITS' 'data' and 'label' layers."""
    net = parse_text('''
        layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
                inner_product_param { num_output: 2 } }
        layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "label" top: "loss"
                exclude { stage: "deploy" } }''', caffe_pb2.NetParameter())
    s = split.split_generic(net, DETECTION._replace(val_features=None, val_labels=None),
                            use_mean='none')
    assert [(lp.name, list(lp.top), phases(lp)) for lp in s.train_val.layer[:2]] == [
        ('data', ['data'], ['TRAIN']), ('label', ['label'], ['TRAIN'])]
    assert s.val_batch is None and s.train_batch == split.DEFAULT_BATCH_SIZE
    net.layer[0].inner_product_param.ClearField('num_output')
    with pytest.raises(NetError, match="'ip'.*num_output"):
        split.split_generic(net, DETECTION)
