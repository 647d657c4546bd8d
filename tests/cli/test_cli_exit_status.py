"""The statuses a shell script reads in $? after a caffelite command, set
against what Caffe's own programs return (tools/*.cpp, the converters of
its examples, gflags)."""
import os
import subprocess
import sys

import pytest

from caffelite.cli import main


def status(argv, capsys):
    """(exit status, stdout, stderr) of ``caffelite ARGV`` run in-process."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize('argv', [
    ['convert_imageset', 'root/', 'list.txt'],          # Caffe's tools: wrong count, 1
    ['compute_image_mean'],
    ['extract_features', 'w', 'm'],
    ['upgrade_net_proto_text', 'in.prototxt'],
    ['train', '-no_such_flag', '-solver', 's'],          # gflags: unknown flag, 1
    ['test', '-model', 'm', '-weights', 'w', '-iterations', 'x'],  # gflags: bad value, 1
    ['train'],                     # Caffe aborts (134) on its CHECK; a one-line failure here
    ['no_such_action'],
])
def test_usage_errors_exit_1_in_one_line(argv, capsys):
    code, out, err = status(argv, capsys)
    assert code == 1 and out == ''
    assert len(err.splitlines()) == 1 and 'error:' in err and 'Traceback' not in err


@pytest.mark.parametrize('argv', [[], ['convert_mnist_data'], ['convert_mnist_siamese_data'],
                                  ['convert_cifar_data']])
def test_bare_programs_that_caffe_answers_with_usage_and_0(argv, capsys):
    code, out, err = status(argv, capsys)
    assert code == 0 and out.startswith('usage:') and err == ''


def test_help_stays_0(capsys):
    assert status(['train', '--help'], capsys)[0] == 0


def test_upgrade_tools_return_2_for_an_input_that_does_not_parse(tmp_path, capsys):
    bad = tmp_path / 'bad.prototxt'
    bad.write_text('layer { name: "a" type: "ReLU" bottom: "x" top: "x" ')
    out = str(tmp_path / 'new.prototxt')
    code, _, err = status(['upgrade_net_proto_text', str(bad), out], capsys)
    assert code == 2 and 'bad.prototxt' in err and len(err.splitlines()) == 1
    # caffelite's own verb is not Caffe's tool: a failure of it is 1
    assert status(['upgrade', str(bad), out], capsys)[0] == 1


def test_the_shell_sees_the_same_status(tmp_path):
    """Through the interpreter's exit, as ``caffelite ...; echo $?`` shows it."""
    run = subprocess.run([sys.executable, '-m', 'caffelite', 'convert_imageset', 'r/'],
                         capture_output=True, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert run.returncode == 1 and 'required' in run.stderr


def test_version_in_gflags_words_as_digits_reads_it(capsys, monkeypatch):
    import caffelite
    monkeypatch.setattr(sys, 'argv', ['/usr/local/bin/caffe'])
    code, out, _ = status(['-version'], capsys)        # DIGITS runs `caffe -version`
    assert code == 0 and out == 'caffe version %s\n' % caffelite.__version__
