"""The harmony a melody outlines (``audioscore.notation.harmony``): what the meter hears as
one chord per bar."""

from __future__ import annotations

import numpy as np

from audioscore.notation.harmony import beat_profiles, window_fits


def test_a_note_held_across_beats_sounds_in_each_of_them():
    """A half note from beat 0.5 sounds half of beat 0, all of beat 1 and half of beat 2."""
    profiles = beat_profiles(np.array([0.5, 2.5]), np.array([2.0, 1.0]), np.array([60.0, 64.0]))
    assert profiles.shape == (4, 12)
    assert profiles[:, 0].tolist() == [0.5, 1.0, 0.5, 0.0]
    assert profiles[:, 4].tolist() == [0.0, 0.0, 0.5, 0.5]


def test_an_arpeggio_fits_its_triad_and_a_scale_fits_less():
    """C-E-G and B-D-F (a leading-tone chord) are one chord each; C-D-E has a passing tone."""
    for pitches, share in (((60, 64, 67), 1.0), ((71, 74, 77), 1.0), ((60, 62, 64), 2 / 3)):
        profiles = beat_profiles(np.arange(3.0), np.ones(3), np.asarray(pitches, dtype=float))
        fits, length = window_fits(profiles, 3)
        assert fits.tolist() == [share] and length.tolist() == [3.0], pitches
