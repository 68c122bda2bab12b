#include "NoteHmm.h"

#include "VectorMath.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace audioscore {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kLogSqrt2Pi = 0.9189385f;
// An onset this close (frames) to where two same-pitch fragments meet keeps them apart.
constexpr int kMergeOnsetFrames = 3;

float midiOf(float hz) { return 69.f + 12.f * std::log2(hz / 440.f); }

// Whether the pitch track (0 Hz: unvoiced) over frames [from, to) stops for more than
// unvoicedAtMost frames in a row.
bool voicingBreaks(const std::vector<float> &pitchHz, int from, int to, int unvoicedAtMost) {
    int run = 0;
    for (int f = from; f < to; ++f) {
        run = pitchHz[f] > 0 ? 0 : run + 1;
        if (run > unvoicedAtMost) return true;
    }
    return false;
}

// Log density of a Gaussian in semitones, its normaliser computed once.
struct LogGaussian {
    explicit LogGaussian(float sigma) : inverseSigma(1.f / sigma), logNormaliser(-std::log(sigma) - kLogSqrt2Pi) {}
    float operator()(float delta) const {
        const float z = delta * inverseSigma;
        return logNormaliser - 0.5f * z * z;
    }
    float inverseSigma, logNormaliser;
};

enum State : uint8_t { Silence, Attack, Stable };

}  // namespace

float medianPitch(const std::vector<float> &pitchHz, int from, int to) {
    std::vector<float> voiced;
    for (int f = from; f < to; ++f)
        if (pitchHz[f] > 0) voiced.push_back(pitchHz[f]);
    if (voiced.empty()) return 0.f;
    auto middle = voiced.begin() + voiced.size() / 2;
    std::nth_element(voiced.begin(), middle, voiced.end());
    return *middle;
}

NoteHmm::NoteHmm(const NoteHmmSettings &settings) : m_s(settings) {
    m_pitches = static_cast<int>((m_s.maxMidi - m_s.minMidi) * m_s.stepsPerSemitone) + 1;
}

std::vector<Note> NoteHmm::decode(const std::vector<float> &pitchHz,
                                  const std::vector<float> &voicedProbability) {
    const int frames = static_cast<int>(pitchHz.size());
    const int P = m_pitches;
    std::vector<Note> notes;
    if (frames == 0) return notes;

    const float lAttackSelf = std::log(m_s.attackSelf);
    const float lAttackToStable = std::log(1.f - m_s.attackSelf);
    const float lStableSelf = std::log(1.f - m_s.noteEnd - m_s.legatoChange);
    const float lStableToSilence = std::log(m_s.noteEnd);
    const float lStableToAttack = std::log(m_s.legatoChange / P);
    const float lSilenceSelf = std::log(m_s.silenceSelf);
    const float lSilenceToAttack = std::log((1.f - m_s.silenceSelf) / P);
    const float lUnvoicedInNote = std::log(m_s.unvoicedInNote);
    const LogGaussian attackPitch(m_s.attackSpreadSemitones), stablePitch(m_s.stableSpreadSemitones);

    std::vector<float> attack(P, kNegInf), stable(P, kNegInf);
    float silence = 0.f;
    // Back-pointers: per frame and pitch, the state the attack/stable state came
    // from; for silence and for attacks after a note, the best stable pitch.
    // Every entry is written before it is read: resizing is enough.
    std::vector<uint8_t> &attackBack = m_attackBack, &stableBack = m_stableBack, &silenceBack = m_silenceBack;
    std::vector<int> &bestStableBefore = m_bestStableBefore;
    attackBack.resize(static_cast<size_t>(frames) * P);
    stableBack.resize(static_cast<size_t>(frames) * P);
    silenceBack.resize(frames);
    bestStableBefore.resize(frames);

    for (int f = 0; f < frames; ++f) {
        const bool voiced = pitchHz[f] > 0;
        const float v = std::clamp(std::pow(voicedProbability[f], m_s.voicingExponent), 1e-4f, 1.f - 1e-4f);
        const float midi = voiced ? midiOf(pitchHz[f]) : 0.f;
        const float logVoiced = std::log(v);

        const int bestStable = firstLargest(stable.data(), P);
        const float fromStable = stable[bestStable];
        bestStableBefore[f] = bestStable;

        const float silenceScore = f == 0 ? 0.f : silence;
        uint8_t *aBack = &attackBack[static_cast<size_t>(f) * P];
        uint8_t *sBack = &stableBack[static_cast<size_t>(f) * P];
        for (int p = 0; p < P; ++p) {
            const float delta = midi - midiOfPitch(p);
            const float eAttack = voiced ? logVoiced + attackPitch(delta) : lUnvoicedInNote;
            const float eStable = voiced ? logVoiced + stablePitch(delta) : lUnvoicedInNote;

            float a = attack[p] + lAttackSelf;
            uint8_t aFrom = Attack;
            if (silenceScore + lSilenceToAttack > a) { a = silenceScore + lSilenceToAttack; aFrom = Silence; }
            if (fromStable + lStableToAttack > a) { a = fromStable + lStableToAttack; aFrom = Stable; }

            float s = stable[p] + lStableSelf;
            uint8_t sFrom = Stable;
            if (attack[p] + lAttackToStable > s) { s = attack[p] + lAttackToStable; sFrom = Attack; }

            attack[p] = a + eAttack;
            stable[p] = s + eStable;
            aBack[p] = aFrom;
            sBack[p] = sFrom;
        }
        const float eSilence = voiced ? std::log(1.f - v) : 0.f;
        float q = silenceScore + lSilenceSelf;
        uint8_t qFrom = Silence;
        if (fromStable + lStableToSilence > q) { q = fromStable + lStableToSilence; qFrom = Stable; }
        silence = q + eSilence;
        silenceBack[f] = qFrom;

        // Renormalise to keep float precision on long inputs.
        const float peak = std::max({silence, largest(attack.data(), P), largest(stable.data(), P)});
        silence -= peak;
        for (int p = 0; p < P; ++p) { attack[p] -= peak; stable[p] -= peak; }
    }

    // Trace back the state sequence.
    State state = Silence;
    int pitch = 0;
    float best = silence;
    for (int p = 0; p < P; ++p) {
        if (attack[p] > best) { best = attack[p]; state = Attack; pitch = p; }
        if (stable[p] > best) { best = stable[p]; state = Stable; pitch = p; }
    }
    std::vector<State> states(frames);
    std::vector<int> pitches(frames);
    for (int f = frames - 1; f >= 0; --f) {
        states[f] = state;
        pitches[f] = pitch;
        const size_t at = static_cast<size_t>(f) * P + pitch;
        const State from = static_cast<State>(state == Silence ? silenceBack[f]
                                              : state == Attack ? attackBack[at] : stableBack[at]);
        if (from == Stable && state != Stable) pitch = bestStableBefore[f];
        state = from;
    }

    // A note begins wherever an attack is entered from silence or another note.
    for (int f = 0; f < frames; ++f) {
        if (states[f] == Silence) continue;
        const bool starts = f == 0 || states[f - 1] == Silence
                         || (states[f] == Attack && states[f - 1] != Attack) || pitches[f] != pitches[f - 1];
        if (starts) {
            if (!notes.empty() && notes.back().endFrame == 0) notes.back().endFrame = f;
            notes.push_back({f, 0, 0.f});
        }
        if (f + 1 == frames || states[f + 1] == Silence) notes.back().endFrame = f + 1;
    }
    for (auto &note : notes) {
        note.frequencyHz = medianPitch(pitchHz, note.startFrame, note.endFrame);
        if (note.frequencyHz <= 0) {
            const float midi = midiOfPitch(pitches[note.startFrame]);
            note.frequencyHz = 440.f * std::exp2((midi - 69.f) / 12.f);
        }
    }
    return notes;
}

