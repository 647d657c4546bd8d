"""CPU threads: how many threads each operation of a Net uses, and the
chunks of a large operation spread over them by caffelite itself.

OpenBLAS's own threads synchronize many times inside one GEMM. On a machine
whose cores are busy with other work each of those waits can last a
scheduler time slice: LeNet's GEMMs ran several times slower with two BLAS
threads than with one, a CaffeNet step twice as slow, VGG-16 at batch 1
slower than on one thread. So a Net runs its passes with single-threaded
BLAS (set through threadpoolctl for the pass, then restored), and a layer
chooses per operation, by its size (``lanes``): a small one runs on one
thread, with nothing to hand off; a large one is cut into chunks of
independent items (images of a batch; for a single image, its channels or
the rows of a GEMM), which the calling thread and the pool's workers take
from one counter until none is left. A worker that the machine does not
schedule leaves its share to the others instead of stalling them, and the
only wait is for chunks already begun. That wait is what a busy machine
makes long, so the size from which an operation is shared rises while other
work keeps the cores busy (``busy``: the kernel's count of runnable tasks,
sampled at every Net pass). The load decides only how many threads take
the chunks, not how an operation is cut (``idle_lanes``): OpenBLAS's sums
differ with the shape of the product they are part of, and a seeded run
repeats bit for bit whatever else the machine runs.

``CAFFELITE_THREADS`` sets how many threads share the work (default: the
cores this process may run on).
"""
import concurrent.futures
import contextlib
import itertools
import os
import threading

from . import backend

# Work (in multiply-adds) below which more threads do not pay for the
# hand-off (about 0.3 ms of GEMM). LeNet b64 training step on an idle
# machine (2 cores), 4 x 15 steps: 17.2-19.5 ms with this, 19.3-23.9 with
# 3e7, 19.9-22.7 with 1e8; 1e6 no better.
MIN_SPLIT_MACS = 10 ** 7
# The same while other processes keep the cores busy: only operations of
# many milliseconds are shared. LeNet b64 training step at load ~2.2, 20x5
# alternations: 34.8 ms splitting from 1e8, 26.9 never splitting.
MIN_SPLIT_MACS_BUSY = 10 ** 9
# Weight of the newest sample in the running mean of other runnable tasks.
BUSY_SAMPLE_WEIGHT = 0.25
# Chunks per thread: up to several, so a thread that gets less CPU time
# does fewer; but a chunk keeps at least CHUNK_MACS of work, since smaller
# GEMMs run slower and each chunk costs a hand-off (LeNet b64 conv2 on an
# idle machine, 2 threads: backward 7.6 ms in 8 chunks, 4.5 in 2).
CHUNKS_PER_LANE = 4
CHUNK_MACS = 10 ** 8
# Elementwise work: pieces whose few arrays stay in the cache between the
# NumPy calls on them (512 KB each), and the size from which threads share
# them. Smaller pieces cost more in calls than they gain in cache: paired,
# CaffeNet's solver update 132 ms at 2^15 elements, 81 at 2^17; its ReLU
# backward passes 15.2 -> 12.4 ms.
PIECE = 1 << 17
MIN_SPLIT_ELEMENTS = 1 << 19
# One elementwise operation on a float takes about as long as this many
# multiply-adds of a GEMM (memory against arithmetic).
ELEMENT_MACS = 40
# Work of many passes over a batch (pooling, LRN) runs on parts of the batch
# whose arrays stay in the cache from pass to pass: at most this many
# elements (2 MB of float32) of the largest one. CaffeNet b32 pool1's
# training forward: 105 ms at once, 48-52 ms by parts of 2-4 images (LeNet's
# pool1, 2.9 MB in all: 3 ms at once, 17 ms image by image); paired against
# 4 MB parts, CaffeNet's poolings and LRNs 99.5 -> 90.3 ms a step (8 MB:
# 88 -> 101; 1 MB: 83 -> 86), AlexNet b10 pool1 6.6 -> 5.8.
BLOCK = 1 << 19

