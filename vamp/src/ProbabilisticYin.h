// Frame-wise probabilistic YIN (Mauch & Dixon, ICASSP 2014, section 2.1):
// the YIN cumulative-mean-normalised difference, integrated over a prior
// distribution of thresholds, gives pitch candidates with probabilities.
#pragma once

#include <fftw3.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace audioscore {

struct PitchCandidate {
    float frequencyHz;
    float probability;
};

enum class ThresholdPrior {
    Uniform = 0,
    BetaMean010 = 1,
    BetaMean015 = 2,
    BetaMean020 = 3,
    Single010 = 4,
    Single015 = 5,
    Single020 = 6,
};

class ProbabilisticYin {
public:
    // blockSize samples per frame; the difference function uses blockSize/2 lags.
    ProbabilisticYin(float sampleRate, int blockSize, float minHz, float maxHz,
                     ThresholdPrior prior);
    ~ProbabilisticYin();
    ProbabilisticYin(const ProbabilisticYin &) = delete;
    ProbabilisticYin &operator=(const ProbabilisticYin &) = delete;

    // Appends this frame's candidates to `out` (highest frequency first) and
    // returns their total probability, i.e. the probability the frame is voiced.
    float analyse(const float *frame, std::vector<PitchCandidate> &out);

    // Power spectrum of the last analysed frame under a Hann window, bins
    // [0, bins) of blockSize (from the frame's FFT that the difference function
    // takes anyway: a Hann window is a 3-tap filter across bins).
    void hannPower(int bins, float *out) const;

    // Root mean square of the last analysed frame.
    float lastRms() const { return m_rms; }

    // The last frame's likeliest candidate from kRefineBelowHz up, and its frequency refined
    // on its first partials ({0, 0}: none, or no refinement); candidates there are otherwise
    // left as YIN read them.
    std::pair<float, float> lastRefined() const { return m_lastRefined; }

private:
    void differenceFunction(const float *frame);
    float priorMassAtOrBelow(float threshold) const;
    // A candidate's frequency from the period of its first partials, searched within `cents`
    // (none when the smoothed waveform does not repeat clearly there).
    std::optional<float> refinePitch(const float *frame, float hz, float cents);

    float m_sampleRate;
    int m_blockSize;
    int m_window;   // lags are 0 .. m_window-1
    int m_minLag;
    int m_maxLag;
    float m_rms = 0.f;
    std::pair<float, float> m_lastRefined{0.f, 0.f};

    // Cumulative prior mass over the 100 thresholds 0.01 .. 1.00.
    std::vector<double> m_priorCdf;

    // FFTW buffers and plans, made once: frame and kernel spectra, correlation.
    float *m_frame, *m_kernel, *m_correlation;
    fftwf_complex *m_spectrum, *m_kernelSpectrum;
    fftwf_plan m_forwardFrame, m_forwardKernel, m_inverse;
    std::vector<double> m_squaresPrefix;
    std::vector<float> m_difference, m_runningSum;
    std::vector<float> m_cmnd;  // cumulative-mean-normalised difference
    std::vector<float> m_scratch, m_smoothed;  // refinePitch's buffers
    std::vector<double> m_running;
    std::vector<int> m_minima, m_troughs;
    std::vector<float> m_rawSpectrum;  // re, im of bins [0, kKeptBins] of the last frame  // lags of this frame's troughs, shoulders dropped
};

}  // namespace audioscore
