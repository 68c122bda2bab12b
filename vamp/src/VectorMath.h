// Element-wise loops several modules share, with an AVX2 clone where the CPU has it.
#pragma once

namespace audioscore {

// out[i] = a[i] * b[i] for i < count (a window applied to samples).
void multiply(const float *a, const float *b, int count, float *out);

// The first i in [from, count) with values[i] > limit, or count.
int firstAbove(const float *values, int from, int count, float limit);

}  // namespace audioscore