std::vector<Note> placeOnsets(const std::vector<Note> &notes, const std::vector<int> &onsets,
                              const std::vector<float> &onsetStrength, const std::vector<float> &pitchHz,
                              const std::function<bool(int)> &isStrong,
                              const std::function<Split(int, int)> &reattack,
                              int snapBefore, int snapAfter, int unvoicedAtMost, int minFrames) {
    // The note model moves between neighbouring tuning steps when a held note
    // drifts; fragments less than half a semitone apart with no onset between
    // them are one note.
    std::vector<Note> merged;
    for (const auto &note : notes) {
        if (!merged.empty()) {
            Note &last = merged.back();
            const bool touching = note.startFrame - last.endFrame <= 1;
            const bool sameNote = std::fabs(midiOf(note.frequencyHz) - midiOf(last.frequencyHz)) < 0.5f;
            const bool onsetBetween = std::any_of(onsets.begin(), onsets.end(), [&](int onset) {
                return std::abs(onset - note.startFrame) <= kMergeOnsetFrames && isStrong(onset);
            });
            if (touching && sameNote && !onsetBetween) {
                last.endFrame = note.endFrame;
                last.frequencyHz = medianPitch(pitchHz, last.startFrame, last.endFrame);
                continue;
            }
        }
        merged.push_back(note);
    }

    std::vector<Note> placed;
    for (const auto &note : merged) {
        // Move the start to the strongest onset near it, not into the previous note's head.
        const int earliest = std::max(note.startFrame - snapBefore,
                                      placed.empty() ? 0 : placed.back().startFrame + minFrames);
        int start = note.startFrame;
        float strongest = -1.f;
        for (int onset : onsets) {
            if (onset < earliest || onset > note.startFrame + snapAfter || onset >= note.endFrame) continue;
            if (onset < note.startFrame && voicingBreaks(pitchHz, onset, note.startFrame, unvoicedAtMost)) continue;
            if (onsetStrength[onset] > strongest) {
                strongest = onsetStrength[onset];
                start = onset;
            }
        }
        if (!placed.empty() && placed.back().endFrame > start) placed.back().endFrame = start;

        for (int onset : onsets) {
            if (onset - start < minFrames || note.endFrame - onset < minFrames) continue;
            const Split split = reattack(start, onset);
            if (split.start - start < minFrames) continue;
            placed.push_back({start, split.end, medianPitch(pitchHz, start, split.end)});
            start = split.start;
        }
        placed.push_back({start, note.endFrame, medianPitch(pitchHz, start, note.endFrame)});
    }
    std::vector<Note> kept;
    for (const auto &note : placed)
        if (note.endFrame - note.startFrame >= minFrames && note.frequencyHz > 0) kept.push_back(note);
    return kept;
}

}  // namespace audioscore
