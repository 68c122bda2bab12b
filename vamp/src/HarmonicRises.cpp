#include "HarmonicRises.h"

#include "FastMath.h"
#include "FftwPlanner.h"
#include "VectorMath.h"

#include <algorithm>
#include <cmath>

namespace audioscore {

namespace {
constexpr float kHopS = 0.01f;     // measure about this often (a whole number of plugin frames)
constexpr float kWindowS = 0.093f;  // 4096 samples at 44.1 kHz: partials ~10.8 Hz apart resolved
constexpr float kLagS = 0.08f;      // the rise is measured over this span
constexpr int kHarmonics = 8;
constexpr float kFloorDbfs = -110.f, kRangeDb = 80.f;
// Candidate pitches (MIDI) on a 10-cent grid: 20 cents read a choir's vibrato
// notes a step off (slow-attack note F1 0.764 against 0.791).
constexpr int kLowMidi = 36, kHighMidi = 84, kGridSteps = 10;
// A rise is this many dB summed over the harmonics (a sum of dB changes, so
// independent of the input level). On tests/support/realistic.py 50 adds a
// cello's missed notes but loses two of a string section's; 60 was best overall.
constexpr float kMinRiseDb = 60.f;
constexpr float kPeakDistanceS = 0.08f;
// The onset is where the rise at the candidate began: back from its peak while
// it stays above this share of the peak (0.25 was 30-60 ms late), and, for a
// late tracked start, above kFootLeastDb (a weak rise's tenth is noise: a
// reverberant voice's note moved 70 ms early).
constexpr float kFootShare = 0.1f;
constexpr float kMaxBackS = 0.2f;
constexpr float kFootLeastDb = 15.f;
// A slow attack: the candidate's harmonic level arrives within kArrivalDb of
// its peak (within kLookS) at least kSlowS after the onset (a sudden attack's
// plateau ripples put the peak itself anywhere); after the peak it stays within
// the larger of kHoldDropDb and half its rise for kHoldS (a breath or a
// consonant falls back); and it does not fall kKeepDb below its level at the
// rise's peak in kHoldS (a singer's scoop passes through a pitch and leaves it).
constexpr float kSlowS = 0.1f, kLookS = 0.4f, kHoldS = 0.15f;
constexpr float kArrivalDb = 1.f;
constexpr float kHoldDropDb = 6.f, kKeepDb = 6.f;
// A candidate this close (semitones) to the tracked note is that note (vibrato
// reads +-0.5 semitone beside it).
constexpr float kSameSemitones = 0.75f;
// The held note gives way only after sounding this long, and if its harmonics
// have fallen this far below their peak since its onset (it is the previous
// note's release).
constexpr float kOldNoteS = 0.12f;
constexpr float kDecayDb = 3.f;
constexpr float kGapNoteMaxS = 1.f;  // a note found in a gap lasts until the next note, at most this long
constexpr float kLateSameS = 0.3f;   // the tracker's later note of the same pitch, this soon, is the same note
constexpr float kJoinS = 0.05f;
// A note the rises add must come this close to the loudest pitch around it (the
// plugin's relative floor is 20 dB; a saxophone's breath before its first note
// was 34 dB under, a string section's octave-wrong rise 19 dB, its real notes 7).
constexpr float kAudibleDb = 15.f, kAudibleSpanS = 2.f;
// A tracked note starting this much after a rise of its pitch began started
// there, unless its level jumps kJumpDb across kJumpS either side of the
// tracked start, or kAttackJumpDb on a strong flux onset (within kOnAttackS): a
// sudden attack, which the long window shows up to ~70 ms before it happens (a
// synthetic tone moved 64 ms early, a guitar's plucks 70-110 ms; legato
// strings and choirs rose -3 to +13 dB across their late tracked starts, off
// strong onsets).
constexpr float kLateS = 0.06f;
constexpr float kJumpS = 0.03f, kJumpDb = 15.f, kAttackJumpDb = 6.f, kOnAttackS = 0.012f;
// Kept per frame and spectrum bin in a byte: dB in half-dB steps (levels from
// -127.5 dBFS, rises from 0), enough for sums over eight harmonics.
constexpr float kStep = 0.5f;
constexpr float kDbPerOctave = 3.01029996f;  // 10 log10(2): power in dB from its log2

float midiOf(float hz) { return 69.f + 12.f * std::log2(hz / 440.f); }
float hzOf(float midi) { return 440.f * std::exp2((midi - 69.f) / 12.f); }

// The loops over every bin and grid pitch of every frame, built for AVX2 too
// (gathers) where the CPU has it.
__attribute__((target_clones("avx2", "default")))
float powerDb(const fftwf_complex *__restrict spectrum, int bins, float offsetDb, float *__restrict out) {
    for (int k = 0; k < bins; ++k) {
        const float power = spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1];
        out[k] = kDbPerOctave * fastLog2(power + 1e-30f) + offsetDb;
    }
    float loudest = -1e30f;
    for (int k = 0; k < bins; ++k) loudest = out[k] > loudest ? out[k] : loudest;
    return loudest;
}

// out[g] = sum over h of peaks[on[h][g]] - rises[between[h][g]] (harmonics x grid, h major).
__attribute__((target_clones("avx2", "default")))
void harmonicSums(const float *__restrict peaks, const float *__restrict rises, const int *__restrict on,
                  const int *__restrict between, int harmonics, int grid, float *__restrict out) {
    for (int g = 0; g < grid; ++g) out[g] = 0.f;
    for (int h = 0; h < harmonics; ++h) {
        const int *o = on + h * grid, *b = between + h * grid;
        for (int g = 0; g < grid; ++g) out[g] += peaks[o[g]] - rises[b[g]];
    }
}

// Each bin's largest value over it and its two neighbours (n >= 2).
__attribute__((target_clones("avx2", "default")))
void widenByOne(const float *__restrict in, int n, float *__restrict out) {
    out[0] = std::max(in[0], in[1]);
    for (int k = 1; k < n - 1; ++k) {
        const float a = in[k - 1] > in[k] ? in[k - 1] : in[k];
        out[k] = a > in[k + 1] ? a : in[k + 1];
    }
    out[n - 1] = std::max(in[n - 2], in[n - 1]);
}

// One frame's log spectrum against the widened one m_lag
// frames earlier: the rise per bin, and both kept as bytes.
__attribute__((target_clones("avx2", "default")))
void riseAndBytes(const float *__restrict log, const float *__restrict earlier, int bins,
                  const float *__restrict level, float *__restrict rise, uint8_t *__restrict riseBytes,
                  uint8_t *__restrict levelBytes) {
    for (int k = 0; k < bins; ++k) {
        const float r = log[k] - earlier[k];
        rise[k] = r > 0.f ? r : 0.f;
    }
    for (int k = 0; k < bins; ++k) {
        const float r = rise[k] / kStep + 0.5f, l = (level[k] + 255.f * kStep) / kStep + 0.5f;
        riseBytes[k] = static_cast<uint8_t>(static_cast<int>(r < 255.f ? r : 255.f));
        levelBytes[k] = static_cast<uint8_t>(static_cast<int>(l < 0.f ? 0.f : l < 255.f ? l : 255.f));
    }
}
}  // namespace

