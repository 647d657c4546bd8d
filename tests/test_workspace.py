"""caffelite.workspace: scratch buffers kept per name by their owner (a Net
shares one among its layers)."""
import numpy as np

import caffelite as caffe
from caffelite import workspace


def test_scratch_buffers_are_reused_per_name(monkeypatch):
    space = workspace.Workspace()
    assert space.scratch('test', (4, 5)) is None           # small: left to malloc
    assert space.empty('test', (4, 5)).shape == (4, 5)
    monkeypatch.setattr(workspace, 'MIN_BYTES', 0)
    first = space.scratch('test', (4, 5))
    again = space.scratch('test', (2, 3))
    assert again.shape == (2, 3) and np.shares_memory(first, again)
    assert not np.shares_memory(first, space.scratch('other', (4, 5)))
    larger = space.scratch('test', (10, 10))
    assert larger.shape == (10, 10) and not np.shares_memory(first, larger)
    space.release()
    assert not np.shares_memory(larger, space.scratch('test', (10, 10)))


NET = '''
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "conv2" type: "Convolution" bottom: "conv1" top: "conv2"
        convolution_param { num_output: 4 kernel_size: 3 } }
'''


def test_each_net_owns_one_workspace_for_its_layers(monkeypatch):
    monkeypatch.setattr(workspace, 'MIN_BYTES', 0)
    nets = [caffe.Net(NET, caffe.TEST) for _ in range(2)]
    for net in nets:
        assert all(layer.workspace is net.workspace for layer in net.layers)
        net.forward()
    assert nets[0].workspace is not nets[1].workspace
    kept = [net.workspace.scratch('conv_cols', (1,)) for net in nets]
    assert not np.shares_memory(*kept)
