"""What a net's blobs will take, checked against the memory the machine
has before they are allocated (blob storage is allocated on first use, so
a net whose shapes are set up has not yet taken it).

The estimate counts every blob's data, the gradients of the blobs and
parameters that backward writes, and leaves out the layers' scratch
buffers, so a net that passes may still need somewhat more.
"""
import os

from . import backend
from .errors import NetError


def available_bytes():
    """Bytes free for new arrays in the current mode: the GPU's free memory,
    or the host's MemAvailable; None when unknown."""
    if backend.mode() == backend.GPU:
        import cupy
        return cupy.cuda.runtime.memGetInfo()[0]
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (ValueError, OSError, AttributeError):
        return None


def blob_bytes(net):
    """Bytes of float32 storage the net's blobs and parameters will use."""
    elements = 0
    for blob, backward in zip(net._blobs, net.blob_need_backward.values()):
        elements += blob.count * (2 if backward else 1)
    for blob in net.learnable_params:
        elements += 2 * blob.count
    return 4 * elements


def size_text(n):
    for unit, scale in (('GB', 1 << 30), ('MB', 1 << 20)):
        if n >= scale:
            return '%.1f %s' % (n / scale, unit)
    return '%d kB' % -(-n // 1024)


def check_fits(net):
    """Raise NetError, with the estimate, when ``net``'s blobs would not
    fit in the memory available."""
    need, free = blob_bytes(net), available_bytes()
    if free is not None and need > free:
        shapes = [blob.shape for blob in net._blobs[:1]]
        raise NetError('%s needs at least %s for its blobs (input %s), more than the '
                       '%s of memory available%s; use a smaller batch or input size'
                       % ("net '%s'" % net.name if net.name else 'the net', size_text(need), shapes[0] if shapes else '()',
                          size_text(free), ' on the GPU' if backend.mode() == backend.GPU
                          else ''))
