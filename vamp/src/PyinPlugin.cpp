#include "PyinPlugin.h"

#include <algorithm>
#include <cmath>

namespace audioscore {

namespace {
constexpr float kMinHz = 50.f;
constexpr float kMaxHz = 4200.f;             // C8, a piano's top; a whistle sings at 1-3 kHz
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
// ... an onset before it only if the pitch track is unvoiced for at most this long in a row
// between them: an attack's pitch shows once it fills half the 46-ms window, while a sung
// fricative's hiss (60-150 ms) has no pitch.
constexpr float kSnapUnvoicedS = 0.04f;
constexpr float kMinOnsetSpacingS = 0.04f;
// Slow attacks: a note's start moves back up to kAttackReachS to where the
// amplitude at its harmonics began to rise, if its rise (20 to 80 % of the
// peak within kAttackPeakWithinS of the start) took at least kSlowRiseS. A
// note ending within kAdjacentS of the start is the previous one, whose
// harmonics do not count.
constexpr float kAttackReachS = 0.35f;
constexpr float kAttackPeakWithinS = 0.25f;
constexpr float kSlowRiseS = 0.05f;
constexpr float kAdjacentS = 0.1f;
// A note of steady pitch splits where it is played again (HarmonicSpectrum::reattacks),
// not within kReattackHeadS of its start (the attack of a sampled or blown note
// settles in two stages: 0.1 s split tuba, bassoon and clarinet attacks) nor
// kReattackTailS of its end, and into parts at least kReattackTailS long.
constexpr float kReattackHeadS = 0.2f;
constexpr float kReattackTailS = 0.08f;
// An onset inside a note splits it only if the level rises this much over this
// span, after having fallen this much below the note's earlier peak.
constexpr float kSplitRiseDb = 3.f;
constexpr float kSplitDipDb = 6.f;  // 3 split string sections and reverberant voices on their swells; 8 cost synthetic tones
constexpr float kSplitSpanS = 0.06f;
// ... and either rises kSteadySplitRiseDb, or the pitch leaves the note by
// kArticulationCents within kArticulationS of the onset (a singer's repeated
// note scoops in again). On tests/realistic.py string sections, choirs and a
// legato cello swelled by 3.5-5.8 dB out of 6-11 dB dips on one steady pitch
// (every such split was false); a repeated contrabass note rose 6.0 dB, a
// re-tongued sax 9-19 dB.
constexpr float kSteadySplitRiseDb = 6.f;
// ... and is a broadband onset: the flux between the partials (HarmonicSpectrum::fluxRatio)
// peaks kBroadbandOnsetRatio times the note's median within kBroadbandNearS of the onset,
// unless the level rose kCleanRiseDb out of the dip. Reverb beating with a sampled
// attack's second stage dips one dominant partial 16 dB and rises 13-14 dB with flux
// 1.2x the median (the hymn in a 1.4-s hall, Voice Oohs); held oboe, strings and voices
// split by their swells 1.2-1.4x (held flutes 1.4-1.6x: the notation's voicing join
// takes those). Re-tongued sax, re-sung or re-bowed notes 1.5-4.4x (through a phone's
// band 1.5x); fluidsynth's flute makes no breath noise when re-struck (1.2-1.3x) but
// rises 18-22 dB.
constexpr float kBroadbandOnsetRatio = 1.4f;
// A strong onset whose flux peaks this many times the note's median is a note struck or
// bowed again even when it rises less than kSteadySplitRiseDb: a piano's repeated note
// played softer while the first still rings rose 4.3 dB with flux 10x.
constexpr float kStruckOnsetRatio = 3.f;
constexpr float kBroadbandNearS = 0.025f;
constexpr float kCleanRiseDb = 16.f;
// A note that rose kCleanRiseDb out of its dip was released before it was played
// again: the previous note ends where it had faded halfway (in dB) into the dip
// (Reattack::released), which leaves the gap the notation's join of tracker
// splits needs to keep them apart (fluidsynth's re-struck flute: 41-52 ms; a held
// flute's swell dips 6-8 dB and rises back 7-8 dB, as much voiced as a re-struck note).
constexpr float kArticulationCents = 50.f;
constexpr float kArticulationS = 0.08f;
constexpr float kArticulationContextS = 0.25f;  // the note's pitch: its median this far around
// Strong onsets: at least this share of the 90th percentile of detected onset strengths.
constexpr float kStrongOnsetRatio = 0.25f;
// Weaker onsets (down to this share of the strong threshold) split a note too, on a rise of
// kCleanRiseDb out of the dip, or of kSteadySplitRiseDb with a flux peak of
// kWeakOnsetBroadbandRatio, above any swell's (1.2-1.6x); never on a pitch move alone: a
// violin's legato repeated note (flux 4.3x) in a piece whose first notes were loud fell just
// under the strong threshold; a choir's swell into its next note (1.45x) does not split.
constexpr float kWeakSplitOnsetRatio = 0.4f;
constexpr float kWeakOnsetBroadbandRatio = 2.f;
// A note's pitch is refined on its first partials (ProbabilisticYin::lastRefined) by the
// median over its frames within kRefinedSameCents of it (an attack's first frames read up
// to 35 cents sharp); fewer than kRefinedMinS of refined frames leave it as it is.
constexpr float kRefinedSameCents = 35.f;
constexpr float kRefinedMinS = 0.03f;
// A window's note may start this much before the end of the previous window's
// last note and still be emitted (from that end on): the two decodes place a
// note cut at its start a few frames apart.
constexpr float kJoinToleranceS = 0.04f;
// Onset statistics (strength percentiles, the strong-onset threshold) also
// count this much audio before the span being decoded: one window alone is a
// small sample, and the whole file is what decoding at the end would use.
constexpr float kStatisticsHorizonS = 600.f;
// Recent loudness for the relative floor: a peak hold that falls this fast. Held
// notes fade slower than this (a piano's low strings about 3-10 dB/s); releases,
// reverb tails and breaths fall faster or sit far below the notes around them.
constexpr float kPeakDecayDbPerS = 6.f;
// Frames this far (RMS ratio, -10 dB) below the relative floor are unvoiced outright.
constexpr float kGateBelowFloor = 0.316f;

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
           "Timestamps are the centre of YIN's integration window (block start + blockSize/4). "
           "Decodes window by window (decodewindow) so memory stays bounded on long recordings.";
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
        parameter("relativefloor", "Relative low amplitude suppression",
                  "Frames this many dB below the recent peak level lose voicing (in proportion to their "
                  "power below it): release and reverb tails, breaths (0: off)", "dB", 0, 60, 20),
        parameter("onsetsensitivity", "Onset sensitivity",
                  "How readily spectral-flux onsets start or split notes (0: never)", "", 0, 1, 0.7f),
        parameter("prunethresh", "Duration pruning threshold", "Notes shorter than this are dropped", "s", 0,
                  0.2f, 0.08f),
        parameter("decodewindow", "Decoding window",
                  "Decode pitch and notes about this often, so memory stays bounded on long recordings "
                  "(0: the whole recording at once, at the end; otherwise at least 1 s)",
                  "s", 0, 3600, 60),
        parameter("decodecontext", "Decoding context",
                  "Audio past each window (and before it, for notes) that the decoders also see", "s", 0, 60, 5),
    };
}

