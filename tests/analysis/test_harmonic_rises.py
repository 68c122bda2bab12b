"""Notes that swell in under a long release (issue 13, class 5, round 2): harmonic_rises."""

from __future__ import annotations

import numpy as np

from audioscore.analysis.harmonic_rises import HarmonicRises, add_rising_notes

SR = 44100


def _tone(f0: float, envelope: np.ndarray) -> np.ndarray:
    t = np.arange(envelope.size) / SR
    return envelope * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 9))


def _rises(x: np.ndarray, chunk: int = 10000):
    rises = HarmonicRises(SR)
    for start in range(0, x.size, chunk):  # fed in pieces, as the pitch tracker feeds it
        rises.feed(x[start : start + chunk].astype(np.float32))
    return rises.finish()


def _legato_change() -> np.ndarray:
    # G3 sounds from 0.1 s and rings on after 1.0 s (release time constant 0.1 s: -60 dB after 0.7 s); B3 swells
    # in from 1.0 s over 250 ms and holds: two notes at once, the new one quieter at first.
    t = np.arange(int(2.5 * SR)) / SR
    old = np.where(t < 0.1, 0.0, np.where(t < 1.0, 1.0, np.exp(-(t - 1.0) / 0.1)))
    new = np.clip((t - 1.0) / 0.25, 0.0, 1.0)
    return 0.2 * (_tone(196.0, old) + 0.7 * _tone(246.9, new))


def test_a_slow_note_under_a_release_becomes_a_note_where_it_starts() -> None:
    # The pitch track stays on the ringing G3, so the note model held G3 to the end.
    held = [(0.1, 2.5, 196.0)]
    notes = add_rising_notes(held, _rises(_legato_change()))
    assert len(notes) == 2, notes
    (on_a, off_a, hz_a), (on_b, _, hz_b) = notes
    assert (on_a, hz_a) == (0.1, 196.0)
    assert abs(1200 * np.log2(hz_b / 246.9)) < 50
    assert abs(on_b - 1.0) < 0.05 and off_a == on_b


def test_fast_attacks_and_steady_notes_are_left_alone() -> None:
    # Plucked-like notes (10 ms attack, 300 ms decay) a fourth apart, each already a note.
    t = np.arange(int(0.5 * SR)) / SR
    env = np.minimum(1.0, t / 0.01) * np.exp(-t / 0.3)
    x = 0.2 * np.concatenate([_tone(f, env) for f in (220.0, 293.7, 220.0, 293.7)])
    tracked = [(0.5 * i, 0.5 * i + 0.45, f) for i, f in enumerate((220.0, 293.7, 220.0, 293.7))]
    assert add_rising_notes(tracked, _rises(x)) == tracked


def test_streamed_in_any_pieces_the_measures_are_the_same() -> None:
    x = _legato_change()
    whole, pieces = _rises(x, chunk=x.size), _rises(x, chunk=777)
    assert whole.best.size == pieces.best.size == x.size // round(0.01 * SR) + 1
    np.testing.assert_allclose(whole.best, pieces.best, atol=1e-3)