HarmonicRises::HarmonicRises(float sampleRate, int stepSize, int blockSize)
    : m_sampleRate(sampleRate), m_step(stepSize), m_block(blockSize) {
    m_hop = std::max(1, static_cast<int>(std::lround(kHopS * sampleRate / stepSize)));
    m_size = 1 << static_cast<int>(std::lround(std::log2(kWindowS * sampleRate)));
    m_lag = seconds(kLagS);
    m_window.resize(m_size);
    for (int i = 0; i < m_size; ++i)
        m_window[i] = 0.5f - 0.5f * std::cos(2.f * static_cast<float>(M_PI) * i / (m_size - 1));
    const float binHz = sampleRate / m_size;
    const int allBins = m_size / 2 + 1;
    for (int m = kLowMidi * kGridSteps; m < (kHighMidi + 1) * kGridSteps; ++m)
        m_gridMidi.push_back(static_cast<float>(m) / kGridSteps);
    const int grid = static_cast<int>(m_gridMidi.size());
    m_on.resize(kHarmonics * grid);
    m_between.resize(kHarmonics * grid);
    m_valid.resize(kHarmonics * grid);
    m_validCount.assign(grid, 0.f);
    int highest = 0;
    for (int h = 1; h <= kHarmonics; ++h)
        for (int g = 0; g < grid; ++g) {
            const float f0 = hzOf(m_gridMidi[g]), at = h * f0 / binHz;
            const int i = (h - 1) * grid + g;
            m_on[i] = std::min(static_cast<int>(std::lround(at)), allBins - 1);
            m_between[i] = std::min(static_cast<int>(std::lround((h - 0.5f) * f0 / binHz)), allBins - 1);
            m_valid[i] = at < allBins - 1 ? 1.f : 0.f;
            m_validCount[g] += m_valid[i];
            if (m_valid[i] != 0.f) highest = std::max(highest, m_on[i]);
        }
    m_bins = std::min(allBins, highest + 3);  // bins above the highest harmonic are not needed
    m_gridOn = m_on;
    m_gridBetween = m_between;
    for (size_t i = 0; i < m_valid.size(); ++i)
        if (m_valid[i] == 0.f) m_gridOn[i] = m_gridBetween[i] = m_bins;
    FftwPlanner lock;
    m_input = fftwf_alloc_real(m_size);
    m_spectrum = fftwf_alloc_complex(allBins);
    m_plan = fftwf_plan_dft_r2c_1d(m_size, m_input, m_spectrum, FFTW_ESTIMATE);
    reset();
}

