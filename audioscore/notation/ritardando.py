"""Beats through a final ritardando: a performance's last bars slowing below 77 % of its tempo.

Conventions: times in seconds; inside the programme, times and beat periods in frames of
:data:`beats.FRAME_S`.

The programmes of :mod:`beats` keep every beat period within FOLLOW_RANGE (1.35 times) of
the tempo's, which follows drift and a phrase's rubato; a piece's end slowing further (to
half its tempo over its last bars, as pieces end) gains beats there, and its last notes
were written at twice their values over an extra bar. Written by hand, as the beat
programmes are: no installable tracker follows a tempo that only slows. After each beat in
the piece's last third and last LOOKBACK_BEATS, the beats are placed again by a programme
whose period only grows, gently (at most STEP per beat), to SLOWEST times the tempo's. The
slowing beats replace the tracked ones where they slow down by MIN_SLOWING or more, fill no
more beats with triplets and notate the onsets after their start more simply by MARGIN per
onset: in grid misfits and syncopation only, since any slowing empties fewer beats on a
held note (a hymn's last half notes would all be read as a ritardando). On
``bench/notation_report.py``'s final ritardandos (21 melodies twice through, the last three
bars slowing to 1.6-2.2 times the beat, through audio) notation accuracy went from 0.80 to
0.90 and measures within one from 6 to 16; no other corpus changed. A 6/8's ritardando is
not followed: its eighths are dense enough for a steady beat to land on notes throughout.
"""

from __future__ import annotations

import numpy as np

from audioscore.notation.beats import (
    FOLLOW_IRREGULARITY,
    FRAME_S,
    irregularity,
    notation_cost,
    onset_envelope,
    onset_strength,
    triplet_beats,
)

__all__ = ["final_ritardando"]

LOOKBACK_BEATS = 16      # a final ritardando starts within this many beats of the last onset,
TAIL_SHARE = 2.0 / 3.0   # after this share of the piece's beats,
MIN_TAIL_BEATS = 2       # and this many beats or more before the last onset
MIN_ONSETS = 4           # onsets from its start on (a note this many periods early on its beat counts)
ONSET_SLACK = 0.1
STEP = 1.15              # a period grows by at most this factor per beat,
EASE = 1.05              # shrinks by at most this one (a late onset),
SLOWEST = 2.5            # up to this multiple of the tempo's period
PERIODS = 48             # period states, geometric in that range
CHANGE = 400.0           # per squared log ratio of a period to the previous one (as beats.FOLLOW_CHANGE)
MIN_SLOWING = 1.3        # the last period at least this multiple of the tempo's: a ritardando, not rubato
MARGIN = 0.1             # per onset, the slowing beats notate the onsets more simply by this much


def final_ritardando(beats_s: np.ndarray, onsets_s: np.ndarray, weights: np.ndarray, compound: bool
                     ) -> tuple[np.ndarray, float | None]:
    """The beats with their last ones re-placed through a final ritardando where one is played
    (see the module docstring), and where it starts (s; None: the beats as they were).

    Args:
        beats_s: tracked beats (s), increasing, spanning every onset.
        onsets_s: note onsets (s), increasing.
        weights: each onset's accent, as for the beat programme's envelope.
        compound: the beats divide in three.
    """
    if len(onsets_s) < MIN_ONSETS or len(beats_s) < 3:
        return beats_s, None
    period = float(np.median(np.diff(beats_s)))
    last = float(onsets_s[-1])
    envelope = onset_envelope(onsets_s, weights, last + 2.0)
    beats_in_piece = int(np.searchsorted(beats_s, last))
    triplets = triplet_beats(onsets_s, beats_s)
    best, best_cost, start_s = beats_s, np.inf, None
    for s in range(1, len(beats_s)):
        if not (last - LOOKBACK_BEATS * period <= beats_s[s] <= last - MIN_TAIL_BEATS * period
                and s >= TAIL_SHARE * beats_in_piece):
            continue
        after = onsets_s > beats_s[s] - ONSET_SLACK * period
        if after.sum() < MIN_ONSETS:
            continue
        slowing = _slowing_beats(envelope, beats_s[s], beats_s[s] - beats_s[s - 1], last)
        if slowing is None or slowing[-1] - slowing[-2] < MIN_SLOWING * period:
            continue
        placed = np.concatenate([beats_s[: s + 1], slowing])
        if triplet_beats(onsets_s, placed) > triplets:
            continue
        costs = [notation_cost(onsets_s[after], b, compound, empty_beats=False)
                 + FOLLOW_IRREGULARITY * irregularity(b, beats_s[s] - 2.5 * period, last + period)
                 for b in (beats_s, placed)]
        if costs[1] < costs[0] - MARGIN and costs[1] < best_cost:
            best, best_cost, start_s = placed, costs[1], float(beats_s[s])
    return best, start_s


def _slowing_beats(envelope: np.ndarray, start_s: float, period_s: float, last_s: float) -> np.ndarray | None:
    """Beats (s) after one at ``start_s`` whose period (``period_s`` before it) only grows, the
    last near ``last_s`` and one more after it; None if none reach it. Ellis's programme over
    (frame, period) states, as ``beats._beats_following``, with the period's moves one-sided."""
    start, period, end = round(start_s / FRAME_S), period_s / FRAME_S, round(last_s / FRAME_S)
    local = onset_strength(envelope, period)
    lags = np.unique(np.round(np.geomspace(period / EASE, period * SLOWEST, PERIODS)).astype(int))
    log_lags = np.log(lags)
    step = log_lags[:, None] - log_lags[None, :]  # [this period, previous period]
    change = np.where((step <= np.log(STEP)) & (step >= -np.log(EASE)), -CHANGE * step ** 2, -np.inf)
    first_link = change[:, int(np.argmin(np.abs(lags - period)))]  # from the start, at its own period
    n = min(len(local), end + int(period) + 1)
    score = np.full((n, len(lags)), -np.inf)
    back = np.full((n, len(lags)), -1)
    shortest = int(lags[0])
    # A beat links only to beats at least the shortest period earlier: that many frames at once.
    for block in range(start + shortest, n, shortest):
        frames = np.arange(block, min(n, block + shortest))
        before = frames[:, None] - lags[None, :]
        previous = np.where((before > start)[:, :, None], score[np.maximum(before, 0)] + change[None], -np.inf)
        best_previous = previous.argmax(axis=2)
        linked = np.take_along_axis(previous, best_previous[:, :, None], axis=2)[:, :, 0]
        linked = np.where(before == start, first_link[None, :], linked)
        score[frames] = local[frames, None] + linked
        back[frames] = np.where(before == start, -1, best_previous)
    near = np.arange(max(start + shortest, end - int(period / 2)), min(n, end + int(period / 2) + 1))
    if len(near) == 0 or not np.isfinite(score[near]).any():
        return None
    t_index, end_state = np.unravel_index(int(np.argmax(score[near])), score[near].shape)
    t, state = int(near[t_index]), int(end_state)
    last_period = float(lags[state])
    frames_found = [t]
    while back[t, state] >= 0:
        t, state = t - int(lags[state]), int(back[t, state])
        frames_found.append(t)
    found = np.array(frames_found[::-1], dtype=float)
    return np.append(found, found[-1] + last_period) * FRAME_S
