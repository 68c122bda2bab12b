#include "PitchHmm.h"

#include "VectorMath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace audioscore {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Back-pointer code: jump (from - to) in bins, plus this flag when the
// predecessor is in the other layer.
constexpr int kOtherLayer = 64;
// Floor for observation probabilities so no frame forbids a whole layer.
constexpr float kMinObservation = 1e-6f;

// Unvoiced <- unvoiced: max-plus product with the jump kernel over the dense
// layer. Blocks of kVectors x 8 bins keep their running maxima in registers
// across all jumps (loading and storing them per jump cost twice as much);
// jumps in ascending order with a strict `>`, so ties go to the smallest jump.
// VectorMath.h's vector types: the same source gives the AVX2 clone and the default one.
constexpr int kVectors = 4;
constexpr int kLanes = 8 * kVectors;

__attribute__((target_clones("avx2", "default")))
void maxOverKernel(const float *prev, const float *weights, const float *jumps, int maxJump, int bins,
                   float *next, float *bestJump) {
    int start = 0;
    for (; start + kLanes <= bins; start += kLanes) {
        Float8 best[kVectors], jumpOf[kVectors];
        for (int k = 0; k < kVectors; ++k) {
            best[k] = Float8{} + kNegInf;
            jumpOf[k] = Float8{};
        }
        for (int d = -maxJump; d <= maxJump; ++d) {
            const float w = weights[d + maxJump], j = jumps[d + maxJump];
            const Float8 weight = {w, w, w, w, w, w, w, w}, jump = {j, j, j, j, j, j, j, j};
            const float *source = prev + start + d;
            for (int k = 0; k < kVectors; ++k) {
                const Float8 candidate = *reinterpret_cast<const UnalignedFloat8 *>(source + 8 * k) + weight;
                const auto better = candidate > best[k];
                best[k] = better ? candidate : best[k];
                jumpOf[k] = better ? jump : jumpOf[k];
            }
        }
        for (int k = 0; k < kVectors; ++k) {
            *reinterpret_cast<UnalignedFloat8 *>(next + start + 8 * k) = best[k];
            *reinterpret_cast<UnalignedFloat8 *>(bestJump + start + 8 * k) = jumpOf[k];
        }
    }
    for (int b = start; b < bins; ++b) {
        float best = kNegInf, jumpOf = 0.f;
        for (int d = -maxJump; d <= maxJump; ++d) {
            const float candidate = prev[b + d] + weights[d + maxJump];
            if (candidate > best) {
                best = candidate;
                jumpOf = jumps[d + maxJump];
            }
        }
        next[b] = best;
        bestJump[b] = jumpOf;
    }
}
}  // namespace

PitchHmm::PitchHmm(float minHz, float maxHz, float binCents, int maxJumpBins, float switchProbability)
    : m_maxJump(maxJumpBins), m_minHz(minHz), m_binCents(binCents) {
    m_bins = static_cast<int>(std::ceil(1200.f * std::log2(maxHz / minHz) / binCents)) + 1;
    m_logStay = std::log(1.f - switchProbability);
    m_logSwitch = std::log(switchProbability);
    // Triangular jump distribution (the paper's choice): weight maxJump+1-|d|.
    m_logKernel.resize(2 * m_maxJump + 1);
    float total = 0;
    for (int d = -m_maxJump; d <= m_maxJump; ++d) total += m_maxJump + 1 - std::abs(d);
    for (int d = -m_maxJump; d <= m_maxJump; ++d)
        m_logKernel[d + m_maxJump] = std::log((m_maxJump + 1 - std::abs(d)) / total);
    for (int d = -m_maxJump; d <= m_maxJump; ++d) {
        m_stayWeight.push_back(m_logKernel[d + m_maxJump] + m_logStay);
        m_jumps.push_back(static_cast<float>(d));
    }
    reset();
}

