"""pycaffe's ``caffe.Timer``: Caffe's Timer (util/benchmark.cpp)."""
import logging
import time

from . import backend

log = logging.getLogger('caffelite.timer')


class Timer:
    """``start()``, ``stop()`` and ``ms``, as Caffe's Timer.

    ``start`` does nothing on a running timer and ``stop`` nothing on a
    stopped one; reading ``ms`` stops a running timer, and reads 0 (with a
    warning) on one never started. In CPU mode Caffe reads the clock in
    whole milliseconds, so ``ms`` is truncated as there; in GPU mode the
    device is synchronized at start and stop, so the time covers the work
    queued in between, and keeps its fraction as Caffe's CUDA events do."""

    def __init__(self):
        self._start = self._stop = None
        self.running = False
        self.has_run_at_least_once = False

    def _now(self):
        if backend.mode() == backend.GPU:
            import cupy
            cupy.cuda.Device().synchronize()
        return time.perf_counter()

    def start(self):
        if not self.running:
            self._start = self._now()
            self.running = True
            self.has_run_at_least_once = True

    def stop(self):
        if self.running:
            self._stop = self._now()
            self.running = False

    @property
    def ms(self):
        """Milliseconds between the last start and stop."""
        if not self.has_run_at_least_once:
            log.warning('Timer has never been run before reading time.')
            return 0.0
        self.stop()
        elapsed = (self._stop - self._start) * 1000.0
        if backend.mode() == backend.CPU:
            return float(int(elapsed))
        return elapsed
