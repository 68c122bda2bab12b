#include "ProbabilisticYin.h"

#include "FftwPlanner.h"
#include "VectorMath.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace audioscore {

namespace {

constexpr int kThresholdCount = 100;  // thresholds 0.01, 0.02, ..., 1.00
// Weight of the global minimum when no trough dips below a threshold (p_a in the paper).
constexpr double kAbsoluteMinimumWeight = 0.01;
constexpr double kBetaAlpha = 2.0;

std::vector<double> thresholdPriorPmf(ThresholdPrior prior) {
    std::vector<double> pmf(kThresholdCount, 0.0);
    auto single = [&](double value) {
        pmf[static_cast<int>(std::lround(value * kThresholdCount)) - 1] = 1.0;
    };
    switch (prior) {
    case ThresholdPrior::Uniform:
        std::fill(pmf.begin(), pmf.end(), 1.0);
        break;
    case ThresholdPrior::Single010: single(0.10); break;
    case ThresholdPrior::Single015: single(0.15); break;
    case ThresholdPrior::Single020: single(0.20); break;
    default: {
        const double mean = prior == ThresholdPrior::BetaMean010 ? 0.10
                          : prior == ThresholdPrior::BetaMean015 ? 0.15 : 0.20;
        const double beta = kBetaAlpha * (1.0 - mean) / mean;
        const double logNorm = std::lgamma(kBetaAlpha + beta) - std::lgamma(kBetaAlpha) - std::lgamma(beta);
        for (int i = 0; i < kThresholdCount; ++i) {
            // Beta density at the centre of each threshold's bin.
            const double s = (i + 0.5) / kThresholdCount;
            pmf[i] = std::exp(logNorm + (kBetaAlpha - 1) * std::log(s) + (beta - 1) * std::log1p(-s));
        }
    }
    }
    double total = 0;
    for (double p : pmf) total += p;
    for (double &p : pmf) p /= total;
    return pmf;
}

// d(tau) from energies and correlation, then d'(tau) = d(tau) * tau / sum_{j<=tau} d(j).
// Float lanes throughout (prefix sums of squares stay double: they cancel).
__attribute__((target_clones("avx2", "default")))
void differenceAndNormalise(const double *squaresPrefix, const float *correlation, int w, float *difference,
                            float *runningSum, float *cmnd) {
    const double energyAtZero = squaresPrefix[w];
    for (int tau = 1; tau < w; ++tau) {
        const float d = static_cast<float>(energyAtZero + (squaresPrefix[tau + w] - squaresPrefix[tau]))
                      - 2.f * correlation[tau];
        difference[tau] = d > 0.f ? d : 0.f;
    }
    float running = 0.f;
#pragma GCC unroll 8
    for (int tau = 1; tau < w; ++tau) runningSum[tau] = (running += difference[tau]);
    cmnd[0] = 1.f;
    // GCC's vector types: it would not vectorise the guarded division itself.
    int tau = 1;
    for (; tau + 8 <= w; tau += 8) {
        const Float8 sum = *reinterpret_cast<const UnalignedFloat8 *>(runningSum + tau);
        const Float8 lag = Float8{0, 1, 2, 3, 4, 5, 6, 7} + static_cast<float>(tau);
        const auto positive = sum > 0.f;
        const Float8 ratio = *reinterpret_cast<const UnalignedFloat8 *>(difference + tau) * lag / (positive ? sum : Float8{} + 1.f);
        *reinterpret_cast<UnalignedFloat8 *>(cmnd + tau) = positive ? ratio : Float8{} + 1.f;
    }
    for (; tau < w; ++tau) {
        const float sum = runningSum[tau];
        cmnd[tau] = sum > 0.f ? difference[tau] * static_cast<float>(tau) / sum : 1.f;
    }
}

// out[i] = x[i]^2 in double (exact) for i < count.
__attribute__((target_clones("avx2", "default")))
void squares(const float *x, int count, double *out) {
    for (int i = 0; i < count; ++i) out[i] = static_cast<double>(x[i]) * x[i];
}

// a[k] *= conj(b[k]) * scale for k < count.
__attribute__((target_clones("avx2", "default")))
void multiplyByConjugate(fftwf_complex *a, const fftwf_complex *b, int count, float scale) {
    for (int k = 0; k < count; ++k) {
        const float ar = a[k][0], ai = a[k][1];
        const float br = b[k][0], bi = -b[k][1];
        a[k][0] = (ar * br - ai * bi) * scale;
        a[k][1] = (ar * bi + ai * br) * scale;
    }
}

// out[i] for i < count: the average of in[i - half, i - half + length) of
// in[0, n), half = length / 2, the window held inside [0, n); running: count
// doubles of scratch. Three passes so that only the double sum itself is
// serial: the float differences, the sum before each step, the scaled floats.
__attribute__((target_clones("avx2", "default")))
void boxcarAverage(const float *in, int n, int length, int count, double *running, float *out) {
    double sum = 0;
    const int half = length / 2, slideFrom = std::min(count, half);
    const int slideTo = std::clamp(n + half - length, slideFrom, count);
    const double scale = 1.0 / length;
    for (int i = 0; i < std::min(n, length); ++i) sum += in[i];
    for (int i = 0; i < slideFrom; ++i) out[i] = static_cast<float>(sum * scale);
    for (int i = slideFrom; i < slideTo; ++i) running[i] = in[i - half + length] - in[i - half];
#pragma GCC unroll 8
    for (int i = slideFrom; i < slideTo; ++i) {
        const double step = running[i];
        running[i] = sum;
        sum += step;
    }
    for (int i = slideFrom; i < slideTo; ++i) out[i] = static_cast<float>(running[i] * scale);
    for (int i = slideTo; i < count; ++i) out[i] = static_cast<float>(sum * scale);
}

// The lags tau in [from, to] where v[tau] < v[tau - 1] and v[tau] <= v[tau + 1],
// in order, to out; returns how many. Eight lags compared at a time: troughs are few.
__attribute__((target_clones("avx2", "default")))
int localMinima(const float *v, int from, int to, int *out) {
    int count = 0, tau = from;
    for (; tau + 7 <= to; tau += 8) {
        const Float8 value = *reinterpret_cast<const UnalignedFloat8 *>(v + tau);
        const Int8 trough = (value < *reinterpret_cast<const UnalignedFloat8 *>(v + tau - 1))
                          & (value <= *reinterpret_cast<const UnalignedFloat8 *>(v + tau + 1));
        if (!anyLane(trough)) continue;
        for (int lane = 0; lane < 8; ++lane)
            if (trough[lane]) out[count++] = tau + lane;
    }
    for (; tau <= to; ++tau)
        if (v[tau] < v[tau - 1] && v[tau] <= v[tau + 1]) out[count++] = tau;
    return count;
}

// Spectrum bins kept for hannPower (4.1 kHz at 44.1 kHz, 2048).
constexpr int kKeptBins = 192;
// A trough is the shoulder of a deeper one at most this factor further in lag.
constexpr float kShoulderRatio = 1.12f;
// Candidates below this are refined on a smoothed waveform (refinePitch):
// stretched partials of low strings pull YIN's period sharp.
constexpr float kRefineBelowHz = 160.f;
// Above it and up to this, only the likeliest candidate is refined, for the notes' pitch
// alone (lastRefined): fluidsynth's piano read 15-26 cents sharp from G3 to A5, where an
// FFT puts its fundamentals within 3 cents. Refining every candidate that high moved the
// pitch track and with it the notes' boundaries (a voice's eighth in a noisy room merged).
constexpr float kRefineNoteBelowHz = 1100.f;
// Lags searched each side of YIN's: this many cents (B = 5e-4 reads 21 cents sharp); for
// the notes' pitch more (fluidsynth's piano F#4 reads 37 cents sharp; at 44.1 kHz, 50 cents
// is at least 3 lags up to 1100 Hz).
constexpr float kRefineCents = 30.f;
constexpr float kRefineNoteCents = 50.f;
constexpr int kRefineSpanMax = 16;
constexpr int kRefineStride = 4;
// Candidates less likely than this are left alone (subharmonics of higher notes, noise).
constexpr float kRefineMinProbability = 0.05f;
// The smoothed waveform must repeat to within this share of its energy.
constexpr float kRefineMaxDifference = 0.2f;
}  // namespace

