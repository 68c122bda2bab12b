// Notes that swell in under a long release (string sections, choir), found by
// the rise of their harmonics.
//
// A slow string or choir note rises over 100-250 ms while the previous note's
// release still rings, so two or three notes sound at once: the new note's
// partials are faint, the pitch track stays on the old note (or jumps an octave
// below) until long after the new one began, and the note model misses it. Its
// harmonics' rise shows it: a ~93-ms log spectrum (partials of notes a semitone
// apart resolved down to ~100 Hz) compared with the one 80 ms earlier grows at
// the new note's harmonics only. A harmonic sum of that rise, less the rise
// halfway between the harmonics (so the octaves and broadband onsets score
// low), over a 10-cent grid of candidate pitches names the new note.
//
// No per-pitch spectral novelty exists in the libraries we use (onset
// functions are broadband; multi-pitch saliences measure level, not its rise).
// The plugin's own 46-ms spectra do not resolve these partials (slow-attack
// note F1 0.79 with 93 ms, 0.69 with 46 ms on tests/support/realistic.py), so
// this takes its own longer window, every other frame.
#pragma once

#include "NoteHmm.h"

#include <fftw3.h>

#include <cstdint>
#include <vector>

namespace audioscore {

class HarmonicRises {
public:
    // Fed the plugin's blocks (blockSize samples, stepSize apart); measures
    // every hop()-th plugin frame, with a window centred on that frame's time
    // (a quarter block into its block).
    HarmonicRises(float sampleRate, int stepSize, int blockSize);
    ~HarmonicRises();
    HarmonicRises(const HarmonicRises &) = delete;
    HarmonicRises &operator=(const HarmonicRises &) = delete;

    void reset();
    void add(const float *block);
    // Measures the frames up to plugin frame `frames` still waiting for
    // samples, with zeros behind (the end of the recording).
    void finish(int frames);
    void discardBefore(int pluginFrame);

    // Changes `notes` (plugin frames from spanStart, in time order) where a
    // slow rise of another pitch that holds shows a note the tracker missed:
    // inside a note that has sounded a while and is decaying, that note ends
    // there and the new one starts (running to the old note's end, or taking
    // over the tracker's later note of its pitch); in a gap, a note starts.
    // Fast attacks (piano, winds, voice), vibrato and scoops fail those tests.
    // A start within a frame or two of one of `attacks` (strong onsets, frames from
    // spanStart, in order) is the attack itself and is not moved.
    void addRisingNotes(std::vector<Note> &notes, const std::vector<int> &attacks, int spanStart) const;

private:
    struct Attack {
        int onset;   // measured frame
        int peak;    // measured frame of the rise's peak
        float midi;
    };
    void measure();  // the frame m_measured, from the samples kept
    std::vector<int> peaks() const;
    bool slowAttack(int peak, Attack &attack) const;
    void addSlowAttack(const Attack &attack, std::vector<Note> &notes, int spanStart) const;
    bool audible(const Attack &attack) const;  // loud enough to be a note of its own
    // Where the rise peaking at `peak` began: where it last exceeded leastDb and kFootShare of its peak.
    int footOf(int peak, int column, float leastDb) const;
    bool holds(int peak, int column) const;   // the level stays up after the rise's peak
    // Moves the start of a tracked note of the rise's pitch that began late back to the rise.
    // (measured frames; the rise began at `earliest` or later).
    bool movedLateStart(int peak, int earliest, const std::vector<int> &attacks, std::vector<Note> &notes,
                        int spanStart) const;
    // Whether `note` fades under the rise peaking at `peak` (measured frame).
    bool decaying(const Note &note, int spanStart, int peak) const;
    int column(float midi) const;
    float rise(int frame, int column) const;   // frame: index into the kept frames
    float level(int frame, int column) const;
    int frames() const { return static_cast<int>(m_best.size()); }
    int seconds(float s) const;  // in measured frames, at least 1
    int plugin(float s) const;   // in plugin frames
    // A measured frame in the notes' frames (plugin frames from spanStart), and back.
    int toSpan(int measured, int spanStart) const { return (m_firstFrame + measured) * m_hop - spanStart; }
    int toMeasured(int spanFrame, int spanStart) const { return (spanFrame + spanStart) / m_hop - m_firstFrame; }

    float m_sampleRate;
    int m_step, m_block, m_hop, m_size, m_bins, m_lag;
    bool m_finished = false;
    std::vector<float> m_window;
    std::vector<float> m_gridMidi;
    std::vector<int> m_on, m_between;  // harmonics x grid: spectrum bins
    std::vector<int> m_gridOn, m_gridBetween;  // the same, m_bins (a zero bin) where not valid
    std::vector<float> m_valid;        // harmonics x grid: 1 if the harmonic is below Nyquist
    std::vector<float> m_validCount;   // per grid column

    // Samples [m_samplesStart, m_samplesStart + m_samples.size()) of the input
    // with a quarter block of zeros in front, as the plugin frames count them.
    std::vector<float> m_samples;
    long m_samplesStart = 0, m_blocks = 0;
    int m_measured = 0;  // frames measured so far
    float m_loudest;
    std::vector<std::vector<float>> m_earlier;  // the last m_lag widened log spectra (ring)

    // Per measured frame from m_firstFrame: the strongest rise over the grid
    // (or a bound under kMinRiseDb) and its pitch, and the rise and the level of
    // every spectrum bin (bytes: see kStep).
    int m_firstFrame = 0;
    std::vector<float> m_best, m_bestMidi;
    std::vector<uint8_t> m_rise, m_level;

    float *m_input;
    fftwf_complex *m_spectrum;
    fftwf_plan m_plan;
    std::vector<float> m_log, m_widened, m_riseBins, m_risePeaks, m_levelBins, m_salience;  // scratch
};

}  // namespace audioscore
