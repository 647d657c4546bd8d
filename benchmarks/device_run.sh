#!/usr/bin/env bash
# The one command of a GPU device session (issue #6): the GPU tests, the
# kernel compile check and the GPU benchmarks, each log written to $OUT.
#
# Prepare on the workstation, from the repository root:
#   printf '/.whl/\n/.ref/\n' >> .git/info/exclude
#   cp -r ../shared/reference .ref      # Caffe's reference cases (59 MB)
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_17_x86_64 -d .whl lmdb plyvel threadpoolctl tqdm
# then run `bash benchmarks/device_run.sh` with carry [".whl", ".ref"].
# The wheels are setup.py's requirements the device image may lack (any
# LMDB read imports plyvel too, a CPU Net pass threadpoolctl): the image
# already has CuPy, NumPy, protobuf, Pillow, h5py, pytest, hypothesis and
# PyTorch; caffelite runs from the checkout (no install).
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G '.whl/*.whl' > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl &&
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
[ -d .ref ] && export CAFFELITE_REFERENCE="$PWD/.ref"

{ nvidia-smi; python3 -c 'import cupy, numpy, torch; print("cupy", cupy.__version__,
"numpy", numpy.__version__, "torch", torch.__version__)'; } > "$OUT/env.txt" 2>&1

(cd tests && timeout 300 python3 -m pytest -q -rfE -p no:cacheprovider --maxfail 30 \
  test_gpu.py kernels) 2>&1 | tee "$OUT/gpu_tests.log" | tail -40

timeout 240 python3 benchmarks/bench_gpu.py --repeats 10 --json "$OUT/bench_gpu.json" 2>&1 |
  tee "$OUT/bench_gpu.log"
