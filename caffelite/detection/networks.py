"""DetectNet's networks, written from NVIDIA's published architecture
(examples/kitti/detectnet_network.prototxt of NVIDIA Caffe 0.17): a fully
convolutional trunk over the transformed image, a 1x1 convolution giving
each class's coverage (sigmoid) and one giving the box corners, the label
wiring and losses for training, and the clustering and scoring Python
layers.

* :func:`train_val` and :func:`deploy` build the two files of a DetectNet
  with any trunk (a function adding layers, see :func:`googlenet_trunk`
  and :func:`small_trunk`), :func:`all_in_one` the single network DIGITS
  trains (stage rules; DIGITS cuts it into train_val and deploy);
* :func:`render_zoo` gives model_zoo/detectnet's files (GoogLeNet trunk,
  KITTI sizes); ``python -m caffelite.detection.networks`` rewrites them.

Validation layers carry ``stage: "val"`` as NVIDIA's do, so the solver has
``test_state { stage: "val" }``; deploy nets take mean-free 0..255 images
through a Power layer (shift -mean), as DIGITS' deploy files do.
"""
import os

from ..net_spec import assign_proto
from ..proto import caffe_pb2

TRAIN = dict(phase=caffe_pb2.TRAIN)
VAL = dict(phase=caffe_pb2.TEST, stage=['val'])
MULTS = [dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)]
KITTI_AUGMENTATION = dict(crop_prob=1, shift_x=32, shift_y=32, flip_prob=0.5, rotation_prob=0,
                          max_rotate_degree=5, scale_prob=0.4, scale_min=0.8, scale_max=1.2,
                          hue_rotation_prob=0.8, hue_rotation=30, desaturation_prob=0.8,
                          desaturation_max=0.8)


def add(net, name, kind, bottom=(), top=(), include=(), **params):
    """Append a layer (NetSpec-style keyword parameters) to ``net``."""
    layer = net.layer.add(name=name, type=kind, bottom=list(bottom), top=list(top))
    for rule in include:
        layer.include.add(**rule)
    for key, value in params.items():
        assign_proto(layer, key, value)
    return layer


def conv(net, name, bottom, num_output, kernel, train, stride=1, pad=0, relu=True,
         std=0.1, bias=0.2):
    """A convolution (with DetectNet's training fields when ``train``) and
    its in-place ReLU named like GoogLeNet's."""
    params = dict(num_output=num_output, kernel_size=kernel)
    if stride != 1:
        params['stride'] = stride
    if pad:
        params['pad'] = pad
    extra = {}
    if train:
        extra['param'] = MULTS
        params.update(weight_filler=dict(type='xavier', std=std),
                      bias_filler=dict(type='constant', value=bias))
    add(net, name, 'Convolution', [bottom], [name], convolution_param=params, **extra)
    if relu:
        add(net, relu if isinstance(relu, str) else name + '/relu', 'ReLU', [name], [name])
    return name


def googlenet_trunk(net, bottom, train):
    """DetectNet's trunk: bvlc_googlenet's layers (their names, so GoogLeNet
    weights load by name) from conv1 to inception_5b without pool4 (stride
    16, not 32) and without the classifier; then dropout 0.4."""
    from ..surgery import EditableNet
    from ..zoo import deploy_path
    edit = EditableNet(deploy_path('googlenet'))
    edit.remove_layer('data', reconnect=False)
    edit.rename_blob('data', bottom)
    edit.remove_layer('pool4/3x3_s2')
    for name in ('prob', 'loss3/classifier', 'pool5/drop_7x7_s1', 'pool5/7x7_s1'):
        edit.remove_layer(name, reconnect=False)
    for layer in edit.layers:
        if train and layer.type == 'Convolution':
            target = edit.layer(layer.name)
            target.param.add(lr_mult=1, decay_mult=1)
            target.param.add(lr_mult=2, decay_mult=0)
            target.convolution_param.weight_filler.type = 'xavier'
            target.convolution_param.weight_filler.std = 0.1
            target.convolution_param.bias_filler.type = 'constant'
            target.convolution_param.bias_filler.value = 0.2
        net.layer.add().CopyFrom(edit.layer(layer.name))
    add(net, 'pool5/drop_s1', 'Dropout', ['inception_5b/output'], ['pool5/drop_s1'],
        dropout_param=dict(dropout_ratio=0.4))
    return 'pool5/drop_s1'


