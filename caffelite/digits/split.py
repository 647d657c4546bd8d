"""An all-in-one classification network cut into the ``train_val`` and
``deploy`` nets of a dataset, as DIGITS' CaffeTrainTask does (a generic
network, DetectNet's, by :func:`split_generic`, fed from two LMDBs):

1. clean up: drop Input layers, give every InnerProduct without
   ``num_output`` the number of classes, drop Accuracy layers whose
   ``top_k`` exceeds it;
2. test each layer with Caffe's NetState rules against the three states
   train (``phase: TRAIN stage: "train"``), val (``phase: TEST stage:
   "val"``) and deploy (``phase: TEST stage: "deploy"``); data layers go to
   the train_val net only, other layers to train_val when in train or val
   and to deploy when in deploy, their rules rewritten to phase rules;
3. fill the data layers from the dataset (LMDB sources, batch size, crop,
   mean file or mean pixel) and put an Input of the image shape in deploy;
   an HDF5 dataset is read by HDF5Data layers instead (the net's own data
   layers must be HDF5Data then), which take no crop and no mean: Caffe's
   HDF5Data transforms nothing, so DIGITS refuses a crop and a mean pixel,
   and the mean image it would name is left out (the model is then fed
   unsubtracted images at inference too: ``Split.use_mean`` is 'none');
4. check that every bottom exists in each phase and that deploy ends in
   a Softmax.
"""
import collections

import numpy as np

from ..errors import NetError
from ..netgraph import layer_included
from ..proto import caffe_pb2

# DIGITS' batch size for data layers that set none.
DEFAULT_BATCH_SIZE = 16
USE_MEAN = ('none', 'image', 'pixel')
STATES = {'train': caffe_pb2.NetState(phase=caffe_pb2.TRAIN, stage=['train']),
          'val': caffe_pb2.NetState(phase=caffe_pb2.TEST, stage=['val']),
          'deploy': caffe_pb2.NetState(phase=caffe_pb2.TEST, stage=['deploy'])}

# What the split needs to know of a dataset job: LMDB folders or HDF5
# list.txt files (val_db None when the dataset has no validation images),
# the mean.binaryproto path and its per-channel mean, the image size, the
# class count and the backend ('lmdb' or 'hdf5').
Dataset = collections.namedtuple(
    'Dataset', 'train_db val_db mean_file mean_pixel height width channels labels backend',
    defaults=('lmdb',))
# The layer type that reads each backend.
DATA_LAYER_TYPES = {'lmdb': 'Data', 'hdf5': 'HDF5Data'}
# The split: train_val and deploy NetParameters, the batch sizes and crop
# size the data layers ended with (the solver needs them), and the mean the
# data layers subtract ('none', 'image' or 'pixel'; inference does the same).
Split = collections.namedtuple('Split', 'train_val deploy train_batch val_batch crop_size '
                                        'use_mean')


def _check_data_layer(lp, allowed=('Data',)):
    if 'Data' in lp.type and lp.type not in allowed:
        raise NetError("layer '%s': data layers must be of type %s, not %s"
                       % (lp.name, ' or '.join(allowed), lp.type))


def cleanup(network, num_labels):
    """A copy of ``network`` with DIGITS' clean-up of classification nets."""
    net = caffe_pb2.NetParameter()
    net.CopyFrom(network)
    kept = []
    for lp in net.layer:
        _check_data_layer(lp, tuple(DATA_LAYER_TYPES.values()))
        if lp.type == 'Input':
            continue
        if lp.type == 'Accuracy' and lp.accuracy_param.top_k > num_labels:
            continue
        if lp.type == 'InnerProduct' and not lp.inner_product_param.HasField('num_output'):
            lp.inner_product_param.num_output = num_labels
        kept.append(lp)
    del net.layer[:]
    net.layer.extend(kept)
    return net


def _set_rule(lp, phase):
    """Replace a layer's rules with ``include { phase }`` (None: no rule)."""
    lp.ClearField('include')
    lp.ClearField('exclude')
    if phase is not None:
        lp.include.add(phase=phase)


def _phase_rule(in_train, in_val):
    """The phase rule of a layer in train and/or val (None when in both)."""
    if not in_train:
        return caffe_pb2.TEST
    return None if in_val else caffe_pb2.TRAIN