HarmonicRises::~HarmonicRises() {
    FftwPlanner lock;
    fftwf_destroy_plan(m_plan);
    fftwf_free(m_input);
    fftwf_free(m_spectrum);
}

int HarmonicRises::seconds(float s) const {
    return std::max(1, static_cast<int>(std::lround(s * m_sampleRate / (m_step * m_hop))));
}

int HarmonicRises::plugin(float s) const { return static_cast<int>(std::lround(s * m_sampleRate / m_step)); }

void HarmonicRises::reset() {
    m_samples.clear();
    m_samplesStart = m_blocks = 0;
    m_measured = m_firstFrame = 0;
    m_finished = false;
    m_loudest = kFloorDbfs;
    m_earlier.clear();
    for (auto *frames : {&m_best, &m_bestMidi}) {
        frames->clear();
        frames->shrink_to_fit();
    }
    for (auto *frames : {&m_rise, &m_level}) {
        frames->clear();
        frames->shrink_to_fit();
    }
}

void HarmonicRises::add(const float *block) {
    const int fresh = m_blocks == 0 ? m_block : m_step;  // blocks overlap: only the last step is new
    m_samples.insert(m_samples.end(), block + m_block - fresh, block + m_block);
    ++m_blocks;
    const long end = m_samplesStart + static_cast<long>(m_samples.size());
    while (static_cast<long>(m_measured) * m_hop * m_step + m_block / 4 + m_size / 2 <= end) measure();
}

void HarmonicRises::finish(int frames) {
    while (static_cast<long>(m_measured) * m_hop < frames) measure();
    m_finished = true;
}

