#include "VectorMath.h"

#include <cstdint>
#include <cstring>

namespace audioscore {

namespace {
typedef float Float8 __attribute__((vector_size(32)));
typedef float UnalignedFloat8 __attribute__((vector_size(32), aligned(4)));
typedef int Int8 __attribute__((vector_size(32)));
}  // namespace

__attribute__((target_clones("avx2", "default")))
void multiply(const float *a, const float *b, int count, float *out) {
    for (int i = 0; i < count; ++i) out[i] = a[i] * b[i];
}

__attribute__((target_clones("avx2", "default")))
int firstAbove(const float *values, int from, int count, float limit) {
    int i = from;
    for (; i + 8 <= count; i += 8) {
        const Int8 above = *reinterpret_cast<const UnalignedFloat8 *>(values + i) > limit;
        uint64_t words[4];
        std::memcpy(words, &above, sizeof words);
        if ((words[0] | words[1] | words[2] | words[3]) != 0) break;
    }
    for (; i < count; ++i)
        if (values[i] > limit) return i;
    return count;
}

}  // namespace audioscore