def filter_by_state(network):
    """(data layers, train_val layers, deploy layers), lists of
    LayerParameter copies with their rules rewritten (see module doc)."""
    data, train_val, deploy = [], [], []
    for lp in network.layer:
        inside = {name: layer_included(lp, state) for name, state in STATES.items()}
        if 'Data' in lp.type:
            copy = caffe_pb2.LayerParameter()
            copy.CopyFrom(lp)
            _set_rule(copy, _phase_rule(inside['train'], inside['val']))
            data.append(copy)
            continue
        if inside['train'] or inside['val']:
            copy = caffe_pb2.LayerParameter()
            copy.CopyFrom(lp)
            _set_rule(copy, _phase_rule(inside['train'], inside['val']))
            train_val.append(copy)
        if inside['deploy']:
            copy = caffe_pb2.LayerParameter()
            copy.CopyFrom(lp)
            _set_rule(copy, None)
            deploy.append(copy)
    return data, train_val, deploy


def _train_and_val_layers(data_layers):
    """The one TRAIN and at most one TEST data layer of the split."""
    found = {caffe_pb2.TRAIN: None, caffe_pb2.TEST: None}
    for lp in data_layers:
        # A data layer in both states becomes one layer per phase.
        phases = [r.phase for r in lp.include] or [caffe_pb2.TRAIN, caffe_pb2.TEST]
        for phase in phases:
            if found[phase] is not None:
                raise NetError('cannot specify two %s data layers (%s and %s)'
                               % ('train' if phase == caffe_pb2.TRAIN else 'val',
                                  found[phase].name, lp.name))
            found[phase] = caffe_pb2.LayerParameter()
            found[phase].CopyFrom(lp)
            _set_rule(found[phase], phase)
    if found[caffe_pb2.TRAIN] is None and found[caffe_pb2.TEST] is not None:
        raise NetError('cannot specify a val data layer without a train data layer')
    return found[caffe_pb2.TRAIN], found[caffe_pb2.TEST]


def _check_user_layer(lp, backend):
    """The net's own data layer fits the dataset's backend and leaves the
    source (and LMDB's backend) to DIGITS."""
    wanted = DATA_LAYER_TYPES[backend]
    if lp.type != wanted:
        raise NetError("layer '%s': expecting a%s %s layer for a%s %s dataset, not %s"
                       % (lp.name, 'n' if wanted[0] == 'H' else '', wanted,
                          'n' if backend == 'hdf5' else '', backend.upper(), lp.type))
    param = lp.hdf5_data_param if backend == 'hdf5' else lp.data_param
    if param.HasField('source'):
        raise NetError("layer '%s': don't set %s.source (DIGITS sets it to the dataset)"
                       % (lp.name, 'hdf5_data_param' if backend == 'hdf5' else 'data_param'))
    if backend == 'lmdb' and lp.data_param.HasField('backend'):
        raise NetError("layer '%s': don't set data_param.backend" % lp.name)


def _batch_param(lp):
    """The parameter message holding a data layer's source and batch size."""
    return lp.hdf5_data_param if lp.type == 'HDF5Data' else lp.data_param


def _new_data_layer(phase, backend='lmdb'):
    lp = caffe_pb2.LayerParameter(name='data', type=DATA_LAYER_TYPES[backend],
                                  top=['data', 'label'])
    lp.include.add(phase=phase)
    _batch_param(lp).batch_size = DEFAULT_BATCH_SIZE
    return lp


def _fill_data_layer(lp, source, dataset, use_mean, batch_size, crop_size):
    param = _batch_param(lp)
    param.source = source
    if lp.type == 'Data':
        lp.data_param.backend = caffe_pb2.DataParameter.LMDB
    t = lp.transform_param
    if crop_size:
        t.crop_size = crop_size
    if use_mean != 'none':
        t.ClearField('mean_file')
        t.ClearField('mean_value')
        if use_mean == 'pixel':
            t.mean_value.extend(dataset.mean_pixel)
        else:
            t.mean_file = dataset.mean_file
    if batch_size:
        param.batch_size = batch_size
    elif not param.HasField('batch_size'):
        param.batch_size = DEFAULT_BATCH_SIZE


def _hdf5_mean(layers, use_mean, crop_size):
    """The mean HDF5Data ``layers`` get ('none': Caffe's HDF5Data transforms
    nothing); NetError for what DIGITS refuses with HDF5: a crop, a mean
    pixel, or a transform_param of the net's own layers."""
    if crop_size:
        raise NetError('HDF5Data layer does not support cropping (crop_size %d)' % crop_size)
    if use_mean == 'pixel':
        raise NetError('HDF5Data layer does not support mean subtraction (use_mean=pixel); '
                       'use_mean=image or none trains on the stored pixels')
    for lp in layers:
        if lp.HasField('transform_param'):
            raise NetError("layer '%s': HDF5Data applies no transform_param (Caffe's "
                           'HDF5Data layer reads the stored values as they are)' % lp.name)
    return 'none'


