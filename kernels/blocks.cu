// Copies and selections between blobs viewed as (outer, dim, inner):
// Concat and Slice move a block of ``block`` rows of the middle axis,
// Eltwise MAX keeps a running maximum and the index of its source.

// dst[o, dst_offset + d, i] = src[o, src_offset + d, i] for d < block.
KERNEL void copy_block(int n, const float* src, int src_dim, int src_offset, float* dst,
                       int dst_dim, int dst_offset, int block, int inner) {
  CUDA_KERNEL_LOOP(index, n) {
    long long i = index % inner;
    long long d = (index / inner) % block;
    long long o = index / ((long long)inner * block);
    dst[(o * dst_dim + dst_offset + d) * inner + i] = src[(o * src_dim + src_offset + d) * inner + i];
  }
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

// Per-channel mean and (biased) variance of x viewed as (outer, channels,
// inner): one thread per channel.
KERNEL void channel_moments(int channels, const float* x, int outer, int inner, float* mean,
                            float* variance) {
  CUDA_KERNEL_LOOP(c, channels) {
    double sum = 0.0, sum_sq = 0.0;
    for (int o = 0; o < outer; ++o) {
      long long base = ((long long)o * channels + c) * inner;
      for (int k = 0; k < inner; ++k) {
        double v = x[base + k];
        sum += v;
        sum_sq += v * v;
      }
    }
    double count = (double)outer * inner;
    double m = sum / count;
    mean[c] = (float)m;
    variance[c] = (float)(sum_sq / count - m * m);
  }
}