def small_trunk(net, bottom, train, widths=(16, 32, 48, 64)):
    """A trunk small enough to train on a CPU in minutes: the pixels scaled
    to about [-1, 1], then 3x3 convolutions with ReLU and a 2x2 max pooling
    after each but the last (stride 8 with four widths)."""
    add(net, 'scale', 'Power', [bottom], ['scaled'], power_param=dict(scale=1 / 128.0))
    x = 'scaled'
    for i, width in enumerate(widths):
        x = conv(net, 'conv%d' % (i + 1), x, width, 3, train, pad=1, std=0.1, bias=0.1)
        if i < len(widths) - 1:
            add(net, 'pool%d' % (i + 1), 'Pooling', [x], ['pool%d' % (i + 1)],
                pooling_param=dict(pool=caffe_pb2.PoolingParameter.MAX, kernel_size=2, stride=2))
            x = 'pool%d' % (i + 1)
    return x


def _heads(net, feature, classes, train, coverage_bias=0.0):
    """Coverage (sigmoid of a 1x1 convolution) and bboxes (1x1, 4 outputs)."""
    for name, top, outputs, bias in (('cvg/classifier', 'cvg/classifier', classes,
                                      coverage_bias), ('bbox/regressor', 'bboxes', 4, 0)):
        params = dict(num_output=outputs, kernel_size=1)
        extra = {}
        if train:
            extra['param'] = MULTS
            params.update(weight_filler=dict(type='xavier', std=0.03),
                          bias_filler=dict(type='constant', value=bias))
        add(net, name, 'Convolution', [feature], [top], convolution_param=params, **extra)
        if name == 'cvg/classifier':
            add(net, 'coverage/sig', 'Sigmoid', ['cvg/classifier'], ['coverage'])


def _cluster_tops(prefix, classes):
    return [prefix] if classes == 1 else ['%s-class%d' % (prefix, k) for k in range(classes)]


CLUSTERING = dict(threshold=0.6, group=3, eps=0.02, min_height=22)


def _grid(size, stride, cluster_height):
    """The 'width, height, stride' that the Python layers' param_str
    start with (DetectNet reads only the top 352 of 384 rows)."""
    return '%d, %d, %d' % (size[0], cluster_height or size[1], stride)


def _cluster(net, grid, classes, clustering, include):
    c = dict(CLUSTERING, **(clustering or {}))
    add(net, 'cluster', 'Python', ['coverage', 'bboxes'], _cluster_tops('bbox-list', classes),
        include=include, python_param=dict(
            module='caffe.layers.detectnet.clustering', layer='ClusterDetections',
            param_str='%s, %g, %d, %g, %d, %d' % (grid, c['threshold'], c['group'], c['eps'],
                                                  c['min_height'], classes)))