void HarmonicRises::measure() {
    // Frame m_measured's window, centred on its plugin frame's time; zeros
    // before the recording and after its end.
    const long start = static_cast<long>(m_measured) * m_hop * m_step + m_block / 4 - m_size / 2;
    const long kept = static_cast<long>(m_samples.size());
    const long from = m_samplesStart - start;  // the window's first index with a sample kept
    const int lo = static_cast<int>(std::clamp(from, 0L, static_cast<long>(m_size)));
    const int hi = static_cast<int>(std::clamp(from + kept, static_cast<long>(lo), static_cast<long>(m_size)));
    std::fill(m_input, m_input + lo, 0.f);
    const float *samples = m_samples.data() + (start + lo - m_samplesStart);
    multiply(samples, m_window.data() + lo, hi - lo, m_input + lo);
    std::fill(m_input + hi, m_input + m_size, 0.f);
    fftwf_execute(m_plan);
    ++m_measured;
    // Forget the samples no later window needs, a block of them at a time.
    const long unneeded = start + static_cast<long>(m_hop) * m_step - m_samplesStart;
    if (unneeded >= m_size) {
        const long drop = std::min(unneeded, kept);
        m_samples.erase(m_samples.begin(), m_samples.begin() + drop);
        m_samplesStart += drop;
    }

    m_log.resize(m_bins);
    m_levelBins.resize(m_bins);
    m_widened.resize(m_bins);
    m_riseBins.resize(m_bins + 1);  // and a zero bin, read for harmonics above Nyquist
    m_risePeaks.resize(m_bins + 1);
    // Floor: kRangeDb under the loudest partial so far (a rise out of the noise
    // floor or a reverb tail is no note), and never under kFloorDbfs.
    m_loudest = std::max(m_loudest, powerDb(m_spectrum, m_bins, -20.f * std::log10(m_size / 4.f), m_log.data()));
    const float floor = std::max(m_loudest - kRangeDb, kFloorDbfs);
    for (float &v : m_log) v = v > floor ? v : floor;
    // The reference is the spectrum m_lag frames earlier, widened by +-2 bins so
    // a partial moving with vibrato does not read as a rise.
    widenByOne(m_log.data(), m_bins, m_levelBins.data());
    widenByOne(m_levelBins.data(), m_bins, m_widened.data());
    if (m_earlier.empty()) m_earlier.assign(m_lag, m_widened);
    std::vector<float> &earlier = m_earlier[(m_measured - 1) % m_lag];
    const size_t at = m_rise.size();
    m_rise.resize(at + m_bins);
    m_level.resize(at + m_bins);
    riseAndBytes(m_log.data(), earlier.data(), m_bins, m_levelBins.data(), m_riseBins.data(), &m_rise[at],
                 &m_level[at]);
    earlier.swap(m_widened);
    widenByOne(m_riseBins.data(), m_bins, m_risePeaks.data());
    m_riseBins[m_bins] = m_risePeaks[m_bins] = 0.f;

    // No pitch can rise kMinRiseDb when the kHarmonics largest rises of any
    // bins do not add up to it (each harmonic's term is at most the rise of a
    // bin within one of it, and harmonics lie apart): then that sum stands for
    // the frame's strongest rise, which is all peaks() needs of it.
    float largest[kHarmonics] = {};
    // Most bins are under the smallest kept: firstAbove skips them eight at a time.
    for (int k = firstAbove(m_riseBins.data(), 0, m_bins, largest[kHarmonics - 1]); k < m_bins;
         k = firstAbove(m_riseBins.data(), k + 1, m_bins, largest[kHarmonics - 1])) {
        float v = m_riseBins[k];
        for (int j = 0; j < kHarmonics && v > 0.f; ++j)
            if (v > largest[j]) std::swap(v, largest[j]);
    }
    float bound = 0.f;
    for (float v : largest) bound += v;

    if (bound < kMinRiseDb) {
        m_best.push_back(bound);
        m_bestMidi.push_back(0.f);
        return;
    }
    // Rise at the harmonics less the rise halfway between them (a harmonic above
    // Nyquist reads the zero bin past the end).
    const int grid = static_cast<int>(m_gridMidi.size());
    m_salience.resize(grid);
    harmonicSums(m_risePeaks.data(), m_riseBins.data(), m_gridOn.data(), m_gridBetween.data(), kHarmonics, grid,
                 m_salience.data());
    const int bestAt = static_cast<int>(std::max_element(m_salience.begin(), m_salience.end()) - m_salience.begin());
    m_best.push_back(m_salience[bestAt]);
    m_bestMidi.push_back(m_gridMidi[bestAt]);
}

