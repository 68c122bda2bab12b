"""Accuracy of track_pitch against known references, scored with mir_eval.

A small subset, to stay well under a minute: steady harmonic tones, and the first two
melodies of ``corpus.MELODIES`` (quarter and eighth notes) rendered with fluidsynth on
piano, flute and violin; scores are averaged over the two per instrument. The full
corpus, including the sixteenth-note reel where the soundfont's flute and violin need
35-40 ms after note-on to sound the new pitch, is in ``bench/corpus_report.py``.

Reference f0 for the renderings comes from the MIDI notes (``f0_from_notes``), on the
estimate's own frame times; notes match on onset (50 ms) and pitch (50 cents), not on
offsets.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mir_eval")
pytest.importorskip("pretty_midi")
sf = pytest.importorskip("soundfile")

import corpus

from audioscore.analysis.evaluation import (
    f0_from_notes,
    note_scores,
    notes_from_midi,
    pitch_scores,
)
from audioscore.analysis.pitch import track_pitch

SR = corpus.DEFAULT_SR

MELODY_NAMES = ("folk_d_major", "waltz_f_major")

# (instrument, program, minimum note F1)
RENDERINGS = [
    ("piano", corpus.PIANO, 0.85),
    ("flute", corpus.FLUTE, 0.70),
    ("violin", corpus.VIOLIN, 0.70),
]


def melody(name: str) -> corpus.Melody:
    return next(m for m in corpus.MELODIES if m.name == name)


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("renders")


@pytest.fixture(scope="session")
def track(render_dir):
    """Render a melody on an instrument and track it, once per session."""
    cache: dict[tuple[str, int], tuple] = {}

    def get(name: str, program: int):
        if (name, program) not in cache:
            wav, mid = corpus.render(melody(name), program, render_dir, SR)
            samples, sr = sf.read(wav, dtype="float32")
            assert sr == SR
            cache[name, program] = (track_pitch(samples, sr), notes_from_midi(mid))
        return cache[name, program]

    return get


def mean_scores(track, program: int) -> tuple[dict, dict]:
    """Pitch and note scores averaged over MELODY_NAMES."""
    pitch, notes = [], []
    for name in MELODY_NAMES:
        result, ref_notes = track(name, program)
        pitch.append(
            pitch_scores(result.times, f0_from_notes(ref_notes, result.times), result.times, result.f0_hz)
        )
        notes.append(note_scores(ref_notes, [(n.onset, n.offset, n.pitch_hz) for n in result.notes]))
    return (
        {k: float(np.mean([p[k] for p in pitch])) for k in pitch[0]},
        {k: float(np.mean([n[k] for n in notes])) for k in ("precision", "recall", "f1")},
    )


@pytest.mark.parametrize("f0", [82.4, 196.0, 440.0, 987.8])
def test_harmonic_tone_raw_pitch_accuracy(f0):
    duration = 1.0
    samples = corpus.harmonic(f0, duration, SR)
    result = track_pitch(samples, SR)
    ref = np.where(result.times < duration, f0, 0.0)
    scores = pitch_scores(result.times, ref, result.times, result.f0_hz)
    assert scores["raw_pitch_accuracy"] >= 0.95, scores


@pytest.mark.parametrize(
    "instrument, program", [(i, p) for i, p, _ in RENDERINGS], ids=[i for i, _, _ in RENDERINGS]
)
def test_rendering_pitch(track, instrument, program):
    pitch, _ = mean_scores(track, program)
    assert pitch["raw_pitch_accuracy"] >= 0.9, (instrument, pitch)
    assert pitch["voicing_recall"] >= 0.9, (instrument, pitch)
    assert pitch["octave_error_rate"] <= 0.01, (instrument, pitch)


@pytest.mark.parametrize("instrument, program, min_f1", RENDERINGS, ids=[i for i, _, _ in RENDERINGS])
def test_rendering_note_f1(track, instrument, program, min_f1):
    _, notes = mean_scores(track, program)
    assert notes["f1"] >= min_f1, (instrument, notes)


def test_pitch_follows_piano_note_changes_within_15_ms(track):
    """Our own latency: the piano sounds its new pitch at once, so any lag is the tracker's."""
    result, ref_notes = track("reel_g_sixteenths", corpus.PIANO)
    lags = []
    for onset, offset, hz in ref_notes:
        window = (result.times >= onset - 0.05) & (result.times < offset)
        in_tune = np.abs(1200 * np.log2(np.maximum(result.f0_hz[window], 1e-3) / hz)) < 50
        assert in_tune.any(), f"note at {onset:.3f} s never in tune"
        lags.append(result.times[window][np.argmax(in_tune)] - onset)
    assert np.median(lags) <= 0.015 and np.percentile(lags, 90) <= 0.03, lags
