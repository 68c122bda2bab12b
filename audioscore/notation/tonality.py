"""Key estimation (music21) and pitch spelling in a key.

Conventions: MIDI note numbers; durations in quarter notes; keys as music21
names ("D major", "e- minor": "-" is flat).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
from music21 import key as m21key
from music21 import note as m21note
from music21 import pitch as m21pitch
from music21 import stream

from audioscore.notation.key_names import KEY_FORMS, read_key_name

__all__ = ["KEY_FORMS", "KEY_METHOD", "drifting_offsets", "estimate_key", "key_respelling", "parse_key", "spell"]

# Temperley-Kostka-Payne profiles: right on every melody of our development corpus,
# where Krumhansl-Schmuckler took a major key for its relative minor.
KEY_METHOD = "temperley"
# A key signature has at most seven sharps or flats; B# major would need twelve.
MAX_KEY_ACCIDENTALS = 7
_STEPS = "CDEFGAB"
# Major against relative minor: when the profile prefers one by less than MODE_MARGIN
# (correlation), the tonic decides: the final note weighs FINAL_WEIGHT, the first FIRST_WEIGHT.
MODE_MARGIN = 0.1
FINAL_WEIGHT = 2.0
FIRST_WEIGHT = 1.0
# An unaccompanied singer sinks or rises slowly (tens of cents a minute, a semitone over a
# song): the tuning is followed over this window, long enough to average a note's scoop
# and vibrato out over its neighbours, short enough to follow the drift.
DRIFT_WINDOW_S = 10.0


def drifting_offsets(onsets_s: Iterable[float], midis: Iterable[float], weights: Iterable[float]) -> np.ndarray:
    """Each note's offset from equal temperament at A440 in semitones, following a
    performance's slow drift: the weighted circular mean of the fractional MIDI numbers of
    the notes within DRIFT_WINDOW_S around it (as an angle, so that +-48 cents average to
    50, not 0), unwrapped along the piece from its first note.

    Rounding ``midi - offset`` writes a singer 40 cents flat throughout in tune (every note
    near x.6, which rounding alone puts a semitone low half the time), and one who has
    sunk a semitone by the last verse in the key they began in, as a musician would, where
    one offset for the whole take flips the notes once the drift passes half a semitone.
    A real change of key moves every pitch by whole semitones and leaves the offset as it was.

    Args:
        onsets_s: note onsets in seconds, in time order, shape (n,).
        midis: unrounded MIDI numbers, shape (n,).
        weights: e.g. note durations in seconds, shape (n,).
    """
    times = np.asarray(list(onsets_s), dtype=float)
    values = np.asarray(list(midis), dtype=float)
    w = np.asarray(list(weights), dtype=float)
    if len(values) == 0:
        return np.zeros(0)
    phasors = np.concatenate([[0.0], np.cumsum(w * np.exp(2j * np.pi * (values - np.round(values))))])
    low = np.searchsorted(times, times - DRIFT_WINDOW_S / 2.0, side="left")
    high = np.searchsorted(times, times + DRIFT_WINDOW_S / 2.0, side="right")
    local = np.angle(phasors[high] - phasors[low])
    return np.unwrap(local) / (2.0 * np.pi)


def estimate_key(notes: Iterable[tuple[int, float]]) -> m21key.Key:
    """Most likely key of (MIDI pitch, duration in quarters) pairs, weighted by duration.

    Raises:
        ValueError: no notes.
    """
    melody: stream.Stream = stream.Stream()
    for midi, quarters in notes:
        n = m21note.Note(midi)
        n.quarterLength = max(quarters, 0.25)
        melody.append(n)
    if not melody.notes:
        raise ValueError("no notes to estimate a key from")
    best = melody.analyze(KEY_METHOD)
    # A major key and its relative minor share a profile's notes; when they fit about equally,
    # the mode follows the tonic: the note the melody ends on (its cadence) and starts on.
    relative = best.relative
    rival = next((k for k in best.alternateInterpretations if k.tonic.pitchClass == relative.tonic.pitchClass
                  and k.mode == relative.mode), None)
    if rival is not None and best.correlationCoefficient - rival.correlationCoefficient < MODE_MARGIN:
        pitches = [n.pitch.pitchClass for n in melody.notes if isinstance(n, m21note.Note)]

        def tonic_weight(k: m21key.Key) -> float:
            tonic = k.tonic.pitchClass
            return FINAL_WEIGHT * (pitches[-1] == tonic) + FIRST_WEIGHT * (pitches[0] == tonic)

        if tonic_weight(rival) > tonic_weight(best):
            return rival
    return best


def _key_as_written(text: str) -> m21key.Key:
    return m21key.Key(*read_key_name(text))


def _enharmonic(key: m21key.Key) -> m21key.Key:
    """The key with the same tonic pitch and mode and the fewest sharps or flats."""
    names = [step + alter for step in _STEPS for alter in ("", "#", "-")]
    same = [m21key.Key(n, key.mode) for n in names if m21pitch.Pitch(n).pitchClass == key.tonic.pitchClass]
    return min(same, key=lambda k: abs(k.sharps))


def parse_key(text: str) -> m21key.Key:
    """A key from text such as "D major", "Bb minor", "f# min", "E♭", "c minor".

    A bare letter means major; a lower-case letter alone means minor. A key whose
    signature would need more than seven sharps or flats (B# major, Fb minor, Gb minor)
    becomes its enharmonic equivalent (C major, E minor, F# minor), as a reader expects.

    Raises:
        ValueError: not a key; the message lists the accepted forms.
    """
    key = _key_as_written(text)
    return _enharmonic(key) if abs(key.sharps) > MAX_KEY_ACCIDENTALS else key


def key_respelling(text: str) -> str | None:
    """A one-line note when ``parse_key`` respells the key, else None.

    Raises:
        ValueError: not a key.
    """
    written = _key_as_written(text)
    if abs(written.sharps) <= MAX_KEY_ACCIDENTALS:
        return None
    used = _enharmonic(written)
    kind = "sharps" if written.sharps > 0 else "flats"
    return (f"{_key_name(written)} would need {abs(written.sharps)} {kind}: "
            f"writing its enharmonic equivalent, {_key_name(used)}")


def _key_name(key: m21key.Key) -> str:
    return f"{key.tonic.name.replace('-', 'b')} {key.mode}"


def spell(midi: int, key: m21key.Key) -> m21pitch.Pitch:
    """Spell a MIDI pitch in a key.

    Scale tones take the key's spelling; in minor the raised sixth and seventh
    are spelled as raised degrees (C# in D minor, D natural in E-flat minor);
    other chromatic tones take the neighbouring degree's spelling with the
    fewer accidentals (C natural in D major), ties going the key's way (A# in
    D major, G-flat in F major).
    """
    return _with_octave(m21pitch.Pitch(_spellings(key.tonic.name, key.mode)[midi % 12]), midi)


@functools.lru_cache(maxsize=64)
def _spellings(tonic: str, mode: str) -> tuple[str, ...]:
    """Pitch names for pitch classes 0..11 in a key (music21 scales are slow to build)."""
    key = m21key.Key(tonic, mode)
    scale = key.getScale("minor" if mode == "minor" else "major").getPitches("C4", "B4")
    by_class = {p.pitchClass: p for p in scale}
    degrees = {p.step: p for p in scale}
    raised_minor = (key.pitchFromDegree(6).step, key.pitchFromDegree(7).step)
    prefer_raise = key.sharps >= 0
    names = []
    for pitch_class in range(12):
        if pitch_class in by_class:
            names.append(by_class[pitch_class].name)
            continue
        below = next((p for p in scale if (p.pitchClass + 1) % 12 == pitch_class), None)
        above = next((p for p in scale if (p.pitchClass - 1) % 12 == pitch_class), None)
        if mode == "minor" and below is not None and below.step in raised_minor:
            names.append(_altered(degrees[below.step], +1).name)
            continue
        candidates = [p for p in (_altered(below, +1) if below else None, _altered(above, -1) if above else None) if p]
        # Fewest accidentals first (C natural, not B sharp, in D major); ties follow the key's side.
        names.append(min(candidates, key=lambda p: (abs(_alter(p)), (_alter(p) < 0) == prefer_raise)).name)
    return tuple(names)


def _alter(p: m21pitch.Pitch) -> float:
    return p.accidental.alter if p.accidental else 0.0


def _altered(p: m21pitch.Pitch, semitones: int) -> m21pitch.Pitch:
    alter = _alter(p) + semitones
    return m21pitch.Pitch(p.step + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}[int(alter)])


def _with_octave(p: m21pitch.Pitch, midi: int) -> m21pitch.Pitch:
    spelled = m21pitch.Pitch(p.name)
    spelled.octave = 4
    spelled.octave += (midi - spelled.midi) // 12
    assert spelled.midi == midi, (p, midi)
    return spelled
