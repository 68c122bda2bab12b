// Power spectra kept per frame below a few kHz, for the amplitude of one
// note's harmonics over time: where a slowly swelling note (string section,
// choir, a legato cello) began to sound, which neither the spectral flux (the
// rise is too slow) nor the pitch track (it changes only once the new note
// dominates) shows.
#pragma once

#include <vector>

namespace audioscore {

class HarmonicSpectrum {
public:
    // Spectra of Hann windows of windowSize samples whose centre lies `lag`
    // frames after the frame they are given with (the plugin's blocks start
    // half a block before the frame time, so a whole block is centred a
    // quarter block later).
    HarmonicSpectrum(float sampleRate, int windowSize, int lag);

    int bins() const { return m_bins; }  // power bins per frame, [0, kHarmonicMaxHz)
    void reset();
    // Appends a frame's power spectrum, bins() values (ProbabilisticYin::hannPower).
    void add(const float *power);
    void discard(int frames);  // forget the oldest frames (indices below count from the oldest kept)

    // Where the note at `noteStart` (frames), pitch f0Hz, began to sound: the
    // amplitude at its harmonics (those resolved from a previous note's
    // pitch avoidHz, 0: none), over frames [from, to), rises to its peak after
    // noteStart; a rise to 80 % of that peak taking at least riseFrames is a
    // slow attack, which starts where the amplitude last rose through
    // kAttackFloor of the peak (or, when it never fell that low, at its
    // quietest frame if that lies kAttackLeastRise below the peak). Returns
    // that frame when it is before noteStart (and not before `from`), else noteStart.
    int attackStart(int from, int noteStart, int to, float f0Hz, float avoidHz, int riseFrames) const;

    // Frames in [from + head, to - tail) where a note of steady pitch over
    // [from, to) is played again (a re-bowed, re-sung or re-tongued note of the
    // same pitch, which the pitch track cannot show): a sharp peak of the
    // broadband log-spectral flux, kReattackRatio times the note's median flux
    // and at least kReattackMinFlux, with the level rising back to within kReattackTopDb of the note's
    // loudest. A swell rises too slowly to peak the flux. At least `spacing`
    // frames apart.
    std::vector<int> reattacks(int from, int to, int head, int tail, int spacing) const;

    // How broadband an onset at `frame` is: the peak of the log-spectral flux
    // over every bin (reattacks()' flux, between the partials as well as on
    // them) within `near` frames of it, over the median flux of frames
    // [from, to). A breath, tongue or bow noise raises every bin at once; one
    // partial beating against reverb moves a few. 0 when the span is too short.
    float fluxRatio(int from, int to, int frame, int near) const;

private:
    // Per frame of [lo, lo + n): the flux and the level (dB) of the flux band.
    void fluxAndLevel(int lo, int n, std::vector<float> &flux, std::vector<float> &level) const;
    float harmonicAmplitude(int frame, float f0Hz, float avoidHz) const;
    int frames() const { return static_cast<int>(m_power.size() / m_bins); }

    int m_lag, m_bins, m_fluxFirstBin;
    float m_binHz;
    std::vector<float> m_power;  // frames x m_bins
};

}  // namespace audioscore
