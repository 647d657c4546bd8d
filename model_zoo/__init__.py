"""Prototxt definitions of well-known Caffe models, and their manifest."""
