// Note onsets from spectral flux: the pitch track settles only once a new
// note fills YIN's window, but its energy arrives at once. Log-magnitude flux
// with a maximum filter across frequency (as in SuperFlux, Boeck & Widmer,
// DAFx 2013) so vibrato does not read as onsets.
#pragma once

#include <fftw3.h>

#include <vector>

namespace audioscore {

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
    const std::vector<float> &strength() const { return m_strength; }

    // Frames that are onsets: local maxima of the strength above a moving
    // average by a margin set by sensitivity in [0, 1] (0: none), at least
    // minDistance frames apart.
    std::vector<int> peaks(float sensitivity, int minDistance) const;

    // Whether the peak level (dB) in the `lookback` frames from `frame` on
    // exceeds the peak of the `lookback` frames before by at least `db`: a
    // re-struck note does, vibrato and beating partials do not.
    bool levelRisesAt(int frame, int lookback, float db) const;

private:
    int m_windowSize, m_firstBin, m_bins;
    std::vector<float> m_hann;
    std::vector<std::vector<float>> m_history;  // ring of the last log spectra
    std::vector<int> m_reach;  // maximum filter half-width per bin
    int m_newest = -1;
    std::vector<float> m_strength;
    std::vector<float> m_levelDb;  // energy of each frame in the flux band
    float *m_input;
    fftwf_complex *m_spectrum;
    fftwf_plan m_plan;
};

}  // namespace audioscore
