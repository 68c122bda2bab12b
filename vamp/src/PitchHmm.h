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
    int frameCount() const { return m_frames; }

    // Viterbi path of frames [from, frameCount()), traced back from the best
    // state of the newest frame: per frame the frequency of the chosen
    // candidate (Hz, > 0) when voiced, or minus the frequency of the remembered
    // pitch bin when unvoiced. With from = 0 at the end, whole-file Viterbi;
    // earlier, a fixed-lag estimate for the older frames (survivor paths usually merge
    // within a few seconds), which needs no second forward pass. `from` must
    // not precede a discarded frame.
    void decode(int from, std::vector<float> &path) const;
    // Drops the back-pointers of frames before `frame`: no later decode starts there.
    void discardBefore(int frame);

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
    std::vector<float> m_stayWeight, m_jumps;  // unvoiced <- unvoiced: log kernel + log stay, and jump as float

    // Current Viterbi scores: dense unvoiced layer (padded by maxJump each side), sparse voiced layer.
    std::vector<float> m_unvoiced, m_nextUnvoiced;
    std::vector<VoicedState> m_voiced, m_nextVoiced;
    std::vector<int8_t> m_nextBack;
    std::vector<float> m_bestJump;
    bool m_started = false;

    int m_frames = 0;
    // Back-pointers of frames [m_firstStored, m_frames): dense for unvoiced, sparse for voiced.
    int m_firstStored = 0;
    std::vector<int8_t> m_unvoicedBack;
    std::vector<VoicedState> m_voicedHistory;
    // Stored frame i's voiced states: [offsets[i], offsets[i+1]).
    std::vector<int> m_voicedOffsets;
};

}  // namespace audioscore
