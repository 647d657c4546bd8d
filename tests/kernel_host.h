/* Host meaning of the kernel vocabulary: compiles kernels/*.cu as plain C++
 * so tests can run each kernel serially and compare it with NumPy. */
#include <math.h>
#include <algorithm>
using std::max;
using std::min;

#define KERNEL extern "C"
#define DEVICE static inline
#define CUDA_KERNEL_LOOP(i, n) for (int i = 0; i < (n); ++i)
#define FLT_MAX_ 3.402823466e+38f

/* Serial execution makes read-modify-write atomics plain updates. */
static inline float atomicAdd(float *address, float value) {
  float old = *address;
  *address = old + value;
  return old;
}
