#include "OnsetDetector.h"

#include "FastMath.h"
#include "FftwPlanner.h"
#include "VectorMath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace audioscore {

namespace {
// Compare with the spectrum this many frames back: with 75% window overlap,
// adjacent frames differ too little to show an attack.
constexpr int kLag = 2;
constexpr float kCompression = 100.f;  // log(1 + C |X|)
// The maximum filter spans about a semitone each side, so vibrato and glides
// (which move upper partials across several linear bins) are not onsets.
constexpr float kMaxFilterRatio = 0.06f;
static_assert(kMaxFilterRatio < 1.f, "process()'s deque needs the filter's window ends to move up with the bin");
// Peak picking windows in frames (about 6 ms each at the default step).
constexpr int kMaxBefore = 3, kMaxAfter = 3, kMeanBefore = 10, kMeanAfter = 4;
// Margin above the local mean: the largest of a floor (in flux units: a new
// partial from silence adds several), a multiple of the median strength and a
// fraction of the loud onsets (99th percentile), over the frames kept and
// those forgotten that discard() says to count.
constexpr float kMarginFloor = 3.f;
constexpr float kMarginPerMedian = 2.f;
constexpr float kMarginOfLoudOnsets = 0.05f;
// A re-attack starts at the last frame this close (dB) to the dip before it.
constexpr float kRiseStartDb = 1.f;

// power[k] = |spectrum[k]|^2 (double) for k in [from, to).
__attribute__((target_clones("avx2", "default")))
void powers(const fftwf_complex *spectrum, int from, int to, double *power) {
    for (int k = from; k < to; ++k)
        power[k] = static_cast<double>(spectrum[k][0]) * spectrum[k][0]
                 + static_cast<double>(spectrum[k][1]) * spectrum[k][1];
}

// out[k] = ln(1 + C |X[k]|) for k in [from, to), from the powers.
__attribute__((target_clones("avx2", "default")))
void compressedMagnitudes(const double *power, int from, int to, float *out) {
    for (int k = from; k < to; ++k)
        out[k] = fastLog1p(kCompression * static_cast<float>(std::sqrt(power[k])));
}
}  // namespace

OnsetDetector::OnsetDetector(float sampleRate, int windowSize, float minHz, float maxHz)
    : m_windowSize(windowSize), m_hann(windowSize) {
    m_firstBin = std::max(1, static_cast<int>(std::ceil(minHz * windowSize / sampleRate)));
    m_bins = std::min(windowSize / 2, static_cast<int>(maxHz * windowSize / sampleRate));
    for (int i = 0; i < windowSize; ++i)
        m_hann[i] = 0.5f - 0.5f * std::cos(2.f * static_cast<float>(M_PI) * i / windowSize);
    m_history.assign(kLag + 1, std::vector<float>(m_bins, 0.f));
    m_reach.resize(m_bins);
    m_power.resize(m_bins);
    m_queue.resize(m_bins);
    for (int k = 0; k < m_bins; ++k) m_reach[k] = std::max(1, static_cast<int>(std::lround(k * kMaxFilterRatio)));
    FftwPlanner lock;
    m_input = fftwf_alloc_real(windowSize);
    m_spectrum = fftwf_alloc_complex(windowSize / 2 + 1);
    m_plan = fftwf_plan_dft_r2c_1d(windowSize, m_input, m_spectrum, FFTW_ESTIMATE);
}

OnsetDetector::~OnsetDetector() {
    FftwPlanner lock;
    fftwf_destroy_plan(m_plan);
    fftwf_free(m_input);
    fftwf_free(m_spectrum);
}

void OnsetDetector::reset() {
    for (auto &spectrum : m_history) std::fill(spectrum.begin(), spectrum.end(), 0.f);
    m_newest = -1;
    m_processed = 0;
    for (auto *frames : {&m_strength, &m_earlierStrength, &m_levelDb}) {
        frames->clear();
        frames->shrink_to_fit();
    }
}

void OnsetDetector::process(const float *window) {
    multiply(window, m_hann.data(), m_windowSize, m_input);
    fftwf_execute(m_plan);

    const int slots = kLag + 1;
    m_newest = (m_newest + 1) % slots;
    std::vector<float> &current = m_history[m_newest];
    // Level over the same band as the flux: a low fundamental would make a
    // short window's energy swing with its phase.
    double *power = m_power.data();
    powers(m_spectrum, m_firstBin, m_bins, power);
    double energy = 0;
#pragma GCC unroll 8
    for (int k = m_firstBin; k < m_bins; ++k) energy += power[k];
    compressedMagnitudes(power, m_firstBin, m_bins, current.data());
    m_levelDb.push_back(static_cast<float>(10.0 * std::log10(energy + 1e-12)));
    float flux = 0.f;
    if (m_processed >= kLag) {  // earlier frames have no spectrum kLag frames back
        const float *past = m_history[(m_newest + 1) % slots].data();  // kLag frames back
        // The maximum over [k - reach, k + reach]: both ends only move up with k
        // (the reach grows by at most one bin a bin), so a deque of indices of
        // decreasing values holds each window's maximum at its front.
        int *queue = m_queue.data();
        int head = 0, tail = 0, last = -1;
        for (int k = m_firstBin; k < m_bins; ++k) {
            const int low = std::max(0, k - m_reach[k]), high = std::min(m_bins - 1, k + m_reach[k]);
            while (last < high) {
                ++last;
                while (tail > head && past[queue[tail - 1]] <= past[last]) --tail;
                queue[tail++] = last;
            }
            while (queue[head] < low) ++head;
            flux += std::max(0.f, current[k] - past[queue[head]]);
        }
    }
    m_strength.push_back(flux);
    m_processed = std::min(m_processed + 1, kLag);
}

