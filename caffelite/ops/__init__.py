"""Named array operations, each with a NumPy half and a GPU half behind the
one dispatcher (caffelite.dispatch). ``ops/<name>.py`` launches only the
kernels of ``kernels/<name>.cu`` (caffelite.cuda.launcher), which
``tests/kernels/test_<name>.py`` checks against the NumPy half."""
