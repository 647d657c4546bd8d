// 2-D max and average pooling with Caffe's window rules over (N*C) planes
// of height x width (caffelite/ops/pooling.py). Forward: one thread per
// output. Backward: one thread per input pixel, gathering from every window
// that covers it (no atomics).

KERNEL void max_pool_forward(int count, const float* x, int height, int width,
                             int kernel_h, int kernel_w, int stride_h, int stride_w,
                             int pad_h, int pad_w, int out_h, int out_w,
                             float* top, int* mask) {
  CUDA_KERNEL_LOOP(index, count) {
    int ox = index % out_w;
    int oy = (index / out_w) % out_h;
    int plane = index / (out_w * out_h);
    int y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    int y1 = min(y0 + kernel_h, height), x1 = min(x0 + kernel_w, width);
    y0 = max(y0, 0);
    x0 = max(x0, 0);
    const float* src = x + plane * height * width;
    float best = -FLT_MAX_;
    int where = -1;
    for (int y = y0; y < y1; ++y) {
      for (int xx = x0; xx < x1; ++xx) {
        if (src[y * width + xx] > best) {
          best = src[y * width + xx];
          where = y * width + xx;
        }
      }
    }
    top[index] = best;
    mask[index] = where;
  }
}

KERNEL void max_pool_backward(int count, const float* dy, const int* mask, int height,
                              int width, int kernel_h, int kernel_w, int stride_h,
                              int stride_w, int pad_h, int pad_w, int out_h, int out_w,
                              float* dx) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = index % width;
    int y = (index / width) % height;
    int plane = index / (width * height);
    int oy0 = (y + pad_h < kernel_h) ? 0 : (y + pad_h - kernel_h) / stride_h + 1;
    int oy1 = min((y + pad_h) / stride_h + 1, out_h);
    int ox0 = (xx + pad_w < kernel_w) ? 0 : (xx + pad_w - kernel_w) / stride_w + 1;
    int ox1 = min((xx + pad_w) / stride_w + 1, out_w);
    int self = y * width + xx;
    const float* g = dy + plane * out_h * out_w;
    const int* m = mask + plane * out_h * out_w;
    float sum = 0.0f;
    for (int oy = oy0; oy < oy1; ++oy)
      for (int ox = ox0; ox < ox1; ++ox)
        if (m[oy * out_w + ox] == self) sum += g[oy * out_w + ox];
    dx[index] = sum;
  }
}

KERNEL void ave_pool_forward(int count, const float* x, int height, int width,
                             int kernel_h, int kernel_w, int stride_h, int stride_w,
                             int pad_h, int pad_w, int out_h, int out_w, float* top) {
  CUDA_KERNEL_LOOP(index, count) {
    int ox = index % out_w;
    int oy = (index / out_w) % out_h;
    int plane = index / (out_w * out_h);
    int y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    int y1 = min(y0 + kernel_h, height + pad_h), x1 = min(x0 + kernel_w, width + pad_w);
    float size = (float)((y1 - y0) * (x1 - x0));
    y0 = max(y0, 0);
    x0 = max(x0, 0);
    y1 = min(y1, height);
    x1 = min(x1, width);
    const float* src = x + plane * height * width;
    float sum = 0.0f;
    for (int y = y0; y < y1; ++y)
      for (int xx = x0; xx < x1; ++xx) sum += src[y * width + xx];
    top[index] = sum / size;
  }
}

KERNEL void ave_pool_backward(int count, const float* dy, int height, int width,
                              int kernel_h, int kernel_w, int stride_h, int stride_w,
                              int pad_h, int pad_w, int out_h, int out_w, float* dx) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = index % width + pad_w;
    int y = (index / width) % height + pad_h;
    int plane = index / (width * height);
    int oy0 = (y < kernel_h) ? 0 : (y - kernel_h) / stride_h + 1;
    int oy1 = min(y / stride_h + 1, out_h);
    int ox0 = (xx < kernel_w) ? 0 : (xx - kernel_w) / stride_w + 1;
    int ox1 = min(xx / stride_w + 1, out_w);
    const float* g = dy + plane * out_h * out_w;
    float sum = 0.0f;
    for (int oy = oy0; oy < oy1; ++oy) {
      for (int ox = ox0; ox < ox1; ++ox) {
        int y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
        int size = (min(y0 + kernel_h, height + pad_h) - y0)
                   * (min(x0 + kernel_w, width + pad_w) - x0);
        sum += g[oy * out_w + ox] / size;
      }
    }
    dx[index] = sum;
  }
}