void OnsetDetector::discard(int frames, int statisticsFrames) {
    frames = std::min(frames, static_cast<int>(m_strength.size()));
    m_earlierStrength.insert(m_earlierStrength.end(), m_strength.begin(), m_strength.begin() + frames);
    const int excess = static_cast<int>(m_earlierStrength.size()) - statisticsFrames;
    if (excess > 0) m_earlierStrength.erase(m_earlierStrength.begin(), m_earlierStrength.begin() + excess);
    m_strength.erase(m_strength.begin(), m_strength.begin() + frames);
    m_levelDb.erase(m_levelDb.begin(), m_levelDb.begin() + frames);
}

Reattack OnsetDetector::reattack(int noteStart, int frame, int span, float riseDb, float dipDb) const {
    // The note's earlier level and the new attack are peaks, not single frames:
    // beating between close partials swings the level periodically but leaves
    // the peaks equal. The dip between them is the quietest 3-frame mean over
    // the span before the onset: a re-articulation gap of 20-50 ms (a singer's
    // repeated note, a re-tongued sax note) is shorter than the span, so a peak
    // over the span would still hold the previous note's level.
    const int frames = static_cast<int>(m_levelDb.size());
    if (frame - span <= noteStart || frame + 1 >= frames) return {};
    auto peak = [this](int from, int to) {
        return *std::max_element(m_levelDb.begin() + from, m_levelDb.begin() + to);
    };
    auto smoothed = [this](int f) { return (m_levelDb[f - 1] + m_levelDb[f] + m_levelDb[f + 1]) / 3.f; };
    const float earlier = peak(noteStart, frame - span);
    float valley = std::numeric_limits<float>::infinity();
    for (int f = frame - span + 1; f <= frame; ++f) valley = std::min(valley, smoothed(f));
    const float after = peak(frame, std::min(frames, frame + span));
    if (after - valley < riseDb || valley > earlier - dipDb) return {};
    Reattack found;
    found.riseDb = after - valley;
    // The new note starts where the level leaves the dip, not at the flux peak:
    // a compressed or band-limited voice rises for 30-50 ms before its partials
    // change enough to peak the flux.
    found.start = frame;
    for (int f = frame - span + 1; f <= frame; ++f)
        if (smoothed(f) <= valley + kRiseStartDb) found.start = f;
    found.released = found.start;
    while (found.released > frame - span + 1 && smoothed(found.released - 1) <= valley + 0.5f * found.riseDb)
        --found.released;
    return found;
}

std::vector<int> OnsetDetector::peaks(float sensitivity, int minDistance) const {
    std::vector<int> onsets;
    const int frames = static_cast<int>(m_strength.size());
    if (sensitivity <= 0.f || frames == 0) return onsets;

    std::vector<float> sorted(m_earlierStrength);
    sorted.insert(sorted.end(), m_strength.begin(), m_strength.end());
    const int values = static_cast<int>(sorted.size());
    auto percentile = [&sorted, values](float q) {
        auto at = sorted.begin() + std::min(values - 1, static_cast<int>(q * values));
        std::nth_element(sorted.begin(), at, sorted.end());
        return *at;
    };
    const float scale = std::max({kMarginFloor, kMarginPerMedian * percentile(0.5f),
                                  kMarginOfLoudOnsets * percentile(0.99f)});
    // Sensitivity 1 shrinks the default (0.7) margin to 5/8; lower sensitivity widens it.
    const float margin = scale * (1.5f - std::min(sensitivity, 1.f)) / 0.8f;

    for (int f = 0; f < frames; ++f) {
        const float value = m_strength[f];
        bool isMax = true;
        for (int g = std::max(0, f - kMaxBefore); g <= std::min(frames - 1, f + kMaxAfter) && isMax; ++g)
            isMax = m_strength[g] <= value;
        if (!isMax) continue;
        float sum = 0.f;
        int count = 0;
        for (int g = std::max(0, f - kMeanBefore); g <= std::min(frames - 1, f + kMeanAfter); ++g, ++count)
            sum += m_strength[g];
        if (value < sum / count + margin) continue;
        if (!onsets.empty() && f - onsets.back() < minDistance) continue;
        onsets.push_back(f);
    }
    return onsets;
}

}  // namespace audioscore
