"""Note post-processing on the pitch track: what a performance does to a note list.

A pYIN note model sees the smoothed pitch track frame by frame; a few things real
players and singers do need the whole note in view, so they are cleaned here, after
decoding (the plugin stays a plain pYIN with onsets):

* **Scoops and falls** (Tony-style note models split them off): a short note that
  glides into the next one (a singer's scoop, a wind player's attack) becomes part of
  that note, which keeps the stable part's pitch; a short fall off the end of a note
  into silence becomes part of the note before it.
* **Attacks read an octave off**: a short note an octave or two from the note it touches
  next is that note's attack, where the pitch track briefly locked onto a sub- or
  overtone; it becomes part of that note.
* **Slides after a sagging note**: a note that begins on the previous note's (sagging) pitch
  and barely holds its own, between two notes, is the previous note's tail and a slide into
  the next one.
* **Steps sung legato**: a note that holds one pitch and then another about a semitone
  away (a singer narrowing the step) is two notes.
* **Slow attacks** (string sections, choir): the note model starts a note only once its
  voicing is confident; the pitch track is already on the note's pitch earlier, so a
  note's onset moves back over the frames that sit on its pitch.
* **Tuning**: :func:`estimate_tuning` gives the recording's offset from A440 (cents),
  which :func:`tuned_midi` takes off when notes are rounded to MIDI numbers.

Conventions: times in seconds, f0 in Hz (0 = unvoiced), notes as
``(onset_s, offset_s, pitch_hz)``, pitch distances in cents or semitones (MIDI numbers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["clean_notes", "estimate_tuning", "semitone_offset", "tuned_midi"]

NoteTuple = tuple[float, float, float]

# A scoop or fall is at most this long, and glides: fewer than this share of its voiced
# frames lie within GLIDE_STABLE_CENTS of its median pitch (a short played note, however
# short, holds its pitch for most of its frames).
SCOOP_MAX_S = 0.15
GLIDE_STABLE_CENTS = 30.0
GLIDE_MAX_STABLE_SHARE = 0.5
GLIDE_MIN_S = 0.02
# ... and it leads at most this far (semitones) from or to the note it belongs to.
SCOOP_MAX_SEMITONES = 3.0
# An attack read an octave off (or a twelfth: the pitch track's third sub-harmonic): at most
# this long, this close to the next note, and within this many semitones of a frequency
# ratio of SLIP_RATIOS from it. On tests/realistic.py only a string section's legato
# (strings_waltz, 0.82 -> 0.89) had an octave; a held-out choir chorale had a twelfth
# (found after its first result was seen: F1 0.400 -> 0.483); nothing else changed.
SLIP_MAX_S = 0.15
SLIP_GAP_S = 0.05
SLIP_SEMITONES = 0.8
SLIP_RATIOS = (2, 3, 4)
# A step sung legato: the note model joins two notes when a singer's intonation narrows the
# step between them (a semitone sung as 50-65 cents). A note whose steady frames (the pitch
# moving slower than STEP_STEADY_RATE) hold one pitch and then another STEP_MIN_SEMITONES or
# more apart, each part at least a scoop's length and holding its pitch (within
# STEP_HELD_SEMITONES) for STEP_HELD_S, is two notes. Vibrato moves faster than the rate: a
# note sung with it has few steady frames, on both sides of its pitch.
STEP_MIN_SEMITONES = 0.45
STEP_STEADY_RATE = 6.0  # semitones per second
STEP_HELD_SEMITONES = 0.2
STEP_HELD_S = 0.1
# A slide after a sagging note (a clarinet's tone drooping 40-55 cents before a slur down a
# tone): the note model starts a note on the slide, measures its pitch there (a chromatic
# note between the two) and a harmonic rise then moves its start back over the sag. A note
# that begins on the previous note's pitch (within TAIL_CENTS) for longer than it slides and
# for STEP_HELD_S or more, and holds its own for less than a scoop's length, between two
# touching notes, is that note's tail and a slide into the next one. On the real clarinet
# phrase: 0.21 s of tail, 0.09 s of slide; a fast run's notes start on their own pitch
# within a frame or two. The tail sags toward the slide by SAG_MIN_CENTS or more (its
# median): a sung passing note whose glide leaves the previous pitch late holds that pitch.
TAIL_CENTS = 60.0
SAG_MIN_CENTS = 20.0
# Notes this close (seconds) count as touching.
TOUCH_S = 0.03
# A fall off a note ends in at least this much silence.
FALL_SILENCE_S = 0.05
# Onsets move back over frames within this many semitones of the note, by at most this much.
BACKTRACK_SEMITONES = 0.6
BACKTRACK_MAX_S = 0.3
# A note keeps at least this much of itself when the next one's onset moves back.
MIN_NOTE_S = 0.06
# Tuning from at least this much (e.g. seconds of notes); 0 below.
TUNING_MIN_WEIGHT = 1.0


def _midi(hz: np.ndarray | float) -> np.ndarray | float:
    return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=float) / 440.0)


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def estimate_tuning(pitch_hz: np.ndarray, weight: np.ndarray) -> float:
    """The recording's tuning offset from A440, in cents, in [-50, 50).

    The circular mean of each pitch's deviation from the nearest equal-tempered pitch
    (cents mod 100 as an angle), weighted. Given note pitches (each the median of its
    frames, so vibrato has already averaged out) weighted by duration: a take sung 40
    cents flat gives -40. Per-frame pitches would not do: a +-50 cent vibrato spreads
    its frames around the whole circle.

    Args:
        pitch_hz: Pitches, Hz (non-positive ones are ignored); shape (n,).
        weight: Weight of each, e.g. note durations in seconds; shape (n,).

    Returns:
        Cents; 0.0 when the positive pitches weigh less than ``TUNING_MIN_WEIGHT``.
    """
    hz = np.asarray(pitch_hz, dtype=float)
    w = np.asarray(weight, dtype=float)
    use = (hz > 0) & (w > 0)
    if w[use].sum() < TUNING_MIN_WEIGHT:
        return 0.0
    cents = 100.0 * semitone_offset(np.asarray(_midi(hz[use])), w[use])
    return float(((cents + 50.0) % 100.0) - 50.0)


def semitone_offset(midis: np.ndarray, weights: np.ndarray) -> float:
    """The weighted circular mean of fractional MIDI numbers' distance from the nearest
    semitone, in semitones (-0.5..0.5]: the tuning offset of notes, as an angle so that
    +-48 cents average to 50, not 0. 0 for no notes."""
    if not len(midis):
        return 0.0
    angle = 2.0 * np.pi * (midis - np.round(midis))
    return float(np.arctan2(np.sum(weights * np.sin(angle)), np.sum(weights * np.cos(angle))) / (2.0 * np.pi))


def tuned_midi(pitch_hz: float, tuning_cents: float = 0.0) -> float:
    """Fractional MIDI number of a pitch, the recording's tuning taken off.

    ``69 + 12 log2(hz / 440) - tuning_cents / 100``: a note sung 40 cents flat in a take
    that is 40 cents flat throughout gives an integer.
    """
    return float(_midi(pitch_hz)) - tuning_cents / 100.0


def _frames(times: np.ndarray, onset: float, offset: float) -> slice:
    return slice(int(np.searchsorted(times, onset)), int(np.searchsorted(times, offset)))


def _glides(times: np.ndarray, f0: np.ndarray, hop: float, note: NoteTuple, toward_hz: float) -> bool:
    """Whether a short note is a slide rather than a played note: most of its frames off
    its own median pitch, or at least GLIDE_MIN_S of frames between its pitch and the
    note it leads to or from (a singer holds the scoop's start, then slides; the pitch
    track crosses between two played notes within a frame or two)."""
    voiced = f0[_frames(times, note[0], note[1])]
    voiced = voiced[voiced > 0]
    if voiced.size < 3:
        return False
    cents = 100.0 * np.asarray(_midi(voiced))
    median = float(np.median(cents))
    if float((np.abs(cents - median) <= GLIDE_STABLE_CENTS).mean()) < GLIDE_MAX_STABLE_SHARE:
        return True
    target = 100.0 * float(_midi(toward_hz))
    low, high = sorted((median, target))
    between = (cents > low + GLIDE_STABLE_CENTS) & (cents < high - GLIDE_STABLE_CENTS)
    return between.sum() * hop >= GLIDE_MIN_S


def _semitones(a: NoteTuple, b: NoteTuple) -> float:
    return abs(float(_midi(a[2]) - _midi(b[2])))


def _harmonic_slip(note: NoteTuple, nxt: NoteTuple) -> bool:
    """Whether ``note`` is ``nxt``'s attack read an octave, a twelfth or two octaves off."""
    interval = _semitones(note, nxt)
    return (note[1] - note[0] <= SLIP_MAX_S < nxt[1] - nxt[0] and nxt[0] - note[1] <= SLIP_GAP_S
            and any(abs(interval - 12 * np.log2(k)) <= SLIP_SEMITONES for k in SLIP_RATIOS))