float PyinPlugin::getParameter(std::string identifier) const {
    if (identifier == "threshdistr") return m_thresholdDistribution;
    if (identifier == "outputunvoiced") return m_outputUnvoiced;
    if (identifier == "lowampsuppression") return m_lowAmplitudeRms;
    if (identifier == "relativefloor") return m_relativeFloorDb;
    if (identifier == "onsetsensitivity") return m_onsetSensitivity;
    if (identifier == "prunethresh") return m_pruneSeconds;
    if (identifier == "decodewindow") return m_decodeWindowSeconds;
    if (identifier == "decodecontext") return m_decodeContextSeconds;
    return 0.f;
}

void PyinPlugin::setParameter(std::string identifier, float value) {
    if (identifier == "threshdistr") m_thresholdDistribution = std::clamp(std::round(value), 0.f, 6.f);
    else if (identifier == "outputunvoiced") m_outputUnvoiced = std::clamp(std::round(value), 0.f, 2.f);
    else if (identifier == "lowampsuppression") m_lowAmplitudeRms = std::clamp(value, 0.f, 0.1f);
    else if (identifier == "relativefloor") m_relativeFloorDb = std::clamp(value, 0.f, 60.f);
    else if (identifier == "onsetsensitivity") m_onsetSensitivity = std::clamp(value, 0.f, 1.f);
    else if (identifier == "prunethresh") m_pruneSeconds = std::clamp(value, 0.f, 0.2f);
    else if (identifier == "decodewindow") m_decodeWindowSeconds = std::clamp(value, 0.f, 3600.f);
    else if (identifier == "decodecontext") m_decodeContextSeconds = std::clamp(value, 0.f, 60.f);
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
    m_harmonics = std::make_unique<HarmonicSpectrum>(m_inputSampleRate, static_cast<int>(blockSize),
                                                     static_cast<int>(std::lround(blockSize / 4.0 / stepSize)));
    m_rises = std::make_unique<HarmonicRises>(m_inputSampleRate, static_cast<int>(stepSize), static_cast<int>(blockSize));
    reset();
    return true;
}