ProbabilisticYin::ProbabilisticYin(float sampleRate, int blockSize, float minHz, float maxHz,
                                   ThresholdPrior prior)
    : m_sampleRate(sampleRate), m_blockSize(blockSize), m_window(blockSize / 2),
      m_squaresPrefix(blockSize + 1), m_difference(blockSize / 2), m_runningSum(blockSize / 2),
      m_cmnd(blockSize / 2) {
    {
        FftwPlanner lock;
        m_frame = fftwf_alloc_real(blockSize);
        m_kernel = fftwf_alloc_real(blockSize);
        m_correlation = fftwf_alloc_real(blockSize);
        m_spectrum = fftwf_alloc_complex(blockSize / 2 + 1);
        m_kernelSpectrum = fftwf_alloc_complex(blockSize / 2 + 1);
        m_forwardFrame = fftwf_plan_dft_r2c_1d(blockSize, m_frame, m_spectrum, FFTW_ESTIMATE);
        m_forwardKernel = fftwf_plan_dft_r2c_1d(blockSize, m_kernel, m_kernelSpectrum, FFTW_ESTIMATE);
        m_inverse = fftwf_plan_dft_c2r_1d(blockSize, m_spectrum, m_correlation, FFTW_ESTIMATE);
    }
    std::fill(m_kernel, m_kernel + blockSize, 0.f);
    m_minLag = std::max(2, static_cast<int>(std::floor(sampleRate / maxHz)));
    m_maxLag = std::min(m_window - 2, static_cast<int>(std::ceil(sampleRate / minHz)));
    const std::vector<double> pmf = thresholdPriorPmf(prior);
    m_priorCdf.resize(kThresholdCount);
    double running = 0;
    for (int i = 0; i < kThresholdCount; ++i) m_priorCdf[i] = (running += pmf[i]);
}

