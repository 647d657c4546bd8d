"""Packaging for caffelite. ``pip install .`` installs the package, the
generated protobuf module, the CUDA kernel sources (as caffelite/kernels) and
the model zoo definitions (as caffelite/model_zoo)."""
from setuptools import find_packages, setup

# One extra per feature the README shows; [all] is every one of them but
# the GPU, and [test] is [all] with the test tools.
FEATURES = {
    'draw': ['pydot>=1.4'],
    'plot': ['matplotlib>=3.5'],
    'demo': ['scikit-learn>=1.0'],
    # Detector.detect_selective_search: Felzenszwalb segmentation, colour spaces
    'detect': ['scikit-image>=0.19'],
    # caffelite serve: DIGITS' web app and JSON API (matplotlib: the
    # image-segmentation view's colormaps, applied as DIGITS applies them)
    'serve': ['starlette>=0.37', 'uvicorn>=0.27', 'jinja2>=3.0', 'python-multipart>=0.0.9',
              'matplotlib>=3.5'],
    # caffelite export onnx: the onnx package builds and checks the graph,
    # ONNX Runtime runs it for --check.
    'onnx': ['onnx>=1.14', 'onnxruntime>=1.16'],
    # The course's deploy code resizes with cv2.resize. OpenCV 4: the
    # detection tests compare with cv2.groupRectangles, which OpenCV 5.0's
    # main wheel no longer has.
    'opencv': ['opencv-python-headless>=4.5,<5'],
    # caffelite serve's Sunnybrook datasets: the DICOM images of the medical
    # imaging walkthrough (their contours are filled with OpenCV)
    'medical': ['pydicom>=3.0', 'opencv-python-headless>=4.5,<5'],
}
ALL = sorted({requirement for group in FEATURES.values() for requirement in group})
EXTRAS = dict(
    FEATURES,
    all=ALL,
    # CuPy wheels with NVIDIA's CUDA libraries from PyPI; [gpu] suits any
    # driver for CUDA 12 or newer, [gpu-cuda13] uses CUDA 13's libraries.
    gpu=['cupy-cuda12x[ctk]>=14'],
    **{'gpu-cuda13': ['cupy-cuda13x[ctk]>=14']},
    # the pages' tests drive the system's Chromium (no browser download)
    test=ALL + ['pytest>=7', 'hypothesis>=6', 'grpcio-tools>=1.50', 'httpx>=0.24',
                'playwright>=1.40'],
    # benchmarks/: PyTorch is the peer (install a CPU build first to avoid
    # PyPI's CUDA one), httpx and Playwright drive the server and the pages
    bench=ALL + ['torch>=2.0', 'httpx>=0.24', 'playwright>=1.40'],
)

setup(
    name='caffelite',
    version='0.1.0',
    description='Caffe-compatible deep learning in Python: prototxt, caffemodel, '
                'pycaffe API and the caffe command line, on NumPy and CuPy',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='BSD-2-Clause',
    python_requires='>=3.9',
    packages=find_packages(include=['caffelite', 'caffelite.*'])
    + ['caffelite.kernels', 'caffelite.model_zoo'],
    package_dir={'caffelite.kernels': 'kernels', 'caffelite.model_zoo': 'model_zoo'},
    package_data={'caffelite.kernels': ['*.cu', '*.cuh'],
                  'caffelite.model_zoo': ['manifest.json', '*/*.prototxt'],
                  'caffelite.server': ['templates/*.html', 'templates/*/*.html',
                                       'templates/*/*/*.html', 'templates/*/*/*/*.html',
                                       'static/*']},
    install_requires=[
        'numpy>=1.22',
        # ndimage (selective search)
        'scipy>=1.8',
        # BLAS thread counts inside a Net pass (caffelite.threads)
        'threadpoolctl>=3.0',
        'protobuf>=3.20',
        'Pillow>=9.0',
        'lmdb>=1.0',
        # LevelDB databases (caffelite.databases), leveldb bundled in its wheels
        'plyvel>=1.5',
        'h5py>=3.0',
        'tqdm>=4.0',
    ],
    extras_require=EXTRAS,
    # Caffe's tool programs too, each running its caffelite verb
    # (caffelite.cli.CAFFE_TOOLS)
    entry_points={'console_scripts': ['caffelite=caffelite.cli:main',
                                      'caffe=caffelite.cli:main']
                  + ['%s=caffelite.cli:tool_main' % name for name in (
                      'convert_imageset', 'compute_image_mean', 'extract_features',
                      'upgrade_net_proto_text', 'upgrade_net_proto_binary',
                      'upgrade_solver_proto_text', 'convert_mnist_data',
                      'convert_mnist_siamese_data', 'convert_cifar_data')]},
)
