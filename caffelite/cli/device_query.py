"""``caffelite device_query``: describe the GPU(s), like ``caffe device_query``.

As Caffe's tool: without ``-gpu`` it logs ``Querying GPUs `` and queries nothing
(exit 0); ``-gpu 0,1`` queries the listed devices and ``-gpu all`` every device.
A listed device that does not exist is one error line (Caffe aborts on a CUDA check).
"""
import logging

from .. import backend
from ..errors import CaffeError
from ._common import (accept_caffe_flags, add_gpu_flag, device_name, parse_gpus,
                      setup_logging)

log = logging.getLogger('caffelite.device_query')

# cudaDevAttrMaxPitch: CuPy's property dict lacks memPitch on CUDA (only HIP has it)
_ATTR_MAX_PITCH = 11


def register(subparsers):
    p = subparsers.add_parser('device_query', help='show GPU diagnostic information')
    add_gpu_flag(p)
    accept_caffe_flags(p)
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    log.info('Querying GPUs %s', args.gpu or '')
    if args.gpu is None:
        return 0
    cp = backend.cupy_or_none()
    if cp is None:
        raise CaffeError("-gpu %s: no CUDA device to query: caffelite runs in CPU mode here "
                         "(a GPU needs CuPy and an NVIDIA device: pip install "
                         "'caffelite[gpu]')" % args.gpu)
    for device in _device_ids(args.gpu, cp.cuda.runtime.getDeviceCount()):
        _log_properties(cp.cuda.runtime, device)
    return 0


def _device_ids(flag, count):
    """The devices ``-gpu`` names, each checked to be below ``count``."""
    ids = parse_gpus(flag)
    for device in ids:
        if not 0 <= device < count:
            raise CaffeError('-gpu %s: there is no GPU %d (this machine has %d CUDA '
                             'device%s: 0..%d)' % (flag, device, count,
                                                   '' if count == 1 else 's', count - 1))
    return ids


def _log_properties(runtime, device):
    """Caffe::DeviceQuery's lines, in its order, for one device."""
    props = runtime.getDeviceProperties(device)
    pitch = props.get('memPitch', None)
    if pitch is None:
        pitch = runtime.deviceGetAttribute(_ATTR_MAX_PITCH, device)
    lines = [
        ('Device id', device),
        ('Major revision number', props['major']),
        ('Minor revision number', props['minor']),
        ('Name', device_name(device, props)),
        ('Total global memory', props['totalGlobalMem']),
        ('Total shared memory per block', props['sharedMemPerBlock']),
        ('Total registers per block', props['regsPerBlock']),
        ('Warp size', props['warpSize']),
        ('Maximum memory pitch', pitch),
        ('Maximum threads per block', props['maxThreadsPerBlock']),
        ('Maximum dimension of block', ', '.join(map(str, props['maxThreadsDim']))),
        ('Maximum dimension of grid', ', '.join(map(str, props['maxGridSize']))),
        ('Clock rate', props['clockRate']),
        ('Total constant memory', props['totalConstMem']),
        ('Texture alignment', props['textureAlignment']),
        ('Concurrent copy and execution', 'Yes' if props['deviceOverlap'] else 'No'),
        ('Number of multiprocessors', props['multiProcessorCount']),
        ('Kernel execution timeout', 'Yes' if props['kernelExecTimeoutEnabled'] else 'No'),
    ]
    for label, value in lines:
        log.info('%-31s%s', label + ':', value)
