"""Caffe's logging, glog, on Python's ``logging``: the line format that
Caffe's and DIGITS' log parsers read, and pycaffe's ``init_log`` and ``log``.

Everything caffelite logs goes through the ``caffelite`` logger. From import
on it behaves as pycaffe's glog does before ``init_log``: every message of
GLOG_minloglevel and above (read from the environment at import, as glog
reads it when the library loads) goes to stderr in glog's format, after
glog's one-line notice. A command line verb or ``init_log`` replaces that
handler; a program that has set up Python logging (handlers on the root
logger) gets the records there instead, once.
"""
import getpass
import logging
import os
import socket
import sys
import threading
import time
import warnings

LOGGER = 'caffelite'
# glog severities 0..3 (INFO, WARNING, ERROR, FATAL) as logging levels.
SEVERITIES = (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
# glog also copies ERROR and above to stderr when it logs to a file.
STDERR_THRESHOLD = logging.ERROR


class GlogFormatter(logging.Formatter):
    """``I1128 19:00:00.123456  4242 solver.py:180] message``, like glog: the
    thread's id (the process id for the main thread) right-aligned in 5."""

    def format(self, record):
        t = time.localtime(record.created)
        micros = int((record.created % 1) * 1e6)
        letter = 'F' if record.levelno >= logging.CRITICAL else record.levelname[0]
        # handlers run in the logging thread, so this is the thread that logged
        return '%s%s %s.%06d %5d %s:%d] %s' % (
            letter, time.strftime('%m%d', t), time.strftime('%H:%M:%S', t),
            micros, threading.get_native_id(), record.filename, record.lineno,
            record.getMessage())


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


def threshold(minloglevel):
    """The logging level of glog's minloglevel (0 INFO .. 3 FATAL; beyond
    clamped)."""
    return SEVERITIES[min(max(int(minloglevel), 0), len(SEVERITIES) - 1)]


# glog's minloglevel as the environment set it when caffelite was imported.
MINLOGLEVEL = _env_int('GLOG_minloglevel', 0)


def ignore_if_warnings_hidden(category):
    """Ignore the Python warnings of ``category`` when MINLOGLEVEL drops
    WARNING lines (2 or more): they repeat one."""
    if threshold(MINLOGLEVEL) > logging.WARNING:
        warnings.filterwarnings('ignore', category=category)


class StderrHandler(logging.Handler):
    """Writes each line to ``sys.stderr`` as it is when the record comes (a
    notebook's or a test's stream, not the one of import time)."""

    def emit(self, record):
        try:
            sys.stderr.write(self.format(record) + '\n')   # line-buffered since Python 3.9
        except Exception:  # logging's own contract: report, never raise
            self.handleError(record)


class BeforeInitHandler(StderrHandler):
    """glog before InitGoogleLogging, as pycaffe is until ``init_log``:
    stderr, the first line preceded by glog's notice. Steps aside while the
    root logger has handlers (the program set up Python logging), to which
    the records propagate."""

    NOTICE = 'WARNING: Logging before InitGoogleLogging() is written to STDERR'

    def __init__(self):
        super().__init__()
        self.noticed = False

    def emit(self, record):
        if logging.getLogger().handlers:
            return
        if not self.noticed:
            self.noticed = True
            sys.stderr.write(self.NOTICE + '\n')
        super().emit(record)


def install_default():
    """Give the caffelite logger pycaffe's default output (module doc);
    returns the logger."""
    logger = logging.getLogger(LOGGER)
    handler = BeforeInitHandler()
    handler.setFormatter(GlogFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(threshold(MINLOGLEVEL))
    logger.propagate = True
    return logger


def init_log(level=None, stderr=None):
    """pycaffe's ``caffe.init_log()``, ``init_log(level)`` and
    ``init_log(level, stderr)``: start Caffe's logging.

    ``level`` is glog's minloglevel (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL);
    with ``stderr`` true messages go to stderr (glog's logtostderr),
    otherwise, as glog does, to a log file (see ``log_file_path``) with
    ERROR and above copied to stderr. A level left out is GLOG_minloglevel
    as it was at import, ``stderr`` left out GLOG_logtostderr.
    Returns the log file path, or None when logging to stderr."""
    if level is None:
        level = MINLOGLEVEL
    if stderr is None:
        stderr = bool(_env_int('GLOG_logtostderr', 0))
    if stderr:
        configure([StderrHandler()], threshold(level))
        return None
    path = log_file_path()
    console = StderrHandler()
    console.setLevel(max(threshold(level), STDERR_THRESHOLD))
    configure([logging.FileHandler(path), console], threshold(level))
    return path


def log(message):
    """pycaffe's ``caffe.log(s)``: ``message`` at INFO through Caffe's log,
    attributed to the caller's file and line."""
    logging.getLogger(LOGGER).info('%s', message, stacklevel=2)


install_default()
