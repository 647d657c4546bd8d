"""pycaffe's logging without init_log: glog's stderr lines from import on,
silenced by GLOG_minloglevel as the environment had it at import. Each case
runs in a fresh interpreter, as the variable is read when caffelite loads."""
import os
import re
import subprocess
import sys

import pytest

NET = ('layer { name: "data" type: "Input" top: "data" '
       'input_param { shape { dim: 2 dim: 3 } } } '
       'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
       'inner_product_param { num_output: 4 } }')


def stderr_of(script, **env):
    """What ``python -c script`` writes to stderr, GLOG_* from ``env`` only."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith('GLOG_')}
    environ.update(env, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         env=environ, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stderr


def glog_line(letter, message):
    return r'(?m)^%s\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ \S+:\d+\] %s$' % (letter, message)


def test_net_construction_is_on_stderr_as_pycaffe_shows_it():
    err = stderr_of('import caffelite as caffe\n'
                    'caffe.Net(%r, caffe.TEST)\n'
                    'caffe.log("done")\n' % NET)
    assert err.startswith('WARNING: Logging before InitGoogleLogging() is written to STDERR\n')
    assert err.count('InitGoogleLogging') == 1
    for message in (r'Creating Layer ip', r'Top shape: 2 4 \(8\)',
                    r'Memory required for data: 56', r'Network initialization done\.'):
        assert re.search(glog_line('I', message), err), message
    assert re.search(r'(?m)^I.* <string>:3\] done$', err)


@pytest.mark.parametrize('level, shown', [('1', 'W'), ('2', 'E')])
def test_glog_minloglevel_set_before_import_silences_below_it(level, shown):
    # as course notebooks do it: os.environ before the import
    err = stderr_of('import logging, os\n'
                    'os.environ["GLOG_minloglevel"] = %r\n'
                    'import caffelite as caffe\n'
                    'caffe.Net(%r, caffe.TEST)\n'
                    'logging.getLogger("caffelite.x").warning("a warning")\n'
                    'logging.getLogger("caffelite.x").error("an error")\n' % (level, NET))
    assert 'Top shape' not in err and 'Network initialization' not in err
    assert re.search(glog_line('E', 'an error'), err)
    assert bool(re.search(glog_line('W', 'a warning'), err)) == (shown == 'W')


def test_the_variable_set_after_import_changes_nothing():
    err = stderr_of('import os\n'
                    'import caffelite as caffe\n'
                    'os.environ["GLOG_minloglevel"] = "3"\n'
                    'caffe.Net(%r, caffe.TEST)\n' % NET)
    assert 'Network initialization done.' in err


def test_python_logging_set_up_by_the_program_gets_the_lines_once():
    err = stderr_of('import logging\n'
                    'logging.basicConfig(level=logging.INFO, format="%%(name)s| %%(message)s")\n'
                    'import caffelite as caffe\n'
                    'caffe.Net(%r, caffe.TEST)\n' % NET)
    assert 'InitGoogleLogging' not in err
    assert err.count('Network initialization done.') == 1
    assert 'caffelite.net| Top shape: 2 4 (8)' in err


def test_init_log_to_a_file_takes_the_lines_off_stderr(tmp_path):
    err = stderr_of('import caffelite as caffe\n'
                    'caffe.init_log()\n'
                    'caffe.Net(%r, caffe.TEST)\n' % NET, GLOG_log_dir=str(tmp_path))
    assert err == ''
    log, = tmp_path.iterdir()
    assert 'Top shape: 2 4 (8)' in log.read_text()


def test_errors_only_also_quiets_the_weights_warning(tmp_path):
    """A layer the weights file lacks is a WARNING line and a Python
    WeightsWarning; GLOG_minloglevel=2 keeps both off stderr."""
    script = ('import caffelite as caffe\n'
              'net = caffe.Net(%r, caffe.TEST)\n'
              'net.save(%r)\n'
              'caffe.Net(%r, caffe.TEST).copy_from(%r)\n'
              % (NET, str(tmp_path / 'w.caffemodel'), NET.replace('"ip"', '"ip_ft"'),
                 str(tmp_path / 'w.caffemodel')))
    assert "no weights for layer 'ip_ft'" in stderr_of(script)
    assert stderr_of(script, GLOG_minloglevel='2') == ''


def test_the_line_carries_the_logging_threads_id_in_five_columns():
    import logging
    import threading
    from caffelite.glog import GlogFormatter
    record = logging.LogRecord('caffelite.x', logging.INFO, 'net.py', 7, 'hi', (), None)
    seen = {}

    def in_a_thread():
        seen['line'], seen['id'] = GlogFormatter().format(record), threading.get_native_id()
    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join()
    assert seen['line'].endswith(' %5d net.py:7] hi' % seen['id'])
    assert re.match(r'I\d{4} \d\d:\d\d:\d\d\.\d{6} [ \d]{5,} net\.py:7\] hi$', seen['line'])
