"""The deploy net ``caffelite train`` writes into a DIGITS-style model
folder (caffelite.deploy_net), read as DIGITS' own scripts read one."""
import numpy as np

import caffelite as caffe
from caffelite import protoio
from caffelite.deploy_net import deploy_from_training
from caffelite.proto import caffe_pb2

TRAIN_VAL = '''name: "tiny"
layer { name: "data" type: "Data" top: "data" top: "label"
  transform_param { scale: 0.00390625 } data_param { source: "db" batch_size: 8 } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 3 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
'''


def test_the_input_is_declared_as_digits_writes_it(tmp_path):
    # DIGITS' examples/classification/example.py takes the input shape from
    # the net's input_shape (or input_dim); an Input layer has neither.
    net = caffe_pb2.NetParameter()
    protoio.parse_text(TRAIN_VAL, net)
    path = tmp_path / 'deploy.prototxt'
    path.write_text(str(deploy_from_training(net, (1, 4, 5))))
    read = caffe_pb2.NetParameter()
    protoio.parse_text(path.read_text(), read)
    assert list(read.input) == ['data'] and list(read.input_shape[0].dim) == [1, 1, 4, 5]
    assert [lp.type for lp in read.layer] == ['Power', 'InnerProduct', 'Softmax']
    deploy = caffe.Net(str(path), caffe.TEST)
    assert deploy.inputs == ['data'] and deploy.blobs['data'].data.shape == (1, 1, 4, 5)
    deploy.blobs['data'].data[...] = 255
    assert np.isclose(deploy.forward()['prob'].sum(), 1)
