#include "PyinPlugin.h"

#include <algorithm>
#include <cmath>

namespace audioscore {

namespace {
constexpr float kMinHz = 50.f;
constexpr float kMaxHz = 2000.f;
constexpr float kBinCents = 10.f;
constexpr int kMaxJumpBins = 25;          // 250 cents per frame
constexpr float kSwitchProbability = 0.01f;
constexpr double kReferenceRate = 44100.0;
constexpr double kReferenceBlock = 2048.0;
// Onsets from 150 Hz up: below, a half-block window holds too few periods for a stable magnitude.
constexpr float kOnsetMinHz = 150.f;
constexpr float kOnsetMaxHz = 6000.f;
// Note starts move to an onset up to this far before (after) where the note model put them.
constexpr float kSnapBeforeS = 0.08f;
constexpr float kSnapAfterS = 0.02f;
constexpr float kMinOnsetSpacingS = 0.04f;
// An onset inside a note splits it only if the level rises this much over this
// span, after having fallen this much below the note's earlier peak.
constexpr float kSplitRiseDb = 3.f;
constexpr float kSplitDipDb = 3.f;
constexpr float kSplitSpanS = 0.06f;
// Strong onsets: at least this share of the 90th percentile of detected onset strengths.
constexpr float kStrongOnsetRatio = 0.25f;

enum Output { F0Candidates, F0Probs, VoicedProb, SmoothedPitchTrack, Notes };

Vamp::Plugin::OutputDescriptor timedOutput(const std::string &id, const std::string &name,
                                           const std::string &description, const std::string &unit,
                                           float frameRate) {
    Vamp::Plugin::OutputDescriptor d;
    d.identifier = id;
    d.name = name;
    d.description = description;
    d.unit = unit;
    d.hasFixedBinCount = true;
    d.binCount = 1;
    d.hasKnownExtents = false;
    d.isQuantized = false;
    d.sampleType = Vamp::Plugin::OutputDescriptor::VariableSampleRate;
    d.sampleRate = frameRate;
    d.hasDuration = false;
    return d;
}
}  // namespace

PyinPlugin::PyinPlugin(float inputSampleRate) : Vamp::Plugin(inputSampleRate) {}

std::string PyinPlugin::getDescription() const {
    return "Probabilistic YIN fundamental frequency (Mauch & Dixon 2014) with HMM smoothing, "
           "and note tracking after Tony (Mauch et al. 2015) with spectral-flux onsets. "
           "Timestamps are the centre of YIN's integration window (block start + blockSize/4).";
}

std::string PyinPlugin::getCopyright() const {
    return "Written from the published algorithm by the audioscore authors; MIT licence";
}

size_t PyinPlugin::getPreferredBlockSize() const {
    // 2048 at 44.1 kHz, the power of two nearest the same duration at other rates.
    const double ideal = kReferenceBlock * m_inputSampleRate / kReferenceRate;
    return static_cast<size_t>(std::exp2(std::round(std::log2(ideal))));
}

size_t PyinPlugin::getPreferredStepSize() const { return getPreferredBlockSize() / 8; }

Vamp::Plugin::ParameterList PyinPlugin::getParameterDescriptors() const {
    auto parameter = [](const char *id, const char *name, const char *description, const char *unit,
                        float minValue, float maxValue, float defaultValue,
                        std::vector<std::string> valueNames = {}) {
        ParameterDescriptor d;
        d.identifier = id;
        d.name = name;
        d.description = description;
        d.unit = unit;
        d.minValue = minValue;
        d.maxValue = maxValue;
        d.defaultValue = defaultValue;
        d.isQuantized = !valueNames.empty();
        d.quantizeStep = d.isQuantized ? 1.f : 0.f;
        d.valueNames = std::move(valueNames);
        return d;
    };
    return {
        parameter("threshdistr", "Yin threshold distribution", "Prior over YIN thresholds", "", 0, 6, 2,
                  {"Uniform", "Beta (mean 0.10)", "Beta (mean 0.15)", "Beta (mean 0.20)", "Single value 0.10",
                   "Single value 0.15", "Single value 0.20"}),
        parameter("outputunvoiced", "Output estimates classified as unvoiced?",
                  "Smoothed pitch track: omit unvoiced frames, give them 0 Hz, or the negated remembered pitch",
                  "", 0, 2, 0, {"No", "Yes, as zero frequencies", "Yes, as negative frequencies"}),
        parameter("lowampsuppression", "Suppress low amplitude pitch estimates",
                  "Frames whose RMS (full scale 1.0) is below this lose voicing probability in proportion", "",
                  0, 0.1f, 0.001f),
        parameter("onsetsensitivity", "Onset sensitivity",
                  "How readily spectral-flux onsets start or split notes (0: never)", "", 0, 1, 0.7f),
        parameter("prunethresh", "Duration pruning threshold", "Notes shorter than this are dropped", "s", 0,
                  0.2f, 0.08f),
    };
}

float PyinPlugin::getParameter(std::string identifier) const {
    if (identifier == "threshdistr") return m_thresholdDistribution;
    if (identifier == "outputunvoiced") return m_outputUnvoiced;
    if (identifier == "lowampsuppression") return m_lowAmplitudeRms;
    if (identifier == "onsetsensitivity") return m_onsetSensitivity;
    if (identifier == "prunethresh") return m_pruneSeconds;
    return 0.f;
}

void PyinPlugin::setParameter(std::string identifier, float value) {
    if (identifier == "threshdistr") m_thresholdDistribution = std::clamp(std::round(value), 0.f, 6.f);
    else if (identifier == "outputunvoiced") m_outputUnvoiced = std::clamp(std::round(value), 0.f, 2.f);
    else if (identifier == "lowampsuppression") m_lowAmplitudeRms = std::clamp(value, 0.f, 0.1f);
    else if (identifier == "onsetsensitivity") m_onsetSensitivity = std::clamp(value, 0.f, 1.f);
    else if (identifier == "prunethresh") m_pruneSeconds = std::clamp(value, 0.f, 0.2f);
}

Vamp::Plugin::OutputList PyinPlugin::getOutputDescriptors() const {
    const float frameRate = m_inputSampleRate / (m_stepSize ? m_stepSize : getPreferredStepSize());
    OutputList list;
    auto candidates = timedOutput("f0candidates", "F0 Candidates", "Pitch candidates of each frame", "Hz", frameRate);
    candidates.hasFixedBinCount = false;
    list.push_back(candidates);
    auto probs = timedOutput("f0probs", "Candidate Probabilities",
                             "Probability of each pitch candidate of the frame", "", frameRate);
    probs.hasFixedBinCount = false;
    list.push_back(probs);
    auto voiced = timedOutput("voicedprob", "Voiced Probability", "Probability that the frame is voiced", "", frameRate);
    voiced.hasKnownExtents = true;
    voiced.minValue = 0;
    voiced.maxValue = 1;
    list.push_back(voiced);
    list.push_back(timedOutput("smoothedpitchtrack", "Smoothed Pitch Track",
                               "Viterbi-decoded fundamental frequency per frame", "Hz", frameRate));
    auto notes = timedOutput("notes", "Notes", "Note events: onset, duration and frequency", "Hz", frameRate);
    notes.hasDuration = true;
    list.push_back(notes);
    return list;
}

bool PyinPlugin::initialise(size_t channels, size_t stepSize, size_t blockSize) {
    if (channels != 1 || stepSize == 0 || blockSize < 256 || blockSize % 2 != 0 || stepSize > blockSize)
        return false;
    m_stepSize = stepSize;
    m_blockSize = blockSize;
    m_yin = std::make_unique<ProbabilisticYin>(m_inputSampleRate, static_cast<int>(blockSize), kMinHz,
                                               std::min(kMaxHz, m_inputSampleRate / 4.f),
                                               static_cast<ThresholdPrior>(static_cast<int>(m_thresholdDistribution)));
    m_pitchHmm = std::make_unique<PitchHmm>(kMinHz, kMaxHz, kBinCents, kMaxJumpBins, kSwitchProbability);
    m_onsets = std::make_unique<OnsetDetector>(m_inputSampleRate, static_cast<int>(blockSize / 2), kOnsetMinHz, kOnsetMaxHz);
    reset();
    return true;
}

void PyinPlugin::reset() {
    if (m_pitchHmm) m_pitchHmm->reset();
    if (m_onsets) m_onsets->reset();
    m_voicedProbability.clear();
    m_haveFirstTimestamp = false;
}

Vamp::RealTime PyinPlugin::frameTime(int frame) const {
    // YIN compares the block's first half with lagged copies: the estimate
    // belongs to the centre of that half, a quarter into the block.
    const long sample = static_cast<long>(frame) * static_cast<long>(m_stepSize) + static_cast<long>(m_blockSize / 4);
    return m_firstTimestamp + Vamp::RealTime::frame2RealTime(sample, static_cast<unsigned int>(m_inputSampleRate));
}

Vamp::Plugin::FeatureSet PyinPlugin::process(const float *const *inputBuffers, Vamp::RealTime timestamp) {
    if (!m_haveFirstTimestamp) {
        m_firstTimestamp = timestamp;
        m_haveFirstTimestamp = true;
    }
    const int frame = static_cast<int>(m_voicedProbability.size());

    m_candidates.clear();
    float voiced = m_yin->analyse(inputBuffers[0], m_candidates);
    const float rms = m_yin->lastRms();
    if (rms < m_lowAmplitudeRms) {
        const float scale = rms / m_lowAmplitudeRms;
        for (auto &c : m_candidates) c.probability *= scale;
        voiced *= scale;
    }
    m_pitchHmm->addFrame(m_candidates.data(), static_cast<int>(m_candidates.size()), voiced);
    m_voicedProbability.push_back(voiced);
    m_onsets->process(inputBuffers[0]);  // the block's first half: centred on the frame time

    FeatureSet fs;
    const Vamp::RealTime time = frameTime(frame);
    Feature candidates, probabilities, voicedFeature;
    candidates.hasTimestamp = probabilities.hasTimestamp = voicedFeature.hasTimestamp = true;
    candidates.timestamp = probabilities.timestamp = voicedFeature.timestamp = time;
    for (const auto &c : m_candidates) {
        candidates.values.push_back(c.frequencyHz);
        probabilities.values.push_back(c.probability);
    }
    voicedFeature.values.push_back(voiced);
    fs[F0Candidates].push_back(std::move(candidates));
    fs[F0Probs].push_back(std::move(probabilities));
    fs[VoicedProb].push_back(std::move(voicedFeature));
    return fs;
}

Vamp::Plugin::FeatureSet PyinPlugin::getRemainingFeatures() {
    FeatureSet fs;
    if (!m_pitchHmm) return fs;
    const std::vector<float> path = m_pitchHmm->decode();
    for (int f = 0; f < static_cast<int>(path.size()); ++f) {
        if (path[f] <= 0 && m_outputUnvoiced == 0) continue;
        Feature feature;
        feature.hasTimestamp = true;
        feature.timestamp = frameTime(f);
        feature.values.push_back(path[f] > 0 ? path[f] : m_outputUnvoiced == 1 ? 0.f : path[f]);
        fs[SmoothedPitchTrack].push_back(std::move(feature));
    }

    std::vector<float> voicedPitch(path.size());
    for (size_t f = 0; f < path.size(); ++f) voicedPitch[f] = std::max(path[f], 0.f);
    const float framesPerSecond = m_inputSampleRate / m_stepSize;
    auto frames = [framesPerSecond](float seconds) {
        return std::max(1, static_cast<int>(std::lround(seconds * framesPerSecond)));
    };
    const int minFrames = frames(m_pruneSeconds);
    const std::vector<int> onsets = m_onsets->peaks(m_onsetSensitivity, frames(kMinOnsetSpacingS));
    const std::vector<float> &strength = m_onsets->strength();
    // Splitting a note, or keeping two fragments apart, takes a strong attack:
    // tremolo in sustained tones also makes (weaker) flux peaks.
    std::vector<float> onsetStrengths;
    for (int onset : onsets) onsetStrengths.push_back(strength[onset]);
    const size_t strongRank = onsetStrengths.size() * 9 / 10;
    std::nth_element(onsetStrengths.begin(), onsetStrengths.begin() + strongRank, onsetStrengths.end());
    const float strongOnset = onsetStrengths.empty() ? 0.f : kStrongOnsetRatio * onsetStrengths[strongRank];
    const std::vector<Note> notes = placeOnsets(
        NoteHmm().decode(voicedPitch, m_voicedProbability), onsets, strength, voicedPitch,
        [&](int frame) { return strength[frame] >= strongOnset; },
        [&, span = frames(kSplitSpanS)](int noteStart, int frame) {
            return m_onsets->isReattack(noteStart, frame, span, kSplitRiseDb, kSplitDipDb);
        },
        frames(kSnapBeforeS), frames(kSnapAfterS), minFrames);
    for (const auto &note : notes) {
        Feature feature;
        feature.hasTimestamp = feature.hasDuration = true;
        feature.timestamp = frameTime(note.startFrame);
        feature.duration = frameTime(note.endFrame) - feature.timestamp;
        feature.values.push_back(note.frequencyHz);
        fs[Notes].push_back(std::move(feature));
    }
    return fs;
}

}  // namespace audioscore
