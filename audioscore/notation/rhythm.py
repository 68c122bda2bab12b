"""The data of notated rhythm: performed and quantised notes, the beat grid and its tempo.

Conventions: times in seconds; score positions and durations in quarter notes
(``fractions.Fraction``); MIDI note numbers. How performed notes become notated
rhythm (beats, quantisation, meter) is :mod:`audioscore.notation.quantise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from audioscore.notation.beats import positions_in_beats, times_of_positions

__all__ = ["Grid", "PerformedNote", "QuantisedNote", "Rhythm"]


@dataclass(frozen=True)
class PerformedNote:
    """A note as played: onset and offset in seconds, MIDI pitch (rounded), MIDI velocity
    (1..127) and, where the analysis measured them, the level's rise into its attack and its
    dip before it below the note before, in dB."""

    onset: float
    offset: float
    midi: int
    velocity: int = 80
    rise_db: float | None = None
    dip_db: float | None = None


@dataclass(frozen=True)
class Grid:
    """How beats divide: in three (compound: a dotted-quarter beat) or in two, and whether
    eighth triplets are allowed in simple meter."""

    compound: bool
    triplets: bool = True

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
    # A tracked tempo curve (``audioscore.notation.beats``): the time of every beat, a downbeat at
    # index ``downbeat_index``; empty for one constant tempo.
    beat_times_s: tuple[float, ...] = ()
    downbeat_index: int = 0
    swing: bool = False  # eighths played long-short, written straight under a "Swing" mark

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
    """A note on the grid: start and duration in quarter notes, MIDI pitch, the MIDI
    velocity it was played at (the MIDI file's dynamics), and whether the performer took a
    breath after it (written as a comma)."""

    start: Fraction
    duration: Fraction
    midi: int
    velocity: int = 80
    breath_after: bool = False
