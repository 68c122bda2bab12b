"""Implied harmony of a melody: how well the notes in a stretch of beats fit one chord.

Conventions: positions and lengths in beats, as :mod:`audioscore.notation.meter`; MIDI pitches.

Written by hand: music21's chord-template code works on Chord objects, one at a time (tens of
microseconds each); here every window of a piece is scored at once, a matrix product of
duration-weighted pitch-class profiles with triad templates.
"""

from __future__ import annotations

import numpy as np

__all__ = ["beat_profiles", "window_fits"]


# Chords as intervals above the root: major, minor and diminished triads (a leading-tone
# chord, the top of a dominant seventh, is what a minor-key tune outlines before its cadence).
CHORDS = ((0, 4, 7), (0, 3, 7), (0, 3, 6))


def _templates(chords: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """0/1 pitch-class templates of ``chords`` on every root, shape (12 * len(chords), 12)."""
    rows = np.zeros((12 * len(chords), 12))
    for index, (root, chord) in enumerate((root, chord) for root in range(12) for chord in chords):
        rows[index, [(root + step) % 12 for step in chord]] = 1.0
    return rows


TRIADS = _templates(CHORDS)


def beat_profiles(positions: np.ndarray, lengths: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """How long (beats) each pitch class sounds in each whole beat from the floor of the
    first position on: shape (beats, 12). Each note sounds ``lengths`` beats."""
    first = np.floor(positions.min())
    starts, ends = positions - first, positions + np.maximum(lengths, 0.0) - first
    beats = max(int(np.ceil(ends.max())), 1)
    classes = np.round(pitches).astype(int) % 12
    # Sounding from x on adds (k + 1 - x) of beat k = floor(x) and all of every later beat:
    # steps whose running sum is the profile; a note's end subtracts its own.
    steps = np.zeros((beats + 2, 12))
    for points, sign in ((starts, 1.0), (ends, -1.0)):
        beat = np.floor(points).astype(int)
        np.add.at(steps, (beat, classes), sign * (beat + 1 - points))
        np.add.at(steps, (beat + 1, classes), sign * (points - beat))
    return np.cumsum(steps, axis=0)[:beats]


def window_fits(profiles: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """For the window of ``span`` beats starting at each beat: the share of its sounding
    length on the tones of the triad that fits it best, and that length; shapes (starts,)."""
    cumulative = np.vstack([np.zeros((1, 12)), np.cumsum(profiles, axis=0)])
    windows = cumulative[span:] - cumulative[:-span]
    total = windows.sum(axis=1)
    best = (windows @ TRIADS.T).max(axis=1)
    return np.where(total > 0, best / np.where(total > 0, total, 1.0), 0.0), total
