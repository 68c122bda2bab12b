"""Meter and downbeat from notes placed on tracked beats.

Conventions: positions and lengths in beats (the felt beat: a quarter in simple meter, a
dotted quarter in 6/8); beat 0 is the first tracked beat.

Written by hand: no installable library chooses a time signature for a melody. The
choice follows the accents a listener hears: long notes, notes on the beat, the
highest and lowest notes of a phrase, the harmony a melody outlines changing at bar lines,
and how a piece is laid out in bars: its final note on a strong beat and ending at a bar
line, its first note on a downbeat or after a short pickup. 4/4 is preferred unless another
meter clearly explains the accents better.

A downbeat that moves by a beat for good in the middle of a piece is not music but a
beat the tracker gained or lost (a held note at a tempo change, a ritardando):
:func:`phase_changes` finds where, so the beats can be repaired; :func:`breath_slips` finds
the beats it gained in breaths, all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audioscore.notation.harmony import beat_profiles, window_fits

__all__ = ["Meter", "breath_slips", "choose_meter", "divided_fast_triple", "meter_scores", "phase_changes"]

# (beats per bar, time signature) for simple and compound beats.
SIMPLE_METERS = ((4, "4/4"), (3, "3/4"), (2, "2/4"))
COMPOUND_METERS = ((2, "6/8"),)
# Penalties (in accent-contrast units) of a meter against 4/4: 3/4 needs clear triple
# accents (on the 28 humanised and 14 exact pieces, true 3/4 scored >= 0.5 over 4/4, runs
# of straight eighths in 4/4 up to 0.3); 2/4 reads like 4/4 wherever both fit, so it must
# fit clearly better. A melody alone rarely says 2/4: its bars pair up into 4/4 bars (a
# march's oom-pah is in the accompaniment), and 2/4 at 60 with sixteenths is the page of
# 4/4 at 120 with eighths in other units (both readings' commonest values are eighths or
# quarters, both beats within 60-140 bpm): a convention the onsets cannot decide, so the
# 4/4 reading is written.
METER_PENALTY = {"4/4": 0.0, "3/4": 0.45, "2/4": 0.35, "6/8": 0.0}
# Metrical weight of each beat of the bar (a half-bar in 4/4 is a secondary accent:
# without it, a tune whose long notes fall on beat 3 gets its bar lines there).
METRIC_WEIGHTS = {"4/4": (1.0, 0.0, 0.5, 0.0), "3/4": (1.0, 0.0, 0.0), "2/4": (1.0, 0.0), "6/8": (1.0, 0.0)}
CADENCE_BONUS = 0.4       # the final note on a downbeat (times the beat's metric weight)
END_BONUS = 0.3           # and ending at a bar line (the last bar is full)
END_TOLERANCE_BEATS = 0.6  # the final note's performed end this close to a bar line ends there
# A pickup is short: none in about half of written melodies, up to a beat in most of the
# rest, a half bar or more rarely. Cost per beat of pickup beyond the first.
PICKUP_COST = 0.12
PERIODICITY_WEIGHT = 2.0  # per unit of autocorrelation of the accents at the bar's lag
# Phase changes (see phase_changes): the cost of moving the downbeat, in units of the
# accents' standard deviation, and the shortest run of bars on either side that counts.
PHASE_SWITCH_COST = 4.0
# A tracker gains or loses its beat where nothing starts to hold it: inside a hold or a rest
# (a phrase's last note stretched by its ritardando) the move is cheaper. On every corpus
# 2.0-3.0 repaired one re-performed reel (0.49 -> 0.86) and moved nothing right; 1.5 broke
# tune_a_minor in three corpora, as 2.0 everywhere broke the exact renderings.
PHASE_SWITCH_COST_QUIET = 3.0
PHASE_MIN_BARS = 2
# A beat gained where the tracker squeezed one into a breath (see breath_slips), in the accent
# units of PHASE_SWITCH_COST: cheaper, as only one move, a beat later, at a few places is open.
# On the long takes breathing, 1.0 writes 0.80 of the notes right (0.55 before); about 1.5 left
# a reel, a lullaby and a siciliano slipping (0.69).
BREATH_SLIP_COST = 1.0
LONGEST_ACCENT_BEATS = 4.0
CONTOUR_ACCENT = 0.3  # a local pitch peak or trough
# Harmonic rhythm (see _harmony), per unit of fit (share of the sounding length on one
# chord's tones) by which bars fit one chord better than windows of their length anywhere.
# On the written corpus melodies, 3/4 bars' gain minus 2- or 4-beat bars' is -0.02..+0.14 for
# 3/4 tunes, -0.14..+0.025 for 4/4 and 2/4 ones; on the performed corpora the humanised
# minuet turns 3/4 from a weight of 8; from 20 a low waltz turns 4/4 and a 2/4 air 3/4.
HARMONY_WEIGHT = 12.0
# A triple beat this fast (quarter bpm) that divides in two on this share of its beats or
# more is the eighth of a compound meter (see divided_fast_triple).
FAST_TRIPLE_BPM = 140.0
DIVIDED_SHARE = 0.1


@dataclass(frozen=True)
class Meter:
    """A meter: beats per bar, its signature, and the beat index of a downbeat."""

    beats_per_bar: int
    time_signature: str
    downbeat: int


def _accents(positions: np.ndarray, lengths: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    # A durational accent in proportion to the length (a half note twice a quarter's): with
    # the square root, a waltz's half notes barely outweighed the quarters after them.
    accent = np.clip(lengths, 0.0, LONGEST_ACCENT_BEATS)
    if len(pitches) >= 3:
        inner = pitches[1:-1]
        peak = ((inner > pitches[:-2]) & (inner > pitches[2:])) | ((inner < pitches[:-2]) & (inner < pitches[2:]))
        accent[1:-1] += CONTOUR_ACCENT * peak
    return accent


def _periodicity(positions: np.ndarray, accent: np.ndarray) -> dict[bool, float]:
    """How well the accent pattern repeats every bar, for duple (False: a 4- or 8-beat lag)
    and triple (True: 3 or 6 beats) bars: the autocorrelation of accents on a half-beat
    grid. Independent of the downbeat's phase and robust to a beat the tracker lost in one
    place, where the contrast of downbeats is not: melodies repeat their rhythm by the bar."""
    index = np.round((positions - positions.min()) * 2).astype(int)
    series = np.zeros(int(index.max()) + 1)
    np.add.at(series, index, accent)
    series -= series.mean()
    energy = float(np.dot(series, series)) or 1.0

    def at(beats: int) -> float:
        lag = 2 * beats
        return float(np.dot(series[:-lag], series[lag:])) / energy if lag < len(series) else 0.0

    return {False: max(at(4), at(8)), True: max(at(3), at(6))}


def _beat_strength(pos: np.ndarray, accent: np.ndarray) -> tuple[np.ndarray, int]:
    """Accent on each whole beat from ``first`` (the floor of the first position): the sum
    of the accents of the notes that start on it; (strengths, first)."""
    on_beat = np.abs(pos - np.round(pos)) < 1e-6
    beat_index = np.round(pos).astype(int)
    first, last = int(np.floor(pos.min())), int(np.ceil(pos.max()))
    strength = np.zeros(last - first + 1)
    np.add.at(strength, beat_index[on_beat] - first, accent[on_beat])
    return strength, first


def _layout(pos: np.ndarray, lengths: np.ndarray, per_bar: int, signature: str, phase: int) -> float:
    """How well the piece sits in bars with downbeats at ``phase``: the final note on a
    strong beat and ending at a bar line, the first on a downbeat or after a short pickup."""
    weights = METRIC_WEIGHTS[signature]
    final = float(pos[-1])
    score = 0.0
    if abs(final - round(final)) < 1e-6:
        score += CADENCE_BONUS * weights[(round(final) - phase) % per_bar]
    # The first bar line after the final onset; the note's performed end near it ends there.
    bar_line = phase + (np.floor((final - phase) / per_bar) + 1) * per_bar
    if lengths[-1] >= 1.0 and abs(final + float(lengths[-1]) - bar_line) <= END_TOLERANCE_BEATS:
        score += END_BONUS
    pickup = (phase - float(pos[0])) % per_bar
    return score - PICKUP_COST * max(0.0, pickup - 1.0)


def _harmony(profiles: np.ndarray, per_bar: int) -> float:
    """How much better bars of ``per_bar`` beats at their best downbeat fit one chord each
    than windows of that length starting on any beat: harmony that changes at bar lines.

    Against windows of the same length, not the fit itself: shorter windows hold fewer
    notes and fit some chord more easily, so a bar of three beats would always win."""
    if len(profiles) < 2 * per_bar:
        return 0.0
    fits, weight = window_fits(profiles, per_bar)
    if weight.sum() == 0:
        return 0.0
    phases = np.arange(len(fits)) % per_bar
    sounding = np.bincount(phases, weights=weight, minlength=per_bar)
    by_phase = np.bincount(phases, weights=fits * weight, minlength=per_bar)[sounding > 0] / sounding[sounding > 0]
    return float(by_phase.max()) - float(np.dot(fits, weight) / weight.sum())


def meter_scores(
    positions: Sequence[float], lengths: Sequence[float], pitches: Sequence[float], *, compound: bool,
    time_signature: str | None = None, accents: Sequence[float] | None = None,
) -> list[tuple[float, Meter, dict[str, float]]]:
    """Every candidate meter and downbeat with its score and the score's parts, best first.

    The bar length is chosen by the accents and the harmony: the best downbeat ``contrast``
    of the meter, the periodicity of the accents at its bar length, how much better its
    bars fit one chord each than other windows of their length (``harmony``, weighted) and
    its prior, summed in ``meter``; the
    downbeat within it by its contrast and the ``layout`` (final note, pickup), relative to
    the meter's best layout. A final note that happens to land on some meter's bar line says
    little about the bar's length, and a beat the tracker lost would decide it. Arguments
    as for :func:`choose_meter`.
    """
    pos = np.asarray(positions, dtype=float)
    length = np.asarray(lengths, dtype=float)
    accent = _accents(pos, length, np.asarray(pitches, dtype=float))
    if accents is not None:
        accent = accent + np.asarray(accents, dtype=float)
    strength, first = _beat_strength(pos, accent)
    beats = np.arange(first, first + len(strength))
    scale = float(strength.std()) or 1.0
    periodicity = _periodicity(pos, accent)
    profiles = beat_profiles(pos, length, np.asarray(pitches, dtype=float))
    harmonies = {span: _harmony(profiles, span) for span in (2, 3, 4)} if not compound else {}
    scored = []
    for per_bar, signature in COMPOUND_METERS if compound else SIMPLE_METERS:
        if time_signature is not None and signature != time_signature:
            continue
        contrasts, layouts = [], []
        for phase in range(per_bar):
            template = np.asarray(METRIC_WEIGHTS[signature])[(beats - phase) % per_bar]
            contrasts.append(0.0 if template.std() == 0 else float(
                np.mean((strength - strength.mean()) * (template - template.mean())) / (scale * template.std())))
            layouts.append(_layout(pos, length, per_bar, signature, phase))
        # A 4/4 tune's chords often change every half bar: duple bars take the better of 2 and 4 beats.
        harmony = 0.0 if compound else max(harmonies[span] for span in ((3,) if per_bar == 3 else (2, 4)))
        bar_score = (max(contrasts) + PERIODICITY_WEIGHT * periodicity[per_bar % 3 == 0]
                     + HARMONY_WEIGHT * harmony - (0.0 if time_signature else METER_PENALTY[signature]))
        for phase in range(per_bar):
            parts = {"meter": bar_score, "contrast": contrasts[phase] - max(contrasts),
                     "layout": layouts[phase] - max(layouts), "harmony": HARMONY_WEIGHT * harmony}
            scored.append((bar_score, Meter(per_bar, signature, phase), parts))
    return sorted(scored, key=lambda item: (-item[0], -(item[2]["contrast"] + item[2]["layout"])))


def choose_meter(
    positions: Sequence[float], lengths: Sequence[float], pitches: Sequence[float], *, compound: bool,
    time_signature: str | None = None, accents: Sequence[float] | None = None,
) -> Meter:
    """The meter whose downbeats carry the strongest accents and lay the piece out in bars
    most plainly (see :func:`meter_scores`).

    Args:
        positions: note starts in beats (snapped to the notation grid), in order.
        lengths: each note's length to the next onset (its last: its own), in beats.
        pitches: MIDI pitches.
        compound: the beat divides in three (only 6/8 is then considered).
        time_signature: impose this signature; only the downbeat is chosen.
        accents: more accent per note, in the units of a note's length in beats (a chord change).

    Raises:
        ValueError: ``time_signature`` does not fit the beat's division.
    """
    scored = meter_scores(positions, lengths, pitches, compound=compound, time_signature=time_signature,
                          accents=accents)
    if not scored:
        raise ValueError(f"time signature {time_signature!r} does not fit a {'compound' if compound else 'simple'} beat")
    return scored[0][1]


def divided_fast_triple(positions: Sequence[float], beat_bpm: float, meter: Meter) -> bool:
    """Whether a 3/4 reading's beats are the eighths of a 6/8: the beat is fast (FAST_TRIPLE_BPM
    or more) and divides in two on DIVIDED_SHARE of its beats or more.

    A fast waltz's beat is rarely divided (one pair of eighths in 36 beats at 160 in the
    corpus): at that speed a written eighth is a virtuoso's. A siciliano's dotted-eighth,
    sixteenth, eighth read an eighth per beat is a fast 3/4 whose sixteenths are eighths;
    what the onsets cannot say (both bars hold three beats) the notated values do: musicians
    write a lilting triple figure with its eighth as the unit of a slower compound beat.

    Args:
        positions: note starts in beats (snapped), in order.
        beat_bpm: beats per minute of those beats.
        meter: the meter chosen on them.
    """
    if meter.time_signature != "3/4" or beat_bpm < FAST_TRIPLE_BPM or len(positions) < 2:
        return False
    pos = np.asarray(positions, dtype=float)
    halves = np.unique(np.floor(pos[np.abs(pos - np.floor(pos) - 0.5) < 1e-6]))
    spanned = np.floor(pos[-1]) - np.floor(pos[0]) + 1
    return len(halves) >= DIVIDED_SHARE * spanned


def _phase_emission(pos: np.ndarray, lengths: Sequence[float], pitches: Sequence[float], meter: Meter
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(beats, emission): each whole beat from the first note's, and its accent where the meter's
    template with the downbeat at each phase expects one (beats x phases)."""
    accent = _accents(pos, np.asarray(lengths, dtype=float), np.asarray(pitches, dtype=float))
    strength, first = _beat_strength(pos, accent)
    strength = (strength - strength.mean()) / (float(strength.std()) or 1.0)
    template = np.asarray(METRIC_WEIGHTS[meter.time_signature])
    beats = first + np.arange(len(strength))
    per_bar = meter.beats_per_bar
    return beats, strength[:, None] * (template[(beats[:, None] - np.arange(per_bar)[None, :]) % per_bar] - template.mean())


