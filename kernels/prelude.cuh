// GPU meaning of the kernel vocabulary used by every kernels/*.cu file.
// The host test harness (tests/kernel_host.h) defines the same words for a
// plain C++ compiler, so the kernel bodies are shared verbatim.
#define KERNEL extern "C" __global__
#define DEVICE __device__ __forceinline__

// One logical thread per element, grid-stride so any n fits any grid. The
// index is a 32-bit int: every buffer has fewer than 2^31 elements
// (caffelite.cuda.launch checks), and 64-bit division, which index math is
// full of, costs several times more on the GPU. The step is taken in 64
// bits, so the last one cannot overflow.
#define CUDA_KERNEL_LOOP(i, n)                                                  \
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n);                 \
       i = (int)min((long long)i + (long long)blockDim.x * gridDim.x, (long long)(n)))

#define FLT_MAX_ 3.402823466e+38f