void HarmonicRises::discardBefore(int pluginFrame) {
    const int drop = std::clamp(pluginFrame / m_hop - m_firstFrame, 0, frames());
    const size_t bins = m_bins;
    m_best.erase(m_best.begin(), m_best.begin() + drop);
    m_bestMidi.erase(m_bestMidi.begin(), m_bestMidi.begin() + drop);
    m_rise.erase(m_rise.begin(), m_rise.begin() + drop * bins);
    m_level.erase(m_level.begin(), m_level.begin() + drop * bins);
    m_firstFrame += drop;
}

int HarmonicRises::column(float midi) const {
    const int last = static_cast<int>(m_gridMidi.size()) - 1;
    return std::clamp(static_cast<int>(std::lround((midi - kLowMidi) * kGridSteps)), 0, last);
}

float HarmonicRises::rise(int frame, int column) const {
    // As measure() sums it, from the kept bytes.
    const uint8_t *bins = &m_rise[static_cast<size_t>(frame) * m_bins];
    const int grid = static_cast<int>(m_gridMidi.size());
    int sum = 0;
    for (int h = 0; h < kHarmonics; ++h) {
        const int i = h * grid + column;
        if (m_valid[i] == 0.f) continue;
        const int k = m_on[i];
        sum += std::max({bins[std::max(0, k - 1)], bins[k], bins[std::min(m_bins - 1, k + 1)]}) - bins[m_between[i]];
    }
    return sum * kStep;
}

float HarmonicRises::level(int frame, int column) const {
    // The mean level at the harmonics, dBFS.
    const uint8_t *bins = &m_level[static_cast<size_t>(frame) * m_bins];
    const int grid = static_cast<int>(m_gridMidi.size());
    int sum = 0;
    for (int h = 0; h < kHarmonics; ++h) {
        const int i = h * grid + column;
        if (m_valid[i] != 0.f) sum += bins[m_on[i]];
    }
    return sum * kStep / std::max(m_validCount[column], 1.f) - 255.f * kStep;
}

std::vector<int> HarmonicRises::peaks() const {
    // Local maxima of the strongest rise, the highest first kept, at least
    // kPeakDistanceS apart; before the end of a recording, only those whose
    // slow-attack test has all its frames.
    const int n = frames(), distance = seconds(kPeakDistanceS);
    const int last = m_finished ? n - 1 : n - seconds(kLookS) - seconds(kHoldS);
    std::vector<int> inner, kept;
    for (int i = 1; i < last; ++i)
        if (m_best[i] >= kMinRiseDb && m_best[i] > m_best[i - 1] && m_best[i] >= m_best[i + 1]) inner.push_back(i);
    std::stable_sort(inner.begin(), inner.end(), [&](int a, int b) { return m_best[a] > m_best[b]; });
    for (int i : inner)
        if (std::all_of(kept.begin(), kept.end(), [&](int k) { return std::abs(i - k) >= distance; })) kept.push_back(i);
    std::sort(kept.begin(), kept.end());
    return kept;
}

int HarmonicRises::footOf(int peak, int column, float leastDb) const {
    int foot = peak;
    const float threshold = std::max(kFootShare * rise(peak, column), leastDb);
    while (foot > 0 && rise(foot - 1, column) > threshold && peak - foot < seconds(kMaxBackS)) --foot;
    return foot;
}

bool HarmonicRises::holds(int peak, int column) const {
    for (int f = peak; f < std::min(frames(), peak + seconds(kHoldS)); ++f)
        if (level(f, column) < level(peak, column) - kKeepDb) return false;
    return true;
}