def _merge_scoops(times: np.ndarray, f0: np.ndarray, hop: float, notes: list[NoteTuple]) -> list[NoteTuple]:
    out: list[NoteTuple] = []
    i = 0
    while i < len(notes):
        note = notes[i]
        nxt = notes[i + 1] if i + 1 < len(notes) else None
        short = note[1] - note[0] <= SCOOP_MAX_S
        if (nxt is not None and short and nxt[0] - note[1] <= TOUCH_S and nxt[1] - nxt[0] > note[1] - note[0]
                and _semitones(note, nxt) <= SCOOP_MAX_SEMITONES and _glides(times, f0, hop, note, nxt[2])):
            # A scoop into the next note: one note, the stable part's pitch.
            notes[i + 1] = (note[0], nxt[1], nxt[2])
            i += 1
            continue
        if nxt is not None and _harmonic_slip(note, nxt):
            notes[i + 1] = (note[0], nxt[1], nxt[2])
            i += 1
            continue
        if (out and short and note[0] - out[-1][1] <= TOUCH_S and _semitones(note, out[-1]) <= SCOOP_MAX_SEMITONES
                and (nxt is None or nxt[0] - note[1] >= FALL_SILENCE_S) and _glides(times, f0, hop, note, out[-1][2])
                and out[-1][1] - out[-1][0] > note[1] - note[0]):
            # A fall off the end of the previous note.
            out[-1] = (out[-1][0], note[1], out[-1][2])
            i += 1
            continue
        out.append(note)
        i += 1
    return out


