// Note tracking on top of the pitch track, after the note model of Tony
// (Mauch et al., "Computer-aided melody note transcription using the Tony
// software", 2015): for every pitch on a fine grid an attack and a stable
// state, plus silence; Viterbi decoding turns the frame-wise pitch track into
// note events.
//
// Deliberate simplification: one shared silence state, and any pitch may
// follow silence or a note with equal probability. Every transition then is
// a constant-time update per pitch, so the model costs O(pitches) per frame.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace audioscore {

struct Note {
    int startFrame;
    int endFrame;  // exclusive
    float frequencyHz;
};

struct NoteHmmSettings {
    float minMidi = 28.f;          // E1
    float maxMidi = 108.f;         // C8
    int stepsPerSemitone = 3;      // tuning tolerance: notes may sit between semitones
    float stableSpreadSemitones = 0.5f;  // pitch deviation within a held note (vibrato)
    float attackSpreadSemitones = 1.5f;  // pitch is unsettled while a note starts
    float unvoicedInNote = 0.05f;  // relative likelihood of an unvoiced frame inside a note
    float attackSelf = 0.5f;
    float noteEnd = 0.005f;        // stable -> silence per frame
    float legatoChange = 0.002f;   // stable -> another note's attack per frame
    float silenceSelf = 0.99f;
    // Voicing evidence is the pitch model's voiced probability to this power:
    // choirs, string sections and reverberant voices hold their pitch at a
    // voiced probability of 0.1-0.4, which at power 1 loses to silence.
    float voicingExponent = 0.3f;
};

// Median of the voiced (> 0) pitches in frames [from, to); 0 when none is.
float medianPitch(const std::vector<float> &pitchHz, int from, int to);

class NoteHmm {
public:
    explicit NoteHmm(const NoteHmmSettings &settings = NoteHmmSettings());

    // pitchHz: per frame, > 0 where voiced; voicedProbability in [0, 1].
    // Not const: the back-pointer buffers are kept for the next call.
    std::vector<Note> decode(const std::vector<float> &pitchHz,
                             const std::vector<float> &voicedProbability);

private:
    NoteHmmSettings m_s;
    int m_pitches;
    std::vector<uint8_t> m_attackBack, m_stableBack, m_silenceBack;
    std::vector<int> m_bestStableBefore;
    float midiOfPitch(int p) const { return m_s.minMidi + static_cast<float>(p) / m_s.stepsPerSemitone; }
};

// Where placeOnsets splits a note: the first part ends at `end`, the next starts at `start` (>= end).
struct Split {
    int end;
    int start;
};

// Places note starts on detected onsets and splits notes at onsets inside
// them (a re-struck note keeps its pitch, so the note model alone cannot see
// it). First, touching fragments less than half a semitone apart merge unless
// a strong onset (isStrong(frame)) separates them. An onset within
// [start - snapBefore, start + snapAfter] frames moves the start there, one
// before the start only if the pitch track is unvoiced for at most
// `unvoicedAtMost` frames in a row between them (a sung fricative's hiss,
// 60-150 ms before its vowel, is no start of the note). An onset inside a note
// splits it where reattack(noteStart, frame) finds a re-attack (start >= 0:
// the frame the new note starts). Notes shorter than minFrames are dropped.
std::vector<Note> placeOnsets(const std::vector<Note> &notes, const std::vector<int> &onsets,
                              const std::vector<float> &onsetStrength, const std::vector<float> &pitchHz,
                              const std::function<bool(int)> &isStrong,
                              const std::function<Split(int, int)> &reattack,
                              int snapBefore, int snapAfter, int unvoicedAtMost, int minFrames);

}  // namespace audioscore
