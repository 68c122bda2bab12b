"""Tempo, meter and quantisation of note events to a notated rhythm.

Conventions: times in seconds; score positions and durations in quarter notes
(``fractions.Fraction``); MIDI note numbers. A constant tempo is fitted to the
note onsets themselves: for monophonic transcription they are more precise
than a beat tracker's frame-level beats.

Written by hand because no library maps performed onsets to notated rhythm
with a meter: librosa tracks beats but does not quantise or choose a meter,
music21 quantises offsets already in quarter notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .beats import positions_in_beats, times_of_positions

__all__ = ["Grid", "PerformedNote", "QuantisedNote", "Rhythm", "fit_rhythm", "quantise"]

TATUM_RANGE_S = (0.06, 1.2)   # the finest regular subdivision of the music
TATUM_STEPS = 400             # log-spaced tatum periods scanned
PHASE_STEPS = 32
FINER_TATUM_COST = 0.03       # misfit a tatum half as long must save to be chosen
SCAN_ONSETS = 400             # the scan uses at most this many onsets, evenly spread
CANDIDATES_PER_CHUNK = 256    # (period, phase) pairs scored at once: bounds memory
MISFIT_CAP = 0.25             # an onset off its grid by more than this counts as this
REFINE_ITERATIONS = 3
PREFERRED_BEAT_BPM = 115.0    # centre of the log-normal prior on the beat rate
PRIOR_WEIGHT = 0.1            # template-score units per squared octave away from it
MAX_ACCENT_TATUMS = 8.0       # a note's accent grows with its length up to this
CADENCE_BONUS = 0.3           # for bar lines that put the last note on a downbeat
# Extra cost (in beats) of snapping to finer subdivisions: sixteenths a little,
# eighth triplets in simple meter more.
SIXTEENTH_PENALTY = 0.02
TRIPLET_PENALTY = 0.08
# (tatums per beat, beats per bar, time signature). Three tatums per beat read
# as 6/8 when most beats are split in three, else as simple meter with triplets.
METERS = ((1, 4, "4/4"), (2, 4, "4/4"), (4, 4, "4/4"), (3, 4, "4/4"),
          (1, 3, "3/4"), (2, 3, "3/4"), (4, 3, "3/4"), (3, 3, "3/4"),
          (1, 2, "2/4"), (2, 2, "2/4"), (4, 2, "2/4"), (3, 2, "2/4"), (3, 2, "6/8"))
COMPOUND_SHARE = 0.4          # share of beats split in three that makes a meter compound
# 4/4 unless the evidence for another meter is clear (2/4 reads as well as 4/4 wherever it fits).
DEFAULT_PENALTY = {"3/4": 0.05, "2/4": 0.1}
# A note is held to the next onset when the silence before it is shorter than
# this (quarters): articulation leaves ~10-20% of a note silent; rests are longer.
LEGATO_GAP_QUARTERS = 0.45
END_BIAS_QUARTERS = 0.1
LAST_NOTE_TOLERANCE = 0.25    # quarters a final note may overshoot a beat and still end there


@dataclass(frozen=True)
class PerformedNote:
    """A note as played: onset and offset in seconds, MIDI pitch (rounded)."""

    onset: float
    offset: float
    midi: int


@dataclass(frozen=True)
class Grid:
    """A beat grid: positions inside a beat allowed for onsets, and their extra cost."""

    compound: bool
    tatum: bool = False  # a bare regular grid: one position per period
    triplets: bool = True  # eighth triplets allowed in simple meter

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Allowed positions within a beat (fractions of a beat) and the cost of each."""
        if self.tatum:
            return np.zeros(1), np.zeros(1)
        s, t = SIXTEENTH_PENALTY, TRIPLET_PENALTY
        if self.compound:  # beat = dotted quarter: three eighths, six sixteenths
            return np.arange(6) / 6.0, np.array([0, s, 0, s, 0, s])
        if not self.triplets:
            return np.array([0, 1 / 4, 1 / 2, 3 / 4]), np.array([0, s, 0, s])
        return np.array([0, 1 / 4, 1 / 2, 3 / 4, 1 / 3, 2 / 3]), np.array([0, s, 0, s, t, t])

    @property
    def quarters_per_beat(self) -> Fraction:
        return Fraction(3, 2) if self.compound else Fraction(1)