void PyinPlugin::reset() {
    if (m_pitchHmm) m_pitchHmm->reset();
    if (m_onsets) m_onsets->reset();
    if (m_harmonics) m_harmonics->reset();
    if (m_rises) m_rises->reset();
    m_windowFrames = m_decodeWindowSeconds > 0 && m_stepSize ? framesOf(std::max(m_decodeWindowSeconds, 1.f)) : 0;
    m_contextFrames = m_stepSize ? framesOf(m_decodeContextSeconds) : 0;
    m_statisticsFrames = m_stepSize ? framesOf(kStatisticsHorizonS) : 0;
    m_frames = m_committed = m_spanStart = m_lastNoteEnd = 0;
    m_peakRms = 0.f;
    m_peakDecay = m_stepSize ? std::pow(10.f, -kPeakDecayDbPerS * m_stepSize / m_inputSampleRate / 20.f) : 1.f;
    m_lastNoteCutShort = false;
    for (auto *frames : {&m_voicedProbability, &m_pitch, &m_path, &m_voicedPitch}) {
        frames->clear();
        frames->shrink_to_fit();
    }
    m_refined.clear();
    m_refined.shrink_to_fit();
    m_spanOnsets.clear();
    m_earlierOnsets.clear();
    m_noteHmm = NoteHmm();
    m_haveFirstTimestamp = false;
}

int PyinPlugin::framesOf(float seconds) const {
    const float framesPerSecond = m_inputSampleRate / m_stepSize;
    return std::max(1, static_cast<int>(std::lround(seconds * framesPerSecond)));
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
    const int frame = m_frames++;

    m_candidates.clear();
    float voiced = m_yin->analyse(inputBuffers[0], m_candidates);
    const float rms = m_yin->lastRms();
    if (rms < m_lowAmplitudeRms) {
        const float scale = rms / m_lowAmplitudeRms;
        for (auto &c : m_candidates) c.probability *= scale;
        voiced *= scale;
    }
    m_peakRms = std::max(rms, m_peakRms * m_peakDecay);
    if (m_relativeFloorDb > 0) {
        const float floor = m_peakRms * std::pow(10.f, -m_relativeFloorDb / 20.f);
        if (rms < floor * kGateBelowFloor) {
            // Far below the floor: unvoiced. A scaled-down candidate still beats the
            // unvoiced state, whose probability is spread over every pitch bin, so a
            // clean decaying tail would stay voiced to the absolute floor.
            m_candidates.clear();
            voiced = 0.f;
        } else if (rms < floor) {
            const float ratio = rms / floor, scale = ratio * ratio;  // power below the floor
            for (auto &c : m_candidates) c.probability *= scale;
            voiced *= scale;
        }
    }
    m_pitchHmm->addFrame(m_candidates.data(), static_cast<int>(m_candidates.size()), voiced);
    m_voicedProbability.push_back(voiced);
    m_refined.push_back(m_yin->lastRefined());
    m_onsets->process(inputBuffers[0]);  // the block's first half: centred on the frame time
    m_harmonicPower.resize(m_harmonics->bins());
    m_yin->hannPower(m_harmonics->bins(), m_harmonicPower.data());  // the whole block: centred a quarter block later
    m_harmonics->add(m_harmonicPower.data());
    m_rises->add(inputBuffers[0]);

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
    if (m_windowFrames > 0 && m_frames >= m_committed + m_windowFrames + m_contextFrames) decode(false, fs);
    return fs;
}

