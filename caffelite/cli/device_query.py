"""``caffelite device_query``: describe the GPU(s), like ``caffe device_query``."""
import logging

from .. import backend
from ..errors import CaffeError
from ._common import accept_caffe_flags, add_gpu_flag, setup_logging

log = logging.getLogger('caffelite.device_query')


def register(subparsers):
    p = subparsers.add_parser('device_query', help='show GPU diagnostic information')
    add_gpu_flag(p)
    accept_caffe_flags(p)
    p.set_defaults(func=run)


def run(args):
    setup_logging()
    cp = backend.cupy_or_none()
    if cp is None:
        raise CaffeError("no CUDA device to query: caffelite runs in CPU mode here (a GPU "
                         "needs CuPy and an NVIDIA device: pip install 'caffelite[gpu]')")
    ids = range(cp.cuda.runtime.getDeviceCount()) if args.gpu in (None, 'all') else \
        [int(g) for g in args.gpu.split(',')]
    for i in ids:
        props = cp.cuda.runtime.getDeviceProperties(i)
        log.info('Querying GPUs %d', i)
        log.info('Device id:                     %d', i)
        log.info('Major revision number:         %d', props['major'])
        log.info('Minor revision number:         %d', props['minor'])
        log.info('Name:                          %s', props['name'].decode())
        log.info('Total global memory:           %d', props['totalGlobalMem'])
        log.info('Total shared memory per block: %d', props['sharedMemPerBlock'])
        log.info('Warp size:                     %d', props['warpSize'])
        log.info('Maximum threads per block:     %d', props['maxThreadsPerBlock'])
        log.info('Clock rate:                    %d', props['clockRate'])
        log.info('Number of multiprocessors:     %d', props['multiProcessorCount'])
    return 0
