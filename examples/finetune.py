"""Fine-tuning a trained model on a new task: Caffe's flickr-style recipe.

1. "Brain surgery" on train_val.prototxt: rename the last InnerProduct layer
   (so the pretrained weights are not copied into it), set its num_output to
   the new number of classes, and let it learn 10x (weights) and 20x (bias)
   faster than the pretrained layers.
2. Lower the solver's base_lr (x0.1) so the pretrained layers move slowly.
3. Train with the pretrained weights: layers are matched by name, so every
   layer but the renamed one starts from them (``caffelite train -weights``).
4. Write OUT_DIR/deploy.prototxt with the same renamed layer, so that the
   fine-tuned weights load into it (a deploy net still naming the old layer
   would classify with random weights): the pretrained model's deploy net
   after the same surgery (``--deploy``), or one derived from the new
   train_val.

usage: python finetune.py TRAIN_VAL.prototxt SOLVER.prototxt PRETRAINED.caffemodel
                          NUM_CLASSES OUT_DIR [--layer fc8] [--iterations N]
                          [--deploy DEPLOY.prototxt]
"""
import argparse
import os

from google.protobuf import text_format

import caffelite as caffe
from caffelite.cli import main as caffelite_cli
from caffelite.deploy_net import deploy_from_training
from caffelite.proto import caffe_pb2


def brain_surgery(train_val, layer_name, num_classes):
    """The net (a train_val or deploy prototxt) with ``layer_name`` renamed
    to ``<name>_ft`` and resized."""
    net = caffe_pb2.NetParameter()
    with open(train_val) as f:
        text_format.Merge(f.read(), net)
    new_name = layer_name + '_ft'
    found = False
    for layer in net.layer:
        if layer.name == layer_name:
            found = True
            layer.name = new_name
            layer.inner_product_param.num_output = num_classes
            del layer.param[:]
            layer.param.add(lr_mult=10, decay_mult=1)
            layer.param.add(lr_mult=20, decay_mult=0)
            layer.inner_product_param.weight_filler.type = 'xavier'
    if not found:
        raise SystemExit('no layer named %s in %s' % (layer_name, train_val))
    return net, new_name


def write_deploy(args, net, net_path, out):
    """OUT_DIR/deploy.prototxt naming the renamed layer as the weights will."""
    if args.deploy:
        deploy, _ = brain_surgery(args.deploy, args.layer, args.num_classes)
    else:
        first_blob = next(iter(caffe.Net(net_path, caffe.TEST).blobs.values()))
        deploy = deploy_from_training(net, first_blob.shape[1:])
    with open(out, 'w') as f:
        f.write(str(deploy))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('train_val')
    parser.add_argument('solver')
    parser.add_argument('weights')
    parser.add_argument('num_classes', type=int)
    parser.add_argument('out_dir')
    parser.add_argument('--layer', default='fc8', help='the classifier layer to replace')
    parser.add_argument('--iterations', type=int, default=None, help='override max_iter')
    parser.add_argument('--deploy', default=None,
                        help="the pretrained model's deploy.prototxt, to rename alike")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    net, new_name = brain_surgery(args.train_val, args.layer, args.num_classes)
    net_path = os.path.join(args.out_dir, 'finetune_train_val.prototxt')
    with open(net_path, 'w') as f:
        f.write(str(net))
    write_deploy(args, net, net_path, os.path.join(args.out_dir, 'deploy.prototxt'))
    solver = caffe_pb2.SolverParameter()
    with open(args.solver) as f:
        text_format.Merge(f.read(), solver)
    solver.ClearField('train_net')
    solver.net = os.path.abspath(net_path)
    solver.base_lr *= 0.1
    solver.snapshot_prefix = os.path.join(os.path.abspath(args.out_dir), 'finetune')
    solver.snapshot_after_train = True      # the fine-tuned weights are the point
    if args.iterations:
        solver.max_iter = args.iterations
    solver_path = os.path.join(args.out_dir, 'finetune_solver.prototxt')
    with open(solver_path, 'w') as f:
        f.write(str(solver))
    print('replaced %s by %s (%d outputs); base_lr %g' % (args.layer, new_name,
                                                         args.num_classes, solver.base_lr))
    return caffelite_cli(['train', '-solver', solver_path, '-weights', args.weights])


if __name__ == '__main__':
    raise SystemExit(main())