ProbabilisticYin::~ProbabilisticYin() {
    FftwPlanner lock;
    fftwf_destroy_plan(m_forwardFrame);
    fftwf_destroy_plan(m_forwardKernel);
    fftwf_destroy_plan(m_inverse);
    fftwf_free(m_frame);
    fftwf_free(m_kernel);
    fftwf_free(m_correlation);
    fftwf_free(m_spectrum);
    fftwf_free(m_kernelSpectrum);
}

float ProbabilisticYin::priorMassAtOrBelow(float threshold) const {
    // Mass of thresholds s_i <= threshold, s_i = (i+1)/100.
    const int index = static_cast<int>(std::floor(threshold * kThresholdCount + 1e-6)) - 1;
    if (index < 0) return 0.f;
    return static_cast<float>(m_priorCdf[std::min(index, kThresholdCount - 1)]);
}

void ProbabilisticYin::differenceFunction(const float *frame) {
    // d(tau) = e(0) + e(tau) - 2 r(tau) over a window of W samples, where e
    // comes from a prefix sum of squares and the cross-correlation r from one
    // FFT product instead of O(W^2) sums.
    const int n = m_blockSize, w = m_window;
    // The squares vectorise apart from the serial sum (same order as ever).
    double *prefix = m_squaresPrefix.data();
    prefix[0] = 0;
    squares(frame, n, prefix + 1);
#pragma GCC unroll 8
    for (int i = 1; i <= n; ++i) prefix[i] += prefix[i - 1];
    const double energy = prefix[n];
    m_rms = static_cast<float>(std::sqrt(energy / n));
    std::copy(frame, frame + n, m_frame);
    std::copy(frame, frame + w, m_kernel);

    fftwf_execute(m_forwardFrame);
    const int kept = std::min(kKeptBins, n / 2) + 1;
    m_rawSpectrum.resize(2 * kept);
    for (int k = 0; k < kept; ++k) {
        m_rawSpectrum[2 * k] = m_spectrum[k][0];
        m_rawSpectrum[2 * k + 1] = m_spectrum[k][1];
    }
    fftwf_execute(m_forwardKernel);
    multiplyByConjugate(m_spectrum, m_kernelSpectrum, n / 2 + 1, 1.f / n);  // FFTW's inverse is unnormalised
    fftwf_execute(m_inverse);

    // Difference and normalisation vectorise; only the two prefix sums are serial.
    differenceAndNormalise(m_squaresPrefix.data(), m_correlation, w, m_difference.data(), m_runningSum.data(),
                           m_cmnd.data());
}

