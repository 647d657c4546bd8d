"""Transformations of a NetParameter before it is built: choosing the layers
for a NetState (phase, level, stages) and inserting Split layers for blobs
consumed by several layers. Names and rules follow Caffe exactly, so the
blob names a user sees (``data_input_0_split_1``...) are Caffe's."""
from .errors import NetError
from .proto import caffe_pb2


def state_meets_rule(state, rule):
    """Whether a NetState satisfies one NetStateRule (include/exclude entry)."""
    if rule.HasField('phase') and rule.phase != state.phase:
        return False
    if rule.HasField('min_level') and state.level < rule.min_level:
        return False
    if rule.HasField('max_level') and state.level > rule.max_level:
        return False
    stages = set(state.stage)
    if any(s not in stages for s in rule.stage):
        return False
    return not any(s in stages for s in rule.not_stage)


def layer_included(layer, state):
    if len(layer.include) and len(layer.exclude):
        raise NetError("layer '%s': specify either include rules or exclude rules, "
                       "not both" % layer.name, layer.name)
    if len(layer.include):
        return any(state_meets_rule(state, r) for r in layer.include)
    return not any(state_meets_rule(state, r) for r in layer.exclude)


def filter_net(net):
    """A copy of ``net`` holding only the layers its ``state`` includes."""
    out = caffe_pb2.NetParameter()
    out.CopyFrom(net)
    del out.layer[:]
    out.layer.extend(l for l in net.layer if layer_included(l, net.state))
    return out


def split_layer_name(layer_name, blob_name, blob_idx):
    return '%s_%s_%d_split' % (blob_name, layer_name, blob_idx)


def split_blob_name(layer_name, blob_name, blob_idx, split_idx):
    return '%s_%s_%d_split_%d' % (blob_name, layer_name, blob_idx, split_idx)


def _count_consumers(net):
    """Map each bottom (layer, index) to its producing top (layer, index), and
    count the consumers of each top, a nonzero loss weight counting as one."""
    last_top, source_of, consumers, loss_weight = {}, {}, {}, {}
    for i, layer in enumerate(net.layer):
        for j, name in enumerate(layer.bottom):
            if name not in last_top:
                raise NetError("unknown bottom blob '%s' (layer '%s', bottom index %d)"
                               % (name, layer.name, j), layer.name)
            source_of[i, j] = last_top[name]
            consumers[last_top[name]] = consumers.get(last_top[name], 0) + 1
        for j, name in enumerate(layer.top):
            last_top[name] = (i, j)
        for j in range(min(len(layer.loss_weight), len(layer.top))):
            top = last_top[layer.top[j]]
            loss_weight[top] = layer.loss_weight[j]
            if loss_weight[top]:
                consumers[top] = consumers.get(top, 0) + 1
    return source_of, consumers, loss_weight


def insert_splits(net):
    """A copy of ``net`` where every top read by more than one consumer feeds a
    Split layer whose tops go one to each consumer."""
    source_of, consumers, loss_weight = _count_consumers(net)
    out = caffe_pb2.NetParameter()
    out.CopyFrom(net)
    del out.layer[:]
    next_split = {}
    for i, src in enumerate(net.layer):
        layer = out.layer.add()
        layer.CopyFrom(src)
        for j, name in enumerate(layer.bottom):
            top = source_of[i, j]
            if consumers.get(top, 0) > 1:
                k = next_split.get(top, 0)
                next_split[top] = k + 1
                layer.bottom[j] = split_blob_name(net.layer[top[0]].name, name, top[1], k)
        for j, name in enumerate(layer.top):
            count = consumers.get((i, j), 0)
            if count <= 1:
                continue
            weight = loss_weight.get((i, j), 0.0)
            split = out.layer.add(name=split_layer_name(layer.name, name, j), type='Split')
            split.bottom.append(name)
            for k in range(count):
                split.top.append(split_blob_name(layer.name, name, j, k))
                if weight:
                    split.loss_weight.append(weight if k == 0 else 0.0)
            if weight:
                layer.ClearField('loss_weight')
                next_split[i, j] = next_split.get((i, j), 0) + 1
    return out