def train_val(trunk, data, size=(1248, 384), stride=16, classes=1, batch=(10, 6),
              mean=127, augmentation=None, clustering=None, cluster_height=None,
              min_cvg_len=20, coverage_bias=0.0, name='DetectNet'):
    """The train_val NetParameter. ``data``: the dataset folder as the
    sources' prefix (``<data>/train_db/features`` ...); ``size``: (w, h) of
    the transformed images; ``batch``: (train, val) batch sizes;
    ``clustering``: ClusterDetections settings (see CLUSTERING);
    ``cluster_height``: rows of the image the Python layers read;
    ``coverage_bias``: the coverage classifier's initial bias (DetectNet's
    0 starts every cell at coverage 0.5; about log(p / (1 - p)) for a
    fraction p of covered cells starts near the data and keeps the sigmoid
    from saturating at 0 early in training)."""
    net = caffe_pb2.NetParameter(name=name)
    for split, rule, n in (('train', TRAIN, batch[0]), ('val', VAL, batch[1])):
        for kind, top in (('features', 'data'), ('labels', 'label')):
            add(net, '%s_%s' % (split, 'data' if kind == 'features' else 'label'), 'Data', [],
                [top], [rule], data_param=dict(
                    source=os.path.join(data, split + '_db', kind), batch_size=n,
                    backend=caffe_pb2.DataParameter.LMDB))
    truth = dict(stride=stride, scale_cvg=0.4,
                 gridbox_type=caffe_pb2.DetectNetGroundTruthParameter.GRIDBOX_MIN,
                 coverage_type=caffe_pb2.DetectNetGroundTruthParameter.RECTANGULAR,
                 min_cvg_len=min_cvg_len, obj_norm=True, image_size_x=size[0],
                 image_size_y=size[1], crop_bboxes=True,
                 object_class=[dict(src=k + 1, dst=k) for k in range(classes)])
    add(net, 'train_transform', 'DetectNetTransformation', ['data', 'label'],
        ['transformed_data', 'transformed_label'], [TRAIN], detectnet_groundtruth_param=truth,
        detectnet_augmentation_param=augmentation or KITTI_AUGMENTATION,
        transform_param=dict(mean_value=[mean]))
    add(net, 'val_transform', 'DetectNetTransformation', ['data', 'label'],
        ['transformed_data', 'transformed_label'], [VAL],
        detectnet_groundtruth_param=dict(truth, crop_bboxes=False),
        transform_param=dict(mean_value=[mean]))
    both = [TRAIN, VAL]
    add(net, 'slice-label', 'Slice', ['transformed_label'],
        ['foreground-label', 'bbox-label', 'size-label', 'obj-label', 'coverage-label'], both,
        slice_param=dict(slice_dim=1, slice_point=[1, 5, 7, 8]))
    for block, source, copies in (('coverage-block', 'foreground-label', 4),
                                  ('size-block', 'size-label', 2),
                                  ('obj-block', 'obj-label', 4)):
        add(net, block, 'Concat', [source] * copies, [block], both,
            concat_param=dict(concat_dim=1))
    prod = dict(operation=caffe_pb2.EltwiseParameter.PROD)
    add(net, 'bb-label-norm', 'Eltwise', ['bbox-label', 'size-block'], ['bbox-label-norm'],
        both, eltwise_param=prod)
    add(net, 'bb-obj-norm', 'Eltwise', ['bbox-label-norm', 'obj-block'],
        ['bbox-obj-label-norm'], both, eltwise_param=prod)
    _heads(net, trunk(net, 'transformed_data', True), classes, True, coverage_bias)
    for layer, bottoms, top in (('bbox_mask', ['bboxes', 'coverage-block'], 'bboxes-masked'),
                                ('bbox-norm', ['bboxes-masked', 'size-block'],
                                 'bboxes-masked-norm'),
                                ('bbox-obj-norm', ['bboxes-masked-norm', 'obj-block'],
                                 'bboxes-obj-masked-norm')):
        add(net, layer, 'Eltwise', bottoms, [top], both, eltwise_param=prod)
    add(net, 'bbox_loss', 'L1Loss', ['bboxes-obj-masked-norm', 'bbox-obj-label-norm'],
        ['loss_bbox'], both, loss_weight=[2])
    add(net, 'coverage_loss', 'EuclideanLoss', ['coverage', 'coverage-label'],
        ['loss_coverage'], both)
    grid = _grid(size, stride, cluster_height)
    _cluster(net, grid, classes, clustering, [VAL])
    add(net, 'cluster_gt', 'Python', ['coverage-label', 'bbox-label'],
        _cluster_tops('bbox-list-label', classes), [VAL],
        python_param=dict(module='caffe.layers.detectnet.clustering', layer='ClusterGroundtruth',
                          param_str='%s, %d' % (grid, classes)))
    for k, (label, found) in enumerate(zip(_cluster_tops('bbox-list-label', classes),
                                           _cluster_tops('bbox-list', classes))):
        suffix = '' if classes == 1 else '-class%d' % k
        add(net, 'score' + suffix, 'Python', [label, found], ['bbox-list-scored' + suffix],
            [VAL], python_param=dict(module='caffe.layers.detectnet.mean_ap',
                                     layer='ScoreDetections'))
        add(net, 'mAP' + suffix, 'Python', ['bbox-list-scored' + suffix],
            ['mAP' + suffix, 'precision' + suffix, 'recall' + suffix], [VAL],
            python_param=dict(module='caffe.layers.detectnet.mean_ap', layer='mAP',
                              param_str=grid))
    return net


def deploy(trunk, size=(1248, 384), stride=16, classes=1, mean=127, clustering=None,
           cluster_height=None, name='DetectNet'):
    """The deploy NetParameter: (1, 3, h, w) 0..255 BGR input, mean shift,
    trunk, coverage and bboxes, clustered into ``bbox-list``."""
    net = caffe_pb2.NetParameter(name=name)
    add(net, 'deploy_data', 'Input', [], ['data'],
        input_param=dict(shape=dict(dim=[1, 3, size[1], size[0]])))
    add(net, 'deploy_transform', 'Power', ['data'], ['transformed_data'],
        power_param=dict(shift=-mean))
    _heads(net, trunk(net, 'transformed_data', False), classes, False)
    _cluster(net, _grid(size, stride, cluster_height), classes, clustering, ())
    return net


