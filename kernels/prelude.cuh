// GPU meaning of the kernel vocabulary used by every kernels/*.cu file.
// The host test harness (tests/kernel_host.h) defines the same words for a
// plain C++ compiler, so the kernel bodies are shared verbatim.
#define KERNEL extern "C" __global__
#define DEVICE __device__ __forceinline__

// One logical thread per element, grid-stride so any n fits any grid.
#define CUDA_KERNEL_LOOP(i, n)                                        \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; \
       i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

#define FLT_MAX_ 3.402823466e+38f
