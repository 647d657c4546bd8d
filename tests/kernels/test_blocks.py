"""kernels/blocks.cu (copies, Eltwise MAX, channel moments, crops),
compiled for the host and run serially, equals NumPy computations of the
same results; it also compiles for the GPU."""
import numpy as np
from hypothesis import given, settings, strategies as st

import kernel_harness
from caffelite.ops import blocks

f32 = np.float32
SETTINGS = settings(max_examples=20, deadline=None)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4),
       st.integers(0, 2 ** 16))
def test_copy_block(outer, src_dim, dst_dim, inner, seed):
    rng = np.random.RandomState(seed)
    block = min(src_dim, dst_dim)
    src_offset, dst_offset = src_dim - block, dst_dim - block
    src = rng.randn(outer, src_dim, inner).astype(f32)
    dst = np.zeros((outer, dst_dim, inner), f32)
    kernel_harness.call('blocks', 'copy_block', outer * block * inner, src=src, src_dim=src_dim,
                        src_offset=src_offset, dst=dst, dst_dim=dst_dim, dst_offset=dst_offset,
                        block=block, inner=inner)
    expected = np.zeros_like(dst)
    expected[:, dst_offset:] = src[:, src_offset:]
    np.testing.assert_array_equal(dst, expected)


@SETTINGS
@given(st.integers(1, 50), st.integers(2, 4), st.integers(0, 2 ** 16))
def test_eltwise_max(n, bottoms, seed):
    rng = np.random.RandomState(seed)
    xs = [np.round(rng.randn(n), 1).astype(f32) for _ in range(bottoms)]   # ties happen
    top, mask = np.empty(n, f32), np.empty(n, np.int32)
    for i, x in enumerate(xs):
        kernel_harness.call('blocks', 'eltwise_max_step', n, x=x, which=i, top=top, mask=mask)
    stacked = np.stack(xs)
    np.testing.assert_array_equal(top, stacked.max(axis=0))
    np.testing.assert_array_equal(mask, stacked.argmax(axis=0))      # first max wins
    dy = rng.randn(n).astype(f32)
    for i in range(bottoms):
        dx = np.empty(n, f32)
        kernel_harness.call('blocks', 'eltwise_max_backward', n, dy=dy, mask=mask, which=i, dx=dx)
        np.testing.assert_array_equal(dx, np.where(mask == i, dy, 0))


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 9), st.integers(1, 9),
       st.integers(0, 2 ** 16))
def test_channel_partial_sums(outer, channels, inner, lanes, seed):
    lanes = min(lanes, inner)
    x = np.random.RandomState(seed).randn(outer, channels, inner).astype(f32)
    sums, squares = np.empty((2, channels, lanes))
    kernel_harness.call('blocks', 'channel_partial_sums', channels * lanes, x=x,
                        channels=channels, outer=outer, inner=inner, lanes=lanes, sum=sums,
                        sum_sq=squares)
    np.testing.assert_allclose(sums.sum(axis=1), x.sum(axis=(0, 2), dtype=np.float64), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(squares.sum(axis=1), (x.astype(np.float64) ** 2).sum(axis=(0, 2)),
                               rtol=1e-12)


@SETTINGS
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.integers(0, 2 ** 16))
def test_crop_kernels(shape, seed):
    rng = np.random.RandomState(seed)
    starts = [rng.randint(0, d) for d in shape]
    box = tuple(slice(a, a + rng.randint(1, d - a + 1)) for a, d in zip(starts, shape))
    x = rng.randn(*shape).astype(f32)
    geometry = blocks.box_geometry(x.shape, box)
    y = np.empty(x[box].shape, f32)
    kernel_harness.call('blocks', 'crop_forward', y.size, x=x, y=y, **geometry)
    np.testing.assert_array_equal(y, x[box])
    dx = np.zeros(shape, f32)
    kernel_harness.call('blocks', 'crop_backward', y.size, dy=y, dx=dx, **geometry)
    expected = np.zeros(shape, f32)
    expected[box] = x[box]
    np.testing.assert_array_equal(dx, expected)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('blocks', tmp_path)
