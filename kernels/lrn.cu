// Cross-channel LRN. One thread per (n, pixel); each channel's window is
// summed directly (a running add/subtract along the channels would lose
// precision to cancellation, as Caffe's GPU version does).

// Fills the scale k + alpha/size * (sum of squares over the window) and,
// from it, the output x * scale^-beta: one pass over x.
KERNEL void lrn_forward(int positions, const float* x, int channels, int spatial,
                        int size, float alpha_over_size, float k, float negative_beta,
                        float* scale, float* y) {
  CUDA_KERNEL_LOOP(p, positions) {
    int base = (p / spatial) * channels * spatial + p % spatial;
    int pre = (size - 1) / 2;
    for (int c = 0; c < channels; ++c) {
      float accum = 0.0f;
      int first = max(c - pre, 0), last = min(c - pre + size, channels);
      for (int j = first; j < last; ++j) {
        float v = x[base + j * spatial];
        accum += v * v;
      }
      int i = base + c * spatial;
      scale[i] = k + alpha_over_size * accum;
      y[i] = x[i] * powf(scale[i], negative_beta);
    }
  }
}

// dx = dy * scale^-beta - cache_ratio * x * sum over the channels j whose
// window holds c of dy_j * y_j / scale_j.
KERNEL void lrn_compute_diff(int positions, const float* x, const float* y,
                             const float* scale, const float* dy, int channels,
                             int spatial, int size, float negative_beta,
                             float cache_ratio, float* dx) {
  CUDA_KERNEL_LOOP(p, positions) {
    int base = (p / spatial) * channels * spatial + p % spatial;
    int pre = (size - 1) / 2, post = size - 1 - pre;
    for (int c = 0; c < channels; ++c) {
      float accum = 0.0f;
      int first = max(c - post, 0), last = min(c + pre + 1, channels);
      for (int j = first; j < last; ++j) {
        int i = base + j * spatial;
        accum += dy[i] * y[i] / scale[i];
      }
      int i = base + c * spatial;
      dx[i] = dy[i] * powf(scale[i], negative_beta) - cache_ratio * x[i] * accum;
    }
  }
}
