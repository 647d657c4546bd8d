// Elementwise neuron layers, forward and backward, one thread per element.

DEVICE float sigmoid_of(float x) { return 0.5f * tanhf(0.5f * x) + 0.5f; }

KERNEL void relu_forward(int n, const float* x, float slope, float* y) {
  CUDA_KERNEL_LOOP(i, n) { y[i] = x[i] > 0 ? x[i] : x[i] * slope; }
}

// ``sign_source`` is x, or y when the slope is >= 0 (same sign, so in-place
// use needs no copy of x).
KERNEL void relu_backward(int n, const float* sign_source, const float* dy, float slope,
                          float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[i] = dy[i] * (sign_source[i] > 0 ? 1.0f : slope); }
}

KERNEL void sigmoid_forward(int n, const float* x, float* y) {
  CUDA_KERNEL_LOOP(i, n) { y[i] = sigmoid_of(x[i]); }
}

KERNEL void sigmoid_backward(int n, const float* y, const float* dy, float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[i] = dy[i] * y[i] * (1.0f - y[i]); }
}

KERNEL void tanh_forward(int n, const float* x, float* y) {
  CUDA_KERNEL_LOOP(i, n) { y[i] = tanhf(x[i]); }
}

KERNEL void tanh_backward(int n, const float* y, const float* dy, float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[i] = dy[i] * (1.0f - y[i] * y[i]); }
}

KERNEL void elu_forward(int n, const float* x, float alpha, float* y) {
  CUDA_KERNEL_LOOP(i, n) { y[i] = x[i] > 0 ? x[i] : alpha * (expf(x[i]) - 1.0f); }
}

KERNEL void elu_backward(int n, const float* x, const float* y, const float* dy, float alpha,
                         float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[i] = dy[i] * (x[i] > 0 ? 1.0f : y[i] + alpha); }
}

// PReLU over (outer, channels, inner); ``shared`` uses slope[0] everywhere.
KERNEL void prelu_forward(int n, const float* x, const float* slope, int channels, int inner,
                          int shared, float* y) {
  CUDA_KERNEL_LOOP(i, n) {
    int c = shared ? 0 : (i / inner) % channels;
    y[i] = x[i] > 0 ? x[i] : x[i] * slope[c];
  }
}

KERNEL void prelu_backward(int n, const float* x, const float* dy, const float* slope,
                           int channels, int inner, int shared, float* dx) {
  CUDA_KERNEL_LOOP(i, n) {
    int c = shared ? 0 : (i / inner) % channels;
    dx[i] = dy[i] * (x[i] > 0 ? 1.0f : slope[c]);
  }
}

// Partial sums of dy * x over the x <= 0 of each channel, laid out as
// channel_partial_sums (blocks.cu): thread (c, lane) takes k = lane (mod
// lanes) of every (o, c, k); the caller adds up each channel's lanes.
KERNEL void prelu_slope_partial(int count, const float* x, const float* dy, int channels,
                                int outer, int inner, int lanes, float* partial) {
  CUDA_KERNEL_LOOP(t, count) {
    int c = t / lanes, lane = t % lanes;
    float sum = 0.0f;
    for (int o = 0; o < outer; ++o) {
      int row = (o * channels + c) * inner;
      for (int k = lane; k < inner; k += lanes) {
        float v = x[row + k];
        if (v <= 0) sum += dy[row + k] * v;
      }
    }
    partial[t] = sum;
  }
}

// Dropout with a precomputed uniform draw: keep where draw >= ratio.
KERNEL void dropout_forward(int n, const float* x, const float* draw, float ratio,
                            float scale, float* mask, float* y) {
  CUDA_KERNEL_LOOP(i, n) {
    mask[i] = draw[i] >= ratio ? scale : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

KERNEL void scale_by_mask(int n, const float* dy, const float* mask, float* dx) {
  CUDA_KERNEL_LOOP(i, n) { dx[i] = dy[i] * mask[i]; }
}
