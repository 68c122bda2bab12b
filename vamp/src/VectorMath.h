// Element-wise loops several modules share, with an AVX2 clone where the CPU has it,
// and the GCC vector types the hand-vectorised loops use (no intrinsics, so the same
// source gives the AVX2 clone and the default one).
#pragma once

#include <cstdint>
#include <cstring>

namespace audioscore {

typedef float Float8 __attribute__((vector_size(32)));
typedef float UnalignedFloat8 __attribute__((vector_size(32), aligned(4)));
typedef int Int8 __attribute__((vector_size(32)));

// Whether any lane of a vector comparison's mask is set.
inline bool anyLane(Int8 mask) {
    uint64_t words[4];
    std::memcpy(words, &mask, sizeof words);
    return (words[0] | words[1] | words[2] | words[3]) != 0;
}

// out[i] = a[i] * b[i] for i < count (a window applied to samples).
void multiply(const float *a, const float *b, int count, float *out);

// The largest of values[0, count) (count > 0), eight lanes at a time: the
// maximum of non-NaN floats does not depend on the order they are taken in.
float largest(const float *values, int count);

// The first i with values[i] equal to the largest of values[0, count), count > 0
// (what a scan keeping the first strictly larger value finds).
int firstLargest(const float *values, int count);

// The first i in [from, count) with values[i] > limit, or count.
int firstAbove(const float *values, int from, int count, float limit);

}  // namespace audioscore