void ProbabilisticYin::hannPower(int bins, float *out) const {
    const int kept = static_cast<int>(m_rawSpectrum.size() / 2);
    const int live = std::clamp(kept - 1, 0, bins);  // bins with both neighbours kept
    const float *x = m_rawSpectrum.data();
    // Periodic Hann: X_w[k] = X[k] / 2 - (X[k-1] + X[k+1]) / 4, X[-1] = conj X[1];
    // on the interleaved re, im floats so the loops vectorise.
    float windowed[2 * (kKeptBins + 1)];
    if (live > 0) {
        windowed[0] = 0.5f * x[0] - 0.25f * (x[2] + x[2]);
        windowed[1] = 0.5f * x[1] - 0.25f * (-x[3] + x[3]);
    }
    for (int t = 2; t < 2 * live; ++t) windowed[t] = 0.5f * x[t] - 0.25f * (x[t - 2] + x[t + 2]);
    for (int k = 0; k < live; ++k)
        out[k] = windowed[2 * k] * windowed[2 * k] + windowed[2 * k + 1] * windowed[2 * k + 1];
    for (int k = live; k < bins; ++k) out[k] = 0.f;
}

std::optional<float> ProbabilisticYin::refinePitch(const float *frame, float hz, float cents) {
    // Strings' partials are stretched (f_k = k f0 sqrt(1 + B k^2)), and a
    // bright note's window holds many of them: the best period of the whole
    // waveform is a compromise that reads 10-25 cents sharp of the
    // fundamental. Smoothed by two moving averages of a third of the period
    // (nulls at 3 f0, 6 f0, ...; partial 2 at -15 dB, 4 and up under -27 dB),
    // the waveform's period is that of its first two partials.
    const int n = m_blockSize, w = m_window;
    const float lag = m_sampleRate / hz;
    const int length = std::max(2, static_cast<int>(std::lround(lag / 3.f)));
    const int kRefineSpan = std::clamp(
        static_cast<int>(std::ceil(lag * (1.f - std::exp2(-cents / 1200.f)))) + 1, 2, kRefineSpanMax);
    if (lag + kRefineSpan + 1 >= n - length) return std::nullopt;
    m_smoothed.resize(n);
    m_running.resize(n);
    auto boxcar = [this, n, length](const float *in, float *out, int count) {
        boxcarAverage(in, n, length, count, m_running.data(), out);
    };
    // Only the samples the differences below read: up to the last lag's end.
    const int from = length, to = std::min(w, n - static_cast<int>(lag) - kRefineSpan - 1 - length);
    const int centre = static_cast<int>(std::lround(lag));
    const int needed = std::min(n, to + centre + kRefineSpan + 1);
    m_scratch.resize(n);
    boxcar(frame, m_scratch.data(), std::min(n, needed + length));
    boxcar(m_scratch.data(), m_smoothed.data(), needed);
    // Difference over the window's samples clear of the edges the averages blur.
    if (to - from < lag / 2) return std::nullopt;
    // The smoothed waveform has nothing above about 3 f0 (3.3 kHz at 1100 Hz, under
    // the 5.5 kHz that every kRefineStride-th sample resolves): enough for the sums.
    double energy = 0;
    for (int j = from; j < to; j += kRefineStride) energy += static_cast<double>(m_smoothed[j]) * m_smoothed[j];
    float d[2 * kRefineSpanMax + 1];
    std::fill(d, d + 2 * kRefineSpan + 1, -1.f);
    auto difference = [&](int k) {  // at lag centre + k, computed once
        float &slot = d[k + kRefineSpan];
        if (slot < 0) {
            double sum = 0;
            const float *a = m_smoothed.data(), *b = m_smoothed.data() + centre + k;
            for (int j = from; j < to; j += kRefineStride) {
                const float diff = a[j] - b[j];
                sum += diff * diff;
            }
            slot = static_cast<float>(sum);
        }
        return slot;
    };
    // Walk downhill from YIN's lag (d is smooth near the period: one minimum in the span).
    int k = 0;
    const int step = difference(-1) < difference(0) ? -1 : 1;
    while (std::abs(k + step) < kRefineSpan && difference(k + step) < difference(k)) k += step;
    // Keep YIN's answer unless the smoothed waveform repeats clearly at a lag inside the span.
    if (std::abs(k) >= kRefineSpan - 1 || energy <= 0 || difference(k) > kRefineMaxDifference * 2 * energy) return std::nullopt;
    const int best = k + kRefineSpan;
    difference(k - 1);
    difference(k + 1);
    const float left = d[best - 1], value = d[best], right = d[best + 1];
    const float curvature = left - 2 * value + right;
    const float shift = curvature > 0 ? 0.5f * (left - right) / curvature : 0.f;
    // Stretched partials only ever read sharp: a longer period or none.
    return std::min(hz, m_sampleRate / (centre + best - kRefineSpan + shift));
}

