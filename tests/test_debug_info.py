"""Caffe's debug_info: each layer's mean |data| (forward) and |diff|
(backward) in Caffe's words, on the solver's display iterations."""
import logging

import numpy as np
import pytest

import caffelite as caffe

NET = '''layer { name: "x" type: "Input" top: "x" top: "y"
  input_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "z"
  param { name: "w" } param { lr_mult: 0 }
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "z" bottom: "y" top: "loss" }
'''


def solver_for(tmp_path, debug):
    (tmp_path / 'net.prototxt').write_text(NET)
    return caffe.get_solver('net: "%s"\nbase_lr: 0.01\nlr_policy: "fixed"\ndisplay: 2\n'
                            'test_iter: 1\ntest_interval: 1000\ntest_initialization: false\n'
                            'debug_info: %s\nsnapshot_prefix: "%s"\n'
                            % (tmp_path / 'net.prototxt', debug, tmp_path / 's'))


def debug_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith('    [')]


def test_train_net_logs_on_display_iterations(tmp_path, caplog):
    solver = solver_for(tmp_path, 'true')
    net = solver.net
    net.blobs['x'].data[...] = np.arange(12).reshape(4, 3) / 10.0
    w_before = np.abs(net.params['ip'][0].data).mean()
    with caplog.at_level(logging.INFO, logger='caffelite'):
        solver.step(1)
        lines = debug_lines(caplog)
        z = np.abs(net.blobs['z'].data).mean()
        z_diff = np.abs(net.blobs['z'].diff).mean()
        w_diff = np.abs(net.params['ip'][0].diff).mean()
        loss = float(net.blobs['loss'].data)
        caplog.clear()
        solver.step(1)                                   # iteration 1: not displayed
        assert debug_lines(caplog) == []
    assert lines[:8] == [
        '    [Forward] Layer x, top blob x data: 0.55',
        '    [Forward] Layer x, top blob y data: 0',
        '    [Forward] Layer ip, top blob z data: %g' % z,
        '    [Forward] Layer ip, param blob w data: %g' % w_before,   # its ParamSpec name
        '    [Forward] Layer ip, param blob 1 data: 0',               # unnamed: its index
        '    [Forward] Layer loss, top blob loss data: %g' % loss,
        # y and x need no gradient; the bias has lr_mult 0
        '    [Backward] Layer loss, bottom blob z diff: %g' % z_diff,
        lines[7]]
    # logged before the update, which leaves base_lr times the gradient in the diff
    assert lines[7].startswith('    [Backward] Layer ip, param blob 0 diff: ')
    assert float(lines[7].split()[-1]) == pytest.approx(w_diff / 0.01, rel=1e-4)
    assert lines[8].startswith('    [Backward] All net params (data, diff): L1 norm = (')
    assert len(lines) == 9


def test_off_by_default_and_test_nets_log_every_pass(tmp_path, caplog):
    solver = solver_for(tmp_path, 'false')
    with caplog.at_level(logging.INFO, logger='caffelite'):
        solver.step(1)
        solver.test_nets[0].forward()
    assert debug_lines(caplog) == []
    solver = solver_for(tmp_path, 'true')
    with caplog.at_level(logging.INFO, logger='caffelite'):
        caplog.clear()
        solver.test_nets[0].forward()
    assert [l.split(',')[0] for l in debug_lines(caplog)] == [
        '    [Forward] Layer x', '    [Forward] Layer x', '    [Forward] Layer ip',
        '    [Forward] Layer ip', '    [Forward] Layer ip', '    [Forward] Layer loss']
