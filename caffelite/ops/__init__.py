"""Named array operations with a NumPy implementation and a CUDA kernel."""
