// SoftmaxWithLoss and Accuracy (caffelite/ops/classification.py) over
// (outer, channels, inner) scores, one thread per (outer, inner) position;
// labels are float-coded class ids.

KERNEL void softmax_loss_forward(int positions, const float* prob, const float* label,
                                 int channels, int inner, int has_ignore, int ignore_label,
                                 float* loss, float* valid) {
  CUDA_KERNEL_LOOP(p, positions) {
    int l = (int)label[p];
    if (has_ignore && l == ignore_label) {
      loss[p] = 0.0f;
      valid[p] = 0.0f;
    } else {
      float q = prob[((p / inner) * channels + l) * inner + p % inner];
      loss[p] = -logf(fmaxf(q, 1.17549435e-38f));
      valid[p] = 1.0f;
    }
  }
}

// dx = (prob - onehot(label)) * scale, zero at ignored positions.
KERNEL void softmax_loss_backward(int count, const float* prob, const float* label,
                                  int channels, int inner, int has_ignore, int ignore_label,
                                  float scale, float* dx) {
  CUDA_KERNEL_LOOP(index, count) {
    int i = index % inner;
    int c = (index / inner) % channels;
    int o = index / (inner * channels);
    int l = (int)label[o * inner + i];
    if (has_ignore && l == ignore_label) {
      dx[index] = 0.0f;
    } else {
      dx[index] = (prob[index] - (c == l ? 1.0f : 0.0f)) * scale;
    }
  }
}

// correct[p] = 1 when fewer than top_k scores beat (or tie) the true one.
KERNEL void accuracy_forward(int positions, const float* scores, const float* label,
                             int channels, int inner, int top_k, int has_ignore,
                             int ignore_label, float* correct, float* valid) {
  CUDA_KERNEL_LOOP(p, positions) {
    int l = (int)label[p];
    if (has_ignore && l == ignore_label) {
      correct[p] = 0.0f;
      valid[p] = 0.0f;
    } else {
      int base = (p / inner) * channels * inner + p % inner;
      float truth = scores[base + l * inner];
      int better = -1;
      for (int c = 0; c < channels; ++c) better += scores[base + c * inner] >= truth;
      correct[p] = better < top_k ? 1.0f : 0.0f;
      valid[p] = 1.0f;
    }
  }
}
