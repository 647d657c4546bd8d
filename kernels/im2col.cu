// im2col / col2im for 2-D convolution over a whole batch.
// cols is (C*kh*kw, N*oh*ow): row (c*kh + i)*kw + j, column (n*oh + y)*ow + x.

// One thread per cols element: copy the input pixel it reads (0 in padding).
KERNEL void im2col_kernel(int count, const float* x, int n, int c, int h, int w,
                          int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                          int dil_h, int dil_w, int oh, int ow, float* cols) {
  CUDA_KERNEL_LOOP(index, count) {
    long long columns = (long long)n * oh * ow;
    long long row = index / columns;
    long long col = index % columns;
    int ox = (int)(col % ow);
    int oy = (int)((col / ow) % oh);
    int b = (int)(col / ((long long)ow * oh));
    int j = (int)(row % kw);
    int i = (int)((row / kw) % kh);
    int ch = (int)(row / ((long long)kw * kh));
    int y = oy * stride_h - pad_h + i * dil_h;
    int xx = ox * stride_w - pad_w + j * dil_w;
    cols[index] = (y >= 0 && y < h && xx >= 0 && xx < w)
        ? x[(((long long)b * c + ch) * h + y) * w + xx] : 0.0f;
  }
}

// One thread per input pixel: gather every cols entry that read it, so no
// atomics are needed.
KERNEL void col2im_kernel(int count, const float* cols, int n, int c, int h, int w,
                          int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                          int dil_h, int dil_w, int oh, int ow, float* x) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = (int)(index % w) + pad_w;
    int y = (int)((index / w) % h) + pad_h;
    int ch = (int)((index / ((long long)w * h)) % c);
    int b = (int)(index / ((long long)w * h * c));
    long long columns = (long long)n * oh * ow;
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
        long long row = ((long long)ch * kh + i) * kw + j;
        sum += cols[row * columns + ((long long)b * oh + oy) * ow + ox];
      }
    }
    x[index] = sum;
  }
}