float ProbabilisticYin::analyse(const float *frame, std::vector<PitchCandidate> &out) {
    differenceFunction(frame);
    if (m_rms <= std::numeric_limits<float>::min()) return 0.f;

    // Walk the troughs in order of lag. For a threshold s, YIN picks the first
    // trough whose value is below s, so trough k wins every threshold in
    // (value_k, min of earlier trough values]: its probability is that prior mass.
    float lowestSoFar = std::numeric_limits<float>::infinity();
    float voicedProbability = 0.f;
    int globalMinimumLag = -1;
    float globalMinimum = std::numeric_limits<float>::infinity();
    const auto firstCandidate = out.size();

    m_troughs.clear();
    m_minima.resize(std::max(0, m_maxLag - m_minLag + 1));
    const int minima = localMinima(m_cmnd.data(), m_minLag, m_maxLag, m_minima.data());
    for (int i = 0; i < minima; ++i) {
        const int tau = m_minima[i];
        const float value = m_cmnd[tau];
        if (value < globalMinimum) {
            globalMinimum = value;
            globalMinimumLag = tau;
        }
        // A trough followed closely by a deeper one is that one's shoulder, not
        // a period of its own (a period's rivals are its multiples, far off):
        // with a low note's window holding barely two periods, a shallow dip
        // 5 % short of the period takes every threshold above its depth.
        while (!m_troughs.empty() && tau <= kShoulderRatio * m_troughs.back() && value < m_cmnd[m_troughs.back()])
            m_troughs.pop_back();
        m_troughs.push_back(tau);
    }
    for (int tau : m_troughs) {
        const float value = m_cmnd[tau];
        if (value >= lowestSoFar) continue;
        const float mass = priorMassAtOrBelow(std::min(lowestSoFar, 1.f)) - priorMassAtOrBelow(value);
        lowestSoFar = value;
        if (mass <= 0.f) continue;

        // Parabolic interpolation of the trough for sub-sample lag.
        const float left = m_cmnd[tau - 1], right = m_cmnd[tau + 1];
        const float curvature = left - 2 * value + right;
        const float shift = curvature > 0 ? 0.5f * (left - right) / curvature : 0.f;
        out.push_back({m_sampleRate / (tau + shift), mass});
        voicedProbability += mass;
    }

    m_lastRefined = {0.f, 0.f};
    const PitchCandidate *likeliest = nullptr;
    for (auto i = firstCandidate; i < out.size(); ++i) {
        if (out[i].frequencyHz < kRefineBelowHz && out[i].probability >= kRefineMinProbability)
            out[i].frequencyHz = refinePitch(frame, out[i].frequencyHz, kRefineCents).value_or(out[i].frequencyHz);
        else if (out[i].frequencyHz < kRefineNoteBelowHz && out[i].probability >= kRefineMinProbability
                 && (!likeliest || out[i].probability > likeliest->probability))
            likeliest = &out[i];
    }
    if (likeliest)
        if (const auto refined = refinePitch(frame, likeliest->frequencyHz, kRefineNoteCents))
            m_lastRefined = {likeliest->frequencyHz, *refined};

    // Thresholds below every trough: YIN falls back to the global minimum,
    // which the paper down-weights by p_a.
    if (globalMinimumLag > 0) {
        const float fallback = static_cast<float>(kAbsoluteMinimumWeight) * priorMassAtOrBelow(globalMinimum);
        if (fallback > 0.f) {
            const float hz = m_sampleRate / globalMinimumLag;
            bool merged = false;
            for (auto i = firstCandidate; i < out.size(); ++i) {
                if (std::fabs(out[i].frequencyHz - hz) < 0.02f * hz) {
                    out[i].probability += fallback;
                    merged = true;
                    break;
                }
            }
            if (!merged) out.push_back({hz, fallback});
            voicedProbability += fallback;
        }
    }
    return voicedProbability;
}

}  // namespace audioscore