void PitchHmm::reset() {
    m_unvoiced.assign(m_bins + 2 * m_maxJump, kNegInf);
    m_nextUnvoiced.assign(m_bins + 2 * m_maxJump, kNegInf);
    m_nextBack.assign(m_bins, 0);
    m_bestJump.assign(m_bins, 0.f);
    m_voiced.clear();
    m_nextVoiced.clear();
    // Shrinking gives back what a long recording decoded as a whole took.
    m_unvoicedBack.clear();
    m_unvoicedBack.shrink_to_fit();
    m_voicedHistory.clear();
    m_voicedHistory.shrink_to_fit();
    m_voicedOffsets.assign(1, 0);
    m_voicedOffsets.shrink_to_fit();
    m_started = false;
    m_frames = 0;
    m_firstStored = 0;
}

int PitchHmm::binOf(float hz) const {
    return static_cast<int>(std::lround(1200.f * std::log2(hz / m_minHz) / m_binCents));
}

float PitchHmm::binFrequency(int bin) const {
    return m_minHz * std::exp2(bin * m_binCents / 1200.f);
}

void PitchHmm::addFrame(const PitchCandidate *candidates, int count, float voicedProbability) {
    const int pad = m_maxJump;
    const float logUnvoicedObs =
        std::log(std::max(1.f - voicedProbability, kMinObservation) / m_bins);

    // Voiced observations: candidate probability mass per bin.
    m_nextVoiced.clear();
    for (int i = 0; i < count; ++i) {
        const int bin = binOf(candidates[i].frequencyHz);
        if (bin < 0 || bin >= m_bins || candidates[i].probability <= 0) continue;
        auto it = std::find_if(m_nextVoiced.begin(), m_nextVoiced.end(),
                               [bin](const VoicedState &s) { return s.bin == bin; });
        if (it == m_nextVoiced.end()) {
            m_nextVoiced.push_back({bin, candidates[i].probability, candidates[i].frequencyHz, 0});
        } else {
            if (candidates[i].probability > it->score) it->frequencyHz = candidates[i].frequencyHz;
            it->score += candidates[i].probability;  // holds the summed observation until scored
        }
    }

    if (!m_started) {
        // Uniform initial distribution over all 2M states.
        const float logInitial = std::log(0.5f / m_bins);
        for (int b = 0; b < m_bins; ++b) m_unvoiced[b + pad] = logInitial + logUnvoicedObs;
        for (auto &s : m_nextVoiced) s.score = logInitial + std::log(s.score);
        m_voiced.swap(m_nextVoiced);
        m_unvoicedBack.insert(m_unvoicedBack.end(), m_bins, 0);
        m_voicedHistory.insert(m_voicedHistory.end(), m_voiced.begin(), m_voiced.end());
        m_voicedOffsets.push_back(static_cast<int>(m_voicedHistory.size()));
        m_started = true;
        ++m_frames;
        return;
    }

    float *next = m_nextUnvoiced.data() + pad;
    const float *prev = m_unvoiced.data() + pad;
    maxOverKernel(prev, m_stayWeight.data(), m_jumps.data(), m_maxJump, m_bins, next, m_bestJump.data());
    int8_t *back = m_nextBack.data();  // locals: GCC would reload the members per bin and not vectorise
    const float *bestJump = m_bestJump.data();
    const int bins = m_bins;  // int8_t stores may alias members
    for (int b = 0; b < bins; ++b) back[b] = static_cast<int8_t>(bestJump[b]);
    // Unvoiced <- voiced: only the few live voiced states contribute.
    for (const auto &from : m_voiced) {
        const int lo = std::max(0, from.bin - m_maxJump), hi = std::min(m_bins - 1, from.bin + m_maxJump);
        for (int b = lo; b <= hi; ++b) {
            const int d = from.bin - b;
            const float candidate = from.score + m_logKernel[d + m_maxJump] + m_logSwitch;
            if (candidate > next[b]) {
                next[b] = candidate;
                m_nextBack[b] = static_cast<int8_t>(d + kOtherLayer);
            }
        }
    }

    // Voiced states of this frame, from either layer.
    for (auto &to : m_nextVoiced) {
        const float logObservation = std::log(std::max(to.score, kMinObservation));
        float best = kNegInf;
        int8_t back = 0;
        for (const auto &from : m_voiced) {
            const int d = from.bin - to.bin;
            if (d < -m_maxJump || d > m_maxJump) continue;
            const float candidate = from.score + m_logKernel[d + m_maxJump] + m_logStay;
            if (candidate > best) { best = candidate; back = static_cast<int8_t>(d); }
        }
        for (int d = -m_maxJump; d <= m_maxJump; ++d) {
            const float candidate = prev[to.bin + d] + m_logKernel[d + m_maxJump] + m_logSwitch;
            if (candidate > best) { best = candidate; back = static_cast<int8_t>(d + kOtherLayer); }
        }
        to.score = best + logObservation;
        to.back = back;
    }

    for (int b = 0; b < m_bins; ++b) next[b] += logUnvoicedObs;

    // Renormalise so float scores keep their precision over hours of frames.
    float peak = largest(next, m_bins);
    for (const auto &s : m_nextVoiced) peak = std::max(peak, s.score);
    for (int b = 0; b < m_bins; ++b) next[b] -= peak;
    for (auto &s : m_nextVoiced) s.score -= peak;

    m_unvoiced.swap(m_nextUnvoiced);
    m_voiced.swap(m_nextVoiced);
    m_unvoicedBack.insert(m_unvoicedBack.end(), m_nextBack.begin(), m_nextBack.end());
    m_voicedHistory.insert(m_voicedHistory.end(), m_voiced.begin(), m_voiced.end());
    m_voicedOffsets.push_back(static_cast<int>(m_voicedHistory.size()));
    ++m_frames;
}

