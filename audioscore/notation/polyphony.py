"""Performed notes that overlap (piano, guitar) to notated chords and voices.

Conventions: times in seconds; positions and durations in quarter notes
(``fractions.Fraction``) from the first full bar, as in :mod:`audioscore.notation.quantise`;
MIDI note numbers; staff 1 is the upper (or only) staff, voice 1 the upper voice.

The steps, each a small function:

1. :func:`clean_polyphonic`: a transcriber's spurious short notes and quiet octave ghosts
   dropped, same-pitch fragments joined;
2. :func:`group_onsets`: notes struck together (within a chord's spread) as one onset, so a
   chord counts once for tempo, beats and meter (:func:`audioscore.notation.quantise.notate_rhythm`
   runs on one note per onset);
3. onsets snapped to the grid (:func:`~audioscore.notation.quantise.snap_onsets`), ends to the
   nearest later onset or beat;
4. staves (:mod:`audioscore.notation.hands` for piano), then at most two voices per staff
   (:func:`voice_staff`): a note held across later notes on one side of it is a voice; every
   other overlapping tail (pedal, let-ring, legato) is cut at the staff's next onset, as a
   player reads it.

Written by hand: music21's chordify and voice tools work on notated streams, not on
performed notes, and no installable library turns performed piano notes into voices.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from audioscore.notation.beats import positions_in_beats
from audioscore.notation.meter import choose_meter
from audioscore.notation.quantise import notate_rhythm, snap_onsets, straightened, swing_ratio
from audioscore.notation.rhythm import PerformedNote, Rhythm

__all__ = ["PolyNote", "clean_polyphonic", "group_onsets", "is_polyphonic", "quantise_polyphony", "voice_staff"]

# Polyphony: a note overlapping another by more than this share of the shorter one and
# OVERLAP_S; a melody's legato overlap is a few tens of ms.
OVERLAP_S = 0.12
OVERLAP_SHARE = 0.3
POLYPHONIC_NOTE_SHARE = 0.1
CHORD_SPREAD_S = 0.075     # notes of one chord (or strum) start within this of its first onset
SPURIOUS_S = 0.06          # shorter: a transcriber's blip, dropped
QUIET_SHORT_S = 0.15       # this short and quieter than QUIET_SHARE of the median velocity: dropped
QUIET_SHARE = 0.6
GHOST_INTERVALS = (12, 19, 24)  # harmonics a transcriber mistakes for notes
GHOST_VELOCITY_SHARE = 0.75     # a ghost is quieter than its fundamental by this factor
GHOST_ONSET_S = 0.08
JOIN_GAP_S = 0.03          # a same-pitch fragment starting within this of the previous one's end,
SPLIT_VELOCITY_SHARE = 0.6  # and this much quieter, is the same note decaying (a re-attack is as loud)
END_COSTS = ((Fraction(1), 0.08), (Fraction(1, 2), 0.2), (Fraction(1, 4), 0.35))  # end grids, beats
ONSET_END_COST = 0.0       # an end on a later onset: what legato and pedal playing imply
HALF_TIME_ABOVE_BPM = 140.0  # a quarter tempo this fast may be eighths: see _half_time
HALF_TIME_CONTRAST = 1.3     # mean accent of every other beat over the others' that says so
ANCHOR_MIN_BEATS = 0.08      # an opening chord this far from its beat moves the first beats
ANCHOR_NOTE_BEATS = 0.3
ANCHOR_REACH_BEATS = 4       # to the next onset on a beat within this many beats
# A chord change's accent on the meter (meter.choose_meter's units: a note's length in beats).
CHORD_CHANGE_ACCENT = 2.0
CHORD_CHANGE_NOTES = 3
END_BIAS_BEATS = 0.15      # ends lean later: articulation shortens notes (as quantise.py)
LEGATO_GAP = Fraction(1, 2)   # quarters: a silence this short before the next onset is articulation
MAX_UNDER_HOLD = 64          # onsets under one held note looked at (bounds the work on long holds)
MIN_HOLD_BEATS = Fraction(1)  # a held voice lasts at least this far beyond the next onset


@dataclass(frozen=True)
class PolyNote:
    """A notated note of a polyphonic score.

    Attributes:
        start, duration: quarters from the first full bar (a pickup is negative).
        staff: 1 (upper or only staff) or 2 (lower staff of a grand staff).
        voice: 1 (upper) or 2 (lower) within its staff.
        onset_s, offset_s: as performed.
    """

    start: Fraction
    duration: Fraction
    midi: int
    velocity: int = 80
    staff: int = 1
    voice: int = 1
    onset_s: float = 0.0
    offset_s: float = 0.0

    @property
    def end(self) -> Fraction:
        return self.start + self.duration


def _overlap(a: PerformedNote, b: PerformedNote) -> float:
    return min(a.offset, b.offset) - max(a.onset, b.onset)


def is_polyphonic(notes: Sequence[PerformedNote]) -> bool:
    """Whether the notes overlap like chords and voices rather than a melody's legato."""
    ordered = sorted(notes, key=lambda n: n.onset)
    overlapping = 0
    for i, note in enumerate(ordered):
        for other in ordered[i + 1:]:
            if other.onset >= note.offset:
                break
            shorter = min(note.offset - note.onset, other.offset - other.onset)
            if _overlap(note, other) > max(OVERLAP_S, OVERLAP_SHARE * shorter):
                overlapping += 1
                break
    return overlapping >= 2 and overlapping >= POLYPHONIC_NOTE_SHARE * len(ordered)