Vamp::Plugin::FeatureSet PyinPlugin::getRemainingFeatures() {
    FeatureSet fs;
    if (!m_pitchHmm) return fs;
    decode(true, fs);
    // The host converts the features next: give the decoders' memory back
    // first (hosts reset before processing again anyway).
    reset();
    return fs;
}

void PyinPlugin::decode(bool final, FeatureSet &fs) {
    // Pitch of every frame not emitted yet, traced back from the newest frame.
    m_pitchHmm->decode(m_committed, m_path);
    m_pitch.resize(m_frames - m_spanStart);
    std::copy(m_path.begin(), m_path.end(), m_pitch.begin() + (m_committed - m_spanStart));
    if (final) m_rises->finish(m_frames);
    const std::vector<Note> notes = spanNotes();
    const int cut = final ? m_frames : chooseCut(notes);

    // Each note's frames are scaled by its refinement, so the track and the notes agree.
    std::vector<float> refinements(notes.size()), scale(m_pitch.size(), 1.f);
    for (size_t i = 0; i < notes.size(); ++i) {
        refinements[i] = refinement(notes[i]);
        std::fill(scale.begin() + notes[i].startFrame, scale.begin() + notes[i].endFrame, refinements[i]);
    }
    for (int f = m_committed; f < cut; ++f) {
        const float pitch = m_pitch[f - m_spanStart] * (m_pitch[f - m_spanStart] > 0 ? scale[f - m_spanStart] : 1.f);
        if (pitch <= 0 && m_outputUnvoiced == 0) continue;
        Feature feature;
        feature.hasTimestamp = true;
        feature.timestamp = frameTime(f);
        feature.values.push_back(pitch > 0 ? pitch : m_outputUnvoiced == 1 ? 0.f : pitch);
        fs[SmoothedPitchTrack].push_back(std::move(feature));
    }

    // Notes come in time order. One starting well before the end of the last
    // note emitted is the previous window's, already out, unless that note
    // was cut short: then this is its continuation.
    const int tolerance = framesOf(kJoinToleranceS), minFrames = framesOf(m_pruneSeconds);
    for (size_t i = 0; i < notes.size(); ++i) {
        const Note &note = notes[i];
        const int noteStart = m_spanStart + note.startFrame;
        if (noteStart >= cut) break;
        const int end = std::min(m_spanStart + note.endFrame, cut);
        const bool continues = m_lastNoteCutShort && end > m_lastNoteEnd;
        if (noteStart < m_lastNoteEnd - tolerance && !continues) continue;
        const int start = std::max(noteStart, m_lastNoteEnd);
        if (end - start < minFrames) continue;
        Feature feature;
        feature.hasTimestamp = feature.hasDuration = true;
        feature.timestamp = frameTime(start);
        feature.duration = frameTime(end) - feature.timestamp;
        feature.values.push_back(note.frequencyHz * refinements[i]);
        fs[Notes].push_back(std::move(feature));
        m_lastNoteEnd = end;
        m_lastNoteCutShort = m_spanStart + note.endFrame > cut;
    }
    m_committed = cut;
    if (final) return;

    // Keep the context before the cut for the next window's notes; the pitch
    // model needs back-pointers only from the cut on.
    const int keepFrom = std::max(m_spanStart, m_committed - m_contextFrames);
    const int drop = keepFrom - m_spanStart;
    m_voicedProbability.erase(m_voicedProbability.begin(), m_voicedProbability.begin() + drop);
    m_refined.erase(m_refined.begin(), m_refined.begin() + drop);
    m_pitch.erase(m_pitch.begin(), m_pitch.begin() + drop);
    for (int onset : m_spanOnsets)
        if (onset < drop) m_earlierOnsets.emplace_back(m_spanStart + onset, m_onsets->strength()[onset]);
    const int horizon = keepFrom - m_statisticsFrames;
    m_earlierOnsets.erase(m_earlierOnsets.begin(),
                          std::find_if(m_earlierOnsets.begin(), m_earlierOnsets.end(),
                                       [horizon](const auto &onset) { return onset.first >= horizon; }));
    m_onsets->discard(drop, m_statisticsFrames);
    m_harmonics->discard(drop);
    m_rises->discardBefore(keepFrom);
    m_spanStart = keepFrom;
    m_pitchHmm->discardBefore(m_committed);
}

