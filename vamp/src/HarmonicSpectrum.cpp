#include "HarmonicSpectrum.h"

#include "FastMath.h"

#include <algorithm>
#include <cmath>

namespace audioscore {

namespace {
// Harmonics from this band: above, partials are weak and inharmonic.
constexpr float kHarmonicMinHz = 60.f, kHarmonicMaxHz = 4000.f;
constexpr int kMaxHarmonics = 12;
// A harmonic closer than this (in spectrum bins) to one of the previous
// note's is not resolved from it: a Hann window's main lobe spans +-2 bins, so
// the previous note's partial leaks into it. A semitone or whole tone apart,
// the low partials of notes under ~400 Hz are that close (a relative
// tolerance only caught coinciding ones), and their leakage, decaying with the
// previous note, hid a legato note's rise (cello_ballad F1 0.18 -> 0.67;
// 2 bins cost contrabass and bassoon a note each).
constexpr float kResolveBins = 2.5f;
// A slow attack starts where its harmonics' amplitude first stays above this
// share of its peak (-16 dB). Measured on tests/realistic.py: 0.15 beats 0.08,
// 0.22 and 0.3 (note F1 0.817 against 0.803-0.808);
// a line through the 20-80 % rise taken back to zero lands 100+ ms early
// (the attacks are not linear and reverb fills in under them).
constexpr float kAttackFloor = 0.15f;
constexpr float kAttackTop = 0.8f;
// 9 dB. On tests/realistic.py 0.3-0.45 score the same (all-28 note F1 0.895 -> 0.906:
// choir_ballad 0.71 -> 0.84, strings_waltz 0.77 -> 0.82, voice_ballad_flat 0.94 -> 0.91).
constexpr float kAttackLeastRise = 0.35f;
constexpr float kSameNoteOctaves = 0.5f / 12.f;
// Re-attacks (reattacks()): the flux compares the log magnitude, log(1 + C |X|),
// kFluxLag frames apart over bins from kFluxMinHz up to the kept band. The
// bow change or breath of a repeated note is broadband noise between the
// partials; the partials themselves barely move, so no maximum filter (which
// the onset detector needs against vibrato) and no restriction to harmonics.
// Measured on tests/realistic.py (note F1): a ratio of 1.6 splits low notes'
// attacks and oboe legato, 2.2 misses most repeated string notes.
constexpr float kFluxMinHz = 100.f;
constexpr float kFluxCompression = 100.f;
constexpr int kFluxLag = 2;
constexpr float kReattackRatio = 1.8f;
// Summed log units: a bow change or breath gave 68-100 on tests/realistic.py, a clean
// synthetic swell under a fading note 18 (test_note_classes), the bow noise of a real
// sustained contrabass note (TinySOL A2) up to 35.
constexpr float kReattackMinFlux = 45.f;
constexpr float kReattackTopDb = 3.f;     // a decaying note's late ripples stay below
constexpr float kReattackRiseDb = 1.f;    // over the kReattackLevelFrames either side
constexpr int kReattackLevelFrames = 10;  // about 60 ms at the default step
constexpr int kPeakHalfWidth = 3;

// out[k] = ln(1 + C sqrt(power[k])) for k < count: vectorised apart from the energy sum.
__attribute__((target_clones("avx2", "default")))
void compressedMagnitudes(const float *power, int count, float *out) {
    for (int k = 0; k < count; ++k) out[k] = fastLog1p(kFluxCompression * std::sqrt(power[k]));
}
}  // namespace

HarmonicSpectrum::HarmonicSpectrum(float sampleRate, int windowSize, int lag) : m_lag(lag) {
    m_binHz = sampleRate / windowSize;
    m_bins = std::min(windowSize / 2, static_cast<int>(kHarmonicMaxHz / m_binHz) + 2);
    m_fluxFirstBin = std::min(m_bins - 1, static_cast<int>(kFluxMinHz / m_binHz));
}

void HarmonicSpectrum::reset() {
    m_power.clear();
    m_power.shrink_to_fit();
}

void HarmonicSpectrum::add(const float *power) { m_power.insert(m_power.end(), power, power + m_bins); }

void HarmonicSpectrum::discard(int frames) {
    frames = std::min(frames, this->frames());
    m_power.erase(m_power.begin(), m_power.begin() + static_cast<size_t>(frames) * m_bins);
}

float HarmonicSpectrum::harmonicAmplitude(int frame, float f0Hz, float avoidHz) const {
    // The spectrum centred on `frame` was computed m_lag frames earlier.
    frame = std::clamp(frame - m_lag, 0, frames() - 1);
    const float *power = &m_power[static_cast<size_t>(frame) * m_bins];
    double sum = 0;
    for (int h = 1; h <= kMaxHarmonics; ++h) {
        const float hz = h * f0Hz;
        if (hz < kHarmonicMinHz) continue;
        if (hz >= kHarmonicMaxHz) break;
        if (avoidHz > 0) {
            const float nearest = std::max(1.f, std::round(hz / avoidHz));
            if (std::fabs(hz - nearest * avoidHz) < kResolveBins * m_binHz) continue;
        }
        // The larger of the two bins around the partial: vibrato and detuning move it.
        const int k = std::min(m_bins - 2, static_cast<int>(hz / m_binHz));
        sum += std::max(power[k], power[k + 1]);
    }
    return static_cast<float>(std::sqrt(sum));
}

int HarmonicSpectrum::attackStart(int from, int noteStart, int to, float f0Hz, float avoidHz, int riseFrames) const {
    from = std::max(0, from);
    to = std::min(frames() + m_lag, to);
    if (f0Hz <= 0 || noteStart <= from || to - noteStart < 2) return noteStart;
    std::vector<float> amp(to - from);
    for (int f = from; f < to; ++f) amp[f - from] = harmonicAmplitude(f, f0Hz, avoidHz);
    const int top = static_cast<int>(std::max_element(amp.begin() + (noteStart - from), amp.end()) - amp.begin());
    const float peak = amp[top];
    if (peak <= 0) return noteStart;
    // The last frame before the peak under kAttackFloor of it: before, the note
    // was not sounding (or only its predecessor's leakage into its bins).
    int low = top;
    while (low >= 0 && amp[low] >= kAttackFloor * peak) --low;
    if (low < 0) {
        // Reverb, leakage or the previous note's release kept the amplitude above
        // the floor: the attack starts at its quietest frame, if it rose from there
        // by kAttackLeastRise. A note after one of its own pitch has no harmonics of
        // its own to rise: its re-attack is the onsets' business.
        const int least = static_cast<int>(std::min_element(amp.begin(), amp.begin() + top + 1) - amp.begin());
        const bool samePitch = avoidHz > 0 && std::fabs(std::log2(f0Hz / avoidHz)) < kSameNoteOctaves;
        if (samePitch || amp[least] > kAttackLeastRise * peak) return noteStart;  // no rise within reach
        low = least;
    }
    int high = low + 1;
    while (high < top && amp[high] < kAttackTop * peak) ++high;
    if (high - low < riseFrames) return noteStart;  // a quick attack: the onsets know best
    return std::clamp(from + low + 1, from, noteStart);
}

void HarmonicSpectrum::fluxAndLevel(int lo, int n, std::vector<float> &flux, std::vector<float> &level) const {
    // Frame f's spectrum is stored m_lag frames earlier (see harmonicAmplitude).
    const int bins = m_bins - 1 - m_fluxFirstBin;  // the last bin stays out, as in harmonicAmplitude
    std::vector<float> logMagnitude(static_cast<size_t>(n + kFluxLag) * bins);
    flux.assign(n, 0.f);
    level.assign(n, 0.f);
    for (int i = -kFluxLag; i < n; ++i) {
        const float *power = &m_power[static_cast<size_t>(lo + i - m_lag) * m_bins + m_fluxFirstBin];
        float *out = &logMagnitude[static_cast<size_t>(i + kFluxLag) * bins];
        double energy = 0;
#pragma GCC unroll 8
        for (int k = 0; k < bins; ++k) energy += power[k];
        compressedMagnitudes(power, bins, out);
        if (i < 0) continue;
        level[i] = static_cast<float>(10.0 * std::log10(energy + 1e-12));
        const float *before = out - static_cast<size_t>(kFluxLag) * bins;
        float sum = 0.f;
        for (int k = 0; k < bins; ++k) sum += std::max(0.f, out[k] - before[k]);
        flux[i] = sum;
    }
}

float HarmonicSpectrum::fluxRatio(int from, int to, int frame, int near) const {
    const int lo = std::max(from, m_lag + kFluxLag), hi = std::min(to, frames() + m_lag);
    if (hi - lo < 3 || frame < lo || frame >= hi) return 0.f;
    std::vector<float> flux, level;
    fluxAndLevel(lo, hi - lo, flux, level);
    std::vector<float> sorted(flux);
    const int n = hi - lo;
    std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.end());
    float peak = 0.f;
    for (int f = std::max(lo, frame - near); f <= std::min(hi - 1, frame + near); ++f) peak = std::max(peak, flux[f - lo]);
    return peak / std::max(sorted[n / 2], 1e-3f);
}

