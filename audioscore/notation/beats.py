"""Beats that follow a performance: a tempo curve from note onsets.

Conventions: times in seconds; tempo in beats per minute of the *felt* beat (a quarter
in simple meter, a dotted quarter in compound meter); positions in beats.

Beats are placed by Ellis's dynamic programme ("Beat tracking by dynamic programming",
JNMR 2007) on an onset envelope built from the notes, at a fixed tempo: what
``librosa.beat.beat_track(bpm=...)`` does, re-written here in NumPy because librosa's is
compiled by numba on first use in every process (11-13 s here, more than the whole
transcription). What librosa does not do well for melodies, and what is written here
by hand, is choosing the *level* of the beat (its tempo octave) and whether it divides
in two or three: its tempo estimate on the same envelope was within 4 % on 6/16 pieces
of the humanised corpus (``bench/notation_report.py``); choosing the level by how simply
the onsets are notated at each candidate tempo (a sixteenth grid, eighth triplets only
where needed, little syncopation, few empty beats, quarter = 60-160 preferred) and then
re-measuring the tempo from the onsets on those beats got 12/16.

A programme at one tempo loses or gains a beat where a performance wanders from it for a
few bars (a beat 10 % long for eight beats is most of a beat): the piece's beats are
also placed by a second-order programme whose period moves from beat to beat, and
replace the fixed-tempo ones where the two disagree and they notate the onsets there
more simply (on 112 new performances of the corpus's melodies, aligned accuracy 0.871 ->
0.904 and 85 -> 89 tempi right; no figure of another corpus changed).

A tempo that changes for good at once (a second verse 1.3 times as fast, a slow
introduction) is no wander: one level notated part of it at the wrong level or in the
wrong meter. Where sections at different candidate tempi notate the onsets more simply
(:mod:`audioscore.notation.sections`), each section gets beats at its own tempo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audioscore.notation.sections import MIN_CHANGE as SECTION_MIN_CHANGE
from audioscore.notation.sections import tempo_sections

__all__ = ["BeatTrack", "eighth_grouping", "every_third", "irregularity", "main_tempo_bpm", "notation_cost", "onset_envelope",
           "onset_strength", "positions_in_beats", "times_of_positions", "track_beats", "triplet_beats"]

FRAME_S = 0.01                 # onset envelope resolution
ENVELOPE_SMOOTH_S = 0.02       # Gaussian width of each onset impulse
CANDIDATE_BPM = tuple(float(b) for b in np.geomspace(36.0, 260.0, 24))
TIGHTNESS = 400.0              # librosa's tempo-deviation penalty: beats bend, but not to every late onset
# The whole piece's beats are also placed this loosely and kept where the onsets then notate
# more simply: a phrase's ritardando (a beat 15-30 % longer at its end) pulls the tight
# programme's beats a third of a beat off the notes there.
LOOSE_TIGHTNESS = 200.0
LOOSE_MOST_GAIN = 0.5          # beats the loose placement may add over the notes
# Beats that follow the tempo from beat to beat (_beats_following) replace those placed at
# one tempo where the two disagree and they notate the onsets there more simply (_merged).
FOLLOW_CHANGE = 400.0          # per squared log ratio of a beat's period to the previous one's
FOLLOW_PULL = 150.0            # and to the chosen tempo's
FOLLOW_RANGE = 1.35            # periods within this factor of the chosen one
FOLLOW_PERIODS = 64            # period states, geometric in that range
FOLLOW_AGREE = 0.1             # beats this close (in periods) agree
FOLLOW_IRREGULARITY = 5.0      # per squared log ratio of consecutive periods, against the notation cost
FOLLOW_MIN_ONSETS = 3          # a stretch with fewer onsets keeps its fixed-tempo beats: two fit nearly any
JITTER_S = 0.045               # onset timing spread a listener forgives
MISFIT_CAP = 3.0               # cost of an onset far from every grid position, in squared-jitter units
# Notational cost of an onset at each position inside a beat (fractions of a beat):
# the simplicity prior. Eighth triplets in simple meter cost more than sixteenths.
SIMPLE_GRID = ((0.0, 0.0), (0.5, 0.4), (0.25, 1.2), (0.75, 1.2), (1 / 3, 1.6), (2 / 3, 1.6))
COMPOUND_GRID = ((0.0, 0.0), (1 / 3, 0.4), (2 / 3, 0.4), (1 / 6, 1.4), (0.5, 0.8), (5 / 6, 1.4),
                 (0.25, 2.0), (0.75, 2.0))
# A beat holding exactly three onsets near its 0, 1/3 and 2/3 (a whole-beat eighth triplet,
# as people write them) costs this per triplet onset instead of the lone third's price,
# where TRIPLET_MIN_GROUPS beats or more and TRIPLET_MAX_SHARE or less do: without it a
# tune's triplets make a wrong tempo octave (whose beats split them unevenly) the simpler reading.
TRIPLET_GROUP_COST = 0.0
TRIPLET_MIN_GROUPS = 2
TRIPLET_MAX_SHARE = 0.5        # of the beats holding onsets
TRIPLET_MISFIT = 2.5           # each onset this close to its third, in squared-jitter units
# Triplets where no beat divides in two and others hold a quarter-eighth are a compound
# meter's eighths (see _ternary), this close (beats) to a half or two thirds.
TERNARY_TOLERANCE = 0.08
TERNARY_MIN_FIGURES = 4        # a trumpet lick's pickup and one late eighth are no jig
# Onsets a third of a beat apart (to within SPILL_TOLERANCE beats) run on evenly; where
# SPILLED_RUNS_MIN runs of triplets or more run on past their groups, those are no triplets.
SPILL_TOLERANCE = 0.1
SPILLED_RUNS_MIN = 2
# A beat of four sixteenths (each within TRIPLET_MISFIT of its place) is about as simple as
# one of eighths: its second and fourth cost this instead of a lone sixteenth's 1.2. Priced
# alone, runs of sixteenths at 84-104 made their double tempo (eighths at 168-208) simpler.
SIXTEENTH_GROUP_COST = 0.2
SYNCOPATION_COST = 1.0        # per onset off the beat whose note runs over the next beat
EMPTY_BEAT_COST = 0.35         # per beat without an onset, per onset: a beat too fast is mostly empty
COMPOUND_COST = 0.05           # per onset: 6/8 when the eighths clearly group in threes,
UNGROUPED_COMPOUND_COST = 0.3  # and this when they do not (straight eighths fit thirds just as well)
GROUPING_MARGIN = 0.25         # triple over duple accent periodicity of the eighths that makes them group in threes
COMPOUND_SHARE = 0.3           # and the share of beats that must hold a third (a few triplet beats are not 6/8)
PREFERRED_QUARTER_BPM = (60.0, 160.0)  # quarter tempi as written most often: no prior cost inside
MAX_QUARTER_BPM = 240.0        # the fastest mark written; faster beats are a beat's halves
PRIOR_WEIGHT = 3.0             # per squared octave outside the preferred range
LEVEL_WINDOW_S = 40.0          # the tempo level is chosen on the first this many seconds
REFINE_ON_BEAT = 0.15          # beats: an onset this close to a beat measures the tempo
REFINE_MIN_CHANGE = 0.015      # a re-measured tempo this different re-places the beats
REMEASURED_CANDIDATES = 3      # the best this many candidate tempi are re-measured before one is chosen
MIN_BEAT_S, MAX_BEAT_S = 60.0 / 260.0, 60.0 / 36.0
MAIN_TEMPO_SPAN_BEATS = (1.0, 2.0)  # note pairs this many notated beats apart measure the main tempo
# A lasting tempo change: the programme bends its beats only a little from its one period,
# so the period is re-estimated in windows (the autocorrelation of the onset envelope near
# the chosen period) and followed where it departs by more than LOCAL_CHANGE for long.
LOCAL_WINDOW_S = 8.0
LOCAL_HOP_S = 2.0
LOCAL_RANGE = 1.5              # local periods within this factor of the chosen one
LOCAL_WIDTH_OCTAVES = 0.4      # log-Gaussian preference for the chosen period
LOCAL_CHANGE = 0.15
LOCAL_MIN_WINDOWS = 3          # a change must hold over this many windows in a row (breaths do not)
# Sections of different tempi (see _sectioned) must change tempo at their boundary: an
# accelerando read as two sections wrote its opening mark 9 % above the tempo it started at.
SHARP_ONSETS = 8               # onsets either side of a boundary that measure the tempi there
# Sections are kept where they notate the notes about as simply as one tempo bent to both
# (a 1.2x change the following beats absorbed, at 0.203 against 0.200 per onset): with
# them the score marks the new tempo where it came.
SECTION_MARGIN = 0.02
BOUNDARY_TIE = 0.01            # per onset: boundaries this close notate the onsets alike


# A candidate tempo's reading: (cost per onset, beats, compound, bpm, each onset's cost).
Candidate = tuple[float, np.ndarray, bool, float, np.ndarray]


@dataclass(frozen=True)
class BeatTrack:
    """Tracked beats.

    Attributes:
        beats_s: times of the beats, shape (n,), increasing; they span every note.
        compound: each beat divides in three (6/8) rather than two.
        sections_s: where each section after the first starts (s), when the tempo changes
            for good between sections (see :mod:`sections`); empty for one tempo.
    """

    beats_s: np.ndarray
    compound: bool
    sections_s: tuple[float, ...] = ()

    @property
    def quarters_per_beat(self) -> float:
        return 1.5 if self.compound else 1.0

    @property
    def tempo_bpm(self) -> float:
        """Main tempo: felt beats per minute from the median beat period."""
        return 60.0 / float(np.median(np.diff(self.beats_s)))

    def tempo_curve(self, smooth_beats: int = 4) -> list[tuple[float, float]]:
        """``[(time_s, beat bpm), ...]``, one point per beat, periods smoothed over ``smooth_beats``."""
        periods = np.diff(self.beats_s)
        if len(periods) >= smooth_beats:
            kernel = np.ones(smooth_beats) / smooth_beats
            periods = np.convolve(np.pad(periods, (smooth_beats // 2, smooth_beats - 1 - smooth_beats // 2),
                                         mode="edge"), kernel, mode="valid")
        return [(float(t), 60.0 / float(p)) for t, p in zip(self.beats_s[:-1], periods, strict=True)]


def positions_in_beats(times_s: np.ndarray | Sequence[float], beats_s: np.ndarray) -> np.ndarray:
    """Position of each time in beats (beat k at ``beats_s[k]``), linear between beats and
    extrapolated at the first and last period outside them."""
    times = np.asarray(times_s, dtype=float)
    index = np.arange(len(beats_s), dtype=float)
    inside = np.interp(times, beats_s, index)
    first, last = beats_s[1] - beats_s[0], beats_s[-1] - beats_s[-2]
    inside = np.where(times < beats_s[0], (times - beats_s[0]) / first, inside)
    return np.where(times > beats_s[-1], index[-1] + (times - beats_s[-1]) / last, inside)


def times_of_positions(positions: np.ndarray | Sequence[float], beats_s: np.ndarray) -> np.ndarray:
    """Inverse of :func:`positions_in_beats`."""
    pos = np.asarray(positions, dtype=float)
    index = np.arange(len(beats_s), dtype=float)
    inside = np.interp(pos, index, beats_s)
    first, last = beats_s[1] - beats_s[0], beats_s[-1] - beats_s[-2]
    inside = np.where(pos < 0, beats_s[0] + pos * first, inside)
    return np.where(pos > index[-1], beats_s[-1] + (pos - index[-1]) * last, inside)


def onset_envelope(onsets: np.ndarray, weights: np.ndarray, end_s: float) -> np.ndarray:
    """Onset strength per frame (FRAME_S): each onset an impulse of its weight, smoothed by ENVELOPE_SMOOTH_S."""
    frames = int(end_s / FRAME_S) + 1
    envelope = np.zeros(frames)
    np.add.at(envelope, np.clip(np.round(onsets / FRAME_S).astype(int), 0, frames - 1), weights)
    width = ENVELOPE_SMOOTH_S / FRAME_S
    kernel = np.exp(-0.5 * (np.arange(-3 * width, 3 * width + 1) / width) ** 2)
    return np.convolve(envelope, kernel, mode="same")


def _beats_at(envelope: np.ndarray, bpm: float, periods: np.ndarray | None = None, tightness: float = TIGHTNESS
              ) -> np.ndarray:
    """Beat times (s) on an onset envelope at a tempo: Ellis's dynamic programme.

    Each frame's score is its (smoothed) onset strength plus the best score of a previous
    beat half a period to two periods earlier, less ``tightness`` times the squared log
    ratio of that interval to the period; the beats are the back-links from the best
    frame of the last period. As ``librosa.beat.beat_track(bpm=...)`` does, but in NumPy:
    librosa's version is compiled by numba on first use in every process (11-13 s here).
    ``periods`` (frames, one per frame) replaces the one period where the tempo moves.
    """
    period = 60.0 / bpm / FRAME_S
    local = onset_strength(envelope, period)
    n = len(local)
    lo, hi = max(1, round(period / 2)), round(2 * period)
    lags = np.arange(lo, hi + 1)
    penalty = -tightness * np.log(lags / period) ** 2
    back = np.full(n, -1)
    first = int(np.argmax(local >= 0.01 * local.max()))
    opening_end = first + lo
    if periods is not None:
        lo, hi = max(1, round(float(periods.min()) / 2)), round(2 * float(periods.max()))
        lags = np.arange(lo, hi + 1)
    # Scores padded with -inf before time 0, so each frame's candidates are a row of one view:
    # earlier[f] = score[f - lags].
    padded = np.concatenate([np.full(hi, -np.inf), local])
    score = padded[hi:]
    earlier = np.lib.stride_tricks.sliding_window_view(padded, len(lags))[:, ::-1]
    # A beat links only to beats at least ``lo`` frames earlier: that many frames at once.
    for block in range(lo, n, lo):
        end = min(n, block + lo)
        frames = np.arange(block, end)
        gain = penalty if periods is None else -tightness * np.log(lags[None, :] / periods[block:end, None]) ** 2
        candidates = earlier[block:end] + gain
        # Before the first onset there is nothing to link to (as in librosa). A beat at it (less
        # than half a period after) may link to one before time 0, as librosa pads: made to link
        # to a frame after time 0 at half a period or more, the first onset of a take that
        # starts on it (0.5 s in, at 80) lost its beat to the frame before the first linked one.
        if block < hi:
            opening = (frames >= first) & (frames < opening_end)
            if opening.any():
                gains = np.broadcast_to(gain, candidates.shape)
                padding = opening[:, None] & (frames[:, None] < lags[None, :])
                candidates = np.where(padding, gains, candidates)
        k = candidates.argmax(axis=1)
        score[block:end] += candidates.max(axis=1)
        source = frames - lags[k]
        if block >= first and block >= hi:  # every frame here follows the first onset and links after time 0
            back[block:end] = source
        else:
            back[block:end] = np.where((frames >= first) & (source >= 0), source, -1)
    t = _last_beat(score)
    beats = [t]
    while back[t] >= 0:
        t = int(back[t])
        beats.append(t)
    return np.array(beats[::-1], dtype=float) * FRAME_S


def onset_strength(envelope: np.ndarray, period: float) -> np.ndarray:
    """The envelope in units of its spread, smoothed over a 32nd of the beat ``period`` (frames)."""
    width = max(1.0, period / 32.0)
    kernel = np.exp(-0.5 * (np.arange(-int(period), int(period) + 1) / width) ** 2)
    return np.convolve(envelope / (envelope.std() or 1.0), kernel, mode="same")


def _last_beat(score: np.ndarray) -> int:
    """The frame of the last beat: the last local maximum of the score above half their median."""
    peaks = np.flatnonzero((score[1:-1] > score[:-2]) & (score[1:-1] >= score[2:])) + 1
    if len(peaks):
        strong = peaks[score[peaks] >= 0.5 * np.median(score[peaks])]
        return int(strong[-1]) if len(strong) else int(np.argmax(score))
    return int(np.argmax(score))


def _beats_following(envelope: np.ndarray, bpm: float) -> np.ndarray:
    """Beat times (s) on an onset envelope whose period moves from beat to beat.

    Ellis's programme holds every period near one tempo's, so a stretch played 10 % fast
    loses a beat and a phrase's ritardando over a held note gains one. Here a beat's state
    is its frame and its period (FOLLOW_PERIODS of them, geometric within FOLLOW_RANGE of
    ``bpm``'s); each period costs FOLLOW_CHANGE per squared log ratio to the previous one and
    FOLLOW_PULL to ``bpm``'s, as a second-order version of the same programme. A beat depends
    only on beats at least the shortest period earlier, so that many frames are scored at once.
    """
    period = 60.0 / bpm / FRAME_S
    local = onset_strength(envelope, period)
    n = len(local)
    lags = np.unique(np.round(np.geomspace(period / FOLLOW_RANGE, period * FOLLOW_RANGE, FOLLOW_PERIODS)).astype(int))
    lags = lags[lags >= 1]
    log_lags = np.log(lags)
    change = FOLLOW_CHANGE * (log_lags[:, None] - log_lags[None, :]) ** 2  # [this period, previous period]
    pull = FOLLOW_PULL * (log_lags - np.log(period)) ** 2
    # A track starts at a beat with no predecessor, within two periods of the first onset.
    first = int(np.argmax(local >= 0.01 * local.max()))
    starts = np.arange(n) <= first + 2 * period
    score = np.full((n, len(lags)), -np.inf)
    back = np.full((n, len(lags)), -1)
    shortest = int(lags[0])
    for block in range(0, n, shortest):
        frames = np.arange(block, min(n, block + shortest))
        before = frames[:, None] - lags[None, :]
        previous = np.where((before >= 0)[:, :, None], score[np.maximum(before, 0)], -np.inf) - change[None]
        best_previous = previous.argmax(axis=2)
        linked = np.take_along_axis(previous, best_previous[:, :, None], axis=2)[:, :, 0]
        fresh = np.where(starts[frames], 0.0, -np.inf)[:, None]
        score[frames] = local[frames, None] - pull[None, :] + np.maximum(linked, fresh)
        back[frames] = np.where(linked > fresh, best_previous, -1)
    # A melody ends on a beat: the track ends at the last onset, not where its score peaks
    # (a trumpet lick's closing note fell half a beat off there).
    peaks = np.flatnonzero((envelope[1:-1] > envelope[:-2]) & (envelope[1:-1] >= envelope[2:])) + 1
    t = int(peaks[-1]) if len(peaks) and np.isfinite(score[int(peaks[-1])]).any() else _last_beat(score.max(axis=1))
    state = int(np.argmax(score[t]))
    beats = [t]
    while back[t, state] >= 0:
        t, state = t - int(lags[state]), int(back[t, state])
        beats.append(t)
    return np.array(beats[::-1], dtype=float) * FRAME_S


def _merged(fixed: np.ndarray, following: np.ndarray, onsets: np.ndarray, compound: bool) -> np.ndarray:
    """The fixed-tempo beats, with each stretch where the tempo-following ones do not agree
    with them (no beat within FOLLOW_AGREE periods) replaced by those where they notate the
    stretch's onsets more simply, counting FOLLOW_IRREGULARITY per squared log ratio of
    consecutive periods: warping beats onto every onset is simple but not a tempo."""
    period = float(np.median(np.diff(fixed)))
    k = np.clip(np.searchsorted(following, fixed), 1, len(following) - 1)
    agree = np.minimum(np.abs(following[k] - fixed), np.abs(following[k - 1] - fixed)) < FOLLOW_AGREE * period
    merged: list[float] = []
    i = 0
    while i < len(fixed):
        if agree[i]:
            merged.append(float(fixed[i]))
            i += 1
            continue
        j = i
        while j < len(fixed) and not agree[j]:
            j += 1
        lo = fixed[i - 1] if i > 0 else -np.inf
        hi = fixed[j] if j < len(fixed) else np.inf
        inside = (onsets > lo) & (onsets < hi)
        replacement = following[(following > lo + FOLLOW_AGREE * period) & (following < hi - FOLLOW_AGREE * period)]
        kept = fixed[i:j]
        if inside.sum() >= FOLLOW_MIN_ONSETS and len(replacement):
            tried = [np.concatenate([merged, stretch, fixed[j:]]) for stretch in (kept, replacement)]
            costs = [notation_cost(onsets[inside], beats, compound)
                     + FOLLOW_IRREGULARITY * irregularity(beats, lo - 2.5 * period, hi + 2.5 * period)
                     for beats in tried]
            kept = replacement if costs[1] < costs[0] else kept
        merged.extend(kept.tolist())
        i = j
    return np.array(merged)


def irregularity(beats: np.ndarray, start_s: float, end_s: float) -> float:
    """Sum of squared log ratios of consecutive beat periods between two times."""
    periods = np.diff(beats[(beats >= start_s) & (beats <= end_s)])
    return float(np.sum(np.diff(np.log(periods)) ** 2)) if len(periods) > 1 else 0.0


def _local_periods(envelope: np.ndarray, bpm: float) -> np.ndarray | None:
    """Beat period (frames) at every frame, the local one where the tempo departs from ``bpm``
    by more than LOCAL_CHANGE over LOCAL_MIN_WINDOWS windows in a row; None when it never does."""
    period = 60.0 / bpm / FRAME_S
    window, hop = int(LOCAL_WINDOW_S / FRAME_S), int(LOCAL_HOP_S / FRAME_S)
    if len(envelope) < window + 2 * hop:
        return None
    lags = np.arange(int(period / LOCAL_RANGE), int(period * LOCAL_RANGE) + 1)
    prior = -0.5 * (np.log2(lags / period) / LOCAL_WIDTH_OCTAVES) ** 2
    centres, found = [], []
    for start in range(0, len(envelope) - window + 1, hop):
        segment = envelope[start:start + window] - envelope[start:start + window].mean()
        energy = float(np.dot(segment, segment)) or 1.0
        # A beat's period repeats at twice its lag too; half a beat's does not at its double.
        acf = np.array([np.dot(segment[:-lag], segment[lag:]) + np.dot(segment[:-2 * lag], segment[2 * lag:])
                        for lag in lags]) / energy
        centres.append(start + window / 2)
        found.append(lags[int(np.argmax(acf + 0.1 * prior))])
    local = np.array(found, dtype=float)
    if len(local) >= 3:  # a window's octave slip is not a tempo change
        local = np.median(np.stack([np.r_[local[0], local[:-1]], local, np.r_[local[1:], local[-1]]]), axis=0)
    # A local period 3:2 from the chosen one is the other grouping of the same pulse (a
    # dotted rhythm's quarter against its dotted quarter), not a new tempo.
    ratio = np.abs(np.log(local / period))
    changed = (ratio > np.log1p(LOCAL_CHANGE)) & (np.abs(ratio - np.log(1.5)) > np.log(1.04))
    lasting = np.zeros(len(changed), dtype=bool)
    run_start = None
    for i, flag in enumerate([*changed.tolist(), False]):
        if flag and run_start is None:
            run_start = i
        elif not flag and run_start is not None:
            lasting[run_start:i] = i - run_start >= LOCAL_MIN_WINDOWS
            run_start = None
    if not lasting.any():
        return None
    local = np.where(lasting, local, period)
    return np.interp(np.arange(len(envelope)), centres, local)


def _extend(beats: np.ndarray, first_s: float, last_s: float, period_s: float) -> np.ndarray:
    """Beats continued at their edge periods (or ``period_s``) to one beat before
    ``first_s`` and one after ``last_s``."""
    if len(beats) < 2:
        start = beats[0] if len(beats) else first_s
        beats = np.array([start, start + period_s])
    head_period = beats[1] - beats[0]
    tail_period = beats[-1] - beats[-2]
    n_head = max(0, int(np.ceil((beats[0] - first_s) / head_period)) + 1)
    n_tail = max(0, int(np.ceil((last_s - beats[-1]) / tail_period)) + 1)
    head = beats[0] - head_period * np.arange(n_head, 0, -1)
    tail = beats[-1] + tail_period * np.arange(1, n_tail + 1)
    return np.concatenate([head, beats, tail])


def _cost(onsets: np.ndarray, beats: np.ndarray, compound: bool, quarter_bpm: float,
          empty_beat_cost: float = EMPTY_BEAT_COST) -> float:
    """Notational cost per onset of the onsets on this beat sequence (lower is simpler)."""
    return float(_onset_costs(onsets, beats, compound, quarter_bpm, empty_beat_cost).mean())


def _onset_costs(onsets: np.ndarray, beats: np.ndarray, compound: bool, quarter_bpm: float,
                 empty_beat_cost: float = EMPTY_BEAT_COST) -> np.ndarray:
    """Each onset's share of :func:`_cost`: its grid cost, its syncopation, the empty beats
    just before it, and the piece's tempo prior and meter cost."""
    grid = COMPOUND_GRID if compound else SIMPLE_GRID
    positions, whole, period = _on_beats(onsets, beats)
    fraction = positions - whole
    where_all = np.array([g for g, _ in (*grid, (1.0, 0.0))])
    extras = np.array([extra for _, extra in (*grid, (1.0, 0.0))])
    seconds = (fraction[None, :] - where_all[:, None]) * period[None, :]
    costs = np.minimum(0.5 * (seconds / JITTER_S) ** 2, MISFIT_CAP) + extras[:, None]
    per_onset = costs.min(axis=0)
    if not compound:
        per_onset = _triplet_groups(per_onset, whole, fraction, period)
        per_onset = _sixteenth_groups(per_onset, whole, fraction, period)
    # Syncopation: an onset off the beat held across the next beat (an eighth-quarter-eighth
    # figure read in the wrong meter or at the wrong tempo octave).
    snapped = whole + where_all[costs.argmin(axis=0)]
    off_beat = np.abs(snapped - np.round(snapped)) > 1e-6
    crosses = np.floor(snapped[1:] - 1e-6) > np.floor(snapped[:-1] + 1e-6)
    syncopated = (off_beat[:-1] & crosses & (np.abs(snapped[1:] - np.round(snapped[1:])) > 1e-6)
                  | off_beat[:-1] & (np.floor(snapped[1:] - 1e-6) > np.floor(snapped[:-1]) + 0.5))
    nearest = np.round(positions)
    spanned = np.arange(int(whole.min()), int(whole.max()) + 1)
    occupied = np.isin(spanned, np.unique(np.concatenate([whole, nearest])))
    empty = np.zeros(len(onsets))
    np.add.at(empty, np.minimum(np.searchsorted(whole, spanned[~occupied]), len(onsets) - 1), 1.0)
    low, high = PREFERRED_QUARTER_BPM
    prior = PRIOR_WEIGHT * float(np.log2(min(1.0, quarter_bpm / low) * max(1.0, quarter_bpm / high))) ** 2
    compound_cost = 0.0
    if compound:
        # 6/8 when many beats divide in three (a jig's quarter-eighth on most beats; a simple
        # tune with a few triplet beats fits the thirds just as well) and the eighths group in
        # threes by their accents: straight eighths fit the thirds of a slower beat as well,
        # a run of eighths says nothing about grouping, the long notes do.
        thirds = np.abs(np.abs(snapped - np.floor(snapped) - 0.5) - 1 / 6) < 1e-6
        divided = len(np.unique(np.floor(snapped[thirds]))) / max(1, len(np.unique(np.floor(snapped))))
        grouped = divided >= COMPOUND_SHARE and eighth_grouping(onsets, beats) >= GROUPING_MARGIN
        compound_cost = COMPOUND_COST if grouped else UNGROUPED_COMPOUND_COST
    return (per_onset + SYNCOPATION_COST * np.append(syncopated, False) + empty_beat_cost * empty
            + prior + compound_cost)


def _filled_beats(whole: np.ndarray, fraction: np.ndarray, period: np.ndarray, divisions: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beats holding exactly ``divisions`` onsets, each within TRIPLET_MISFIT of its place
    (0, 1/divisions, ...): each onset's beat, and the filled beats' member indices and
    misfits, shape (beats, divisions). The onsets are in order, so are their beats."""
    beat_of = np.floor(whole + np.round(fraction * divisions) / divisions)  # an early downbeat belongs to its beat
    _, first, count = np.unique(beat_of, return_index=True, return_counts=True)
    members = first[count == divisions][:, None] + np.arange(divisions)
    within = (whole + fraction)[members] - beat_of[members]
    misfit = 0.5 * ((within - np.arange(divisions) / divisions) * period[members] / JITTER_S) ** 2
    fits = np.all(misfit <= TRIPLET_MISFIT, axis=1)
    return beat_of, members[fits], misfit[fits]


def _on_beats(onsets: np.ndarray, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each onset's (s) position on ``beats`` (s), in beats, the beat it falls in, and the
    beat period (s) around it."""
    positions = positions_in_beats(onsets, beats)
    period = np.interp(positions, np.arange(len(beats) - 1) + 0.5, np.diff(beats))
    return positions, np.floor(positions), period


def triplet_beats(onsets: np.ndarray, beats: np.ndarray) -> int:
    """How many beats the onsets (s) fill with a whole-beat eighth triplet on ``beats`` (s)."""
    positions, whole, period = _on_beats(onsets, beats)
    return len(_filled_beats(whole, positions - whole, period, 3)[1])


def _triplet_groups(per_onset: np.ndarray, whole: np.ndarray, fraction: np.ndarray, period: np.ndarray
                    ) -> np.ndarray:
    """Per-onset costs with complete whole-beat triplets at TRIPLET_GROUP_COST (see there)."""
    beat_of, members, misfit = _filled_beats(whole, fraction, period, 3)
    # Triplets on most beats are a run of eighths read at a beat 3/2 too slow (or a
    # compound meter's, which its own grid prices): no discount.
    if (len(members) < TRIPLET_MIN_GROUPS or len(members) > TRIPLET_MAX_SHARE * len(np.unique(beat_of))
            or _ternary(members, whole + fraction - beat_of)):
        return per_onset
    spilled = _spilled(members, whole + fraction, whole + fraction - beat_of)
    if len(set(spilled) - {None}) >= SPILLED_RUNS_MIN:
        kept = np.array([run is None for run in spilled])
        members, misfit = members[kept], misfit[kept]
    cheaper = per_onset.copy()
    cheaper[members[:, 1:]] = np.minimum(cheaper[members[:, 1:]], misfit[:, 1:] + TRIPLET_GROUP_COST)
    return cheaper


def _ternary(groups: np.ndarray, within: np.ndarray) -> bool:
    """Whether the beats divide only in three: TERNARY_MIN_FIGURES quarter-eighth figures or
    more beside the triplet ``groups`` (rows of onset indices) and no onset on a beat's
    half. A jig's three eighths and quarter-eighths at a dotted quarter of 96-110 were
    written as triplets in 4/4, each triplet free and each lone third priced."""
    grouped = np.zeros(len(within), dtype=bool)
    grouped[groups] = True
    halves = np.abs(within - 0.5) < TERNARY_TOLERANCE
    long_short = ~grouped & (np.abs(within - 2 / 3) < TERNARY_TOLERANCE)
    return not halves.any() and int(long_short.sum()) >= TERNARY_MIN_FIGURES


def _sixteenth_groups(per_onset: np.ndarray, whole: np.ndarray, fraction: np.ndarray, period: np.ndarray
                      ) -> np.ndarray:
    """Per-onset costs with beats filled by four sixteenths priced as SIXTEENTH_GROUP_COST
    for their off-eighth members (see there)."""
    _, members, misfit = _filled_beats(whole, fraction, period, 4)
    off_eighths = members[:, [1, 3]]
    cheaper = per_onset.copy()
    cheaper[off_eighths] = np.minimum(cheaper[off_eighths], misfit[:, [1, 3]] + SIXTEENTH_GROUP_COST)
    return cheaper


def _spilled(groups: np.ndarray, positions: np.ndarray, within: np.ndarray) -> list[tuple[int, int] | None]:
    """For each triplet group (a row of its members' indices), the run of evenly spaced onsets
    it belongs to, (first, last) onset, where that run spills beyond its groups; else None.

    Written triplets come whole: a run of notes as evenly spaced as a group's is all
    triplets up to the beat it lands on. A run of sixteenths read at 4/3 of its tempo is
    not: it spills into the beats beside it (eight sixteenths at 150 are two triplets and
    two thirds at 200). One such run may be a pickup into real triplets (a trumpet lick's)."""
    grouped = np.zeros(len(positions), dtype=bool)
    grouped[groups] = True
    even = np.abs(np.diff(positions) - 1 / 3) < SPILL_TOLERANCE  # onset k to k + 1
    on_beat = np.abs(within) < SPILL_TOLERANCE
    runs: list[tuple[int, int] | None] = []
    for members in groups:
        first, last = int(members[0]), int(members[-1])
        while first > 0 and even[first - 1]:
            first -= 1
        while last < len(even) and even[last] and (grouped[last + 1] or not on_beat[last + 1]):
            last += 1
        runs.append(None if np.all(grouped[first:last + 1]) else (first, last))
    return runs


def notation_cost(onsets: np.ndarray, beats: np.ndarray, compound: bool, *, empty_beats: bool = True) -> float:
    """Notational cost per onset of ``onsets`` (s) on ``beats`` (s) without the tempo prior:
    to compare placements of beats at one tempo. ``empty_beats=False``: without the cost of
    beats no onset starts on (to compare placements at different tempi over the same notes)."""
    return _cost(onsets, beats, compound, PREFERRED_QUARTER_BPM[0], EMPTY_BEAT_COST if empty_beats else 0.0)


def main_tempo_bpm(onsets_s: Sequence[float] | np.ndarray, positions: Sequence[float] | np.ndarray) -> float | None:
    """Felt beats per minute the notes were played at: the median, over note pairs one or two
    notated beats apart, of their seconds per beat (None when no pair is).

    The tracked beats' median period is coarser: the programme's beats sit on 10-ms frames
    (2-3 % at 110-170 bpm) and bend to each late onset, and a phrase's rubato stretches
    whole beats; a pair's span divides its onsets' jitter by its length (short enough to follow the
    drift: the median of local tempi is the median beat), and the median of
    many pairs ignores the ritardandos.

    Args:
        onsets_s: onsets (s) of notes in order, shape (n,).
        positions: their notated positions in beats, shape (n,), increasing.
    """
    times = np.asarray(onsets_s, dtype=float)
    where = np.asarray(positions, dtype=float)
    low, high = MAIN_TEMPO_SPAN_BEATS
    periods: list[np.ndarray] = []
    for step in range(1, len(where)):
        span = where[step:] - where[:-step]
        if span.min() > high:
            break
        ok = (span >= low) & (span <= high)
        periods.append((times[step:] - times[:-step])[ok] / span[ok])
    found = np.concatenate(periods) if periods else np.zeros(0)
    return 60.0 / float(np.median(found)) if len(found) else None


def every_third(beats_s: np.ndarray, first: int, onsets_s: np.ndarray) -> np.ndarray:
    """Every third beat from index ``first`` (a simple beat's eighths grouped into compound
    beats), continued to span ``onsets_s`` with a beat to spare."""
    return _every(beats_s, 3, first % 3, onsets_s)


def _every(beats_s: np.ndarray, step: int, phase: int, onsets_s: np.ndarray) -> np.ndarray:
    """Every ``step``-th beat from index ``phase`` (beats ``step`` times as long), continued
    to span ``onsets_s`` with a beat to spare."""
    kept = np.asarray(beats_s, dtype=float)[phase::step]
    period = step * float(np.median(np.diff(beats_s)))
    return _extend(kept, float(np.min(onsets_s)), float(np.max(onsets_s)), period)


def eighth_grouping(onsets: np.ndarray, beats: np.ndarray) -> float:
    """How much more the onsets' accents repeat every three eighths than every two (the
    eighth: a third of a beat on ``beats``): autocorrelation at lags 3 or 6 less that at 2
    or 4 of the note lengths on an eighth grid. Above 0 the eighths group in threes (6/8, or
    swing), below in twos (straight eighths)."""
    positions = positions_in_beats(onsets, beats)
    index = np.round(positions * 3).astype(int)
    index -= index.min()
    lengths = np.append(np.diff(index), 3)
    series = np.zeros(int(index.max()) + 1)
    np.add.at(series, index, np.sqrt(np.clip(lengths, 0, 12)))
    series -= series.mean()
    energy = float(np.dot(series, series)) or 1.0

    def at(lag: int) -> float:
        return float(np.dot(series[:-lag], series[lag:])) / energy if lag < len(series) else 0.0

    return max(at(3), at(6)) - max(at(2), at(4))


def track_beats(
    onsets_s: Sequence[float] | np.ndarray, *, weights: Sequence[float] | np.ndarray | None = None, tempo_bpm: float | None = None,
    compound: bool | None = None,
) -> BeatTrack:
    """Beats of a performance from its note onsets.

    For every candidate beat tempo (and for two and three divisions of the beat) librosa's
    dynamic programme places beats on an onset envelope built from the notes; the candidate
    whose beats notate the onsets most simply wins (see the module docstring), or sections of
    different candidates where the tempo changes for good (``sections_s`` then says where).

    Args:
        onsets_s: note onsets in seconds, shape (n,), n ≥ 2.
        weights: accent of each onset (e.g. from the note's length); 1 when None.
        tempo_bpm: quarter-note tempo to impose: no level is chosen, and the beats at it follow the
            performance as a found tempo's do (but no sections at other tempi are looked for).
        compound: impose dotted-quarter beats (True) or quarter beats (False).

    Returns:
        The beats, spanning every onset with a beat to spare on each side.

    Raises:
        ValueError: fewer than two onsets.
    """
    onsets = np.sort(np.asarray(onsets_s, dtype=float))
    if len(onsets) < 2:
        raise ValueError("at least two onsets are needed to track beats")
    accents = np.ones(len(onsets)) if weights is None else np.asarray(weights, dtype=float)
    envelope = onset_envelope(onsets, accents, onsets[-1] + 2.0)
    # The level is chosen on a window of a long performance (the DP runs once per
    # candidate); the beats of the whole come from one more run at the chosen tempo.
    window = onsets <= onsets[0] + LEVEL_WINDOW_S
    if window.sum() < 8:
        window = np.arange(len(onsets)) < 8
    scored = onsets[window]
    level_envelope = envelope[: int((scored[-1] + 2.0) / FRAME_S)] if not window.all() else envelope
    tried: list[Candidate] = []
    for is_compound in ((False, True) if compound is None else (compound,)):
        per_beat = 1.5 if is_compound else 1.0
        if tempo_bpm is not None:
            candidates: Sequence[float] = (tempo_bpm / per_beat,)
        else:
            candidates = [b for b in CANDIDATE_BPM if MIN_BEAT_S <= 60.0 / b <= MAX_BEAT_S]
        tried += [_candidate(level_envelope, scored, bpm, is_compound) for bpm in candidates]
    best = min(tried, key=lambda c: c[0])
    if tempo_bpm is None:
        # A tempo halfway between two candidates (125 between 120 and 131) fits neither, and
        # which one won turned on onsets 10-20 ms apart (a room's noise): the best few are
        # re-measured from the onsets on their beats and compared again.
        for _, beats, is_compound, bpm, _ in sorted(tried, key=lambda c: c[0])[:REMEASURED_CANDIDATES]:
            refined = _measured_bpm(scored, beats)
            if refined is not None and abs(refined / bpm - 1.0) > REFINE_MIN_CHANGE:
                best = min(best, _candidate(level_envelope, scored, refined, is_compound), key=lambda c: c[0])
    # The programme at a slow candidate tempo can place its first beats a fifth of a beat off
    # the opening notes, and the slow level then loses to its double (sixteenth runs at 84
    # read as eighths at 168, Brahms's lullaby at 139): the best level's own beats in pairs
    # are its half tempo placed well.
    halved = None
    if tempo_bpm is None and not best[2]:
        halved = _halved(best[1], best[3], scored)
        if halved[0] < best[0]:
            best = halved
        else:
            halved = None
    bpm = best[3]
    beats = _simplest(envelope, bpm, onsets, best[2])
    if halved is not None:
        double = _extend(_beats_at(envelope, 2.0 * bpm), onsets[0], onsets[-1], 60.0 / (2.0 * bpm))
        paired = _halved(double, 2.0 * bpm, onsets)[1]
        if notation_cost(onsets, paired, False) < notation_cost(onsets, beats, False):
            beats = paired
    # The candidates are ~9 % apart and the programme keeps close to the candidate's
    # period: the tempo is re-measured from the onsets on the chosen beats. A few notes
    # measure it roughly (one attack a room's noise made 100 ms early moved a 19-note song's
    # by 4 %): the re-measured tempo's beats must notate the onsets at least as simply.
    refined = None if tempo_bpm is not None else _measured_bpm(onsets, best[1])
    if refined is not None and abs(refined / bpm - 1.0) > REFINE_MIN_CHANGE:
        at_refined = _simplest(envelope, refined, onsets, best[2])
        if notation_cost(onsets, at_refined, best[2]) <= notation_cost(onsets, beats, best[2]):
            bpm, beats = refined, at_refined
    # Merged once the tempo is chosen: merged beats notate any tempo's onsets more simply,
    # and sixteenth runs at 150 were then re-measured at 191 and written as triplets.
    following = _extend(_beats_following(envelope, bpm), onsets[0], onsets[-1], 60.0 / bpm)
    beats = _merged(beats, following, onsets, best[2])
    track = _followed(BeatTrack(beats, best[2]), envelope, bpm, onsets)
    if tempo_bpm is not None:
        # An imposed tempo's beats follow the performance as a found one's do (placed at one
        # tempo, they lost and gained beats wherever it drifted: 0.88 of the humanised corpus's
        # notes right with the written tempo given, 0.97 without); no sections at other tempi.
        return track
    # Sections are looked for over the whole piece (a song's last chorus may be faster), at
    # every candidate tempo: the piece's chosen level may be a section's octave (a waltz at
    # 160 slowing to 122, heard in a room, was chosen at 62 for both).
    every = tried if window.all() else [_candidate(envelope, onsets, c[3], c[2]) for c in tried]
    sectioned = _sectioned(every, envelope, onsets)
    if sectioned is not None and (notation_cost(onsets, sectioned.beats_s, sectioned.compound)
                                  <= notation_cost(onsets, track.beats_s, track.compound) + SECTION_MARGIN):
        track = sectioned
    return _on_a_metronome(track, onsets, accents)


def _halved(beats: np.ndarray, bpm: float, onsets: np.ndarray) -> Candidate:
    """Beats at ``bpm`` taken in pairs (the phase that notates the onsets more simply): the
    half tempo on their own well-placed beats."""
    tried = []
    for phase in (0, 1):
        paired = _every(beats, 2, phase, onsets)
        costs = _onset_costs(onsets, paired, False, 60.0 / float(np.median(np.diff(paired))))
        tried.append((float(costs.mean()), paired, False, bpm / 2.0, costs))
    return min(tried, key=lambda c: c[0])


def _on_a_metronome(track: BeatTrack, onsets: np.ndarray, accents: np.ndarray) -> BeatTrack:
    """Beats faster than MAX_QUARTER_BPM taken in pairs (those that carry more of the onsets'
    accents are kept): runs of sixteenths at 150 were written as eighths at quarter = 298,
    a mark no metronome shows and no reader writes."""
    if track.compound or track.tempo_bpm <= MAX_QUARTER_BPM:
        return track
    beats = track.beats_s
    nearest = np.clip(np.round(positions_in_beats(onsets, beats)).astype(int), 0, len(beats) - 1)
    on_beat = np.abs(positions_in_beats(onsets, beats) - nearest) < REFINE_ON_BEAT
    weight = [float(np.sum(accents[on_beat & (nearest % 2 == phase)])) for phase in (0, 1)]
    return BeatTrack(_every(beats, 2, int(np.argmax(weight)), onsets), False, track.sections_s)


def _candidate(envelope: np.ndarray, onsets: np.ndarray, bpm: float, compound: bool) -> Candidate:
    """(cost, beats, compound, bpm, each onset's cost) of the beats the programme places at
    ``bpm`` over ``onsets``."""
    beats = _extend(_beats_at(envelope, bpm), onsets[0], onsets[-1], 60.0 / bpm)
    quarter_bpm = 60.0 / float(np.median(np.diff(beats))) * (1.5 if compound else 1.0)
    costs = _onset_costs(onsets, beats, compound, quarter_bpm)
    return float(costs.mean()), beats, compound, bpm, costs


def _sectioned(tried: list[Candidate], envelope: np.ndarray, onsets: np.ndarray) -> BeatTrack | None:
    """Beats whose tempo changes for good between sections (see :mod:`sections`), where
    sections of different tempi notate the onsets more simply than any one
    tempo and the tempo changes at each boundary: the SHARP_ONSETS onsets either side of it
    measure tempi at least SECTION_MIN_CHANGE apart. None where not."""
    found: list[tuple[float, bool, list[tuple[int, Candidate]]]] = []
    for compound in sorted({c[2] for c in tried}):
        states = [c for c in tried if c[2] == compound]
        total, runs = tempo_sections(np.stack([c[4] for c in states]), [c[3] for c in states], onsets)
        found.append((total, compound, [(first, states[k]) for first, k in runs]))
    _, compound, sections = min(found, key=lambda f: f[0])
    if len(sections) < 2:
        return None
    for (_, before), (first, after) in zip(sections, sections[1:], strict=False):
        near = (_measured_bpm(onsets[max(0, first - SHARP_ONSETS):first + 1], before[1]),
                _measured_bpm(onsets[first:first + SHARP_ONSETS + 1], after[1]))
        if near[0] is None or near[1] is None or abs(np.log(near[1] / near[0])) < np.log1p(SECTION_MIN_CHANGE):
            return None  # an accelerando: a single tempo follows it more smoothly
    firsts = [first for first, _ in sections]
    bpms = []
    for (first, state), end in zip(sections, [*firsts[1:], len(onsets)], strict=True):
        refined = _measured_bpm(onsets[first:end], state[1])
        bpms.append(refined if refined is not None and abs(refined / state[3] - 1.0) > REFINE_MIN_CHANGE else state[3])

    def placed(switches: list[int]) -> np.ndarray:
        """The beats with each later section's tempo from just after the onset ``switches[i]``."""
        periods = np.full(len(envelope), 60.0 / bpms[0] / FRAME_S)
        for switch, bpm in zip(switches, bpms[1:], strict=True):
            periods[int(onsets[switch] / FRAME_S) + 1:] = 60.0 / bpm / FRAME_S
        tries = [_extend(_beats_at(envelope, bpms[0], periods, tightness), onsets[0], onsets[-1],
                         FRAME_S * float(periods[-1])) for tightness in (TIGHTNESS, LOOSE_TIGHTNESS)]
        return min(tries, key=lambda b: notation_cost(onsets, b, compound))

    # Which tempo a note held at the boundary is in, its onset does not say: the tempo
    # changes after the section's first onset, the one before or the one after, whichever
    # notates the onsets most simply or, as simply (a held note's length is not in the cost),
    # with the beats' period changing least abruptly (a minuet's phrase-end dotted half, still
    # in the old tempo, lost a beat to the new one).
    switches = firsts[1:]
    for i, first in enumerate(firsts[1:]):
        lowest = firsts[i] + 1
        highest = firsts[i + 2] - 2 if i + 2 < len(firsts) else len(onsets) - 2
        options = [[*switches[:i], s, *switches[i + 1:]] for s in (first - 1, first, first + 1) if lowest <= s <= highest]
        beats = [placed(option) for option in options]
        costs = [notation_cost(onsets, b, compound) for b in beats]
        tied = [k for k, c in enumerate(costs) if c <= min(costs) + BOUNDARY_TIE]
        switches = options[min(tied, key=lambda k: irregularity(beats[k], -np.inf, np.inf))]
    return BeatTrack(placed(switches), compound, tuple(float(onsets[s]) for s in switches))


def _simplest(envelope: np.ndarray, bpm: float, onsets: np.ndarray, compound: bool) -> np.ndarray:
    """The piece's beats at ``bpm``, placed tightly or loosely, whichever notates the onsets
    more simply (see LOOSE_TIGHTNESS)."""
    tight, loose = (_extend(_beats_at(envelope, bpm, tightness=t), onsets[0], onsets[-1], 60.0 / bpm)
                    for t in (TIGHTNESS, LOOSE_TIGHTNESS))
    # Loose beats that span the notes with more beats than the tight ones did not follow a
    # ritardando (which lengthens beats) but split a held note or a rest.
    ends = onsets[[0, -1]]
    if np.ptp(positions_in_beats(ends, loose)) > np.ptp(positions_in_beats(ends, tight)) + LOOSE_MOST_GAIN:
        return tight
    return min((tight, loose), key=lambda beats: notation_cost(onsets, beats, compound))


def _followed(track: BeatTrack, envelope: np.ndarray, bpm: float, onsets: np.ndarray) -> BeatTrack:
    """The track re-placed on the local tempo where that moves for long (a slower middle
    section) and the onsets notate at least as simply on it, else as it is."""
    periods = _local_periods(envelope, bpm)
    if periods is None:
        return track
    beats = _extend(_beats_at(envelope, bpm, periods), onsets[0], onsets[-1], 60.0 / bpm)
    # A "change" can be rubato read as another grouping of the pulse: Silent Night's slower
    # opening measured 1.42x its eighths, just outside 3:2, and its first bars became quarters.
    if notation_cost(onsets, beats, track.compound) > notation_cost(onsets, track.beats_s, track.compound):
        return track
    return BeatTrack(beats, track.compound)


def _measured_bpm(onsets: np.ndarray, beats: np.ndarray) -> float | None:
    """Beats per minute from onset pairs 1-4 beats apart that both sit near a beat on
    ``beats``: the median of their seconds per beat (None when fewer than 4 pairs)."""
    positions = positions_in_beats(onsets, beats)
    on_beat = np.abs(positions - np.round(positions)) < REFINE_ON_BEAT
    t, p = onsets[on_beat], np.round(positions[on_beat])
    periods = []
    for step in range(1, 5):
        if len(p) > step:
            span = p[step:] - p[:-step]
            ok = (span >= 1) & (span <= 4)
            periods.extend(((t[step:] - t[:-step])[ok] / span[ok]).tolist())
    if len(periods) < 4:
        return None
    return 60.0 / float(np.median(periods))
