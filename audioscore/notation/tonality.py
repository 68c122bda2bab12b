"""Key estimation (music21) and pitch spelling in a key.

Conventions: MIDI note numbers; durations in quarter notes; keys as music21
names ("D major", "e- minor": "-" is flat).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

import numpy as np
from music21 import key as m21key
from music21 import note as m21note
from music21 import pitch as m21pitch
from music21 import stream

from audioscore.notation.key_names import KEY_FORMS, read_key_name

__all__ = ["KEY_FORMS", "KEY_METHOD", "drifting_offsets", "estimate_key", "key_respelling", "parse_key",
           "quarter_tone_shift", "take_semitone", "spell"]

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
# Modes (folk, rock and jazz lines: A mixolydian, D dorian). A tonic rests on its triad
# and often starts or ends the line: its salience is the duration share of its triad plus
# TONIC_FINAL if the last note is the tonic and TONIC_FIRST if the first is. A mode that
# shares the major/minor key's notes is written when its tonic is MODE_SALIENCE times as
# salient (on 189 major and minor corpus performances the best mode reached 0.80 of the
# key; on modal tunes and the rock guitar solo in A, 1.48-1.71). A mode on the key's own
# tonic is written when its characteristic degree (a major key's flat seventh, a minor
# key's raised sixth with a flat seventh) holds CHARACTERISTIC_SHARE of the duration and
# CHARACTERISTIC_RATIO times the degree it replaces: a passing note does not make a mode.
# A key whose tonic is TONIC_SALIENCE times less salient (either third counting) than another
# pitch is re-made on that one (the corpus's keys: at most 1.23; a blues riff's profile key, 2.0).
TONIC_FINAL = 0.15
TONIC_FIRST = 0.08
TONIC_SALIENCE = 1.6
BLUE_THIRD_SHARE = 0.05  # of the duration on each third: a blues line's, not a passing note
MODE_SALIENCE = 1.2
CHARACTERISTIC_SHARE = 0.06
CHARACTERISTIC_RATIO = 3.0
# A take tuned within AMBIGUOUS_TUNING_CENTS of a quarter tone from A440 reads as well a
# semitone higher as lower, and the key profiles fit both readings alike (one is the other
# transposed): the reading with the smaller key signature is written, as keys with few
# sharps or flats are the common ones. The tuning estimate of the corpus's 198 performances
# is within 2.2 cents of the played tuning for 90 % of them (2.7 for 95 %, 4.5 at most);
# at 3, an E major take played 48 cents flat, read 47.2, was written in E-flat.
AMBIGUOUS_TUNING_CENTS = 2.0
# A take whose beginning is this far (semitones) from its tuning has drifted: its key is the
# one it began in (see take_semitone). Steady takes stay under it (the 232 instrumental takes of
# notation_report: 99 % under 0.059, at most 0.09, by the scatter of a few seconds of notes).
# The beginning's offset from A440 is known to about BEGIN_BAND_CENTS: on the sung takes
# (drifting 25-50 cents, 15 cents of scatter per note) the line through the first notes was
# up to 20 cents from the bends played. On 28 sung takes and 112 more sung with other seeds,
# (0.1, 10) wrote 25 and 95 takes in their key, (0.06, 15) 27 and 99.
BEGIN_DRIFT = 0.06
BEGIN_BAND_CENTS = 15.0
KEY_SAMPLE_NOTES = 2000
# A take tuned this close to a quarter tone (its beginning, where it drifted) is rounded to the
# semitone that puts its notes on the scale of the key a user gives: 40 cents flat of C major is
# 60 cents sharp of B major, and the notes cannot say which the singer meant. Further from it
# the notes stay as they round (a key that needs them 80 cents off is another key, or a
# transposing instrument's); and so they do where neither reading has KEY_FIT of its duration
# on the scale (the key is not the take's: a song given in its original key, sung transposed).
# On the 168 sung takes, the 117 in the band put 0.85-1.0 of their duration on the written key's
# scale read right (one take that drifts across the quarter tone mid-take: 0.72), 0.67 at most
# read a semitone off.
KEY_BAND_CENTS = 25.0
KEY_FIT = 0.8
# Semitones from a major scale's tonic to the tonic of each of its modes written here.
_MODE_DEGREES = {"major": 0, "dorian": 2, "mixolydian": 7, "minor": 9}
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def drifting_offsets(onsets_s: Iterable[float], midis: Iterable[float], weights: Iterable[float]) -> np.ndarray:
    """Each note's offset from equal temperament at A440 in semitones, following a
    performance's slow drift: the weighted circular mean of the fractional MIDI numbers of
    the notes within DRIFT_WINDOW_S around it (as an angle, so that +-48 cents average to
    50, not 0), unwrapped along the piece from its first note; near the take's ends, where a
    window holds notes on one side only, a line through them (see ``_edge_correction``).

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
    offsets = np.unwrap(np.angle(phasors[high] - phasors[low])) / (2.0 * np.pi)
    return offsets + _edge_correction(times, values, w, offsets, low, high)