def _rule_key(rule):
    return (rule.phase, tuple(rule.stage))


def all_in_one(trunk, size=(1248, 384), stride=16, classes=1, mean=127, batch=(10, 6),
               **options):
    """DIGITS' all-in-one DetectNet (its examples/object-detection
    ``detectnet_network.prototxt`` layout), the network a DIGITS user
    pastes as the custom network of an object-detection model: the
    train_val layers with stage rules (train, val; the label wiring and
    losses excluded from deploy), data layers without sources (DIGITS sets
    them), a Power mean shift for the deploy stage, and the clustering in
    both test stages. ``options`` go to :func:`train_val`."""
    net = train_val(trunk, '', size, stride, classes, batch, mean, **options)
    train_rule, val_rule = (_rule_key(caffe_pb2.NetStateRule(**r)) for r in (TRAIN, VAL))
    out = caffe_pb2.NetParameter(name=net.name)
    for layer in net.layer:
        rules = {_rule_key(r) for r in layer.include}
        copy = out.layer.add()
        copy.CopyFrom(layer)
        copy.ClearField('include')
        if layer.type == 'Data':
            copy.data_param.ClearField('source')
            copy.data_param.ClearField('backend')
        if layer.name == 'cluster':
            copy.include.add(phase=caffe_pb2.TEST)
        elif rules == {train_rule, val_rule}:
            copy.exclude.add(stage=['deploy'])
        elif rules == {train_rule}:
            copy.include.add(stage=['train'])
        elif rules == {val_rule}:
            copy.include.add(stage=['val'])
        if layer.name == 'val_transform':
            add(out, 'deploy_transform', 'Power', ['data'], ['transformed_data'],
                [dict(stage=['deploy'])], power_param=dict(shift=-mean))
    return out


def solver(net_file, lr=1e-4, max_iter=38000, stepsize=12000, snapshot_prefix='snapshots/'
           'detectnet', test_iter=185, test_interval=1280, display=160, seed=None):
    """DetectNet's Adam solver (NVIDIA's KITTI schedule; DIGITS' course
    runs used lr 1e-4), testing the ``val`` stage."""
    p = caffe_pb2.SolverParameter(net=net_file, type='Adam', base_lr=lr, lr_policy='step',
                                  stepsize=stepsize, gamma=0.1, momentum=0.9, momentum2=0.999,
                                  weight_decay=1e-8, max_iter=max_iter, test_iter=[test_iter],
                                  test_interval=test_interval, snapshot=test_interval,
                                  snapshot_prefix=snapshot_prefix, display=display)
    p.test_state.add(stage=['val'])
    if seed is not None:
        p.random_seed = seed
    return p


ZOO_HEADER = ('# DetectNet (GoogLeNet trunk): written by caffelite from NVIDIA\'s published\n'
              '# architecture (NVIDIA Caffe 0.17 examples/kitti). The trunk has bvlc_googlenet\'s\n'
              '# layer names: initialize with `caffelite train -solver solver.prototxt -weights\n'
              '# bvlc_googlenet.caffemodel` (caffelite zoo fetch googlenet).\n'
              '# Regenerate: python -m caffelite.detection.networks\n')
ZOO_DATA_NOTE = ('# Data sources: a dataset made by `caffelite dataset create-detection` in\n'
                 '# ./kitti-dataset (train_db/ and val_db/), relative to the folder you train in.\n')


def render_zoo():
    """{file name: text} of model_zoo/detectnet."""
    from google.protobuf import text_format
    return {'train_val.prototxt': ZOO_HEADER + ZOO_DATA_NOTE + text_format.MessageToString(
                train_val(googlenet_trunk, 'kitti-dataset', cluster_height=352)),
            'deploy.prototxt': ZOO_HEADER + text_format.MessageToString(
                deploy(googlenet_trunk, cluster_height=352)),
            'solver.prototxt': ZOO_HEADER + text_format.MessageToString(
                solver('train_val.prototxt'))}


def main():
    from ..zoo import zoo_dir
    folder = os.path.join(zoo_dir(), 'detectnet')
    os.makedirs(folder, exist_ok=True)
    for name, text in render_zoo().items():
        with open(os.path.join(folder, name), 'w', encoding='utf-8') as f:
            f.write(text)


if __name__ == '__main__':
    main()