def breath_slips(positions: Sequence[float], lengths: Sequence[float], pitches: Sequence[float], meter: Meter,
                 squeezed: Sequence[int], sections: Sequence[int] = ()) -> list[int]:
    """Which of the ``squeezed`` beats (where the tracker may have put a beat into a breath) hold
    a beat gained: a Viterbi path over the downbeat's phase, as :func:`phase_changes`, whose only
    moves are a beat later at those beats, each costing BREATH_SLIP_COST, and any move where a
    new tempo section starts (a beat gained or lost there is :func:`phase_changes`' to repair).
    Judged together: where a singer breathes before every phrase and the tracker gains a beat
    at each, no one breath taken out alone puts the bars around it back in order.

    Args:
        positions, lengths, pitches: as for :func:`choose_meter`.
        meter: the meter chosen for the whole piece.
        squeezed: beat indices, each the first beat after a squeezed span.
        sections: beat indices where a tempo section starts.

    Returns:
        The squeezed beats where the path moves, in order.
    """
    pos = np.asarray(positions, dtype=float)
    # The last note's length is the player's release (a fermata, a ritardando), not the meter's.
    held = np.minimum(np.asarray(lengths, dtype=float), [*([np.inf] * (len(pos) - 1)), 1.0])
    beats, emission = _phase_emission(pos, held, pitches, meter)
    per_bar = meter.beats_per_bar
    free = set(sections)
    # Not in the first or last bars: an opening, or a final note held, is no breath to judge.
    at = {b for b in squeezed if beats[0] + PHASE_MIN_BARS * per_bar <= b <= beats[-1] - PHASE_MIN_BARS * per_bar} - free
    phases = np.arange(per_bar)
    score = emission[0].copy()
    back = np.tile(phases, (len(beats), 1))
    for b in range(1, len(beats)):
        if beats[b] in free:
            back[b] = int(np.argmax(score))
            score = np.full(per_bar, score.max())
        elif beats[b] in at:
            later = np.roll(score, 1) - BREATH_SLIP_COST  # phase p - 1 before, p from here
            back[b] = np.where(later > score, (phases - 1) % per_bar, phases)
            score = np.maximum(score, later)
        score = score + emission[b]
    phase, slips = int(np.argmax(score)), []
    for b in range(len(beats) - 1, 0, -1):
        before = int(back[b, phase])
        if beats[b] in at and before != phase:
            slips.append(int(beats[b]))
        phase = before
    # One breath a phrase: two beats gained within PHASE_MIN_BARS bars are a half bar's accents
    # the path could not place (beat 3 read as the downbeat), not two breaths.
    slips = slips[::-1]
    apart = PHASE_MIN_BARS * per_bar
    return [b for k, b in enumerate(slips)
            if (k == 0 or b - slips[k - 1] >= apart) and (k + 1 == len(slips) or slips[k + 1] - b >= apart)]