def _edge_correction(times: np.ndarray, values: np.ndarray, w: np.ndarray, offsets: np.ndarray,
                     low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """What a straight line through each window's notes (weighted least squares of their
    offsets on time) adds at its centre to the window's mean: nothing inside a take, where
    the window is symmetric, but at its ends, where a window holds only the notes on one
    side, the mean lags a steady drift (a singer sinking from 30 cents flat would begin
    nearer the take's median, past the quarter tone) and the line does not."""
    residual = values - offsets - np.round(values - offsets)  # each note from the drift at it

    def window(x: np.ndarray) -> np.ndarray:
        sums = np.concatenate([[0.0], np.cumsum(x)])
        return sums[high] - sums[low]

    # Offsets of the window's notes from the centre's drift, y = residual + offsets - offsets[i],
    # against dt = times - times[i]: the sums of w, w dt, w dt^2, w y and w dt y, by prefix sums.
    s0, st, stt = window(w), window(w * times), window(w * times**2)
    s1 = st - times * s0
    s2 = stt - 2.0 * times * st + times**2 * s0
    sy = window(w * (residual + offsets)) - offsets * s0
    sty = window(w * times * (residual + offsets)) - offsets * st
    t1 = sty - times * sy
    det = s0 * s2 - s1**2
    steady = det > 1e-9 * np.maximum(s0 * s2, 1e-12)
    intercept = np.where(steady, (s2 * sy - s1 * t1) / np.where(steady, det, 1.0), sy / np.maximum(s0, 1e-12))
    return np.where(s0 > 0, intercept, 0.0)


def take_semitone(notes: Sequence[tuple[int, float]], first_offset: float, tuning_cents: float,
                  key: m21key.Key | None = None) -> int:
    """The semitone (+1, -1, or 0) to move a take's rounded notes by, so that it is written in
    the key it began in, or, where that is a quarter tone from A440, in the smaller key signature,
    or in ``key`` where one is given.

    The melody engine takes one tuning off every note, the take's circular mean. A steady
    take is read from it (see :func:`quarter_tone_shift`). A singer who sank from 30 cents
    flat to 90 has it past the quarter tone, and every note rounded from it reads a semitone
    below the key sung at the start: a take whose beginning is BEGIN_DRIFT or more from its
    tuning is read from its beginning, whose offset is known to BEGIN_BAND_CENTS.

    A take within KEY_BAND_CENTS of a quarter tone reads as well a semitone either way, and no
    profile can tell which (one reading is the other transposed): the key a user gives does,
    where one reading has KEY_FIT of its duration on that key's scale.

    Args:
        notes: (MIDI pitch rounded with the drift taken off, duration) pairs.
        first_offset: the drift at the first note (:func:`drifting_offsets`), semitones from the take's tuning.
        tuning_cents: the take's tuning from A440 that the notes have taken off, cents in [-50, 50).
        key: the key the take is in, when known (a user's ``--key``).
    """
    steady = abs(first_offset) < BEGIN_DRIFT
    cents = tuning_cents if steady else 100.0 * first_offset + tuning_cents
    below = math.floor(cents / 100.0)  # the semitone readings either side of the played pitch
    if key is not None and notes and all(abs(cents - 100.0 * s) <= 50.0 + KEY_BAND_CENTS for s in (below, below + 1)):
        fits = [_in_scale(notes, s, key) for s in (below, below + 1)]
        if abs(fits[0] - fits[1]) > 1e-9 and max(fits) >= KEY_FIT:
            return below + int(fits[1] > fits[0])
    if steady:
        return quarter_tone_shift(notes, tuning_cents)
    if abs(abs(cents) - 50.0) <= BEGIN_BAND_CENTS:
        return quarter_tone_shift(notes, cents, band_cents=BEGIN_BAND_CENTS)
    return round(cents / 100.0)


def _in_scale(notes: Sequence[tuple[int, float]], shift: int, key: m21key.Key) -> float:
    """The share of the notes' duration, moved by ``shift`` semitones, on ``key``'s scale (a minor
    key's raised sixth and seventh included)."""
    scale = {p.pitchClass for p in key.getPitches()}
    if key.mode == "minor":
        scale |= {(key.tonic.pitchClass + 9) % 12, (key.tonic.pitchClass + 11) % 12}
    total = sum(duration for _, duration in notes) or 1.0
    return sum(duration for midi, duration in notes if (midi + shift) % 12 in scale) / total


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
            best = rival
    return _modal(best, [(n.pitch.midi, float(n.quarterLength)) for n in melody.notes if isinstance(n, m21note.Note)])


def quarter_tone_shift(notes: Sequence[tuple[int, float]], tuning_cents: float,
                       band_cents: float = AMBIGUOUS_TUNING_CENTS) -> int:
    """The semitone (+1, -1, or 0 for none) to move a take's rounded notes by: nonzero only
    when its tuning is within ``band_cents`` of a quarter tone and the other reading has the
    smaller key signature.

    Args:
        notes: (MIDI pitch rounded with ``tuning_cents`` taken off, duration) pairs.
        tuning_cents: the take's offset from A440 from the semitone its notes are rounded to,
            cents in (-100, 100).
        band_cents: how far from the quarter tone the tuning is ambiguous.
    """
    if abs(abs(tuning_cents) - 50.0) > band_cents or not notes:
        return 0
    # Notes 49 cents sharp of C read as C or, 51 cents flat, as C#.
    step = 1 if tuning_cents > 0 else -1
    # Evenly spaced notes, the first and last kept, give a long take's signature in a fraction
    # of the time (music21 took 9 s for 60,000 notes).
    picked = np.linspace(0, len(notes) - 1, min(len(notes), KEY_SAMPLE_NOTES)).round().astype(int)
    key = estimate_key([notes[i] for i in picked])
    tonic = key.tonic.pitchClass

    def signature(pitch_class: int) -> int:
        return abs(_simplest_key(pitch_class % 12, key.mode).sharps)

    return step if signature(tonic + step) < signature(tonic) else 0


def _modal(key: m21key.Key, notes: list[tuple[int, float]]) -> m21key.Key:
    """``key``, or the dorian or mixolydian mode the notes rest in (see MODE_SALIENCE)."""
    classes = np.array([midi % 12 for midi, _ in notes])
    durations = np.array([quarters for _, quarters in notes])
    share = np.bincount(classes, weights=durations, minlength=12) / durations.sum()

    def salience(tonic: int, scale: tuple[int, ...] | None = None) -> float:
        """Of ``tonic`` with the third in ``scale`` (None: the more held third)."""
        thirds = [share[(tonic + step) % 12] for step in (3, 4) if scale is None or (tonic + step) % 12 in scale]
        return (share[tonic] + max(thirds) + share[(tonic + 7) % 12]
                + TONIC_FINAL * (classes[-1] == tonic) + TONIC_FIRST * (classes[0] == tonic))

    tonic = key.tonic.pitchClass
    # A blues line bends the third (C and C-sharp over A) and the profile can settle on a
    # key whose tonic the line barely touches: the tonic is then the salient one.
    either_third = [salience(t) for t in range(12)]
    rested = int(np.argmax(either_third))
    if either_third[rested] > TONIC_SALIENCE * either_third[tonic]:
        return _on_tonic(rested, share)
    major_tonic = (tonic - _MODE_DEGREES[key.mode]) % 12
    scale = tuple((major_tonic + step) % 12 for step in _MAJOR_SCALE)
    own = salience(tonic, scale)
    modes = {mode: (major_tonic + _MODE_DEGREES[mode]) % 12 for mode in ("dorian", "mixolydian")}
    mode = max(modes, key=lambda m: salience(modes[m], scale))
    if salience(modes[mode], scale) > MODE_SALIENCE * own:
        return _mode_key(modes[mode], mode, key)

    def characteristic(degree: int, replaced: int) -> bool:
        held, other = share[(tonic + degree) % 12], share[(tonic + replaced) % 12]
        return bool(held >= CHARACTERISTIC_SHARE and held >= CHARACTERISTIC_RATIO * other)

    if key.mode == "major" and characteristic(10, 11):
        return m21key.Key(key.tonic.name, "mixolydian")
    if key.mode == "minor" and characteristic(9, 8) and share[(tonic + 10) % 12] >= share[(tonic + 11) % 12]:
        return m21key.Key(key.tonic.name, "dorian")
    return key


def _on_tonic(tonic: int, share: np.ndarray) -> m21key.Key:
    """The key on pitch class ``tonic`` whose third, sixth and seventh the notes hold most;
    with both thirds (a blues line's bent third over a major chord), mixolydian."""
    def more(degree: int, other: int) -> bool:
        return bool(share[(tonic + degree) % 12] >= share[(tonic + other) % 12])

    if min(share[(tonic + 3) % 12], share[(tonic + 4) % 12]) >= BLUE_THIRD_SHARE:
        mode = "mixolydian"
    elif more(4, 3):
        mode = "major" if more(11, 10) else "mixolydian"
    else:
        mode = "dorian" if more(9, 8) and more(10, 11) and share[(tonic + 9) % 12] > 0 else "minor"
    return _simplest_key(tonic, mode)


def _simplest_key(tonic: int, mode: str) -> m21key.Key:
    """The ``mode`` on pitch class ``tonic`` spelled with the fewest sharps or flats."""
    return _enharmonic(m21key.Key(m21pitch.Pitch(tonic).name, mode))


def _mode_key(tonic: int, mode: str, key: m21key.Key) -> m21key.Key:
    """The mode on pitch class ``tonic`` with ``key``'s signature (its tonic spelled in it)."""
    name = next(p.name for p in key.getScale("minor" if key.mode == "minor" else "major").getPitches("C4", "B4")
                if p.pitchClass == tonic)
    return m21key.Key(name, mode)


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


def spell(midi: int, key: m21key.Key, toward: int | None = None) -> m21pitch.Pitch:
    """Spell a MIDI pitch in a key, on its way to the next note ``toward`` (MIDI) if given.

    Scale tones take the key's spelling; in minor the raised sixth and seventh
    are spelled as raised degrees (C# in D minor, D natural in E-flat minor);
    other chromatic tones take the neighbouring degree's spelling with the
    fewer accidentals (C natural in D major). Where both neighbours need as many,
    a chromatic tone that moves on by step goes the way it moves, as readers expect
    (D, C#, D and C, C#, D rise through C#; E, E-flat, D falls through E-flat);
    otherwise ties go the key's way (A# in D major, G-flat in F major).
    """
    names, by_direction = _spellings(key.tonic.name, key.mode)
    name = names[midi % 12]
    if toward is not None and 0 < abs(toward - midi) <= 2:
        name = by_direction.get(midi % 12, (name, name))[toward < midi]
    return _with_octave(m21pitch.Pitch(name), midi)


Spellings = tuple[tuple[str, ...], dict[int, tuple[str, str]]]


@functools.lru_cache(maxsize=64)
def _spellings(tonic: str, mode: str) -> Spellings:
    """Pitch names for pitch classes 0..11 in a key (music21 scales are slow to build), and for
    each chromatic pitch class whose two spellings need as many accidentals, its (rising,
    falling) names: the raised degree below and the lowered degree above."""
    key = m21key.Key(tonic, mode)
    if mode not in ("major", "minor"):
        # A mode's own notes as its signature spells them; the others as in the parallel
        # major or minor key (B-flat and C-sharp in D dorian, G-sharp in A mixolydian).
        relative = key.asKey("major")
        own = {p.pitchClass for p in relative.getScale("major").getPitches("C4", "B4")}
        minor_third = (key.tonic.pitchClass + 3) % 12 in own
        signature = _spellings(relative.tonic.name, "major")[0]
        parallel, parallel_ties = _spellings(tonic, "minor" if minor_third else "major")
        return (tuple(signature[pc] if pc in own else parallel[pc] for pc in range(12)),
                {pc: pair for pc, pair in parallel_ties.items() if pc not in own})
    scale = key.getScale("minor" if mode == "minor" else "major").getPitches("C4", "B4")
    by_class = {p.pitchClass: p for p in scale}
    degrees = {p.step: p for p in scale}
    raised_minor = (key.pitchFromDegree(6).step, key.pitchFromDegree(7).step)
    prefer_raise = key.sharps >= 0
    names, ties = [], {}
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
        if len(candidates) == 2 and abs(_alter(candidates[0])) == abs(_alter(candidates[1])):
            ties[pitch_class] = (candidates[0].name, candidates[1].name)
    return tuple(names), ties


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
