"""Caffe's logging, glog, on Python's ``logging``: the line format that
Caffe's and DIGITS' log parsers read, and pycaffe's ``init_log`` and ``log``.

Everything caffelite logs goes through the ``caffelite`` logger, which is
silent until a command line verb or ``init_log`` gives it a handler.
"""
import getpass
import logging
import os
import socket
import sys
import time

LOGGER = 'caffelite'
# glog severities 0..3 (INFO, WARNING, ERROR, FATAL) as logging levels.
SEVERITIES = (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
# glog also copies ERROR and above to stderr when it logs to a file.
STDERR_THRESHOLD = logging.ERROR


class GlogFormatter(logging.Formatter):
    """``I1128 19:00:00.123456 4242 solver.py:180] message``, like glog."""

    def format(self, record):
        t = time.localtime(record.created)
        micros = int((record.created % 1) * 1e6)
        letter = 'F' if record.levelno >= logging.CRITICAL else record.levelname[0]
        return '%s%s %s.%06d %d %s:%d] %s' % (
            letter, time.strftime('%m%d', t), time.strftime('%H:%M:%S', t),
            micros, os.getpid(), record.filename, record.lineno, record.getMessage())


def configure(handlers, level=logging.INFO):
    """Make ``handlers`` (glog-formatted) the only ones of the caffelite
    logger, logging from ``level`` up; returns the logger."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(GlogFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log_file_path(folder=None):
    """glog's log file name: <folder>/<program>.<host>.<user>.log.INFO.<date>-<time>.<pid>."""
    program = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else 'python')
    folder = folder or os.environ.get('GLOG_log_dir') or os.environ.get('TMPDIR') or '/tmp'
    return os.path.join(folder, '%s.%s.%s.log.INFO.%s.%d' % (
        program, socket.gethostname(), getpass.getuser(),
        time.strftime('%Y%m%d-%H%M%S'), os.getpid()))


def _env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def init_log(level=None, stderr=None):
    """pycaffe's ``caffe.init_log()``, ``init_log(level)`` and
    ``init_log(level, stderr)``: start Caffe's logging.

    ``level`` is glog's minloglevel (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL);
    with ``stderr`` true messages go to stderr (glog's logtostderr),
    otherwise, as glog does, to a log file (see ``log_file_path``) with
    ERROR and above copied to stderr. Arguments left out come from the
    GLOG_minloglevel and GLOG_logtostderr environment variables, as in glog.
    Returns the log file path, or None when logging to stderr."""
    if level is None:
        level = _env_int('GLOG_minloglevel', 0)
    if stderr is None:
        stderr = bool(_env_int('GLOG_logtostderr', 0))
    threshold = SEVERITIES[min(max(int(level), 0), len(SEVERITIES) - 1)]
    if stderr:
        configure([logging.StreamHandler(sys.stderr)], threshold)
        return None
    path = log_file_path()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(max(threshold, STDERR_THRESHOLD))
    configure([logging.FileHandler(path), console], threshold)
    return path


def log(message):
    """pycaffe's ``caffe.log(s)``: ``message`` at INFO through Caffe's log,
    attributed to the caller's file and line."""
    logging.getLogger(LOGGER).info('%s', message, stacklevel=2)