def phase_changes(positions: Sequence[float], lengths: Sequence[float], pitches: Sequence[float], meter: Meter
                  ) -> list[tuple[int, int]]:
    """Where the downbeat moves for good: ``[(beat, shift), ...]``, the downbeat being
    ``shift`` beats later (mod the bar) from ``beat`` on, both sides lasting PHASE_MIN_BARS
    bars or more. A Viterbi path over the downbeat's phase, each beat scored by its accent
    against the metric template, each move costing PHASE_SWITCH_COST, or
    PHASE_SWITCH_COST_QUIET at a beat where no note starts, nor on the beat before or
    between them (an HMM over the bar position of each beat, as downbeat trackers use, on
    the notes' accents).

    Args:
        positions, lengths, pitches: as for :func:`choose_meter`.
        meter: the meter chosen for the whole piece.
    """
    pos = np.asarray(positions, dtype=float)
    if len(pos) < 3:
        return []
    beats, emission = _phase_emission(pos, lengths, pitches, meter)
    per_bar = meter.beats_per_bar
    score = emission[0].copy()
    back = np.zeros((len(beats), per_bar), dtype=int)
    ordered = np.sort(pos)
    started = np.searchsorted(ordered, beats + 1e-6) - np.searchsorted(ordered, beats - 1 - 1e-6, side="right")
    quiet = started == 0
    for b in range(1, len(beats)):
        stay = score
        move = score.max() - (PHASE_SWITCH_COST_QUIET if quiet[b] else PHASE_SWITCH_COST)
        back[b] = np.where(stay >= move, np.arange(per_bar), int(np.argmax(score)))
        score = np.maximum(stay, move) + emission[b]
    path = [int(np.argmax(score))]
    for b in range(len(beats) - 1, 0, -1):
        path.append(int(back[b, path[-1]]))
    path = path[::-1]
    changes = []
    runs: list[tuple[int, int, int]] = []  # (start index, end index exclusive, phase)
    for b, phase in enumerate(path):
        if runs and runs[-1][2] == phase:
            runs[-1] = (runs[-1][0], b + 1, phase)
        else:
            runs.append((b, b + 1, phase))
    for before, after in zip(runs[:-1], runs[1:], strict=True):
        if min(before[1] - before[0], after[1] - after[0]) >= PHASE_MIN_BARS * per_bar:
            changes.append((int(beats[after[0]]), (after[2] - before[2]) % per_bar))
    return changes
