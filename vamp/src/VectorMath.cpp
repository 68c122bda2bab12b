#include "VectorMath.h"

#include <algorithm>
#include <limits>

namespace audioscore {

__attribute__((target_clones("avx2", "default")))
void multiply(const float *a, const float *b, int count, float *out) {
    for (int i = 0; i < count; ++i) out[i] = a[i] * b[i];
}

__attribute__((target_clones("avx2", "default")))
float largest(const float *values, int count) {
    Float8 lanes = Float8{} - std::numeric_limits<float>::infinity();
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        const Float8 v = *reinterpret_cast<const UnalignedFloat8 *>(values + i);
        lanes = v > lanes ? v : lanes;
    }
    float peak = -std::numeric_limits<float>::infinity();
    for (int k = 0; k < 8; ++k) peak = std::max(peak, lanes[k]);
    for (; i < count; ++i) peak = std::max(peak, values[i]);
    return peak;
}

__attribute__((target_clones("avx2", "default")))
int firstLargest(const float *values, int count) {
    const float peak = largest(values, count);
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        if (anyLane(*reinterpret_cast<const UnalignedFloat8 *>(values + i) == peak)) break;
    }
    while (i < count - 1 && values[i] != peak) ++i;
    return i;
}

__attribute__((target_clones("avx2", "default")))
int firstAbove(const float *values, int from, int count, float limit) {
    int i = from;
    for (; i + 8 <= count; i += 8) {
        if (anyLane(*reinterpret_cast<const UnalignedFloat8 *>(values + i) > limit)) break;
    }
    for (; i < count; ++i)
        if (values[i] > limit) return i;
    return count;
}

}  // namespace audioscore
