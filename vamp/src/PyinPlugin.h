// Vamp plugin: pYIN pitch track and notes (outputs named as users of the
// published pYIN plugin know them).
#pragma once

#include "HarmonicRises.h"
#include "HarmonicSpectrum.h"
#include "NoteHmm.h"
#include "OnsetDetector.h"
#include "PitchHmm.h"
#include "ProbabilisticYin.h"

#include <vamp-sdk/Plugin.h>

#include <memory>
#include <utility>
#include <vector>

namespace audioscore {

class PyinPlugin : public Vamp::Plugin {
public:
    explicit PyinPlugin(float inputSampleRate);

    std::string getIdentifier() const override { return "pyin"; }
    std::string getName() const override { return "pYIN (audioscore)"; }
    std::string getDescription() const override;
    std::string getMaker() const override { return "audioscore"; }
    std::string getCopyright() const override;
    int getPluginVersion() const override { return 3; }  // 3: relative low-amplitude floor

    InputDomain getInputDomain() const override { return TimeDomain; }
    size_t getPreferredBlockSize() const override;
    size_t getPreferredStepSize() const override;
    size_t getMinChannelCount() const override { return 1; }
    size_t getMaxChannelCount() const override { return 1; }

    ParameterList getParameterDescriptors() const override;
    float getParameter(std::string identifier) const override;
    void setParameter(std::string identifier, float value) override;

    OutputList getOutputDescriptors() const override;

    bool initialise(size_t channels, size_t stepSize, size_t blockSize) override;
    void reset() override;
    FeatureSet process(const float *const *inputBuffers, Vamp::RealTime timestamp) override;
    FeatureSet getRemainingFeatures() override;

private:
    Vamp::RealTime frameTime(int frame) const;
    int framesOf(float seconds) const;  // at least 1
    // Decodes the kept span; emits pitch up to a cut (all of it when final) and
    // the notes starting before the cut, then forgets what no later decode needs.
    void decode(bool final, FeatureSet &fs);
    std::vector<Note> spanNotes();  // frames relative to m_spanStart; sets m_spanOnsets
    // The notes split where a note of steady pitch is played again.
    std::vector<Note> reattacked(const std::vector<Note> &notes) const;
    // Whether the pitch track leaves the note around `frame` (a re-articulation).
    bool articulated(int noteStart, int frame) const;
    // The factor that takes a note's pitch to that of its first partials: the median over its
    // frames of their likeliest candidate's refinement (ProbabilisticYin::lastRefined).
    float refinement(const Note &note) const;
    int chooseCut(const std::vector<Note> &notes) const;

    // Parameters.
    float m_thresholdDistribution = 2;  // Beta, mean 0.15
    float m_outputUnvoiced = 0;         // 0 omit, 1 as 0 Hz, 2 as negative frequencies
    float m_lowAmplitudeRms = 0.001f;   // frames quieter than this (RMS, full scale 1) lose voicing
    float m_relativeFloorDb = 20.f;     // frames this far below the recent peak RMS lose voicing (0: off)
    float m_onsetSensitivity = 0.7f;
    float m_pruneSeconds = 0.08f;
    float m_decodeWindowSeconds = 60.f;  // 0: decode the whole recording at the end
    float m_decodeContextSeconds = 5.f;

    size_t m_stepSize = 0, m_blockSize = 0;
    std::unique_ptr<ProbabilisticYin> m_yin;
    std::unique_ptr<PitchHmm> m_pitchHmm;
    std::unique_ptr<OnsetDetector> m_onsets;
    std::unique_ptr<HarmonicSpectrum> m_harmonics;
    std::unique_ptr<HarmonicRises> m_rises;
    NoteHmm m_noteHmm;
    std::vector<PitchCandidate> m_candidates;  // reused every frame
    std::vector<float> m_harmonicPower;        // reused every frame
    int m_windowFrames = 0, m_contextFrames = 0, m_statisticsFrames = 0;
    int m_frames = 0;       // frames analysed
    float m_peakRms = 0.f;  // recent loudness: the peak RMS, decaying at kPeakDecayDbPerS
    float m_peakDecay = 1.f;  // per frame
    int m_committed = 0;    // frames before this have had their pitch emitted
    int m_spanStart = 0;    // first frame whose decoder inputs are kept
    int m_lastNoteEnd = 0;  // end frame of the last note emitted
    bool m_lastNoteCutShort = false;  // that note went on past the cut
    // Frames [m_spanStart, m_frames). Pitch: as emitted before m_committed, the latest estimate after.
    std::vector<float> m_voicedProbability, m_pitch;
    std::vector<std::pair<float, float>> m_refined;  // (candidate Hz, refined Hz) per frame
    std::vector<int> m_spanOnsets;  // of the last decode, relative to m_spanStart
    // Onsets (frame, strength) before m_spanStart, within the statistics horizon.
    std::vector<std::pair<int, float>> m_earlierOnsets;
    std::vector<float> m_path, m_voicedPitch;  // scratch, reused by every decode
    Vamp::RealTime m_firstTimestamp;
    bool m_haveFirstTimestamp = false;
};

}  // namespace audioscore
