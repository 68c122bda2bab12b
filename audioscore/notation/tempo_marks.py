"""Tempo changes worth writing: where the tracked tempo departs from the marked one by more
than CHANGE_SHARE for at least MIN_BARS bars.

Conventions: positions in quarters from the first full bar (as the quantised notes);
tempi in felt beats per minute (a dotted quarter in compound meter), as metronome marks show.

A performance breathes: a phrase end slows for a beat or two and comes back. A reader
wants a new mark only when the tempo has really moved (a slower middle section, a faster
coda), and "a tempo" when it returns to the first mark. A change that keeps moving to the
last bars (a final ritardando) is no new tempo: it is written "rit." (or "accel.") where it
begins, as players mark one.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from audioscore.notation.rhythm import Rhythm

__all__ = ["TEMPO_WORDS", "TempoChange", "tempo_changes"]

CHANGE_SHARE = 0.15  # a change smaller than this is rubato, not a new tempo
MIN_BARS = 2         # and one that lasts less than this many bars is a phrase's breath
# A final change over at most RAMP_MAX_BARS bars, from the first bar already RAMP_NOISE
# past the tempo before it, each bar moving on in its direction or back by at most
# RAMP_NOISE, and moving more than that in all, is a ritardando (accelerando).
RAMP_MAX_BARS = 4
RAMP_NOISE = 0.03
TEMPO_WORDS = ("rit.", "accel.")


@dataclass(frozen=True)
class TempoChange:
    """A new tempo from ``at`` (quarters, a bar line): ``bpm`` felt beats per minute;
    ``returns`` when it is the first mark's tempo again (written "a tempo"); ``words``
    ("rit.", "accel.") when it is a final ritardando or accelerando, written instead of a mark."""

    at: Fraction
    bpm: int
    returns: bool
    words: str | None = None


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
    afterwards means a return to it. A last run that keeps moving to the end is a final
    ritardando or accelerando: its words where it begins (see _ramp_start)."""
    if len(rhythm.beat_times_s) < 2:
        return []
    bar_q = rhythm.bar_quarters
    first_bar = int(first_q // bar_q)
    last_bar = int(-(-end_q // bar_q)) - 1
    tempi = _bar_tempi(rhythm, first_bar, last_bar)
    main = rhythm.tempo_bpm / float(rhythm.grid.quarters_per_beat)
    current = main
    changes: list[TempoChange] = []
    bar = since = 0
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
            start = None if returns or bar == 0 else _ramp_start(tempi, bar, run, current, direction, since)
            if start is not None:
                changes.append(TempoChange((first_bar + start) * bar_q, round(value), False,
                                           TEMPO_WORDS[0] if direction < 0 else TEMPO_WORDS[1]))
                break
            current = main if returns else value
            changes.append(TempoChange((first_bar + bar) * bar_q, round(current), returns))
            bar = since = run
        else:
            bar += 1
    return changes


def _ramp_start(tempi: np.ndarray, bar: int, run: int, current: float, direction: float, since: int
                ) -> int | None:
    """Where a change over bars ``bar..run`` that lasts to the end (only bars the beats do
    not reach after it) begins as a ritardando or accelerando (see RAMP_MAX_BARS): the bars
    before it from ``since`` (the last change's end) already past the tempo and moving on
    belong to it. None for a change that comes at once or settles: a new tempo."""
    if not np.all(np.isnan(tempi[run:])):
        return None
    start = bar
    while (start > since and direction * (tempi[start - 1] / current - 1.0) > RAMP_NOISE
           and direction * (tempi[start] / tempi[start - 1] - 1.0) >= 0.0):
        start -= 1
    ramp = tempi[start:run]
    steps = direction * (ramp[1:] / ramp[:-1] - 1.0)
    moving = direction * (ramp[-1] / ramp[0] - 1.0) > RAMP_NOISE
    return start if run - start <= RAMP_MAX_BARS and moving and not np.any(steps < -RAMP_NOISE) else None
