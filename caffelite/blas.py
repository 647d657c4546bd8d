"""Matrix products that accumulate: ``c += op(a) @ op(b)``.

NumPy's matmul can only overwrite its output, so a gradient that adds to
a parameter diff (Caffe's GEMM with beta = 1) needs a temporary as large as
the weights and a second pass over them. The host half calls BLAS's sgemm
with beta = 1 through SciPy instead, on transposed views: a C-ordered
matrix is the Fortran-ordered transpose, so ``c^T += op(b)^T op(a)^T`` runs
on the caller's memory without a copy. The GPU half is matmul and add.
"""
import numpy as np

from .dispatch import op


def _op(m, transposed):
    return m.T if transposed else m


@op
def gemm_accumulate(a, b, c, trans_a=False, trans_b=False):
    """c (C-contiguous float32, (m, n)) += op(a) @ op(b), where op
    transposes when asked; returns c."""
    from scipy.linalg.blas import sgemm
    if not c.flags.c_contiguous or c.dtype != np.float32:
        raise ValueError('gemm_accumulate writes into a C-contiguous float32 array')
    # c.T is Fortran-contiguous float32, so SciPy writes into it in place.
    sgemm(1.0, b.T, a.T, beta=1.0, c=c.T, trans_a=trans_b, trans_b=trans_a, overwrite_c=True)
    return c


@gemm_accumulate.gpu
def gemm_accumulate(a, b, c, trans_a=False, trans_b=False):
    c += _op(a, trans_a) @ _op(b, trans_b)
    return c