int PyinPlugin::chooseCut(const std::vector<Note> &notes) const {
    // Cut in the second half of the window, preferably mid-rest: notes near a
    // rest come out the same from either window. Failing a rest, at a note
    // start; failing that (a note longer than half a window), at the window's
    // end, through that note: it comes out in pieces.
    const int target = m_committed + m_windowFrames;
    const int earliest = std::min(target, m_committed + std::max(1, m_windowFrames / 2));
    int cut = -1, lastStart = -1;
    auto considerRest = [&](int from, int to) {  // frames [from, to) in no note
        const int lo = std::max(from, earliest), hi = std::min(to - 1, target);
        if (lo <= hi) cut = std::clamp(from + (to - from) / 2, lo, hi);
    };
    int restStart = m_spanStart;
    for (const auto &note : notes) {
        const int start = m_spanStart + note.startFrame;
        considerRest(restStart, start);
        if (start >= earliest && start <= target) lastStart = start;
        restStart = std::max(restStart, m_spanStart + note.endFrame);
    }
    considerRest(restStart, m_frames);
    if (cut >= 0) return cut;
    return lastStart >= 0 ? lastStart : target;
}

bool PyinPlugin::articulated(int noteStart, int frame) const {
    const int frames = static_cast<int>(m_voicedPitch.size()), near = framesOf(kArticulationS);
    const int context = framesOf(kArticulationContextS);
    const float noteHz = medianPitch(m_voicedPitch, std::max(noteStart, frame - context), std::min(frames, frame + context));
    if (noteHz <= 0) return false;
    for (int f = std::max(0, frame - near); f < std::min(frames, frame + near); ++f)
        if (m_voicedPitch[f] > 0 && std::fabs(1200.f * std::log2(m_voicedPitch[f] / noteHz)) >= kArticulationCents) return true;
    return false;
}

float PyinPlugin::refinement(const Note &note) const {
    // The median over the note's own frames (its start may have moved back over the previous
    // note's pitch) that were refined: a piano's first frames hold the previous note's release.
    std::vector<float> ratios;
    for (int f = note.startFrame; f < note.endFrame; ++f) {
        const float hz = m_voicedPitch[f];
        const auto [candidate, refined] = m_refined[f];
        if (hz > 0 && candidate > 0 && std::fabs(1200.f * std::log2(hz / note.frequencyHz)) < kRefinedSameCents
            && std::fabs(1200.f * std::log2(hz / candidate)) < 1.f)
            ratios.push_back(refined / candidate);
    }
    if (static_cast<int>(ratios.size()) < framesOf(kRefinedMinS)) return 1.f;
    return medianPitch(ratios, 0, static_cast<int>(ratios.size()));
}

