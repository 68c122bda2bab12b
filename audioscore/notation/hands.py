"""Which hand plays each note of a piano piece: the grand staff's split, chosen per passage.

Conventions: positions in quarter notes; MIDI note numbers; staff 1 = right hand (upper
staff), staff 2 = left hand.

A fixed split at middle C puts a tenor line's notes in the treble staff one moment and the
bass staff the next, and gives one hand chords no hand can span. Here the split point is a
hidden state chosen per onset by dynamic programming (Viterbi): each onset's notes below the
split go to the left hand. Costs: a hand spanning more than HAND_SPAN semitones (impossible)
or more than COMFORT_SPAN (awkward), a wide hand rather than two narrow ones, more than five notes in a hand, a hand far outside its
usual register, a line (a note and its nearest neighbour at the previous onset) or a chord's
close neighbours changing hands, and the split moving. Written by hand: no installable library separates piano hands
from notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from audioscore.notation.polyphony import PolyNote

__all__ = ["split_hands"]

SPLITS = np.arange(21, 110)      # candidate split points: notes below go to the left hand
HAND_SPAN = 14                   # semitones one hand can hold at once (a ninth; a tenth is rare)
COMFORT_SPAN = 12
IMPOSSIBLE = 20.0
SPAN_COST = 0.4                  # per semitone beyond COMFORT_SPAN
STRETCH_COST = 0.005             # per squared semitone of span: two small hand shapes beat one wide one
CROWD_COST = 5.0                 # per note beyond five in one hand
RIGHT_LOW, LEFT_HIGH = 53, 67    # F3 and G4: below / above these, a hand is out of its register
REGISTER_COST = 0.12             # per semitone out of the register
LINE_REACH = 12                  # semitones: a note this close to one at the previous onset continues its line
LINE_COST = 1.5                  # a line changing hands (scaled down with the interval)
MOVE_COST = 0.04                 # per semitone the split moves between onsets
COHESION_GAP, COHESION_COST = 7, 0.6  # neighbours in a chord this close split between the hands
CENTRE, CENTRE_COST = 60, 0.01   # a faint pull of the split toward middle C


def _hand_cost(pitches: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cost of each split (rows) for one hand's notes: ``right`` marks, per split and note,
    the notes that hand plays."""
    big, small = 1000, -1000
    high = np.where(right, pitches, small).max(axis=1)
    low = np.where(right, pitches, big).min(axis=1)
    count = right.sum(axis=1)
    span = np.where(count > 0, high - low, 0)
    return (IMPOSSIBLE * (span > HAND_SPAN) + SPAN_COST * np.maximum(0, span - COMFORT_SPAN)
            + STRETCH_COST * span**2 + CROWD_COST * np.maximum(0, count - 5))


def _onset_costs(pitches: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """Cost of each split for one onset's notes (``pitches``), the hands' spans counting the
    notes still sounding from earlier onsets (``sounding``)."""
    every = np.concatenate([pitches, sounding])
    left = every[None, :] < SPLITS[:, None]
    cost = _hand_cost(every, ~left) + _hand_cost(every, left)
    right_out = np.maximum(0, RIGHT_LOW - pitches)[None, :] * (pitches[None, :] >= SPLITS[:, None])
    left_out = np.maximum(0, pitches - LEFT_HIGH)[None, :] * (pitches[None, :] < SPLITS[:, None])
    ordered = np.sort(pitches)
    for low, high in zip(ordered[:-1], ordered[1:], strict=True):
        if high - low <= COHESION_GAP:  # a chord's close notes are one hand's shape
            cost += COHESION_COST * ((low < SPLITS) & (high >= SPLITS))
    return cost + REGISTER_COST * (right_out.sum(axis=1) + left_out.sum(axis=1)) + CENTRE_COST * np.abs(SPLITS - CENTRE)


def _line_costs(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Cost of each (previous split, split) pair for lines changing hands between two onsets."""
    cost = np.zeros((len(SPLITS), len(SPLITS)))
    for p in current:
        gaps = np.abs(previous - p)
        q = int(previous[int(np.argmin(gaps))]) if len(previous) else None
        if q is None or abs(q - p) > LINE_REACH:
            continue
        weight = LINE_COST * (1.0 - abs(q - p) / (LINE_REACH + 1))
        before_left = q < SPLITS
        now_left = p < SPLITS
        cost += weight * (before_left[:, None] != now_left[None, :])
    return cost


def split_hands(notes: Sequence[PolyNote]) -> list[PolyNote]:
    """The notes with ``staff`` set: 1 for the right hand, 2 for the left."""
    if not notes:
        return []
    starts = sorted({n.start for n in notes})
    by_start: dict[Fraction, list[PolyNote]] = {s: [] for s in starts}
    for n in notes:
        by_start[n.start].append(n)
    move = MOVE_COST * np.abs(SPLITS[:, None] - SPLITS[None, :])
    total = np.zeros(len(SPLITS))
    back: list[np.ndarray] = []
    previous = np.array([], dtype=int)
    for index, start in enumerate(starts):
        pitches = np.array([n.midi for n in by_start[start]])
        local = _onset_costs(pitches, np.array([], dtype=int))
        if index == 0:
            total = local
        else:
            step = total[:, None] + move + _line_costs(previous, pitches)
            back.append(np.argmin(step, axis=0))
            total = step.min(axis=0) + local
        previous = pitches
    state = int(np.argmin(total))
    chosen = [state]
    for links in reversed(back):
        state = int(links[state])
        chosen.append(state)
    chosen.reverse()
    split_at = {start: int(SPLITS[k]) for start, k in zip(starts, chosen, strict=True)}
    return [PolyNote(n.start, n.duration, n.midi, n.velocity, 2 if n.midi < split_at[n.start] else 1, n.voice,
                     n.onset_s, n.offset_s) for n in notes]
