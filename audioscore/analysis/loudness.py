"""A melody note's loudness at its attack, as a MIDI velocity: the notation reads a
player's louder downbeats as metric accents.

Read from the MFCC pass's frames (``Mfcc.level_db``, their power over the mel bands):
no second pass over the audio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from audioscore.analysis.mfcc import Mfcc
from audioscore.analysis.pitch import Note, PitchResult

__all__ = ["ATTACK_S", "MEDIAN_VELOCITY", "VELOCITY_PER_DB", "note_velocities", "with_velocities"]

ATTACK_S = 0.1          # the level is the loudest frame from the onset to this much after it
VELOCITY_PER_DB = 3.0   # MIDI's 1..127 spans about 40 dB of a player's dynamics
MEDIAN_VELOCITY = 80    # the piece's median note: only differences between notes are measured


def note_velocities(notes: Sequence[Note], mfcc: Mfcc) -> list[int]:
    """Each note's velocity in 1..127 from its attack's level relative to the piece's median note."""
    if not notes or len(mfcc.level_db) == 0:
        return [MEDIAN_VELOCITY] * len(notes)
    level_db = mfcc.level_db
    onsets = np.array([n.onset for n in notes])
    first = np.searchsorted(mfcc.times, onsets - mfcc.hop_s / 2)
    last = np.searchsorted(mfcc.times, onsets + ATTACK_S, side="right")
    attack = np.array([level_db[a:max(b, a + 1)].max() if a < len(level_db) else level_db[-1]
                       for a, b in zip(first, last, strict=True)])
    velocity = MEDIAN_VELOCITY + VELOCITY_PER_DB * (attack - np.median(attack))
    return [int(v) for v in np.clip(np.round(velocity), 1, 127)]


def with_velocities(pitch: PitchResult, mfcc: Mfcc) -> PitchResult:
    """The pitch result with each note's velocity measured (``note_velocities``)."""
    velocities = note_velocities(pitch.notes, mfcc)
    return dataclasses.replace(pitch, notes=[dataclasses.replace(n, velocity=v)
                                             for n, v in zip(pitch.notes, velocities, strict=True)])