def _give_back_tails(times: np.ndarray, f0: np.ndarray, hop: float, notes: list[NoteTuple]) -> list[NoteTuple]:
    """Each slide after a sagging note (see TAIL_CENTS): the note before it holds on to where
    the pitch leaves it, and the note after it starts there."""
    out = list(notes)
    i = 1
    while hop > 0 and i + 1 < len(out):
        before, note, after = out[i - 1], out[i], out[i + 1]
        window = _frames(times, note[0], note[1])
        hz = f0[window]
        if (note[0] - before[1] > TOUCH_S or after[0] - note[1] > TOUCH_S or hz.size < 3 or not (hz > 0).all()
                or not min(before[2], after[2]) < note[2] < max(before[2], after[2])
                or _semitones(before, note) < STEP_MIN_SEMITONES):
            i += 1
            continue
        own_s = np.sum(np.abs(1200.0 * np.log2(hz / note[2])) <= TAIL_CENTS) * hop
        on_before = np.abs(1200.0 * np.log2(hz / before[2])) <= TAIL_CENTS
        leaves = int(np.argmin(on_before))  # the first frame off the note before's pitch
        split = float(times[window][leaves])
        tail_s, slide_s = split - note[0], note[1] - split
        sag = float(np.median(1200.0 * np.log2(hz[:max(1, leaves)] / before[2]))) * np.sign(note[2] - before[2])
        if (own_s >= SCOOP_MAX_S or not on_before[0] or on_before.all() or slide_s > SCOOP_MAX_S
                or tail_s < max(STEP_HELD_S, slide_s) or sag < SAG_MIN_CENTS):
            i += 1
            continue
        out[i - 1:i + 2] = [(before[0], split, before[2]), (split, after[1], after[2])]
    return out


def _split_steps(times: np.ndarray, f0: np.ndarray, hop: float, notes: list[NoteTuple]) -> list[NoteTuple]:
    if hop <= 0:
        return notes
    out: list[NoteTuple] = []
    for note in notes:
        before = out[-1][2] if out and note[0] - out[-1][1] <= TOUCH_S else None
        out.extend(_step_parts(times, f0, note, hop, before))
    return out


