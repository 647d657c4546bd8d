// im2col / col2im for 2-D convolution over a whole batch.
// cols is (C*kh*kw, N*oh*ow): row (c*kh + i)*kw + j, column (n*oh + y)*ow + x.

// One thread per (input channel, column): it locates its window once, then
// copies the kh*kw pixels the window reads (0 in padding) down its rows.
// Neighbouring threads hold neighbouring columns, so every write coalesces.
KERNEL void im2col_kernel(int count, const float* x, int n, int c, int h, int w,
                          int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                          int dil_h, int dil_w, int oh, int ow, float* cols) {
  CUDA_KERNEL_LOOP(index, count) {
    int columns = n * oh * ow;
    int col = index % columns;
    int ch = index / columns;
    int ox = col % ow;
    int oy = (col / ow) % oh;
    int b = col / (ow * oh);
    const float* plane = x + (b * c + ch) * h * w;
    float* out = cols + ch * kh * kw * columns + col;
    int y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    for (int i = 0; i < kh; ++i) {
      int y = y0 + i * dil_h;
      for (int j = 0; j < kw; ++j) {
        int xx = x0 + j * dil_w;
        *out = (y >= 0 && y < h && xx >= 0 && xx < w) ? plane[y * w + xx] : 0.0f;
        out += columns;
      }
    }
  }
}

// One thread per input pixel: gather every cols entry that read it, so no
// atomics are needed.
KERNEL void col2im_kernel(int count, const float* cols, int n, int c, int h, int w,
                          int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                          int dil_h, int dil_w, int oh, int ow, float* x) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = index % w + pad_w;
    int y = (index / w) % h + pad_h;
    int ch = (index / (w * h)) % c;
    int b = index / (w * h * c);
    int columns = n * oh * ow;
    const float* image = cols + b * oh * ow;
    float sum = 0.0f;
    for (int i = 0; i < kh; ++i) {
      int ty = y - i * dil_h;
      if (ty < 0 || ty % stride_h) continue;
      int oy = ty / stride_h;
      if (oy >= oh) continue;
      for (int j = 0; j < kw; ++j) {
        int tx = xx - j * dil_w;
        if (tx < 0 || tx % stride_w) continue;
        int ox = tx / stride_w;
        if (ox >= ow) continue;
        sum += image[((ch * kh + i) * kw + j) * columns + oy * ow + ox];
      }
    }
    x[index] = sum;
  }
}