def _is_ghost(note: PerformedNote, others: Sequence[PerformedNote]) -> bool:
    """A quiet note an octave, twelfth or two octaves from a louder note struck with it."""
    return any(abs(note.midi - o.midi) in GHOST_INTERVALS and abs(note.onset - o.onset) <= GHOST_ONSET_S
               and note.velocity < GHOST_VELOCITY_SHARE * o.velocity
               and note.offset - note.onset <= o.offset - o.onset for o in others)


def clean_polyphonic(notes: Sequence[PerformedNote]) -> list[PerformedNote]:
    """Notes in onset order without a transcriber's artefacts.

    Dropped: notes shorter than SPURIOUS_S; notes shorter than QUIET_SHORT_S and quieter than
    QUIET_SHARE of the median velocity; quiet octave (twelfth, double octave) ghosts of a
    louder note struck with them. Joined: a note and the same pitch re-starting within
    JOIN_GAP_S of its end much more quietly (a transcriber's split of one decaying note), or
    twice within a chord's spread. A note struck again while it sounds ends there.
    """
    ordered = sorted(notes, key=lambda n: (n.onset, n.midi))
    if not ordered:
        return []
    median_velocity = float(np.median([n.velocity for n in ordered]))
    kept = [n for n in ordered if n.offset - n.onset >= SPURIOUS_S and not (
        n.offset - n.onset < QUIET_SHORT_S and n.velocity < QUIET_SHARE * median_velocity)]
    onsets = np.array([n.onset for n in kept])
    result = []
    for note in kept:
        lo, hi = np.searchsorted(onsets, [note.onset - GHOST_ONSET_S, note.onset + GHOST_ONSET_S + 1e-9])
        if not _is_ghost(note, kept[lo:hi]):
            result.append(note)
    joined: list[PerformedNote] = []
    last_of_pitch: dict[int, int] = {}
    for note in result:
        previous = last_of_pitch.get(note.midi)
        if previous is not None and note.onset < joined[previous].offset + JOIN_GAP_S:
            before = joined[previous]
            if note.onset - before.onset < CHORD_SPREAD_S or (
                    note.onset > before.offset - JOIN_GAP_S and note.velocity < SPLIT_VELOCITY_SHARE * before.velocity):
                # One note reported twice, or split where it decays: one note.
                joined[previous] = replace(before, offset=max(before.offset, note.offset),
                                           velocity=max(before.velocity, note.velocity))
                continue
            joined[previous] = replace(before, offset=note.onset)  # struck again while sounding
        last_of_pitch[note.midi] = len(joined)
        joined.append(note)
    return [n for n in joined if n.offset - n.onset >= SPURIOUS_S / 2] or joined[:1]


def group_onsets(notes: Sequence[PerformedNote]) -> list[list[PerformedNote]]:
    """Notes (in onset order) grouped into onsets: each group starts within CHORD_SPREAD_S of
    its first note and holds each pitch once."""
    groups: list[list[PerformedNote]] = []
    for note in notes:
        group = groups[-1] if groups else None
        if group is not None and note.onset - group[0].onset <= CHORD_SPREAD_S and all(
                n.midi != note.midi for n in group):
            group.append(note)
        else:
            groups.append([note])
    return groups


