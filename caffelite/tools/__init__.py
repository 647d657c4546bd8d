"""Dataset tools: Caffe's convert_imageset and compute_image_mean, and
DIGITS-style dataset creation from image folders."""
