"""Layer types that have no ONNX form, each refused with the reason.

An ONNX graph is a pure function of the tensors it is given, for
inference: data sources read files or memory during forward, losses and
Accuracy need labels and belong to training or evaluation, and a Python
layer runs arbitrary user code. Each is refused by name, never dropped.
"""
from ..errors import LayerError
from .convert import converter

DATA = ('Data', 'ImageData', 'HDF5Data', 'MemoryData', 'DummyData', 'WindowData')
LOSSES = ('SoftmaxWithLoss', 'EuclideanLoss', 'HingeLoss', 'SigmoidCrossEntropyLoss',
          'InfogainLoss', 'MultinomialLogisticLoss', 'ContrastiveLoss', 'Accuracy',
          'L1Loss')
OUTPUTS = ('HDF5Output',)

REASONS = {}
for _name in DATA:
    REASONS[_name] = ('a data source layer: an ONNX model takes its inputs from the caller; '
                      'export a deploy net whose inputs are Input layers')
for _name in LOSSES:
    REASONS[_name] = ('a training/evaluation layer that needs labels; export the deploy net '
                      '(without losses, Accuracy and label inputs)')
REASONS['DetectNetTransformation'] = (
    'prepares DetectNet training data from images and their labels (augmentation, '
    'coverage maps); export the deploy net, whose images come through an Input layer')
REASONS['HDF5Output'] = 'writes files during forward; an ONNX model has no side effects'
REASONS['Python'] = 'runs user Python code, which ONNX cannot express'


def reason(lp):
    """Why layer ``lp`` (a LayerParameter of a refused type) has no ONNX form."""
    why = REASONS[lp.type]
    if lp.type == 'Python':
        p = lp.python_param
        why = ('%s (%s.%s); only Python layers that end the net can run after it, '
               'with python_tail=True (--python-tail)' % (why, p.module, p.layer))
    return why


def _refuse(ctx):
    ctx.refuse(reason(ctx.lp))


for _name in REASONS:
    converter(_name)(_refuse)


def refuse_before_build(net_param, source, python_tail=False):
    """Refuse a definition (a TEST-phase NetParameter read from ``source``)
    with a data-source layer, or a Python layer when ``python_tail`` is
    off, before the net is built: a train_val net given for its deploy net
    would otherwise stop on its missing LMDB or image list, and a Python
    layer on --allow-python-layers, rather than on what the export cannot
    take."""
    for lp in net_param.layer:
        if lp.type in DATA or (lp.type == 'Python' and not python_tail):
            raise LayerError(lp.name, lp.type, '%s: cannot export to ONNX: %s'
                             % (source, reason(lp)))
