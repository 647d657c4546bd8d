"""The course's two rules of brain surgery, as checks on a list of layers.

*Data must flow*: every bottom is produced by an earlier layer (a bottom
produced only by a later layer is a cycle when that layer depends on this
one, an ordering mistake otherwise), no blob has two producers, and every
top reaches an output (is consumed, or is one of the net's outputs).

*The math matters*: the shapes infer through every layer, i.e. the net
builds; a layer that rejects its bottoms is reported with their shapes.

Each failure is a :class:`Problem` naming the layer, the blob and, when the
net came from a file, the line where the layer starts.
"""
import collections

from ..errors import CaffeError

Problem = collections.namedtuple('Problem', 'layer blob line message')


class SurgeryError(CaffeError):
    """A network that breaks the rules; ``problems`` lists every failure."""

    def __init__(self, problems, source=None):
        self.problems = list(problems)
        self.source = source
        super().__init__('\n'.join(describe(p, source) for p in self.problems))


def describe(problem, source=None):
    """``file:line: layer 'x', blob 'y': message``."""
    where = source or '<net>'
    if problem.line is not None:
        where += ':%d' % problem.line
    subject = "layer '%s'" % problem.layer if problem.layer else 'net'
    if problem.blob:
        subject += ", blob '%s'" % problem.blob
    return '%s: %s: %s' % (where, subject, problem.message)


def _producers(layers):
    """{blob: [index of each layer that writes it, in-place ones included]}."""
    producers = collections.defaultdict(list)
    for i, layer in enumerate(layers):
        for top in layer.top:
            producers[top].append(i)
    return producers


def _depends_on(layers, start, target):
    """Whether layer ``target`` can be reached from layer ``start`` by
    following tops into the layers that read them (a cycle when ``target``
    feeds ``start``)."""
    readers = collections.defaultdict(set)
    for i, layer in enumerate(layers):
        for bottom in layer.bottom:
            readers[bottom].add(i)
    seen, todo = set(), [start]
    while todo:
        i = todo.pop()
        for top in layers[i].top:
            for j in readers[top]:
                if j == target:
                    return True
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
    return False


def flow_problems(layers, line_of, outputs=None):
    """Problems with the data flow of ``layers`` (LayerParameters in net
    order); ``line_of(name)`` gives a layer's line or None; ``outputs``: the
    blobs that may end unconsumed (None: any)."""
    problems = []
    producers = _producers(layers)
    available = set()
    for i, layer in enumerate(layers):
        for bottom in layer.bottom:
            if bottom in available:
                continue
            later = [j for j in producers.get(bottom, []) if j > i]
            if not later:
                message = 'no layer produces this bottom'
            elif _depends_on(layers, i, later[0]):
                message = ("cycle: it reads what layer '%s' writes, and that layer "
                           'depends on this one' % layers[later[0]].name)
            else:
                message = ("produced only later, by layer '%s': move this layer after it"
                           % layers[later[0]].name)
            problems.append(Problem(layer.name, bottom, line_of(layer.name), message))
        for j, top in enumerate(layer.top):
            in_place = j < len(layer.bottom) and layer.bottom[j] == top
            if top in available and not in_place:
                first = next(k for k in producers[top] if k < i)
                problems.append(Problem(layer.name, top, line_of(layer.name),
                                        "also produced by layer '%s'" % layers[first].name))
            available.add(top)
    if outputs is not None:
        consumed = {b for layer in layers for b in layer.bottom}
        for layer in layers:
            for top in layer.top:
                if top not in consumed and top not in outputs and top not in layer.bottom:
                    problems.append(Problem(
                        layer.name, top, line_of(layer.name),
                        'reaches no output: no layer reads it and it is not one of the '
                        "outputs (%s)" % ', '.join(sorted(outputs))))
    return problems


def shape_problems(param, line_of):
    """Problems building ``param`` (a NetParameter with its NetState): the
    first layer that rejects its bottoms, with their shapes. Returns
    (problems, {blob: shape}) of the blobs up to that layer."""
    from ..errors import LayerError
    from ..net import Net
    try:
        net = Net(param, param.state.phase)
    except LayerError as e:
        partial = _built_before(param, e.layer_name)
        shapes = {name: blob.shape for name, blob in partial.blobs.items()} if partial else {}
        layer = next((l for l in param.layer if l.name == e.layer_name), None)
        bottoms = list(layer.bottom) if layer is not None else []
        seen = ', '.join('%s %s' % (b, 'x'.join(map(str, shapes[b])) if b in shapes else '?')
                         for b in bottoms)
        reason = str(e).split(': ', 1)[-1]
        message = '%s (bottoms: %s)' % (reason, seen) if bottoms else reason
        return [Problem(e.layer_name, bottoms[0] if bottoms else None,
                        line_of(e.layer_name), message)], shapes
    except CaffeError as e:
        return [Problem(None, None, None, str(e))], {}
    return [], {name: blob.shape for name, blob in net.blobs.items()}


def _built_before(param, layer_name):
    """The net of the layers before ``layer_name`` (None if it fails too)."""
    from ..net import Net
    from ..proto import caffe_pb2
    head = caffe_pb2.NetParameter()
    head.CopyFrom(param)
    del head.layer[:]
    for layer in param.layer:
        if layer.name == layer_name:
            break
        head.layer.add().CopyFrom(layer)
    try:
        return Net(head, param.state.phase)
    except CaffeError:
        return None
