// Copies and selections between blobs viewed as (outer, dim, inner):
// Concat and Slice move a block of ``block`` rows of the middle axis,
// Crop an N-d box, and Eltwise MAX keeps a running maximum and the index of
// its source.

// dst[o, dst_offset + d, i] = src[o, src_offset + d, i] for d < block.
KERNEL void copy_block(int n, const float* src, int src_dim, int src_offset, float* dst,
                       int dst_dim, int dst_offset, int block, int inner) {
  CUDA_KERNEL_LOOP(index, n) {
    int i = index % inner;
    int d = (index / inner) % block;
    int o = index / (inner * block);
    dst[(o * dst_dim + dst_offset + d) * inner + i] = src[(o * src_dim + src_offset + d) * inner + i];
  }
}

// Flat index in the big array of element ``index`` of the box of shape
// ``shape`` (ndim axes) whose first element is at flat ``offset``; the big
// array's element strides are ``strides``.
DEVICE int box_element(int index, const int* shape, const int* strides, int ndim, int offset) {
  for (int d = ndim - 1; d >= 0; --d) {
    offset += (index % shape[d]) * strides[d];
    index /= shape[d];
  }
  return offset;
}

// Crop forward: the box of x -> y (one thread per y element).
KERNEL void crop_forward(int n, const float* x, const int* shape, const int* strides, int ndim,
                         int offset, float* y) {
  CUDA_KERNEL_LOOP(i, n) { y[i] = x[box_element(i, shape, strides, ndim, offset)]; }
}

// Crop backward: dy -> the box of dx (the rest of dx is zeroed first).
KERNEL void crop_backward(int n, const float* dy, const int* shape, const int* strides, int ndim,
                          int offset, float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[box_element(i, shape, strides, ndim, offset)] = dy[i]; }
}

// Fold bottom ``which`` into the running maximum (strictly greater wins,
// so the first bottom keeps ties, as in Caffe).
KERNEL void eltwise_max_step(int n, const float* x, int which, float* top, int* mask) {
  CUDA_KERNEL_LOOP(i, n) {
    if (which == 0 || x[i] > top[i]) {
      top[i] = x[i];
      mask[i] = which;
    }
  }
}

KERNEL void eltwise_max_backward(int n, const float* dy, const int* mask, int which,
                                 float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[i] = mask[i] == which ? dy[i] : 0.0f; }
}

// Per-channel sums and sums of squares of x viewed as (outer, channels,
// inner), for the BatchNorm statistics, as partial sums: thread (c, lane)
// takes every x[o, c, k] with k = lane (mod lanes), so neighbouring lanes
// read neighbouring addresses and channels * lanes threads share the work.
// The caller adds up each channel's lanes.
KERNEL void channel_partial_sums(int count, const float* x, int channels, int outer, int inner,
                                 int lanes, double* sum, double* sum_sq) {
  CUDA_KERNEL_LOOP(t, count) {
    int c = t / lanes, lane = t % lanes;
    double s = 0.0, q = 0.0;
    for (int o = 0; o < outer; ++o) {
      const float* row = x + (o * channels + c) * inner;
      for (int k = lane; k < inner; k += lanes) {
        double v = row[k];
        s += v;
        q += v * v;
      }
    }
    sum[t] = s;
    sum_sq[t] = q;
  }
}
