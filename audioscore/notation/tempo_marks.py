"""Tempo changes worth writing: where the tracked tempo departs from the marked one by more
than CHANGE_SHARE for at least MIN_BARS bars.

Conventions: positions in quarters from the first full bar (as the quantised notes);
tempi in felt beats per minute (a dotted quarter in compound meter), as metronome marks show.

A performance breathes: a phrase end slows for a beat or two and comes back. A reader
wants a new mark only when the tempo has really moved (a slower middle section, a faster
coda), and "a tempo" when it returns to the first mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from audioscore.notation.rhythm import Rhythm

__all__ = ["TempoChange", "tempo_changes"]

CHANGE_SHARE = 0.15  # a change smaller than this is rubato, not a new tempo
MIN_BARS = 2         # and one that lasts less than this many bars is a phrase's breath


@dataclass(frozen=True)
class TempoChange:
    """A new tempo from ``at`` (quarters, a bar line): ``bpm`` felt beats per minute;
    ``returns`` when it is the first mark's tempo again (written "a tempo")."""

    at: Fraction
    bpm: int
    returns: bool


def _bar_tempi(rhythm: Rhythm, first_bar: int, last_bar: int) -> np.ndarray:
    """Felt beats per minute over each bar ``first_bar..last_bar`` (bar 0 starts at the
    first full bar), NaN where the tracked beats do not reach."""
    beats = np.asarray(rhythm.beat_times_s, dtype=float)
    tempi = []
    for bar in range(first_bar, last_bar + 1):
        start = rhythm.downbeat_index + bar * rhythm.beats_per_bar
        end = start + rhythm.beats_per_bar
        inside = start >= 0 and end < len(beats)
        tempi.append(60.0 * rhythm.beats_per_bar / (beats[end] - beats[start]) if inside else np.nan)
    return np.array(tempi)


def tempo_changes(rhythm: Rhythm, first_q: Fraction, end_q: Fraction) -> list[TempoChange]:
    """The tempo changes to write between ``first_q`` and ``end_q`` (quarters): each starts
    at the first bar of a run of at least MIN_BARS bars whose tempo differs from the current
    mark by more than CHANGE_SHARE in the same direction, at that run's median tempo (the
    first mark's when it is within CHANGE_SHARE of it). None for a constant-tempo rhythm.

    A run from the first bar is the opening tempo (a slow introduction before the main
    tempo): its change, at ``first_q``'s bar, replaces the opening mark, and "a tempo"
    afterwards means a return to it."""
    if len(rhythm.beat_times_s) < 2:
        return []
    bar_q = rhythm.bar_quarters
    first_bar = int(first_q // bar_q)
    last_bar = int(-(-end_q // bar_q)) - 1
    tempi = _bar_tempi(rhythm, first_bar, last_bar)
    main = rhythm.tempo_bpm / float(rhythm.grid.quarters_per_beat)
    current = main
    changes: list[TempoChange] = []
    bar = 0
    while bar < len(tempi):
        direction = np.sign(tempi[bar] / current - 1.0) if abs(tempi[bar] / current - 1.0) > CHANGE_SHARE else 0.0
        run = bar
        while (direction and run < len(tempi) and abs(tempi[run] / current - 1.0) > CHANGE_SHARE
               and np.sign(tempi[run] / current - 1.0) == direction):
            run += 1
        if direction and run - bar >= MIN_BARS:
            value = float(np.median(tempi[bar:run]))
            if bar == 0:
                main = value  # the opening mark's tempo
            returns = bar > 0 and abs(value / main - 1.0) <= CHANGE_SHARE
            current = main if returns else value
            changes.append(TempoChange((first_bar + bar) * bar_q, round(current), returns))
            bar = run
        else:
            bar += 1
    return changes