bool HarmonicRises::slowAttack(int peak, Attack &attack) const {
    const float midi = m_bestMidi[peak];
    const int c = column(midi), n = frames();
    const int foot = footOf(peak, c, 0.f);
    const int lookEnd = std::min(n, foot + seconds(kLookS));
    int top = foot;
    for (int f = foot; f < lookEnd; ++f)
        if (level(f, c) > level(top, c)) top = f;
    const float peakLevel = level(top, c);
    int arrival = foot;  // where the level first comes within kArrivalDb of its peak (a plateau's ripples aside)
    while (level(arrival, c) < peakLevel - kArrivalDb) ++arrival;
    if (arrival - foot < seconds(kSlowS)) return false;
    const float allowed = std::max(kHoldDropDb, (level(top, c) - level(foot, c)) / 2.f);
    for (int f = top; f < std::min(n, top + seconds(kHoldS)); ++f)
        if (level(f, c) < level(top, c) - allowed) return false;
    if (!holds(peak, c)) return false;
    attack = {foot, peak, midi};
    return true;
}

bool HarmonicRises::audible(const Attack &attack) const {
    // Its harmonics come within kAudibleDb of the loudest pitch's within kAudibleSpanS:
    // a breath or key noise before a note, or a faint partial's swell, stays under.
    const int c = column(attack.midi), span = seconds(kAudibleSpanS), grid = static_cast<int>(m_gridMidi.size());
    float top = -1e30f, loudest = -1e30f;
    for (int f = attack.onset; f < std::min(frames(), attack.onset + seconds(kLookS)); ++f) top = std::max(top, level(f, c));
    for (int f = std::max(0, attack.onset - span); f < std::min(frames(), attack.onset + span); ++f)
        for (int g = 0; g < grid; g += kGridSteps / 2) loudest = std::max(loudest, level(f, g));
    return top >= loudest - kAudibleDb;
}

bool HarmonicRises::decaying(const Note &note, int spanStart, int peak) const {
    // Its harmonics have fallen kDecayDb below their loudest since it began, by
    // kHoldS after the rise's peak: it is the previous note's release.
    const int c = column(midiOf(note.frequencyHz));
    const int from = std::clamp(toMeasured(note.startFrame, spanStart), 0, peak);
    float loudest = -1e30f;
    for (int f = from; f <= peak; ++f) loudest = std::max(loudest, level(f, c));
    return level(std::min(frames() - 1, peak + seconds(kHoldS)), c) <= loudest - kDecayDb;
}

bool HarmonicRises::movedLateStart(int peak, int earliest, const std::vector<int> &attacks, std::vector<Note> &notes,
                                   int spanStart) const {
    const float midi = m_bestMidi[peak];
    const int c = column(midi);
    if (!holds(peak, c)) return false;
    const int foot = toSpan(std::max(earliest, footOf(peak, c, kFootLeastDb)), spanStart), at = toSpan(peak, spanStart);
    if (foot < 0) return false;
    for (size_t i = 0; i < notes.size(); ++i) {
        Note &note = notes[i];
        if (note.startFrame < foot + plugin(kLateS) || std::fabs(midiOf(note.frequencyHz) - midi) >= kSameSemitones) continue;
        if (note.startFrame > at + plugin(kLateSameS)) return false;
        // A sudden attack, which the long window shows up to ~60 ms early, is where
        // the start is: the level jumps across it, or rises less steeply across a
        // strong spectral-flux onset (a pluck).
        const int start = toMeasured(note.startFrame, spanStart), jump = seconds(kJumpS);
        if (start - jump >= 0 && start + jump < frames()) {
            const float rise = level(start + jump, c) - level(start - jump, c);
            const auto onset = std::lower_bound(attacks.begin(), attacks.end(), note.startFrame - plugin(kOnAttackS));
            const bool onAttack = onset != attacks.end() && *onset <= note.startFrame + plugin(kOnAttackS);
            if (rise >= kJumpDb || (onAttack && rise >= kAttackJumpDb)) return false;
        }
        if (i > 0 && notes[i - 1].endFrame > foot) {
            if (notes[i - 1].startFrame >= foot - plugin(kOldNoteS)) return false;
            notes[i - 1].endFrame = foot;
        }
        note.startFrame = foot;
        return true;
    }
    return false;
}

