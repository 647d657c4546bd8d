"""Transformations of a NetParameter before it is built: choosing the layers
for a NetState (phase, level, stages) and inserting Split layers for blobs
consumed by several layers. Names and rules follow Caffe exactly, so the
blob names a user sees (``data_input_0_split_1``...) are Caffe's."""
from .errors import NetError
from .proto import caffe_pb2


def rule_breach(state, rule):
    """How a NetState breaks one NetStateRule (include/exclude entry), in the
    words of Caffe's log, or None when it meets the rule."""
    if rule.HasField('phase') and rule.phase != state.phase:
        return 'The NetState phase (%d) differed from the phase (%d)' % (state.phase, rule.phase)
    if rule.HasField('min_level') and state.level < rule.min_level:
        return 'The NetState level (%d) is above the min_level (%d)' % (state.level,
                                                                         rule.min_level)
    if rule.HasField('max_level') and state.level > rule.max_level:
        return 'The NetState level (%d) is above the max_level (%d)' % (state.level,
                                                                         rule.max_level)
    stages = set(state.stage)
    for s in rule.stage:
        if s not in stages:
            return "The NetState did not contain stage '%s'" % s
    for s in rule.not_stage:
        if s in stages:
            return "The NetState contained a not_stage '%s'" % s
    return None


def state_meets_rule(state, rule, on_breach=None):
    """Whether a NetState satisfies one NetStateRule; ``on_breach(reason)``
    hears why not (Caffe logs it)."""
    reason = rule_breach(state, rule)
    if reason is not None and on_breach is not None:
        on_breach(reason)
    return reason is None


def layer_included(layer, state, on_breach=None):
    """Caffe's FilterNet for one layer: the rules are tried in order until
    one decides, and ``on_breach(reason)`` hears each rule tried and broken."""
    if len(layer.include) and len(layer.exclude):
        raise NetError("layer '%s': specify either include rules or exclude rules, "
                       "not both" % layer.name, layer.name)
    if len(layer.include):
        return any(state_meets_rule(state, r, on_breach) for r in layer.include)
    return not any(state_meets_rule(state, r, on_breach) for r in layer.exclude)


def filter_net(net, on_breach=None):
    """A copy of ``net`` holding only the layers its ``state`` includes;
    ``on_breach(layer_name, reason)`` hears each rule a layer's state breaks."""
    out = caffe_pb2.NetParameter()
    out.CopyFrom(net)
    del out.layer[:]
    for layer in net.layer:
        heard = None if on_breach is None else (
            lambda reason, name=layer.name: on_breach(name, reason))
        if layer_included(layer, net.state, heard):
            out.layer.add().CopyFrom(layer)
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
