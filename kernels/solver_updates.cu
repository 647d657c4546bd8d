// The six solver update rules, fused: one pass over each parameter's
// gradient g (updated in place to the step to subtract) and its history.

KERNEL void sgd_update(int n, float* g, float* h, float momentum, float local_rate) {
  CUDA_KERNEL_LOOP(i, n) {
    g[i] = h[i] = momentum * h[i] + local_rate * g[i];
  }
}

KERNEL void nesterov_update(int n, float* g, float* h, float momentum, float local_rate) {
  CUDA_KERNEL_LOOP(i, n) {
    float previous = h[i];
    float current = h[i] = momentum * previous + local_rate * g[i];
    g[i] = (1 + momentum) * current - momentum * previous;
  }
}

KERNEL void adagrad_update(int n, float* g, float* h, float delta, float local_rate) {
  CUDA_KERNEL_LOOP(i, n) {
    float gi = g[i];
    float hi = h[i] = h[i] + gi * gi;
    g[i] = local_rate * gi / (sqrtf(hi) + delta);
  }
}

KERNEL void rmsprop_update(int n, float* g, float* h, float rms_decay, float delta,
                           float local_rate) {
  CUDA_KERNEL_LOOP(i, n) {
    float gi = g[i];
    float hi = h[i] = rms_decay * h[i] + (1 - rms_decay) * gi * gi;
    g[i] = local_rate * gi / (sqrtf(hi) + delta);
  }
}

KERNEL void adadelta_update(int n, float* g, float* h, float* h2, float momentum,
                            float delta, float local_rate) {
  CUDA_KERNEL_LOOP(i, n) {
    float gi = g[i];
    float hi = h[i] = momentum * h[i] + (1 - momentum) * gi * gi;
    gi = gi * sqrtf((h2[i] + delta) / (hi + delta));
    h2[i] = momentum * h2[i] + (1 - momentum) * gi * gi;
    g[i] = local_rate * gi;
  }
}

KERNEL void adam_update(int n, float* g, float* m, float* v, float beta1, float beta2,
                        float eps_hat, float corrected_rate) {
  CUDA_KERNEL_LOOP(i, n) {
    float gi = g[i];
    float mi = m[i] = m[i] * beta1 + gi * (1 - beta1);
    float vi = v[i] = v[i] * beta2 + gi * gi * (1 - beta2);
    g[i] = corrected_rate * mi / (sqrtf(vi) + eps_hat);
  }
}
