"""A background thread that prepares batches ahead of the net, like
Caffe's prefetching data layers.

The thread only holds the batch-making function, never the layer, so a
layer that is garbage collected stops its thread (``weakref.finalize``).
Errors raised while preparing a batch are re-raised in the consumer.
"""
import queue
import threading
import weakref


class Prefetcher:
    """Runs ``produce()`` in a daemon thread, keeping ``depth`` results ready."""

    def __init__(self, owner, produce, depth=4):
        self._queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(produce, self._queue, self._stop),
                                        daemon=True, name='caffelite-prefetch')
        self._thread.start()
        weakref.finalize(owner, self._stop.set)

    @staticmethod
    def _run(produce, out, stop):
        while not stop.is_set():
            try:
                item = (True, produce())
            except Exception as e:  # handed to the consumer, which raises it
                item = (False, e)
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not item[0]:
                return

    def next(self):
        ok, value = self._queue.get()
        if not ok:
            raise value
        return value

    def close(self):
        """Stop the thread and wait for it, so that nothing it was producing
        changes its source any more."""
        self._stop.set()
        self._thread.join()
