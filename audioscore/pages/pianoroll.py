"""A piano-roll of notes as SVG geometry, computed here and drawn by the template (no script, no library).

Time runs left to right over ``WIDTH`` units, pitch bottom to top, one row per semitone;
horizontal lines mark each C with its name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from audioscore.pages.model import Note

__all__ = ["MAX_ROLL_NOTES", "Roll", "piano_roll"]

WIDTH = 1000.0  # viewBox units; the SVG scales to the page's width
ROW = 8.0  # least height of one semitone
MAX_ROW = 14.0
MIN_HEIGHT = 220.0  # a roll is at least this high (in width-1000 units) unless rows reach MAX_ROW
LABEL = 34.0  # room on the left for the octave names
MIN_ROWS = 12
MAX_ROLL_NOTES = 20000  # beyond this the drawing is a smear and the page grows by megabytes


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    title: str


@dataclass(frozen=True)
class GridLine:
    y: float
    label: str


@dataclass(frozen=True)
class Roll:
    """A piano-roll's geometry: viewBox size, note bars, C lines, the time span, notes drawn and total."""

    width: float
    height: float
    bars: list[Bar]
    lines: list[GridLine]
    start_s: float
    end_s: float
    row: float = ROW
    label_width: float = LABEL
    shown: int = 0
    total: int = 0


def piano_roll(notes: Sequence[Note]) -> Roll | None:
    """The roll's geometry, or None without notes. Only the first `MAX_ROLL_NOTES` are drawn."""
    if not notes:
        return None
    drawn = sorted(notes, key=lambda n: n.onset_s)[:MAX_ROLL_NOTES]
    start = min(n.onset_s for n in drawn)
    end = max(n.offset_s for n in drawn)
    span = max(end - start, 1e-3)
    low = math.floor(min(n.midi for n in drawn) + 0.5)
    high = math.floor(max(n.midi for n in drawn) + 0.5)
    if high - low + 1 < MIN_ROWS:  # a few notes still get an octave of context
        pad = MIN_ROWS - (high - low + 1)
        low, high = low - pad // 2, high + pad - pad // 2
    rows = high - low + 1
    row = min(MAX_ROW, max(ROW, MIN_HEIGHT / rows))  # a short range gets taller rows, not a thin strip
    scale = (WIDTH - LABEL) / span
    bars = [Bar(x=round(LABEL + (n.onset_s - start) * scale, 2),
                y=round((high - math.floor(n.midi + 0.5)) * row, 2),
                width=round(max((n.offset_s - n.onset_s) * scale, 1.5), 2),
                title=f"{n.label} at {n.onset_s:.2f} s, {n.offset_s - n.onset_s:.2f} s")
            for n in drawn]
    lines = [GridLine(y=(high - midi) * row + row, label=f"C{midi // 12 - 1}")
             for midi in range(low, high + 1) if midi % 12 == 0]
    return Roll(width=WIDTH, height=rows * row, bars=bars, lines=lines, start_s=start, end_s=end, row=row,
                shown=len(drawn), total=len(notes))
