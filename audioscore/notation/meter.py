"""Meter and downbeat from notes placed on tracked beats.

Conventions: positions and lengths in beats (the felt beat: a quarter in simple meter, a
dotted quarter in 6/8); beat 0 is the first tracked beat.

Written by hand: no installable library chooses a time signature for a melody. The
choice follows the accents a listener hears: long notes, notes on the beat, the
highest and lowest notes of a phrase, and the final note (a cadence starts a bar); 4/4
is preferred unless another meter clearly explains the accents better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Meter", "choose_meter"]

# (beats per bar, time signature) for simple and compound beats.
SIMPLE_METERS = ((4, "4/4"), (3, "3/4"), (2, "2/4"))
COMPOUND_METERS = ((2, "6/8"),)
# Penalties (in accent-contrast units) of a meter against 4/4: 3/4 needs clear triple
# accents; 2/4 reads like 4/4 wherever both fit, so it must fit clearly better.
METER_PENALTY = {"4/4": 0.0, "3/4": 0.15, "2/4": 0.35, "6/8": 0.0}
# Metrical weight of each beat of the bar (a half-bar in 4/4 is a secondary accent:
# without it, a tune whose long notes fall on beat 3 gets its bar lines there).
METRIC_WEIGHTS = {"4/4": (1.0, 0.0, 0.5, 0.0), "3/4": (1.0, 0.0, 0.0), "2/4": (1.0, 0.0), "6/8": (1.0, 0.0)}
CADENCE_BONUS = 0.4
PERIODICITY_WEIGHT = 2.0  # per unit of autocorrelation of the accents at the bar's lag   # the final note on a downbeat
LONGEST_ACCENT_BEATS = 4.0
CONTOUR_ACCENT = 0.3  # a local pitch peak or trough


@dataclass(frozen=True)
class Meter:
    """A meter: beats per bar, its signature, and the beat index of a downbeat."""

    beats_per_bar: int
    time_signature: str
    downbeat: int


def _accents(positions: np.ndarray, lengths: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    accent = np.sqrt(np.clip(lengths, 0.0, LONGEST_ACCENT_BEATS))
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


def choose_meter(
    positions: Sequence[float], lengths: Sequence[float], pitches: Sequence[float], *, compound: bool,
    time_signature: str | None = None,
) -> Meter:
    """The meter whose downbeats carry the strongest accents.

    Args:
        positions: note starts in beats (snapped to the notation grid), in order.
        lengths: each note's length to the next onset (its last: its own), in beats.
        pitches: MIDI pitches.
        compound: the beat divides in three (only 6/8 is then considered).
        time_signature: impose this signature; only the downbeat is chosen.
    """
    pos = np.asarray(positions, dtype=float)
    accent = _accents(pos, np.asarray(lengths, dtype=float), np.asarray(pitches, dtype=float))
    on_beat = np.abs(pos - np.round(pos)) < 1e-6
    beat_index = np.round(pos).astype(int)
    first, last = int(np.floor(pos.min())), int(np.ceil(pos.max()))
    strength = np.zeros(last - first + 1)
    np.add.at(strength, beat_index[on_beat] - first, accent[on_beat])
    scale = float(strength.std()) or 1.0
    final_beat = beat_index[-1] if on_beat[-1] else None
    meters = COMPOUND_METERS if compound else SIMPLE_METERS
    periodicity = _periodicity(pos, accent)
    best: tuple[float, Meter] | None = None
    for per_bar, signature in meters:
        if time_signature is not None and signature != time_signature:
            continue
        for phase in range(per_bar):
            template = np.asarray(METRIC_WEIGHTS[signature])[(np.arange(first, last + 1) - phase) % per_bar]
            if template.std() == 0:
                contrast = 0.0
            else:
                contrast = float(np.mean((strength - strength.mean()) * (template - template.mean()))
                                 / (scale * template.std()))
            cadence = CADENCE_BONUS if final_beat is not None and (final_beat - phase) % per_bar == 0 else 0.0
            score = (contrast + cadence + PERIODICITY_WEIGHT * periodicity[per_bar % 3 == 0]
                     - (0.0 if time_signature else METER_PENALTY[signature]))
            if best is None or score > best[0]:
                best = (score, Meter(per_bar, signature, phase))
    if best is None:
        raise ValueError(f"time signature {time_signature!r} does not fit a {'compound' if compound else 'simple'} beat")
    return best[1]