def _crop_size(train_layer, dataset, crop_size):
    """The crop every data layer gets: the form's (at most the image's
    short side), else the train layer's own, clamped to the image."""
    largest = min(dataset.height, dataset.width)
    if crop_size:
        if crop_size > largest:
            raise NetError('crop_size %d is larger than the images (%dx%d)'
                           % (crop_size, dataset.width, dataset.height))
        return crop_size
    if train_layer.transform_param.HasField('crop_size'):
        return min(train_layer.transform_param.crop_size, largest)
    return None


def sanity_check(net, phase):
    """Every bottom of a layer in ``phase`` is a top of an earlier layer in it."""
    state = caffe_pb2.NetState(phase=phase)
    tops = set(net.input)
    for lp in net.layer:
        if not layer_included(lp, state):
            continue
        for bottom in lp.bottom:
            if bottom not in tops:
                raise NetError("layer '%s' references bottom '%s' at the %s stage, but this "
                               "blob is not included at that stage; limit the layer with an "
                               "include rule" % (lp.name, bottom,
                                                 caffe_pb2.Phase.Name(phase)))
        tops.update(lp.top)


def deploy_net(layers, dataset, crop_size, name, classifier=True):
    """The deploy NetParameter: the input ``data`` of 1 x C x H x W (the
    crop when there is one), then the deploy layers (with a Softmax when it
    is a ``classifier``). The input is the net's own ``input`` and
    ``input_shape``, as DIGITS writes it: its example.py and other pycaffe
    scripts read the shape from there (loading makes it an Input layer)."""
    net = caffe_pb2.NetParameter(name=name)
    h, w = (crop_size, crop_size) if crop_size else (dataset.height, dataset.width)
    net.input.append('data')
    net.input_shape.add(dim=[1, dataset.channels, h, w])
    net.layer.extend(layers)
    sanity_check(net, caffe_pb2.TEST)
    if classifier and not any(lp.type == 'Softmax' for lp in net.layer):
        raise NetError('the deploy network has no Softmax layer: add one with '
                       'include { stage: "deploy" } (see the standard networks)')
    return net


def split_classification(network, dataset, batch_size=None, crop_size=None, use_mean='image'):
    """Cut an all-in-one ``network`` (a NetParameter) for ``dataset`` (a
    :data:`Dataset`); ``batch_size`` and ``crop_size`` (None: the net's)
    and ``use_mean`` come from the model form. Returns a :data:`Split`.
    Raises NetError naming the layer at fault."""
    if use_mean not in USE_MEAN:
        raise NetError('use_mean must be one of %s, not %r' % (', '.join(USE_MEAN), use_mean))
    data, train_val_layers, deploy_layers = filter_by_state(cleanup(network, dataset.labels))
    train, val = _train_and_val_layers(data)
    for lp in (train, val):
        if lp is not None:
            _check_user_layer(lp, dataset.backend)
    train = train or _new_data_layer(caffe_pb2.TRAIN, dataset.backend)
    if dataset.val_db:
        val = val or _new_data_layer(caffe_pb2.TEST, dataset.backend)
    else:
        val = None
    crop = _crop_size(train, dataset, crop_size)
    if dataset.backend == 'hdf5':
        use_mean = _hdf5_mean([lp for lp in (train, val) if lp is not None], use_mean, crop)
    _fill_data_layer(train, dataset.train_db, dataset, use_mean, batch_size, crop)
    if val is not None:
        _fill_data_layer(val, dataset.val_db, dataset, use_mean, batch_size, crop)
    train_val = caffe_pb2.NetParameter(name=network.name)
    train_val.layer.extend([lp for lp in (train, val) if lp is not None] + train_val_layers)
    sanity_check(train_val, caffe_pb2.TRAIN)
    if val is not None:
        sanity_check(train_val, caffe_pb2.TEST)
    deploy = deploy_net(deploy_layers, dataset, crop, network.name)
    return Split(train_val, deploy, _batch_param(train).batch_size,
                 _batch_param(val).batch_size if val is not None else None, crop, use_mean)


# What the split of a generic (object-detection, prebuilt LMDBs) network
# needs of its dataset: the features and labels LMDBs of each stage (None
# when absent: labels are optional, and so is validation), its mean (None:
# none) and the feature size.
GenericDataset = collections.namedtuple(
    'GenericDataset', 'train_features train_labels val_features val_labels mean_file '
                      'mean_pixel height width channels')


def cleanup_generic(network):
    """A copy of ``network`` with DIGITS' clean-up of generic nets: Input
    layers dropped; data layers must be Data, InnerProducts set num_output."""
    net = caffe_pb2.NetParameter()
    net.CopyFrom(network)
    kept = []
    for lp in net.layer:
        _check_data_layer(lp)
        if lp.type == 'InnerProduct' and not lp.inner_product_param.HasField('num_output'):
            raise NetError("layer '%s': don't leave inner_product_param.num_output unset "
                           'for generic networks' % lp.name)
        if lp.type != 'Input':
            kept.append(lp)
    del net.layer[:]
    net.layer.extend(kept)
    return net


