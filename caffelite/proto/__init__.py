"""Generated protobuf bindings for Caffe\x27s schema."""
