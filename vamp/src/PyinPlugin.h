// Vamp plugin: pYIN pitch track and notes (outputs named as users of the
// published pYIN plugin know them).
#pragma once

#include "NoteHmm.h"
#include "OnsetDetector.h"
#include "PitchHmm.h"
#include "ProbabilisticYin.h"

#include <vamp-sdk/Plugin.h>

#include <memory>
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
    int getPluginVersion() const override { return 1; }

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

    // Parameters.
    float m_thresholdDistribution = 2;  // Beta, mean 0.15
    float m_outputUnvoiced = 0;         // 0 omit, 1 as 0 Hz, 2 as negative frequencies
    float m_lowAmplitudeRms = 0.001f;   // frames quieter than this (RMS, full scale 1) lose voicing
    float m_onsetSensitivity = 0.7f;
    float m_pruneSeconds = 0.08f;

    size_t m_stepSize = 0, m_blockSize = 0;
    std::unique_ptr<ProbabilisticYin> m_yin;
    std::unique_ptr<PitchHmm> m_pitchHmm;
    std::unique_ptr<OnsetDetector> m_onsets;
    std::vector<PitchCandidate> m_candidates;  // reused every frame
    std::vector<float> m_voicedProbability;
    Vamp::RealTime m_firstTimestamp;
    bool m_haveFirstTimestamp = false;
};

}  // namespace audioscore