def _step_parts(times: np.ndarray, f0: np.ndarray, note: NoteTuple, hop: float, before_hz: float | None
                ) -> list[NoteTuple]:
    """The note, or the notes it holds one after another (see STEP_MIN_SEMITONES): the best
    two-level least-squares fit of its steady frames' pitch, split again where a part holds two.
    A first part at the pitch of the note it touches before (``before_hz``) is no note: the
    pitch track lagging a new note's attack (a choir's, a string section's)."""
    if note[1] - note[0] < 2 * SCOOP_MAX_S:
        return [note]
    window = _frames(times, note[0], note[1])
    hz = f0[window]
    if hz.size < 3:
        return [note]
    voiced = hz > 0
    midi = np.where(voiced, np.asarray(_midi(np.where(voiced, hz, 1.0))), np.nan)
    with np.errstate(invalid="ignore"):
        steady = np.flatnonzero(voiced & (np.abs(np.gradient(midi)) <= STEP_STEADY_RATE * hop))
    if steady.size < 2 or steady.size * hop < 2 * STEP_HELD_S:
        return [note]
    x = midi[steady]
    sums, squares = np.cumsum(x), np.cumsum(x * x)
    k = np.arange(1, x.size)
    left = squares[k - 1] - sums[k - 1] ** 2 / k
    right = squares[-1] - squares[k - 1] - (sums[-1] - sums[k - 1]) ** 2 / (x.size - k)
    cut = int(k[np.argmin(left + right)])
    before, after = float(np.median(x[:cut])), float(np.median(x[cut:]))
    # The second note starts where the pitch leaves the first one's.
    split = float(times[window][steady[cut - 1] + 1])
    held = (np.sum(np.abs(x[:cut] - before) <= STEP_HELD_SEMITONES) * hop >= STEP_HELD_S
            and np.sum(np.abs(x[cut:] - after) <= STEP_HELD_SEMITONES) * hop >= STEP_HELD_S)
    if (abs(after - before) < STEP_MIN_SEMITONES or not held
            or min(split - note[0], note[1] - split) < SCOOP_MAX_S
            or (before_hz is not None and abs(before - float(_midi(before_hz))) < STEP_MIN_SEMITONES)):
        return [note]
    first = _step_parts(times, f0, (note[0], split, _hz(before)), hop, before_hz)
    return [*first, *_step_parts(times, f0, (split, note[1], _hz(after)), hop, first[-1][2])]


def _backtrack_onsets(times: np.ndarray, f0: np.ndarray, notes: list[NoteTuple]) -> list[NoteTuple]:
    out: list[NoteTuple] = []
    for onset, offset, hz in notes:
        target = float(_midi(hz))
        # A repeated note's onset stays where it is: the frames before it, up to the
        # previous note's release, are that note's (its reverb or release tail).
        same = bool(out) and abs(float(_midi(out[-1][2])) - target) <= BACKTRACK_SEMITONES
        earliest = onset if same else max(onset - BACKTRACK_MAX_S, out[-1][0] + MIN_NOTE_S if out else 0.0)
        k = int(np.searchsorted(times, onset)) - 1
        new_onset = onset
        while k >= 0 and times[k] >= earliest and f0[k] > 0 and abs(float(_midi(f0[k])) - target) <= BACKTRACK_SEMITONES:
            new_onset = float(times[k])
            k -= 1
        if out and out[-1][1] > new_onset:
            out[-1] = (out[-1][0], new_onset, out[-1][2])
        out.append((new_onset, offset, hz))
    return out


def clean_notes(times: np.ndarray, f0_hz: np.ndarray, notes: Sequence[NoteTuple]) -> list[NoteTuple]:
    """Give sagging tails back to their notes, split notes that hold two pitches a step apart,
    merge scoops, falls and attacks read an octave off into their notes, then move onsets back
    over slow attacks.

    Args:
        times: Frame times, seconds, increasing; shape (n,).
        f0_hz: Smoothed pitch per frame, Hz, 0 where unvoiced; shape (n,).
        notes: Notes ``(onset_s, offset_s, pitch_hz)`` in time order, not overlapping.

    Returns:
        The cleaned notes, in time order, not overlapping.
    """
    t = np.asarray(times, dtype=float)
    f0 = np.asarray(f0_hz, dtype=float)
    hop = float(np.median(np.diff(t))) if t.size > 1 else 0.0  # the frame step
    kept = _give_back_tails(t, f0, hop, [tuple(map(float, n)) for n in notes])  # type: ignore[misc]
    split = _split_steps(t, f0, hop, kept)
    cleaned = _merge_scoops(t, f0, hop, split)
    return _backtrack_onsets(t, f0, cleaned)
