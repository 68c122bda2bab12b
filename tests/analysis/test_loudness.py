"""Note loudness as a MIDI velocity (``loudness.note_velocities``)."""

from __future__ import annotations

import numpy as np

from audioscore.analysis.loudness import MEDIAN_VELOCITY, VELOCITY_PER_DB, note_velocities
from audioscore.analysis.mfcc import compute_mfcc
from audioscore.analysis.pitch import Note

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