def _generic_data_layers(data_layers):
    """{(phase, 'data' | 'label'): the user's layer} of a generic net's data
    layers: a layer with a top naming 'data' feeds the images, one naming
    'label' the labels (DIGITS' rule)."""
    found = {}
    for lp in data_layers:
        phases = [r.phase for r in lp.include] or [caffe_pb2.TRAIN, caffe_pb2.TEST]
        for phase in phases:
            for top in lp.top:
                kind = 'data' if 'data' in top else 'label' if 'label' in top else None
                if kind is None:
                    continue
                if (phase, kind) in found:
                    raise NetError('cannot specify two %s %s data layers (%s and %s)'
                                   % ('train' if phase == caffe_pb2.TRAIN else 'val', kind,
                                      found[phase, kind].name, lp.name))
                found[phase, kind] = lp
    return found


def _generic_data_layer(user_layer, kind, phase, source, dataset, use_mean, batch_size,
                        crop_size):
    """DIGITS' Data layer of one DB: the user's layer (or a new one named
    and topped ``kind``) reading ``source``; the image layer gets the mean
    and the crop."""
    lp = caffe_pb2.LayerParameter()
    if user_layer is not None:
        lp.CopyFrom(user_layer)
    lp.type = 'Data'
    if not lp.name:
        lp.name = kind
    if not len(lp.top):
        lp.top.append(kind)
    _set_rule(lp, phase)
    if kind == 'data':
        _fill_data_layer(lp, source, dataset, use_mean, batch_size, crop_size)
    else:
        _fill_data_layer(lp, source, dataset, 'none', batch_size, None)
    return lp


def split_generic(network, dataset, batch_size=None, crop_size=None, use_mean='image'):
    """Cut a generic all-in-one ``network`` (DetectNet...) for a
    :data:`GenericDataset`: one Data layer per stage and DB (features into
    the top naming 'data', labels into the one naming 'label'), sources set
    whatever the net says, the deploy net fed an Input of the feature size.
    Returns a :data:`Split`; raises NetError naming the layer at fault."""
    if use_mean not in USE_MEAN:
        raise NetError('use_mean must be one of %s, not %r' % (', '.join(USE_MEAN), use_mean))
    if crop_size and crop_size > min(dataset.height, dataset.width):
        raise NetError('crop_size %d is larger than the images (%dx%d)'
                       % (crop_size, dataset.width, dataset.height))
    if dataset.mean_file is None:
        # DIGITS subtracts no mean when the dataset has none (so does inference)
        use_mean = 'none'
    data, train_val_layers, deploy_layers = filter_by_state(cleanup_generic(network))
    found = _generic_data_layers(data)
    sources = {(caffe_pb2.TRAIN, 'data'): dataset.train_features,
               (caffe_pb2.TRAIN, 'label'): dataset.train_labels,
               (caffe_pb2.TEST, 'data'): dataset.val_features,
               (caffe_pb2.TEST, 'label'): dataset.val_labels}
    layers = {key: _generic_data_layer(found.get(key), key[1], key[0], source, dataset,
                                       use_mean, batch_size, crop_size)
              for key, source in sources.items() if source}
    train_val = caffe_pb2.NetParameter(name=network.name)
    train_val.layer.extend(list(layers.values()) + train_val_layers)
    sanity_check(train_val, caffe_pb2.TRAIN)
    val = layers.get((caffe_pb2.TEST, 'data'))
    if val is not None:
        sanity_check(train_val, caffe_pb2.TEST)
    train = layers[caffe_pb2.TRAIN, 'data']
    crop = train.transform_param.crop_size if train.transform_param.HasField('crop_size') \
        else None
    deploy = deploy_net(deploy_layers, dataset, crop, network.name, classifier=False)
    return Split(train_val, deploy, train.data_param.batch_size,
                 val.data_param.batch_size if val is not None else None, crop, use_mean)


def network_from_previous(network, same_dataset):
    """The network of a previous model job for a new one: the same, with
    the last InnerProduct renamed ``<name>_retrain`` when the dataset
    differs, so that its weights (sized for other classes) are not loaded."""
    net = caffe_pb2.NetParameter()
    net.CopyFrom(network)
    if not same_dataset:
        products = [lp for lp in net.layer if lp.type == 'InnerProduct']
        if products:
            products[-1].name = products[-1].name + '_retrain'
    return net


def mean_pixel(mean):
    """The per-channel mean (list of floats, BGR) of a C x H x W mean image."""
    return [float(v) for v in np.asarray(mean, np.float64).mean(axis=(1, 2))]