def _onset_time(group: Sequence[PerformedNote]) -> float:
    """When a listener hears the chord: the loudness-weighted mean onset of its notes."""
    weights = np.array([n.velocity for n in group], dtype=float)
    return float(np.average([n.onset for n in group], weights=weights))


def _beats(rhythm: Rhythm, times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Positions in beats from the first full bar, and seconds per beat there."""
    per_beat = float(rhythm.grid.quarters_per_beat)
    if len(rhythm.beat_times_s) >= 2:
        beats = np.asarray(rhythm.beat_times_s)
        positions = positions_in_beats(times, beats) - rhythm.downbeat_index
        periods = np.interp(positions + rhythm.downbeat_index, np.arange(len(beats) - 1) + 0.5, np.diff(beats))
        return positions, periods
    positions = np.array([rhythm.seconds_to_quarters(t) / per_beat for t in times])
    return positions, np.full(len(positions), rhythm.beat_s)


def _accents(groups: Sequence[Sequence[PerformedNote]]) -> np.ndarray:
    """How strongly each onset is heard: its notes, loudness, and a bass below its neighbours'."""
    lowest = np.array([min(n.midi for n in g) for g in groups])
    accents = np.array([len(g) + max(n.velocity for n in g) / 64.0 for g in groups], dtype=float)
    for i in range(len(groups)):
        for reach, bonus in ((1, 1.0), (2, 0.5)):
            around = np.concatenate([lowest[max(0, i - reach):i], lowest[i + 1:i + 1 + reach]])
            if len(around) and lowest[i] < around.min():
                accents[i] += bonus
    return accents


def _half_time(rhythm: Rhythm, times: Sequence[float], accents: np.ndarray) -> bool:
    """Whether a fast beat found on an even stream of onsets (a pianist's eighths, a
    guitarist's picking) is half a beat: strong onsets (chords, basses) on every other beat."""
    if rhythm.grid.compound or rhythm.tempo_bpm <= HALF_TIME_ABOVE_BPM:
        return False
    positions, _ = _beats(rhythm, times)
    on_beat = np.abs(positions - np.round(positions)) < 0.2
    parity = np.round(positions[on_beat]).astype(int) % 2
    strength = accents[on_beat]
    if min(np.sum(parity == 0), np.sum(parity == 1)) < 4:
        return False
    means = sorted([float(strength[parity == 0].mean()), float(strength[parity == 1].mean())])
    return means[1] >= HALF_TIME_CONTRAST * means[0]


def _anchor_first(rhythm: Rhythm, times: Sequence[float], *, chord: bool) -> Rhythm:
    """The beats before the first onset that falls on one re-spaced so that the first onset
    falls on a beat: a beat tracker extrapolates the first beats from a later tempo, and a
    piece that opens a sixteenth after the bar line is rarely what was played. An opening chord
    always; a single note only when it is nearer a beat than ANCHOR_NOTE_BEATS (not a pickup
    on the half beat)."""
    beats = np.array(rhythm.beat_times_s)
    positions = positions_in_beats(times, beats)
    first = int(np.round(positions[0]))
    off = abs(positions[0] - first)
    if off < ANCHOR_MIN_BEATS or first < 0 or (not chord and off > ANCHOR_NOTE_BEATS):
        return rhythm
    on_beat = [int(np.round(p)) for p in positions[1:] if abs(p - np.round(p)) < ANCHOR_MIN_BEATS and p > first + 0.5]
    if not on_beat or on_beat[0] - first > ANCHOR_REACH_BEATS:
        return rhythm
    anchor = on_beat[0]
    period = (beats[anchor] - times[0]) / (anchor - first)
    beats[: anchor + 1] = times[0] + period * (np.arange(anchor + 1) - first)
    return replace(rhythm, beat_times_s=tuple(float(b) for b in beats),
                   downbeat_s=float(beats[rhythm.downbeat_index]) if rhythm.downbeat_index >= 0 else rhythm.downbeat_s)


def _chord_changes(index: Sequence[float], groups: Sequence[Sequence[PerformedNote]]) -> dict[float, float]:
    """CHORD_CHANGE_ACCENT at each chord (CHORD_CHANGE_NOTES or more notes) whose pitch classes
    are neither within the previous chord's nor hold them all: harmony changes on strong beats, and
    repeated block chords or strums are otherwise an even stream of equal onsets. A chord tone the
    transcriber missed or added leaves one set within the other: no change."""
    accents: dict[float, float] = {}
    previous: frozenset[int] | None = None
    for where, group in zip(index, groups, strict=True):
        if len(group) < CHORD_CHANGE_NOTES:
            continue
        classes = frozenset(n.midi % 12 for n in group)
        if previous is not None and not (classes <= previous or previous <= classes):
            accents[where] = CHORD_CHANGE_ACCENT
        previous = classes
    return accents


def _with_meter(rhythm: Rhythm, groups: Sequence[Sequence[PerformedNote]], snapped: Sequence[Fraction]) -> Rhythm:
    """The rhythm with meter and downbeat chosen from the whole texture's accents: how long
    each onset's notes sound (pedal and let-ring change with the bar) and the bass line's
    contour, where the one-note-per-onset rhythm only saw an even stream of onsets."""
    beats = np.asarray(rhythm.beat_times_s)
    index = [float(w) + rhythm.downbeat_index for w in snapped]
    order = sorted(set(index))
    lengths: dict[float, float] = {}
    for where, group in zip(index, groups, strict=True):
        ends = positions_in_beats([n.offset for n in group], beats)
        lengths[where] = max(lengths.get(where, 0.0), float(np.max(ends)) - where)
    basses = {where: min(n.midi for n in group) for where, group in zip(index, groups, strict=True)}
    changes = _chord_changes(index, groups)
    meter = choose_meter(order, [lengths[w] for w in order], [basses[w] for w in order], compound=rhythm.grid.compound,
                         accents=[changes.get(w, 0.0) for w in order])
    first = Fraction(order[0]).limit_denominator(12)
    per_bar = meter.beats_per_bar
    downbeat = meter.downbeat + math.floor((first - meter.downbeat) / per_bar) * per_bar
    opening = [basses[w] for w in order if w < first + per_bar]
    if first.denominator == 1 and basses[order[0]] <= min(opening) and len(opening) > 1:
        # A piece that opens on its bass starts a bar: a pickup is a melody note alone, and an even
        # accompaniment leaves the accents no say on which beat is the first.
        downbeat = int(first)
    full_bar = downbeat if first == downbeat or first - downbeat < Fraction(per_bar, 2) else downbeat + per_bar
    if full_bar < 0:  # beats before the first tracked one, at its period
        period = beats[1] - beats[0]
        beats = np.concatenate([beats[0] - period * np.arange(-full_bar, 0, -1), beats])
        full_bar = 0
    return replace(rhythm, beats_per_bar=per_bar, downbeat_s=float(beats[full_bar]),
                   beat_times_s=tuple(float(b) for b in beats), downbeat_index=int(full_bar))


def _on_the_beat(rhythm: Rhythm, times: Sequence[float], accents: np.ndarray) -> Rhythm:
    """The beats moved by half a beat when the strong onsets (chords, basses) fall between
    them: on an even stream of eighths the beat tracker cannot tell the beat from the off-beat."""
    beats = np.asarray(rhythm.beat_times_s)
    positions = positions_in_beats(times, beats)
    fraction = positions - np.floor(positions)
    on = np.minimum(fraction, 1.0 - fraction) < 0.15
    off = np.abs(fraction - 0.5) < 0.15
    if min(on.sum(), off.sum()) < 4 or accents[off].mean() < HALF_TIME_CONTRAST * accents[on].mean():
        return rhythm
    middles = (beats[:-1] + beats[1:]) / 2
    shifted = np.concatenate([[middles[0] - (beats[1] - beats[0])], middles, [middles[-1] + beats[-1] - beats[-2]]])
    return replace(rhythm, beat_times_s=tuple(float(b) for b in shifted),
                   downbeat_s=float(shifted[max(0, rhythm.downbeat_index)]))


def _snap_end(start: Fraction, end_beats: float, later_onsets: Sequence[Fraction]) -> Fraction:
    """A note end in beats: the nearest later onset or beat division (coarser ones cheaper)."""
    best: tuple[float, Fraction] | None = None
    for onset in later_onsets:
        cost = abs(float(onset) - end_beats) + ONSET_END_COST
        if best is None or cost < best[0]:
            best = (cost, onset)
    for step, extra in END_COSTS:
        candidate = max(Fraction(round(end_beats / float(step))) * step, (start // step + 1) * step)
        cost = abs(float(candidate) - end_beats) + extra
        if best is None or cost < best[0]:
            best = (cost, candidate)
    assert best is not None
    return max(best[1], start + Fraction(1, 4))


def quantise_polyphony(
    notes: Sequence[PerformedNote], *, tempo_bpm: float | None = None, time_signature: str | None = None,
    triplets: bool = True,
) -> tuple[Rhythm, list[PolyNote]]:
    """Beats, meter and every note's notated start and end (before staves and voices).

    The rhythm is fitted on one note per onset group (its top note, held to the group's
    last end): a chord is one onset. Every note of a group gets the group's snapped start;
    groups that snap to one place merge.

    Raises:
        ValueError: no notes, or an unsupported override (as ``notate_rhythm``).
    """
    cleaned = clean_polyphonic(notes)
    if not cleaned:
        raise ValueError("no notes to notate")
    groups = group_onsets(cleaned)
    times = [_onset_time(g) for g in groups]
    skeleton = [PerformedNote(t, max(max(n.offset for n in g), t + 0.05), max(n.midi for n in g),
                              max(n.velocity for n in g)) for t, g in zip(times, groups, strict=True)]
    rhythm, _, _ = notate_rhythm(skeleton, tempo_bpm=tempo_bpm, time_signature=time_signature, triplets=triplets)
    accents = _accents(groups)
    if tempo_bpm is None and _half_time(rhythm, times, accents):
        rhythm, _, _ = notate_rhythm(skeleton, tempo_bpm=rhythm.tempo_bpm / 2, time_signature=time_signature,
                                     triplets=triplets)
    if len(rhythm.beat_times_s) >= 3:
        rhythm = _on_the_beat(rhythm, times, accents)
    positions, periods = _beats(rhythm, times)
    positions = np.maximum.accumulate(positions)  # the weighted mean keeps order; rounding might not
    snapped = snap_onsets(positions, periods, compound=rhythm.grid.compound, triplets=triplets)
    if len(rhythm.beat_times_s) >= 2:
        rhythm = _anchor_first(rhythm, times, chord=len(groups[0]) >= 2)
    if time_signature is None and len(rhythm.beat_times_s) >= 2 and len(groups) >= 3:
        rhythm = _with_meter(rhythm, groups, snapped)
        positions, periods = _beats(rhythm, times)
        positions = np.maximum.accumulate(positions)
        snapped = snap_onsets(positions, periods, compound=rhythm.grid.compound, triplets=triplets)
    # Swing as for a melody (quantise.notate_rhythm): decided on the chords' onsets in the final
    # meter, 4/4 only; swung eighths are straightened and written plain under a Swing mark.
    ratio = swing_ratio(positions) if rhythm.time_signature == "4/4" else None
    rhythm = replace(rhythm, swing=ratio is not None)
    if ratio is not None:
        positions = straightened(positions, ratio)
        snapped = snap_onsets(positions, periods, compound=False, triplets=triplets)
    onsets = sorted(set(snapped))
    per_beat = rhythm.grid.quarters_per_beat
    ends_beats, _ = _beats(rhythm, [n.offset for n in cleaned])
    if ratio is not None:
        ends_beats = straightened(ends_beats, ratio)
    end_of = {id(n): float(e) + END_BIAS_BEATS for n, e in zip(cleaned, ends_beats, strict=True)}
    placed: dict[tuple[Fraction, int], PolyNote] = {}
    for where, group in zip(snapped, groups, strict=True):
        k = bisect.bisect_right(onsets, where)
        later = onsets[k:k + 8]
        for n in group:
            end = _snap_end(where, end_of[id(n)], later)
            note = PolyNote(where * per_beat, (end - where) * per_beat, n.midi, n.velocity, onset_s=n.onset,
                            offset_s=n.offset)
            previous = placed.get((note.start, n.midi))
            if previous is None or previous.duration < note.duration:
                placed[(note.start, n.midi)] = note
    return rhythm, _final_bar(sorted(placed.values(), key=lambda n: (n.start, n.midi)), rhythm)


def _final_bar(notes: list[PolyNote], rhythm: Rhythm) -> list[PolyNote]:
    """The last notes held to the final bar line when they reach nearly that far: the
    release tail (a pedal, a ringing string) carries past it, no reason to write them longer."""
    bar, beat = rhythm.bar_quarters, rhythm.grid.quarters_per_beat
    last = max(n.start for n in notes)
    bar_line = (last // bar + 1) * bar
    return [replace(n, duration=bar_line - n.start)
            if n.end > last and n.start < bar_line and bar_line - beat <= n.end <= bar_line + bar else n for n in notes]


def _pedalled(moving: Sequence[tuple[Fraction, list[PolyNote]]]) -> bool:
    """Whether the notes under a held note ring past their successors (pedal, let-ring):
    then nothing is held on purpose and every tail is cut."""
    rings = [any(n.end > moving[i + 1][0] for n in group) for i, (_, group) in enumerate(moving[:-1])]
    return len(rings) > 0 and sum(rings) * 2 >= len(rings)


def _chord_end(group: Sequence[PolyNote], limit: Fraction | None) -> Fraction:
    """One end for notes written as a chord: the commonest of their ends, cut at the next
    onset ``limit`` and held to it across a gap up to LEGATO_GAP (articulation, a decaying note: not a rest)."""
    ends = Counter(min(n.end, limit) if limit is not None else n.end for n in group)
    end = max(ends.items(), key=lambda item: (item[1], item[0]))[0]
    return limit if limit is not None and limit - end <= LEGATO_GAP else end


def voice_staff(notes: Sequence[PolyNote]) -> list[PolyNote]:
    """One staff's notes as chords in at most two voices.

    Notes that start together form a chord with one end. A group's notes that sound past the
    next onset are held as a separate voice when every note struck meanwhile lies on one side
    of them (a held bass under a moving line, a held top over an inner voice), they last at
    least MIN_HOLD_BEATS quarters beyond that onset, and the notes under them do not ring on
    themselves (pedal). Every other tail is cut at the next onset. Voice 1 is the upper.
    """
    by_start: dict[Fraction, list[PolyNote]] = {}
    for n in sorted(notes, key=lambda n: (n.start, n.midi)):
        by_start.setdefault(n.start, []).append(n)
    groups = sorted(by_start.items())
    result: list[PolyNote] = []
    held: list[int] = []  # indices in result of the notes held as a voice
    held_end, held_above = Fraction(0), False
    for i, (start, group) in enumerate(groups):
        following = groups[i + 1][0] if i + 1 < len(groups) else None
        if held and held_end <= start:
            held = []
        if held:
            low, high = min(result[k].midi for k in held), max(result[k].midi for k in held)
            if any((n.midi >= low) if held_above else (n.midi <= high) for n in group):
                for k in held:  # a note struck on the held notes' side: they end here
                    result[k] = replace(result[k], duration=start - result[k].start)
                held = []
        if held:
            end = _chord_end(group, following)
            result += [replace(n, duration=end - start, voice=2 if held_above else 1) for n in group]
            continue
        candidate = _hold_candidate(groups, i)
        if candidate is not None:
            long, held_end, held_above = candidate
            held = list(range(len(result), len(result) + len(long)))
            result += [replace(n, duration=held_end - start, voice=1 if held_above else 2) for n in long]
            rest = [n for n in group if n not in long]
            if rest:
                rest_end = _chord_end(rest, following)
                result += [replace(n, duration=rest_end - start, voice=2 if held_above else 1) for n in rest]
            continue
        end = _chord_end(group, following)
        result += [replace(n, duration=end - start, voice=1) for n in group]
    return sorted(result, key=lambda n: (n.start, n.midi))


def _hold_candidate(groups: Sequence[tuple[Fraction, list[PolyNote]]], i: int
                    ) -> tuple[list[PolyNote], Fraction, bool] | None:
    """The notes of group ``i`` to hold as a voice over the next groups, their end and
    whether they lie above the moving notes; None when nothing qualifies."""
    if i + 1 >= len(groups):
        return None
    start, group = groups[i]
    following = groups[i + 1][0]
    long = [n for n in group if n.end >= following + MIN_HOLD_BEATS]
    if not long:
        return None
    end = _chord_end(long, None)
    moving = list(itertools.takewhile(lambda item: item[0] < end, groups[i + 1:i + 1 + MAX_UNDER_HOLD]))
    shorter = [n.midi for n in group if n not in long]
    # One onset under a lone long note is no line of its own: a pedalled bass reads better cut.
    if not moving or _pedalled(moving) or (len(moving) < 2 and not shorter):
        return None
    low, high = min(n.midi for n in long), max(n.midi for n in long)
    under = [n.midi for _, g in moving for n in g]
    if max(under) < low and all(m < low for m in shorter):
        above = True
    elif min(under) > high and all(m > high for m in shorter):
        above = False
    else:
        return None
    return long, end, above