std::vector<int> HarmonicSpectrum::reattacks(int from, int to, int head, int tail, int spacing) const {
    std::vector<int> cuts;
    const int lo = std::max(from, m_lag + kFluxLag), hi = std::min(to, frames() + m_lag);
    const int first = from + head, last = to - tail;
    if (hi - lo < 2 * kPeakHalfWidth + 1 || last <= first) return cuts;
    const int n = hi - lo;
    std::vector<float> flux, level;
    fluxAndLevel(lo, n, flux, level);
    std::vector<float> sorted(flux);
    std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.end());
    const float threshold = std::max(kReattackMinFlux, kReattackRatio * sorted[n / 2]);
    const float top = *std::max_element(level.begin(), level.end());
    for (int i = std::max(first - lo, kPeakHalfWidth); i < std::min(last - lo, n - kPeakHalfWidth); ++i) {
        if (flux[i] < threshold) continue;
        if (*std::max_element(flux.begin() + i - kPeakHalfWidth, flux.begin() + i + kPeakHalfWidth + 1) > flux[i]) continue;
        const float after = *std::max_element(level.begin() + i, level.begin() + std::min(n, i + kReattackLevelFrames));
        const float dip = *std::min_element(level.begin() + std::max(0, i - kReattackLevelFrames), level.begin() + i + 1);
        if (after < top - kReattackTopDb || after - dip < kReattackRiseDb) continue;
        if (!cuts.empty() && lo + i - cuts.back() < spacing) continue;
        cuts.push_back(lo + i);
    }
    return cuts;
}

}  // namespace audioscore