void HarmonicRises::addRisingNotes(std::vector<Note> &notes, const std::vector<int> &attacks, int spanStart) const {
    auto byStart = [](const Note &a, const Note &b) { return a.startFrame < b.startFrame; };
    const std::vector<int> found = peaks();
    for (size_t i = 0; i < found.size(); ++i) {
        const int peak = found[i];
        // At the grid's edge the rise may peak beyond it (a harmonic's).
        if (m_bestMidi[peak] < kLowMidi + 0.5f || m_bestMidi[peak] > kHighMidi) continue;
        // The rise began after the last rise of another pitch (a neighbour's vibrato or attack).
        int earliest = 0;
        for (size_t j = 0; j < i; ++j)
            if (std::fabs(m_bestMidi[found[j]] - m_bestMidi[peak]) >= kSameSemitones) earliest = found[j] + 1;
        std::sort(notes.begin(), notes.end(), byStart);
        if (movedLateStart(peak, earliest, attacks, notes, spanStart)) continue;
        Attack attack;
        if (slowAttack(peak, attack)) addSlowAttack(attack, notes, spanStart);
    }
    std::sort(notes.begin(), notes.end(), byStart);
}

void HarmonicRises::addSlowAttack(const Attack &attack, std::vector<Note> &notes, int spanStart) const {
    auto near = [&](const Note &note) { return std::fabs(midiOf(note.frequencyHz) - attack.midi) < kSameSemitones; };
    const int onset = toSpan(attack.onset, spanStart), at = toSpan(attack.peak, spanStart);
    const int oldNote = plugin(kOldNoteS);
    const float hz = hzOf(attack.midi);
    if (onset < 0) return;
    auto holding = std::find_if(notes.begin(), notes.end(), [&](const Note &n) { return n.startFrame <= at && at < n.endFrame; });
    if (holding != notes.end()) {
        if (near(*holding)) return;
        if (holding->startFrame >= onset - oldNote) {
            // A note began with the rise but at the old pitch, and the rise's pitch
            // follows it: the pitch track lagged behind the new note's attack.
            const auto next = holding + 1;
            if (next != notes.end() && near(*next) && next->startFrame - holding->endFrame < plugin(kJoinS)
                && next->startFrame <= at + plugin(kLateSameS)) {
                next->startFrame = holding->startFrame;
                notes.erase(holding);
            }
            return;
        }
        if (!decaying(*holding, spanStart, attack.peak)) return;
        // The held note ends; the new one runs to its end or takes over the next note of its pitch.
        const int end = holding->endFrame;
        auto after = std::find_if(notes.begin(), notes.end(), [&](const Note &n) { return n.startFrame >= end; });
        const bool takesOverNext = after != notes.end() && near(*after) && after->startFrame - end < plugin(kJoinS);
        if (!takesOverNext && !audible(attack)) return;
        holding->endFrame = onset;
        if (takesOverNext)
            after->startFrame = onset;
        else
            notes.push_back({onset, end, hz});
        return;
    }
    // In a gap: the note before ends at the onset, and a note starts there.
    auto later = std::find_if(notes.begin(), notes.end(), [&](const Note &n) { return n.startFrame > at; });
    auto before = std::find_if(notes.rbegin(), notes.rend(), [&](const Note &n) { return n.endFrame <= at; });
    const bool extendsLater = later != notes.end() && near(*later) && later->startFrame - at < plugin(kLateSameS);
    if (!extendsLater && !audible(attack)) return;
    if (before != notes.rend() && before->endFrame > onset) {
        if (before->startFrame >= onset - oldNote) return;
        before->endFrame = onset;
    }
    if (extendsLater) {
        later->startFrame = onset;
    } else {
        const int longest = onset + plugin(kGapNoteMaxS);
        notes.push_back({onset, later == notes.end() ? longest : std::min(later->startFrame, longest), hz});
    }
}

}  // namespace audioscore
