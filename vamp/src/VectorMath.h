// Element-wise loops several modules share, with an AVX2 clone where the CPU has it.
#pragma once

namespace audioscore {

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
