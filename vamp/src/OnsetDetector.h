// Note onsets from spectral flux: the pitch track settles only once a new
// note fills YIN's window, but its energy arrives at once. Log-magnitude flux
// with a maximum filter across frequency (as in SuperFlux, Boeck & Widmer,
// DAFx 2013) so vibrato does not read as onsets.
#pragma once

#include <fftw3.h>

#include <vector>

namespace audioscore {

// A re-attack inside a note (OnsetDetector::reattack): where the new attack
// leaves the dip, where the previous note had faded halfway (in dB) from the
// new attack's peak down to the dip, and the rise out of the dip.
struct Reattack {
    int start = -1;  // -1: no re-attack
    int released = -1;
    float riseDb = 0.f;
};

class OnsetDetector {
public:
    // windowSize samples centred on the frame time; flux over bins in [minHz, maxHz].
    OnsetDetector(float sampleRate, int windowSize, float minHz, float maxHz);
    ~OnsetDetector();
    OnsetDetector(const OnsetDetector &) = delete;
    OnsetDetector &operator=(const OnsetDetector &) = delete;

    void reset();
    // Adds the onset strength of the window starting at `window`.
    void process(const float *window);
    // Forgets the oldest `frames` frames, so memory stays bounded on long
    // recordings; frame indices below count from the oldest frame kept. The
    // strengths of the last `statisticsFrames` frames forgotten still count
    // towards the margin of peaks().
    void discard(int frames, int statisticsFrames);
    const std::vector<float> &strength() const { return m_strength; }

    // Frames that are onsets: local maxima of the strength above a moving
    // average by a margin set by sensitivity in [0, 1] (0: none) and by
    // strength percentiles, at least minDistance frames apart.
    std::vector<int> peaks(float sensitivity, int minDistance) const;

    // Whether `frame` looks like a new attack inside a note that began at
    // `noteStart`: the peak level (dB) over the `span` frames from `frame` on
    // exceeds the peak over the `span` frames before by at least `riseDb`, and
    // that recent peak lies at least `dipDb` below the note's earlier peak. A
    // re-struck or re-tongued note passes; vibrato, beating partials and a
    // slowly swelling attack do not. The start is at most `frame`; both frames
    // lie in the span before it.
    Reattack reattack(int noteStart, int frame, int span, float riseDb, float dipDb) const;

private:
    int m_windowSize, m_firstBin, m_bins;
    std::vector<float> m_hann;
    std::vector<std::vector<float>> m_history;  // ring of the last log spectra
    std::vector<int> m_reach;  // maximum filter half-width per bin
    std::vector<double> m_power;  // this frame's |X|^2
    std::vector<int> m_queue;  // the maximum filter's deque of bins
    int m_newest = -1;
    int m_processed = 0;  // up to kLag
    std::vector<float> m_strength;
    std::vector<float> m_earlierStrength;  // of frames forgotten, for the percentiles only
    std::vector<float> m_levelDb;  // energy of each frame in the flux band
    float *m_input;
    fftwf_complex *m_spectrum;
    fftwf_plan m_plan;
};

}  // namespace audioscore