@dataclass(frozen=True)
class Rhythm:
    """The fitted beat grid and meter.

    Attributes:
        beat_s: seconds per beat (a quarter in simple meter, a dotted quarter in compound).
        grid: the subdivision used.
        beats_per_bar: 2, 3 or 4.
        downbeat_s: time of a bar's first beat (beats fall at ``downbeat_s + k * beat_s``).
    """

    beat_s: float
    grid: Grid
    beats_per_bar: int
    downbeat_s: float
    # A tracked tempo curve (``audioscore.beats``): the time of every beat, a downbeat at
    # index ``downbeat_index``; empty for one constant tempo.
    beat_times_s: tuple[float, ...] = ()
    downbeat_index: int = 0

    @property
    def tempo_bpm(self) -> float:
        """Quarter notes per minute."""
        return 60.0 / self.beat_s * float(self.grid.quarters_per_beat)

    @property
    def time_signature(self) -> str:
        if self.grid.compound:
            return f"{3 * self.beats_per_bar}/8"
        return f"{self.beats_per_bar}/4"

    @property
    def bar_quarters(self) -> Fraction:
        return self.beats_per_bar * self.grid.quarters_per_beat

    def seconds_to_quarters(self, t: float) -> float:
        """Score position (quarters from the first full bar before the music) of a time."""
        if len(self.beat_times_s) >= 2:
            beats = float(positions_in_beats([t], np.asarray(self.beat_times_s))[0]) - self.downbeat_index
            return beats * float(self.grid.quarters_per_beat)
        return (t - self.downbeat_s) / self.beat_s * float(self.grid.quarters_per_beat)

    def quarters_to_seconds(self, q: float) -> float:
        if len(self.beat_times_s) >= 2:
            beats = q / float(self.grid.quarters_per_beat) + self.downbeat_index
            return float(times_of_positions([beats], np.asarray(self.beat_times_s))[0])
        return self.downbeat_s + q / float(self.grid.quarters_per_beat) * self.beat_s


@dataclass(frozen=True)
class QuantisedNote:
    """A note on the grid: start and duration in quarter notes, MIDI pitch."""

    start: Fraction
    duration: Fraction
    midi: int


def _misfit(onsets: np.ndarray, period_s: np.ndarray, phase_s: np.ndarray) -> np.ndarray:
    """Mean distance (in periods, capped) of onsets (n,) from each regular grid (m,)."""
    costs = np.empty(len(period_s))
    for first in range(0, len(period_s), CANDIDATES_PER_CHUNK):
        chunk = slice(first, first + CANDIDATES_PER_CHUNK)
        where = ((onsets[None, :] - phase_s[chunk, None]) / period_s[chunk, None]) % 1.0
        costs[chunk] = np.minimum(np.minimum(where, 1.0 - where), MISFIT_CAP).mean(axis=-1)
    return costs


def _prior(beat_s: float) -> float:
    return PRIOR_WEIGHT * float(np.log2(60.0 / beat_s / PREFERRED_BEAT_BPM)) ** 2


def _refine(
    onsets: np.ndarray, beat_s: float, phase_s: float, grid: Grid, *, fixed_period: bool = False
) -> tuple[float, float]:
    """Least-squares fit of beat period and phase (or the phase alone) to the
    onsets' nearest grid positions."""
    positions, _ = grid.positions()
    for _ in range(REFINE_ITERATIONS):
        beats = (onsets - phase_s) / beat_s
        whole = np.floor(beats)
        fraction = beats - whole
        nearest = positions[np.argmin(np.abs(fraction[:, None] - positions), axis=1)]
        # Positions past the last subdivision wrap to the next beat.
        wrapped = np.where(np.abs(fraction - 1.0) < np.abs(fraction - nearest), 1.0, nearest)
        target = whole + wrapped
        if fixed_period:
            phase_s = float(np.mean(onsets - target * beat_s))
            continue
        if len(np.unique(target)) < 2:
            break
        beat_s, phase_s = np.polyfit(target, onsets, 1)
    return float(beat_s), float(phase_s)


def _fit_tatum(onsets: np.ndarray) -> tuple[float, float]:
    """The coarsest regular grid (period, phase in seconds) that the onsets fit."""
    low, high = TATUM_RANGE_S
    periods = np.geomspace(high, low, TATUM_STEPS)  # coarsest first
    period_s = np.repeat(periods, PHASE_STEPS)
    phase_s = period_s * np.tile(np.arange(PHASE_STEPS) / PHASE_STEPS, TATUM_STEPS)
    sample = onsets[np.linspace(0, len(onsets) - 1, min(len(onsets), SCAN_ONSETS)).astype(int)]
    misfit = _misfit(sample, period_s, phase_s).reshape(TATUM_STEPS, PHASE_STEPS)
    best_phase = misfit.argmin(axis=1)
    # Any fitting grid also fits when halved: finer tatums pay for their extra freedom.
    best = misfit[np.arange(TATUM_STEPS), best_phase] + FINER_TATUM_COST * np.log2(high / periods)
    i = int(np.argmin(best))
    period, phase = float(periods[i]), float(periods[i] * best_phase[i] / PHASE_STEPS)
    return _refine(onsets, period, phase, Grid(compound=False, tatum=True))


