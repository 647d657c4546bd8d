"""Side-by-side timing for benchmarks: runs caffelite and a peer alternately
in one process, reports medians and their ratio, and the BLAS in use.

Machines here are noisy, so only ratios measured in the same run mean
anything; absolute times are printed for context only.
"""
import logging
import os
import platform
import statistics
import time

# A benchmark prints figures: the lines that caffelite logs for every net and
# solver it builds (as pycaffe does: definitions, shapes) would bury them.
for _name in ('caffelite.net', 'caffelite.solver'):
    logging.getLogger(_name).setLevel(logging.WARNING)


def environment():
    """A one-paragraph description of the machine and the BLAS kernels."""
    lines = ['python %s on %s, %d cores' % (platform.python_version(), platform.machine(),
                                            os.cpu_count() or 0)]
    for var in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OMP_NUM_THREADS'):
        lines.append('%s=%s' % (var, os.environ.get(var, '(unset)')))
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            lines.append('%s %s %s (%s threads, %s)' % (
                pool.get('internal_api'), pool.get('version'), pool.get('architecture', ''),
                pool.get('num_threads'), os.path.basename(pool.get('filepath', ''))))
    except ImportError:
        lines.append('threadpoolctl not installed: BLAS kernel unknown')
    return '\n'.join(lines)


def _time_once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(contenders, repeats=5, warmup=1):
    """Time each ``(name, fn)`` alternately; return {name: [seconds...]}."""
    for _, fn in contenders:
        for _ in range(warmup):
            fn()
    times = {name: [] for name, _ in contenders}
    for _ in range(repeats):
        for name, fn in contenders:
            times[name].append(_time_once(fn))
    return times


def report(title, times, unit_count=1, unit='run'):
    """Print medians, throughput and the ratio of each contender to the first."""
    names = list(times)
    medians = {n: statistics.median(times[n]) for n in names}
    print('== %s' % title)
    for n in names:
        print('  %-28s median %9.2f ms   %8.2f %s/s   (%d runs)' % (
            n, medians[n] * 1e3, unit_count / medians[n], unit, len(times[n])))
    base = names[0]
    for n in names[1:]:
        print('  ratio %s / %s time: %.2fx' % (base, n, medians[base] / medians[n]))
    return medians
