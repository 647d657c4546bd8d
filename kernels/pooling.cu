// 2-D max and average pooling with Caffe's window rules; planes = N*C.
// Forward: one thread per output. Backward: one thread per input pixel,
// gathering from every window that covers it (no atomics).

KERNEL void max_pool_forward(int count, const float* x, int planes, int h, int w,
                             int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw,
                             float* top, int* mask) {
  CUDA_KERNEL_LOOP(index, count) {
    int ox = index % ow;
    int oy = (index / ow) % oh;
    int plane = index / (ow * oh);
    int y0 = oy * sh - ph, x0 = ox * sw - pw;
    int y1 = min(y0 + kh, h), x1 = min(x0 + kw, w);
    y0 = max(y0, 0);
    x0 = max(x0, 0);
    const float* src = x + plane * h * w;
    float best = -FLT_MAX_;
    int where = -1;
    for (int y = y0; y < y1; ++y) {
      for (int xx = x0; xx < x1; ++xx) {
        if (src[y * w + xx] > best) {
          best = src[y * w + xx];
          where = y * w + xx;
        }
      }
    }
    top[index] = best;
    mask[index] = where;
  }
}

KERNEL void max_pool_backward(int count, const float* dy, const int* mask, int planes,
                              int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                              int ph, int pw, float* dx) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = index % w;
    int y = (index / w) % h;
    int plane = index / (w * h);
    int oy0 = (y + ph < kh) ? 0 : (y + ph - kh) / sh + 1;
    int oy1 = min((y + ph) / sh + 1, oh);
    int ox0 = (xx + pw < kw) ? 0 : (xx + pw - kw) / sw + 1;
    int ox1 = min((xx + pw) / sw + 1, ow);
    int self = y * w + xx;
    const float* g = dy + plane * oh * ow;
    const int* m = mask + plane * oh * ow;
    float sum = 0.0f;
    for (int oy = oy0; oy < oy1; ++oy)
      for (int ox = ox0; ox < ox1; ++ox)
        if (m[oy * ow + ox] == self) sum += g[oy * ow + ox];
    dx[index] = sum;
  }
}

KERNEL void ave_pool_forward(int count, const float* x, int planes, int h, int w,
                             int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw,
                             float* top, float* unused) {
  CUDA_KERNEL_LOOP(index, count) {
    int ox = index % ow;
    int oy = (index / ow) % oh;
    int plane = index / (ow * oh);
    int y0 = oy * sh - ph, x0 = ox * sw - pw;
    int y1 = min(y0 + kh, h + ph), x1 = min(x0 + kw, w + pw);
    float size = (float)((y1 - y0) * (x1 - x0));
    y0 = max(y0, 0);
    x0 = max(x0, 0);
    y1 = min(y1, h);
    x1 = min(x1, w);
    const float* src = x + plane * h * w;
    float sum = 0.0f;
    for (int y = y0; y < y1; ++y)
      for (int xx = x0; xx < x1; ++xx) sum += src[y * w + xx];
    top[index] = sum / size;
  }
}

KERNEL void ave_pool_backward(int count, const float* dy, const float* unused, int planes,
                              int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                              int ph, int pw, float* dx) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = index % w + pw;
    int y = (index / w) % h + ph;
    int plane = index / (w * h);
    int oy0 = (y < kh) ? 0 : (y - kh) / sh + 1;
    int oy1 = min(y / sh + 1, oh);
    int ox0 = (xx < kw) ? 0 : (xx - kw) / sw + 1;
    int ox1 = min(xx / sw + 1, ow);
    const float* g = dy + plane * oh * ow;
    float sum = 0.0f;
    for (int oy = oy0; oy < oy1; ++oy) {
      for (int ox = ox0; ox < ox1; ++ox) {
        int y0 = oy * sh - ph, x0 = ox * sw - pw;
        int size = (min(y0 + kh, h + ph) - y0) * (min(x0 + kw, w + pw) - x0);
        sum += g[oy * ow + ox] / size;
      }
    }
    dx[index] = sum;
  }
}
