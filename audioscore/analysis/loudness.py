"""A melody note's loudness at its attack, as a MIDI velocity (the notation reads a
player's louder downbeats as metric accents), how far the level rises into it and how far
it fell before it below the note before (the notation keeps a re-attacked repeated note
apart from a swell of the note before).

Read from the MFCC pass's frames (``Mfcc.level_db``, their power over the mel bands):
no second pass over the audio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from audioscore.analysis.mfcc import Mfcc
from audioscore.analysis.pitch import Note, PitchResult

__all__ = ["ATTACK_S", "DIP_S", "MEDIAN_VELOCITY", "MOST_RISE_DB", "SUSTAIN_S", "VELOCITY_PER_DB", "note_dips",
           "note_rises", "note_velocities", "with_loudness"]

ATTACK_S = 0.1          # the level is the loudest frame from the onset to this much after it
VELOCITY_PER_DB = 3.0   # MIDI's 1..127 spans about 40 dB of a player's dynamics
MEDIAN_VELOCITY = 80    # the piece's median note: only differences between notes are measured
DIP_S = 0.15            # the dip before an attack is the quietest frame this far before the onset
MOST_RISE_DB = 60.0     # a rise out of digital silence is written as this
SUSTAIN_S = 0.3         # the note before is held at its median level over this much before the dip


def note_velocities(notes: Sequence[Note], mfcc: Mfcc) -> list[int]:
    """Each note's velocity in 1..127 from its attack's level relative to the piece's median note."""
    if not notes or len(mfcc.level_db) == 0:
        return [MEDIAN_VELOCITY] * len(notes)
    level_db = mfcc.level_db
    first, last = _attack_frames(np.array([n.onset for n in notes]), mfcc)
    attack = np.array([level_db[a:max(b, a + 1)].max() if a < len(level_db) else level_db[-1]
                       for a, b in zip(first, last, strict=True)])
    velocity = MEDIAN_VELOCITY + VELOCITY_PER_DB * (attack - np.median(attack))
    return [int(v) for v in np.clip(np.round(velocity), 1, 127)]


def note_rises(notes: Sequence[Note], mfcc: Mfcc) -> list[float | None]:
    """Each note's rise in dB: its attack's loudest frame (as for the velocity) less the
    quietest frame from DIP_S before its onset to the onset; None without frames there.

    A detached repeat whose voicing holds through its gap rises 3-17 dB here (over 10 at
    7 of the humanised corpora's 13); a swell inside one held note, which the pitch tracker
    may split, at most 8.6 (77 of them).
    """
    onsets = np.array([n.onset for n in notes])
    first, last = _attack_frames(onsets, mfcc)
    dip_first, dip_last = _dip_frames(onsets, mfcc)
    rises: list[float | None] = []
    for a, b, c, d in zip(first, last, dip_first, dip_last, strict=True):
        if a >= b or c >= d:
            rises.append(None)
            continue
        rise = float(mfcc.level_db[a:b].max() - mfcc.level_db[c:d].min())
        rises.append(round(min(MOST_RISE_DB, max(0.0, rise)), 1))
    return rises


def note_dips(notes: Sequence[Note], mfcc: Mfcc) -> list[float | None]:
    """How far the level falls, before each note, below the level the note before was
    held at: that note's median level over the SUSTAIN_S before the dip window (from
    its onset at the earliest) less the quietest frame of the dip window (as
    ``note_rises``'); None for the first note or without frames there.

    A note played again stops and restarts the sound: on the humanised corpora's
    same-pitch pairs a repeat the voicing did not show dipped up to 18 dB here, while a
    tracker's split of one held note (a swell, a flute's tremolo) dipped at most 7.1.
    """
    if not notes:
        return []
    onsets = np.array([n.onset for n in notes])
    dip_first, dip_last = _dip_frames(onsets, mfcc)
    dips: list[float | None] = [None]
    for i in range(1, len(notes)):
        held_first = np.searchsorted(mfcc.times, max(notes[i - 1].onset, onsets[i] - DIP_S - SUSTAIN_S))
        if held_first >= dip_first[i] or dip_first[i] >= dip_last[i]:
            dips.append(None)
            continue
        held = float(np.median(mfcc.level_db[held_first:dip_first[i]]))
        dip = held - float(mfcc.level_db[dip_first[i]:dip_last[i]].min())
        dips.append(round(min(MOST_RISE_DB, max(0.0, dip)), 1))
    return dips


def _attack_frames(onsets: np.ndarray, mfcc: Mfcc) -> tuple[np.ndarray, np.ndarray]:
    """Each attack's first frame and the frame after its last: from half a hop before the
    onset to ATTACK_S after it (frames are found by search: a 3-hour recording has 465,000)."""
    return (np.searchsorted(mfcc.times, onsets - mfcc.hop_s / 2),
            np.searchsorted(mfcc.times, onsets + ATTACK_S, side="right"))


def _dip_frames(onsets: np.ndarray, mfcc: Mfcc) -> tuple[np.ndarray, np.ndarray]:
    """Each dip window's first frame and the frame after its last: from DIP_S before the
    onset to half a hop after it."""
    return (np.searchsorted(mfcc.times, onsets - DIP_S),
            np.searchsorted(mfcc.times, onsets + mfcc.hop_s / 2, side="right"))


def with_loudness(pitch: PitchResult, mfcc: Mfcc) -> PitchResult:
    """The pitch result with each note's velocity, rise and dip measured (``note_velocities``,
    ``note_rises``, ``note_dips``)."""
    notes = pitch.notes
    measured = zip(notes, note_velocities(notes, mfcc), note_rises(notes, mfcc), note_dips(notes, mfcc), strict=True)
    return dataclasses.replace(pitch, notes=[dataclasses.replace(n, velocity=v, rise_db=r, dip_db=d)
                                             for n, v, r, d in measured])
