"""Sections at different tempi: where a performance changes tempo for good (a slow
introduction, a faster second verse), one tempo level notates part of it at the wrong
level or in the wrong meter.

A piece that goes from quarter = 100 to 140 was read as 6/8 at dotted quarter = 97
throughout (140's dotted quarter is 100's quarter give or take 7 %), and one that goes
from 120 to 75 as 61 then 75 (the first half in eighths). Each candidate tempo's beats
notate some onsets well; a Viterbi over the onsets, whose state is the candidate and
which pays SWITCH_COST to change it, finds the stretches each tempo notates best.

Conventions: ``costs[k, i]`` is onset i's notation cost on candidate k's beats (the
per-onset terms of the level choice); tempi in beats per minute.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["tempo_sections"]

SWITCH_COST = 5.0       # notation cost a new section must save, summed over its onsets
MIN_CHANGE = 0.15       # tempi closer than this are the same tempo drifting, not a new one
MIN_ONSETS = 8          # a section shorter than this is a phrase, not a new tempo
MIN_SECONDS = 6.0
# Tempi this close to 2:1, 3:2, 3:1 or 4:1 are the same pulse read at another level: a run
# of sixteenths reads more simply at twice the tempo, but a reader wants the beat kept. (The
# candidates are 9 % apart, so a real change of 60 to 120 still goes 55 -> 120, re-measured.)
SAME_PULSE = (1.5, 2.0, 3.0, 4.0)
SAME_PULSE_TOLERANCE = 0.05


def _allowed(bpms: np.ndarray) -> np.ndarray:
    """``[from, to]``: whether a section may change from one candidate tempo to the other."""
    ratio = np.abs(np.log(bpms[:, None] / bpms[None, :]))
    same_pulse = np.zeros_like(ratio, dtype=bool)
    for multiple in SAME_PULSE:
        same_pulse |= np.abs(ratio - np.log(multiple)) < np.log1p(SAME_PULSE_TOLERANCE)
    return (ratio > np.log1p(MIN_CHANGE)) & ~same_pulse


def tempo_sections(costs: np.ndarray, bpms: Sequence[float], onsets: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """The cheapest notation of the onsets by sections of one candidate tempo each.

    Args:
        costs: per-onset notation costs, shape (k candidates, n onsets).
        bpms: each candidate's tempo, shape (k,).
        onsets: the onsets (s), shape (n,), increasing.

    Returns:
        The total cost (switches included) and the sections as ``[(first onset index,
        candidate index), ...]`` in order; one section when no change pays or a section
        would be shorter than MIN_ONSETS onsets or MIN_SECONDS.
    """
    k, n = costs.shape
    penalty = np.where(_allowed(np.asarray(bpms, dtype=float)), SWITCH_COST, np.inf)
    np.fill_diagonal(penalty, 0.0)
    score = costs[:, 0].copy()
    back = np.zeros((n, k), dtype=int)
    for i in range(1, n):
        moves = score[:, None] + penalty  # [from, to]
        back[i] = np.argmin(moves, axis=0)
        score = moves[back[i], np.arange(k)] + costs[:, i]
    state = int(np.argmin(score))
    path = [state]
    for i in range(n - 1, 0, -1):
        state = int(back[i, state])
        path.append(state)
    path.reverse()
    starts = [0] + [i for i in range(1, n) if path[i] != path[i - 1]]
    sections = [(i, path[i]) for i in starts]
    ends = [*starts[1:], n]
    if len(sections) > 1 and any(end - start < MIN_ONSETS or onsets[end - 1] - onsets[start] < MIN_SECONDS
                                 for start, end in zip(starts, ends, strict=True)):
        best = int(np.argmin(costs.sum(axis=1)))
        return float(costs[best].sum()), [(0, best)]
    return float(np.min(score)), sections
