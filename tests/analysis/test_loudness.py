"""Note loudness as a MIDI velocity (``loudness.note_velocities``) and the dip before a note
(``loudness.note_dips``)."""

from __future__ import annotations

import numpy as np

from audioscore.analysis.loudness import MEDIAN_VELOCITY, VELOCITY_PER_DB, note_dips, note_rises, note_velocities
from audioscore.analysis.mfcc import compute_mfcc
from audioscore.analysis.pitch import Note
from audioscore.notation.quantise import REATTACK_DIP_DB, REATTACK_DIPPED_RISE_DB

RATE = 22050


def _notes_played(levels_db: list[float], midis: list[int], note_s: float = 0.4) -> tuple[np.ndarray, list[Note]]:
    """Harmonic tones one after another, each at its level (dB) with a 10-ms attack and a
    release into a short gap; and the notes as the pitch tracker reports them."""
    t = np.arange(int(note_s * RATE)) / RATE
    pieces, notes = [], []
    for k, (level, midi) in enumerate(zip(levels_db, midis, strict=True)):
        hz = 440.0 * 2 ** ((midi - 69) / 12)
        tone = sum(np.sin(2 * np.pi * h * hz * t) / h for h in range(1, 6))
        envelope = np.minimum(1.0, t / 0.01) * np.clip((note_s - 0.03 - t) / 0.02, 0.0, 1.0)
        pieces.append(0.1 * 10 ** (level / 20) * tone * envelope)
        notes.append(Note(k * note_s, (k + 1) * note_s - 0.03, hz))
    return np.concatenate(pieces).astype(np.float32), notes


def test_louder_notes_get_higher_velocities_in_proportion() -> None:
    """Downbeats 6 dB louder than the notes between them, on changing pitches."""
    levels = [6.0, 0.0, 0.0] * 4
    audio, notes = _notes_played(levels, [60, 64, 67, 72, 67, 64, 62, 65, 69, 71, 67, 60])
    velocity = np.array(note_velocities(notes, compute_mfcc(audio, RATE)))
    loud, soft = velocity[0::3], np.delete(velocity, np.s_[0::3])
    assert np.all(np.abs(soft - MEDIAN_VELOCITY) <= 3)
    assert np.all(np.abs(loud - soft.mean() - 6 * VELOCITY_PER_DB) <= 4), velocity


def test_an_even_performance_has_even_velocities() -> None:
    audio, notes = _notes_played([0.0] * 8, [60, 62, 64, 65, 67, 69, 71, 72])
    assert np.ptp(note_velocities(notes, compute_mfcc(audio, RATE))) <= 3


def test_no_notes_or_no_frames_are_not_an_error() -> None:
    audio, _ = _notes_played([0.0], [69])
    assert note_velocities([], compute_mfcc(audio, RATE)) == []


def _held_with_dip(depth_db: float, dip_s: float) -> np.ndarray:
    """One 1.2-s harmonic tone whose level falls by depth_db into 0.6 s and back, over dip_s."""
    t = np.arange(int(1.2 * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * h * 440.0 * t) / h for h in range(1, 6))
    level_db = -depth_db * np.clip(1 - np.abs(t - 0.6) / (dip_s / 2), 0.0, 1.0)
    return (0.1 * 10 ** (level_db / 20) * tone).astype(np.float32)


def test_a_note_stopped_and_played_again_dips_below_the_note_before() -> None:
    """The same pitch sung again legato: the sound stops for 80 ms. A swell of 4 dB inside one
    held note, and a note held steady, barely dip."""
    notes = [Note(0.0, 0.56, 440.0), Note(0.6, 1.2, 440.0)]
    again = compute_mfcc(_held_with_dip(40.0, 0.08), RATE)
    dips, rises = note_dips(notes, again), note_rises(notes, again)
    assert dips[0] is None and dips[1] is not None and rises[1] is not None
    assert dips[1] >= REATTACK_DIP_DB and rises[1] >= REATTACK_DIPPED_RISE_DB, (dips, rises)
    for swell_db in (4.0, 0.0):
        dip = note_dips(notes, compute_mfcc(_held_with_dip(swell_db, 0.08), RATE))[1]
        assert dip is not None and dip < 3.0, (swell_db, dip)
    assert note_dips([], again) == []
