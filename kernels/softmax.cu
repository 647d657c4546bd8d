// Softmax over the channel axis of an (outer, channels, inner) array.
// One thread per (outer, inner) position walks its channels: max and
// exp-sum, then normalize (forward), or the dot product of the backward.

KERNEL void softmax_forward(int positions, const float* x, int channels, int inner,
                            float* y) {
  CUDA_KERNEL_LOOP(p, positions) {
    int base = (p / inner) * channels * inner + p % inner;
    // Max and sum of exponentials in one pass (the sum is rescaled whenever
    // the max grows), so x is read twice and y written once.
    float top = -FLT_MAX_, sum = 0.0f;
    for (int c = 0; c < channels; ++c) {
      float v = x[base + c * inner];
      if (v > top) {
        sum *= expf(top - v);
        top = v;
      }
      sum += expf(v - top);
    }
    for (int c = 0; c < channels; ++c) y[base + c * inner] = expf(x[base + c * inner] - top) / sum;
  }
}

KERNEL void softmax_backward(int positions, const float* y, const float* dy,
                             int channels, int inner, float* dx) {
  CUDA_KERNEL_LOOP(p, positions) {
    int base = (p / inner) * channels * inner + p % inner;
    float dot = 0.0f;
    for (int c = 0; c < channels; ++c) {
      int i = base + c * inner;
      dot += dy[i] * y[i];
    }
    for (int c = 0; c < channels; ++c) {
      int i = base + c * inner;
      dx[i] = (dy[i] - dot) * y[i];
    }
  }
}