_state = threading.local()
_pool = []
_blas = []
_others = [0.0]     # running mean of the runnable tasks besides this thread
LOADAVG = '/proc/loadavg'


def count():
    """Threads that share the work of one operation."""
    env = os.environ.get('CAFFELITE_THREADS')
    if env:
        return max(1, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _blas_libraries():
    """threadpoolctl's controllers of the BLAS libraries loaded (NumPy's
    OpenBLAS, which caffelite's GEMMs call), found once."""
    if not _blas:
        from threadpoolctl import ThreadpoolController
        _blas.append(ThreadpoolController().select(user_api='blas').lib_controllers)
    return _blas[0]


@contextlib.contextmanager
def blas_threads(n):
    """Run the block with ``n`` BLAS threads, then restore the counts it
    found."""
    libraries = _blas_libraries()
    before = [lib.num_threads for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(n)
    try:
        yield
    finally:
        for lib, old in zip(libraries, before):
            lib.set_num_threads(old)


def net_pass():
    """The context of a Net's forward or backward pass: single-threaded
    BLAS in CPU mode (layers ask for more per operation), then a sample of
    how busy the machine is; nothing on the GPU."""
    if backend.mode() == backend.GPU:
        return contextlib.nullcontext()
    return _host_pass()


@contextlib.contextmanager
def _host_pass():
    with blas_threads(1):
        yield
    # Sampled at the end, when the pass has run a while: at its start, the
    # threads of a program that just ran (PyTorch's spin for a millisecond
    # or more after each call) would still count as other work.
    sample_load()


def _runnable_others():
    """Tasks runnable now besides this thread (Linux's /proc/loadavg, read
    in a few microseconds); None where it cannot be read."""
    try:
        fd = os.open(LOADAVG, os.O_RDONLY)
        try:
            return int(os.pread(fd, 64, 0).split()[3].split(b'/')[0]) - 1
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        return None


def sample_load():
    """Add the tasks runnable now besides this thread to their running
    mean; where the count cannot be read, nothing changes."""
    running = _runnable_others()
    if running is not None:
        _others[0] += BUSY_SAMPLE_WEIGHT * (running - _others[0])


def _busy_now():
    """Whether other tasks are runnable at this moment on every other core
    caffelite would use. A program that just ran (PyTorch's OpenMP threads
    spin 4-8 ms after each call, and were seen at 20-50 ms) keeps a core
    this way: sharing an operation with it then is slower than one thread
    (a 50 x 500 x 4096 GEMM at once after a PyTorch LeNet step: 3.6 ms on
    two threads, 3.2 on one; 2.0 on two 8 ms later). LeNet b64 training
    step alternating with PyTorch's, 60 rounds: 24.5 ms with this check,
    26.2 without."""
    running = _runnable_others()
    return running is not None and running >= count() - 1


def busy():
    """Whether other work keeps the cores caffelite would share an
    operation over busy: on average, runnable tasks besides this thread for
    at least three quarters of the other cores."""
    return _others[0] >= 0.75 * (count() - 1)


def idle_lanes(macs, items):
    """The threads ``lanes`` gives an operation on an idle machine: a
    partition cut for them depends on the operation's size and count()
    alone, not on the load (a sum over its chunks then repeats bit for bit
    from run to run)."""
    return 1 if macs < MIN_SPLIT_MACS else max(1, min(count(), items))


def lanes(macs, items):
    """How many threads should share an operation of ``macs``
    multiply-adds over ``items`` independent items: one when it is small,
    and for a busy machine (on average, or at this moment), larger."""
    if macs < MIN_SPLIT_MACS_BUSY and (busy() or _busy_now()):
        return 1
    return idle_lanes(macs, items)


def parts(lanes, items, macs):
    """How many chunks ``lanes`` threads should cut ``items`` into, for an
    operation of ``macs`` multiply-adds: one per lane at least, more (up to
    CHUNKS_PER_LANE each) while every chunk keeps CHUNK_MACS of work."""
    if lanes == 1:
        return 1
    return min(items, max(lanes, min(CHUNKS_PER_LANE * lanes, macs // CHUNK_MACS)))


def slices(length, parts):
    """``parts`` slices of nearly equal size that cover range(length)."""
    bounds = [length * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def _executor():
    """The pool of worker threads, made at first use in this process (a
    forked child has none of its parent's threads, so it makes its own)."""
    if not _pool or _pool[0][0] != os.getpid():
        _pool[:] = [(os.getpid(), concurrent.futures.ThreadPoolExecutor(
            max(1, count() - 1), thread_name_prefix='caffelite'))]
    return _pool[0][1]


def run_chunks(fn, chunks, lanes):
    """Call ``fn(chunk, lane)`` for every chunk in ``range(chunks)``, spread
    over the calling thread (lane 0) and up to ``lanes - 1`` pool workers
    (lanes 1, 2...): each lane takes the next chunk number until none is
    left. ``lane`` names the per-thread scratch a chunk may use. Exceptions
    reach the caller."""
    lanes = min(lanes, chunks)
    if lanes <= 1 or getattr(_state, 'in_chunk', False):
        for chunk in range(chunks):
            fn(chunk, 0)
        return
    numbers = itertools.count()     # next() is atomic under the GIL

    def lane(index):
        _state.in_chunk = True
        try:
            chunk = next(numbers)
            while chunk < chunks:
                fn(chunk, index)
                chunk = next(numbers)
        finally:
            _state.in_chunk = False

    futures = [_executor().submit(lane, i) for i in range(1, lanes)]
    try:
        lane(0)
    finally:
        # A lane that never started (its worker busy elsewhere) is dropped;
        # every other is done before the caller goes on (or raises).
        for future in futures:
            future.cancel()
        concurrent.futures.wait(futures)
    for future in futures:
        if not future.cancelled():
            future.result()


class OrderedSum:
    """total += the results of chunks 0, 1, 2... in chunk order, whichever
    lane finishes which chunk first, so that the float sum does not depend
    on the threads' timing. A chunk's result waits (held here) only until
    the chunks before it are in; ``None`` marks a chunk that added into
    the total itself (chunk 0 may: nothing else touches the total before
    it is done)."""

    def __init__(self, total):
        self.total = total
        self._next = 0
        self._waiting = {}
        self._lock = threading.Lock()

    def done(self, chunk, result):
        """Chunk ``chunk`` is finished with ``result`` (or None)."""
        with self._lock:
            self._waiting[chunk] = result
            while self._next in self._waiting:
                result = self._waiting.pop(self._next)
                if result is not None:
                    self.total += result
                self._next += 1


def over_elements(size, fn):
    """fn(slice) over cache-sized pieces of range(size), for elementwise
    work on flat arrays: the temporaries of a NumPy expression on a piece
    stay in the cache, and threads share the pieces when ``size`` is large."""
    pieces = slices(size, max(1, -(-size // PIECE)))
    lanes = count() if size >= MIN_SPLIT_ELEMENTS else 1
    run_chunks(lambda i, lane: fn(pieces[i]), len(pieces), lanes)


def over_batch(num, elements, fn, size=0):
    """fn(slice) over parts of a batch of ``num`` images, for an operation
    of about ``elements`` elementwise operations in all whose largest array
    holds ``size`` elements: parts of at most BLOCK elements of it, which
    threads share when the work is large, in a multiple of their number
    where the batch allows (AlexNet b10 pool1, norm1, norm2: 3 parts on 2
    threads, one lane idle for the last; in 4, 5-13% less time each)."""
    macs = elements * ELEMENT_MACS
    shared = lanes(macs, num)
    count = max(parts(shared, num, macs), min(num, -(-size // BLOCK)))
    pieces = slices(num, min(num, -(-count // shared) * shared))
    run_chunks(lambda i, lane: fn(pieces[i]), len(pieces), shared)