def _tatum_indices(notes: list[PerformedNote], tatum_s: float, phase_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Each note's nearest tatum index, and its accent, which grows with its
    length up to the next onset (a release tail says nothing about meter)."""
    onsets = np.array([n.onset for n in notes])
    offsets = np.minimum([n.offset for n in notes], np.append(onsets[1:], np.inf))
    index = np.round((onsets - phase_s) / tatum_s).astype(int)
    lengths = np.maximum(1, np.round((offsets - onsets) / tatum_s)).astype(int)
    accent = 1.0 + np.sqrt(np.clip(lengths, 0.0, MAX_ACCENT_TATUMS))
    return index - index.min(), accent


def _template(tatums_per_beat: int, beats_per_bar: int) -> np.ndarray:
    """Metrical weights of the tatum positions in a bar, z-scored so meters compare."""
    size = tatums_per_beat * beats_per_bar
    weights = np.zeros(size)
    for j in range(size):
        if j == 0:
            weights[j] = 3.0
        elif j % tatums_per_beat == 0:
            weights[j] = 2.0 if (beats_per_bar == 4 and j == 2 * tatums_per_beat) else 1.5
        elif tatums_per_beat % 2 == 0 and j % (tatums_per_beat // 2) == 0:
            weights[j] = 0.5
    return (weights - weights.mean()) / (weights.std() + 1e-9)


def _split_in_three(index: np.ndarray) -> float:
    """Share of beats (three tatums each, at the phase that puts most onsets on
    beats) that have an onset inside them."""
    phase = int(np.argmax(np.bincount(index % 3, minlength=3)))
    beats = (index - phase) // 3
    inside = (index - phase) % 3 != 0
    return len(np.unique(beats[inside])) / len(np.unique(beats))


def _choose_meter(
    index: np.ndarray, accent: np.ndarray, tatum_s: float, time_signature: str | None
) -> tuple[int, int, int, str]:
    """(tatums per beat, beats per bar, tatum index of a downbeat, time signature)."""
    best: tuple[float, int, int, int, str] | None = None
    for per_beat, per_bar, signature in METERS:
        if time_signature is not None and signature != time_signature:
            continue
        if per_beat == 3 and (signature == "6/8") != (_split_in_three(index) >= COMPOUND_SHARE):
            continue
        template = _template(per_beat, per_bar)
        size = len(template)
        for offset in range(size):
            fit = float(np.sum(accent * template[(index - offset) % size]) / accent.sum())
            cadence = CADENCE_BONUS if (index[-1] - offset) % size == 0 else 0.0
            score = (fit + cadence - _prior(per_beat * tatum_s)
                     - (0.0 if time_signature else DEFAULT_PENALTY.get(signature, 0.0)))
            if best is None or score > best[0]:
                best = (score, per_beat, per_bar, offset, signature)
    assert best is not None
    return best[1], best[2], best[3], best[4]


def fit_rhythm(
    notes: list[PerformedNote],
    *,
    tempo_bpm: float | None = None,
    time_signature: str | None = None,
    triplets: bool = True,
) -> Rhythm:
    """Fit tempo, beat phase and meter to performed notes.

    The tatum (finest regular grid) comes from the onsets; the beat and bar
    from matching note accents (longer notes weigh more) against metrical
    templates, with a log-normal prior on the beat rate around 115 bpm.

    Args:
        notes: performed notes in time order (at least two).
        tempo_bpm: quarter-note tempo to impose instead of estimating it.
        time_signature: "4/4", "3/4", "2/4" or "6/8" to impose.
        triplets: allow eighth triplets in simple meter.

    Returns:
        The rhythm.

    Raises:
        ValueError: fewer than two notes, or an unsupported override.
    """
    if len(notes) < 2:
        raise ValueError("at least two notes are needed to estimate a rhythm")
    if time_signature is not None and time_signature not in {m[2] for m in METERS}:
        raise ValueError(f"time signature {time_signature!r} is not one of 2/4, 3/4, 4/4, 6/8")
    if tempo_bpm is not None and not 20.0 <= tempo_bpm <= 400.0:
        raise ValueError(f"tempo {tempo_bpm} bpm is outside 20..400")
    onsets = np.array([n.onset for n in notes])
    tatum_s, phase_s = _fit_tatum(onsets)
    if tempo_bpm is not None:
        # A sixteenth (or a compound sixteenth) of the imposed tempo as the tatum.
        quarter = 60.0 / tempo_bpm
        tatum_s = quarter / 4.0
        misfit = _misfit(onsets, np.full(PHASE_STEPS, tatum_s), tatum_s * np.arange(PHASE_STEPS) / PHASE_STEPS)
        phase_s = tatum_s * int(np.argmin(misfit)) / PHASE_STEPS
    index, accent = _tatum_indices(notes, tatum_s, phase_s)
    if tempo_bpm is not None:
        compound = time_signature == "6/8"
        per_beat = 6 if compound else 4
        per_bar = {"2/4": 2, "3/4": 3, "6/8": 2}.get(time_signature or "4/4", 4)
        template = _template(per_beat, per_bar)
        fits = [float(np.sum(accent * template[(index - o) % len(template)])) for o in range(len(template))]
        offset = int(np.argmax(fits))
    else:
        per_beat, per_bar, offset, signature = _choose_meter(index, accent, tatum_s, time_signature)
        compound = signature == "6/8"
    grid = Grid(compound=compound, triplets=triplets)
    beat_s = per_beat * tatum_s
    # Tatum indices are relative to the first note's; a downbeat sits at `offset`.
    first = round((onsets[0] - phase_s) / tatum_s)
    downbeat = phase_s + (first + offset) * tatum_s
    # An imposed tempo stays as given: only the phase moves.
    beat_s, downbeat = _refine(onsets, beat_s, downbeat, grid, fixed_period=tempo_bpm is not None)
    # The bar containing the first note starts at or before it.
    bar_s = per_bar * beat_s
    downbeat -= np.ceil((downbeat - onsets[0] - 0.25 * beat_s) / bar_s) * bar_s
    return Rhythm(beat_s, grid, per_bar, downbeat)


def _snap(quarters: float, grid: Grid) -> Fraction:
    """Nearest allowed position, in quarters."""
    beats = quarters / float(grid.quarters_per_beat)
    whole = np.floor(beats)
    positions, extra = grid.positions()
    candidates = np.append(positions, 1.0)
    costs = np.abs(beats - whole - candidates) + np.append(extra, 0.0)
    best = Fraction(float(candidates[np.argmin(costs)])).limit_denominator(12)
    return (int(whole) + best) * grid.quarters_per_beat


def quantise(notes: list[PerformedNote], rhythm: Rhythm) -> list[QuantisedNote]:
    """Snap notes to the rhythm's grid (positions from the first bar line).

    A note lasts until the next one starts when the silence between them is
    shorter than LEGATO_GAP_QUARTERS (articulation); otherwise until its own
    end snapped to eighths, leaving a rest. Notes that snap to nothing, or onto an earlier note's
    start, are dropped (the longer of two colliding notes is kept).
    """
    grid = rhythm.grid
    smallest = Fraction(1, 4)  # a sixteenth, in quarters
    starts = [_snap(rhythm.seconds_to_quarters(n.onset), grid) for n in notes]
    kept: dict[Fraction, tuple[float, int, int]] = {}
    for i, (note, start) in enumerate(zip(notes, starts)):
        length = note.offset - note.onset
        if start not in kept or length > kept[start][0]:
            kept[start] = (length, note.midi, i)
    ordered = sorted(kept.items())

    result = []
    for j, (start, (_, midi, i)) in enumerate(ordered):
        # Ends snap to eighths, leaning later: articulation shortens notes by
        # more than a sixteenth (release tails lengthen them less: the note
        # tracker ends a note where its pitch fades).
        performed_end = rhythm.seconds_to_quarters(notes[i].offset)
        end = Fraction(math.floor((performed_end + END_BIAS_QUARTERS) * 2 + 0.5), 2)
        following = ordered[j + 1][0] if j + 1 < len(ordered) else None
        if following is not None and (end > following or float(following) - performed_end < LEGATO_GAP_QUARTERS):
            end = following
        if end - start < smallest and not (following is not None and following - start > 0):
            continue
        if following is None:  # the last note ends on the beat it reaches
            beat = grid.quarters_per_beat
            end = max(start + smallest, math.ceil(Fraction(performed_end - LAST_NOTE_TOLERANCE) / beat) * beat)
        if end <= start:
            end = start + (following - start if following is not None else smallest)
        result.append(QuantisedNote(start, end - start, midi))
    return result
