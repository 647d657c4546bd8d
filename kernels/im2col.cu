// im2col / col2im for 2-D convolution over a whole batch
// (caffelite/ops/im2col.py). cols is (C*kh*kw, N*oh*ow): row
// (c*kh + i)*kw + j, column (n*oh + y)*ow + x.

// One thread per (input channel, column): it locates its window once, then
// copies the kh*kw pixels the window reads (0 in padding) down its rows.
// Neighbouring threads hold neighbouring columns, so every write coalesces.
KERNEL void im2col_kernel(int count, const float* x, int num, int channels, int height,
                          int width, int kernel_h, int kernel_w, int stride_h, int stride_w,
                          int pad_h, int pad_w, int dilation_h, int dilation_w, int out_h,
                          int out_w, float* cols) {
  CUDA_KERNEL_LOOP(index, count) {
    int columns = num * out_h * out_w;
    int col = index % columns;
    int ch = index / columns;
    int ox = col % out_w;
    int oy = (col / out_w) % out_h;
    int b = col / (out_w * out_h);
    const float* plane = x + (b * channels + ch) * height * width;
    float* dst = cols + ch * kernel_h * kernel_w * columns + col;
    int y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    for (int i = 0; i < kernel_h; ++i) {
      int y = y0 + i * dilation_h;
      for (int j = 0; j < kernel_w; ++j) {
        int xx = x0 + j * dilation_w;
        *dst = (y >= 0 && y < height && xx >= 0 && xx < width) ? plane[y * width + xx] : 0.0f;
        dst += columns;
      }
    }
  }
}

// One thread per input pixel: gather every cols entry that read it, so no
// atomics are needed.
KERNEL void col2im_kernel(int count, const float* cols, int num, int channels, int height,
                          int width, int kernel_h, int kernel_w, int stride_h, int stride_w,
                          int pad_h, int pad_w, int dilation_h, int dilation_w, int out_h,
                          int out_w, float* x) {
  CUDA_KERNEL_LOOP(index, count) {
    int xx = index % width + pad_w;
    int y = (index / width) % height + pad_h;
    int ch = (index / (width * height)) % channels;
    int b = index / (width * height * channels);
    int columns = num * out_h * out_w;
    const float* image = cols + b * out_h * out_w;
    float sum = 0.0f;
    for (int i = 0; i < kernel_h; ++i) {
      int ty = y - i * dilation_h;
      if (ty < 0 || ty % stride_h) continue;
      int oy = ty / stride_h;
      if (oy >= out_h) continue;
      for (int j = 0; j < kernel_w; ++j) {
        int tx = xx - j * dilation_w;
        if (tx < 0 || tx % stride_w) continue;
        int ox = tx / stride_w;
        if (ox >= out_w) continue;
        sum += image[((ch * kernel_h + i) * kernel_w + j) * columns + oy * out_w + ox];
      }
    }
    x[index] = sum;
  }
}