std::vector<Note> PyinPlugin::spanNotes() {
    m_voicedPitch.resize(m_pitch.size());
    for (size_t f = 0; f < m_pitch.size(); ++f) m_voicedPitch[f] = std::max(m_pitch[f], 0.f);
    const int minFrames = framesOf(m_pruneSeconds);
    m_spanOnsets = m_onsets->peaks(m_onsetSensitivity, framesOf(kMinOnsetSpacingS));
    const std::vector<int> &onsets = m_spanOnsets;
    const std::vector<float> &strength = m_onsets->strength();
    // Splitting a note, or keeping two fragments apart, takes a strong attack:
    // tremolo in sustained tones also makes (weaker) flux peaks.
    std::vector<float> onsetStrengths;
    for (const auto &earlier : m_earlierOnsets) onsetStrengths.push_back(earlier.second);
    for (int onset : onsets) onsetStrengths.push_back(strength[onset]);
    const size_t strongRank = onsetStrengths.size() * 9 / 10;
    std::nth_element(onsetStrengths.begin(), onsetStrengths.begin() + strongRank, onsetStrengths.end());
    const float strongOnset = onsetStrengths.empty() ? 0.f : kStrongOnsetRatio * onsetStrengths[strongRank];
    auto isStrong = [&](int frame) { return strength[frame] >= strongOnset; };
    std::vector<Note> notes = placeOnsets(
        m_noteHmm.decode(m_voicedPitch, m_voicedProbability), onsets, strength, m_voicedPitch,
        isStrong,
        [&, span = framesOf(kSplitSpanS)](int noteStart, int frame) -> Split {
            const bool strong = isStrong(frame);
            if (!strong && strength[frame] < kWeakSplitOnsetRatio * strongOnset) return {-1, -1};
            const Reattack found = m_onsets->reattack(noteStart, frame, span, kSplitRiseDb, kSplitDipDb);
            if (found.start < 0) return {-1, -1};
            if (found.riseDb >= kCleanRiseDb) return {found.released, found.start};
            if (strong && articulated(noteStart, frame)) return {found.start, found.start};
            const int context = std::min(static_cast<int>(m_voicedPitch.size()), frame + framesOf(kArticulationContextS));
            const float broadband = m_harmonics->fluxRatio(noteStart, context, frame, framesOf(kBroadbandNearS));
            const bool played = (found.riseDb >= kSteadySplitRiseDb
                                 && broadband >= (strong ? kBroadbandOnsetRatio : kWeakOnsetBroadbandRatio))
                                || (strong && broadband >= kStruckOnsetRatio);
            return played ? Split{found.start, found.start} : Split{-1, -1};
        },
        framesOf(kSnapBeforeS), framesOf(kSnapAfterS), framesOf(kSnapUnvoicedS), minFrames);
    // Slow attacks (strings, choir): the note model starts a note once its
    // pitch wins, well after its sound began; the rise of the amplitude at its
    // harmonics shows when that was.
    const int reach = framesOf(kAttackReachS), after = framesOf(kAttackPeakWithinS), rise = framesOf(kSlowRiseS);
    const int adjacent = framesOf(kAdjacentS);
    for (size_t i = 0; i < notes.size(); ++i) {
        Note &note = notes[i];
        const Note *previous = i ? &notes[i - 1] : nullptr;
        const int from = std::max(note.startFrame - reach, previous ? previous->startFrame + minFrames : 0);
        const float avoid = previous && previous->endFrame >= note.startFrame - adjacent ? previous->frequencyHz : 0.f;
        const int start = m_harmonics->attackStart(from, note.startFrame, std::min(note.endFrame, note.startFrame + after),
                                                note.frequencyHz, avoid, rise);
        if (start >= note.startFrame) continue;
        note.startFrame = start;
        if (previous && notes[i - 1].endFrame > start) notes[i - 1].endFrame = start;
    }
    // Repeated notes under a legato bow or breath: no dip deep enough for the
    // onsets' re-attack test, but a burst of noise between the partials.
    if (m_onsetSensitivity > 0) notes = reattacked(notes);  // else onsets never split notes
    // Notes that swelled in under a long release, which the pitch track missed.
    std::vector<int> strongOnsets;
    for (int onset : onsets)
        if (isStrong(onset)) strongOnsets.push_back(onset);
    m_rises->addRisingNotes(notes, strongOnsets, m_spanStart);
    return notes;
}

std::vector<Note> PyinPlugin::reattacked(const std::vector<Note> &notes) const {
    std::vector<Note> split;
    const int head = framesOf(kReattackHeadS), tail = framesOf(kReattackTailS);
    auto part = [&](const Note &note, int from, int to) {
        const float hz = from == note.startFrame && to == note.endFrame ? 0.f : medianPitch(m_voicedPitch, from, to);
        split.push_back({from, to, hz > 0 ? hz : note.frequencyHz});
    };
    for (const Note &note : notes) {
        int start = note.startFrame;
        for (int cut : m_harmonics->reattacks(note.startFrame, note.endFrame, head, tail, tail)) {
            part(note, start, cut);
            start = cut;
        }
        part(note, start, note.endFrame);
    }
    return split;
}

}  // namespace audioscore
