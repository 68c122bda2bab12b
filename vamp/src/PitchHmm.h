// Pitch-track HMM of pYIN (Mauch & Dixon 2014, section 2.2): M fine pitch
// bins, each with a voiced and an unvoiced state, decoded with Viterbi.
//
// Sparse by construction: a voiced state can only be alive in a frame where a
// candidate falls into its bin, so the voiced layer holds a handful of states;
// the unvoiced layer is dense but its transition is a fixed local kernel.
#pragma once

#include "ProbabilisticYin.h"

#include <cstdint>
#include <vector>

namespace audioscore {

class PitchHmm {
public:
    // Bins of binCents cents from minHz up to maxHz; pitch may move at most
    // maxJumpBins bins between frames; switchProbability between voiced and unvoiced.
    PitchHmm(float minHz, float maxHz, float binCents, int maxJumpBins, float switchProbability);

    void reset();
    // Adds one frame: its candidates and their total (voiced) probability.
    void addFrame(const PitchCandidate *candidates, int count, float voicedProbability);
    int frameCount() const { return static_cast<int>(m_unvoicedBack.size() / m_bins); }

    // Viterbi path: per frame the frequency of the chosen candidate (Hz, > 0)
    // when voiced, or minus the frequency of the remembered pitch bin when unvoiced.
    std::vector<float> decode() const;

private:
    struct VoicedState {
        int bin;
        float score;
        float frequencyHz;  // the most probable candidate in this bin
        int8_t back;        // encoded predecessor, see kFromVoiced
    };
    int binOf(float hz) const;
    float binFrequency(int bin) const;

    int m_bins;
    int m_maxJump;
    float m_minHz, m_binCents;
    float m_logStay, m_logSwitch;
    std::vector<float> m_logKernel;  // index jump + maxJump

    // Current Viterbi scores: dense unvoiced layer (padded by maxJump each side), sparse voiced layer.
    std::vector<float> m_unvoiced, m_nextUnvoiced;
    std::vector<VoicedState> m_voiced, m_nextVoiced;
    std::vector<int8_t> m_nextBack;
    std::vector<float> m_bestJump;
    bool m_started = false;

    // Back-pointers of every frame: dense for unvoiced, sparse for voiced.
    std::vector<int8_t> m_unvoicedBack;
    std::vector<VoicedState> m_voicedHistory;
    std::vector<int> m_voicedOffsets;  // frame f's voiced states: [offsets[f], offsets[f+1])
};

}  // namespace audioscore