void PitchHmm::discardBefore(int frame) {
    const int drop = std::min(frame, m_frames) - m_firstStored;
    if (drop <= 0) return;
    // Erasing from the front keeps the capacity: no reallocation from one window to the next.
    m_unvoicedBack.erase(m_unvoicedBack.begin(), m_unvoicedBack.begin() + static_cast<size_t>(drop) * m_bins);
    const int states = m_voicedOffsets[drop];
    m_voicedHistory.erase(m_voicedHistory.begin(), m_voicedHistory.begin() + states);
    m_voicedOffsets.erase(m_voicedOffsets.begin(), m_voicedOffsets.begin() + drop);
    for (int &offset : m_voicedOffsets) offset -= states;
    m_firstStored += drop;
}

void PitchHmm::decode(int from, std::vector<float> &path) const {
    from = std::max(from, m_firstStored);
    path.assign(std::max(0, m_frames - from), 0.f);
    if (path.empty()) return;

    // Best final state.
    bool voiced = false;
    int bin = 0;
    float best = kNegInf;
    const float *last = m_unvoiced.data() + m_maxJump;
    for (int b = 0; b < m_bins; ++b)
        if (last[b] > best) { best = last[b]; bin = b; }
    for (const auto &s : m_voiced)
        if (s.score > best) { best = s.score; bin = s.bin; voiced = true; }

    for (int f = m_frames - 1; f >= from; --f) {
        const int stored = f - m_firstStored;
        int code;
        if (voiced) {
            const VoicedState *state = nullptr;
            for (int i = m_voicedOffsets[stored]; i < m_voicedOffsets[stored + 1]; ++i)
                if (m_voicedHistory[i].bin == bin) state = &m_voicedHistory[i];
            if (state == nullptr) break;  // cannot happen: predecessors were alive when stored
            path[f - from] = state->frequencyHz;
            code = state->back;
        } else {
            path[f - from] = -binFrequency(bin);
            code = m_unvoicedBack[static_cast<size_t>(stored) * m_bins + bin];
        }
        if (f == from) break;
        const bool switched = code >= kOtherLayer / 2;
        const int jump = switched ? code - kOtherLayer : code;
        bin += jump;
        if (switched) voiced = !voiced;
    }
}

}  // namespace audioscore
