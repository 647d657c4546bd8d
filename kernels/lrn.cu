// Cross-channel LRN. One thread per (n, pixel) walks the channels keeping a
// running window sum, as Caffe's GPU kernels do.

KERNEL void lrn_fill_scale(int positions, const float* x, int n, int channels, int spatial,
                           int size, float alpha_over_size, float k, float* scale) {
  CUDA_KERNEL_LOOP(p, positions) {
    long long base = (p / spatial) * (long long)channels * spatial + p % spatial;
    int pre = (size - 1) / 2, post = size - 1 - pre;
    float accum = 0.0f;
    // Prime the window with channels [0, post).
    for (int c = 0; c < post && c < channels; ++c) {
      float v = x[base + (long long)c * spatial];
      accum += v * v;
    }
    for (int c = 0; c < channels; ++c) {
      int head = c + post, tail = c - pre - 1;
      if (head < channels) {
        float v = x[base + (long long)head * spatial];
        accum += v * v;
      }
      if (tail >= 0) {
        float v = x[base + (long long)tail * spatial];
        accum -= v * v;
      }
      scale[base + (long long)c * spatial] = k + alpha_over_size * accum;
    }
  }
}

KERNEL void lrn_compute_output(int count, const float* x, const float* scale,
                               float negative_beta, float* y) {
  CUDA_KERNEL_LOOP(i, count) { y[i] = x[i] * powf(scale[i], negative_beta); }
}

KERNEL void lrn_compute_diff(int positions, const float* x, const float* y,
                             const float* scale, const float* dy, int n, int channels,
                             int spatial, int size, float negative_beta,
                             float cache_ratio, float* dx) {
  CUDA_KERNEL_LOOP(p, positions) {
    long long base = (p / spatial) * (long long)channels * spatial + p % spatial;
    int pre = (size - 1) / 2, before = size - 1 - pre;
    float accum = 0.0f;
    for (int c = 0; c < pre && c < channels; ++c) {
      long long i = base + (long long)c * spatial;
      accum += dy[i] * y[i] / scale[i];
    }
    for (int c = 0; c < channels; ++c) {
      int head = c + pre, tail = c - before - 1;
      if (head < channels) {
        long long i = base + (long long)head * spatial;
        accum += dy[i] * y[i] / scale[i];
      }
      if (tail >= 0) {
        long long i = base + (long long)tail * spatial;
        accum -= dy[i] * y[i] / scale[i];
      }
      long long i = base + (long long)c * spatial;
      dx[i] = dy[i] * powf(scale[i], negative_beta) - cache_ratio * x[i] * accum;
    }
  }
}
