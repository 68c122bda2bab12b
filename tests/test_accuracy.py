"""Accuracy of track_pitch against known references, scored with mir_eval.

A small subset, to stay well under a minute: steady harmonic tones, and one fluidsynth
rendering per instrument (piano, flute, violin). Each instrument gets the first melody in
``corpus.MELODIES`` written for it (its ``program``), so the choice does not depend on
the scores. The full corpus is in ``bench/corpus_report.py``.

Reference f0 for the renderings comes from the MIDI notes (``f0_from_notes``), on the
estimate's own frame times; notes match on onset (50 ms) and pitch (50 cents), not on
offsets.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("mir_eval")
pytest.importorskip("pretty_midi")
sf = pytest.importorskip("soundfile")

import corpus

from audioscore.evaluation import (
    f0_from_notes,
    note_scores,
    notes_from_midi,
    pitch_scores,
)
from audioscore.pitch import track_pitch

SR = corpus.DEFAULT_SR

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not corpus.SOUNDFONT.exists(),
    reason="fluidsynth or the GM soundfont is not installed",
)


def first_melody_for(program: int) -> corpus.Melody:
    return next(m for m in corpus.MELODIES if m.program == program)


# (instrument, program, minimum note F1)
RENDERINGS = [
    ("piano", corpus.PIANO, 0.85),
    ("flute", corpus.FLUTE, 0.70),
    ("violin", corpus.VIOLIN, 0.70),
]


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("renders")


@pytest.fixture(scope="session")
def rendered_scores(render_dir):
    """Scores of each rendering, computed once: {instrument: (pitch, notes)}."""
    cache: dict[str, tuple[dict, dict]] = {}

    def get(instrument: str, program: int) -> tuple[dict, dict]:
        if instrument not in cache:
            melody = first_melody_for(program)
            wav, mid = corpus.render(melody, program, render_dir, SR)
            samples, sr = sf.read(wav, dtype="float32")
            assert sr == SR
            result = track_pitch(samples, sr)
            ref_notes = notes_from_midi(mid)
            pitch = pitch_scores(
                result.times, f0_from_notes(ref_notes, result.times), result.times, result.f0_hz
            )
            est_notes = [(n.onset, n.offset, n.pitch_hz) for n in result.notes]
            cache[instrument] = (pitch, note_scores(ref_notes, est_notes))
        return cache[instrument]

    return get


@pytest.mark.parametrize("f0", [82.4, 196.0, 440.0, 987.8])
def test_harmonic_tone_raw_pitch_accuracy(f0):
    duration = 1.0
    samples = corpus.harmonic(f0, duration, SR)
    result = track_pitch(samples, SR)
    ref = np.where(result.times < duration, f0, 0.0)
    scores = pitch_scores(result.times, ref, result.times, result.f0_hz)
    assert scores["raw_pitch_accuracy"] >= 0.95, scores


@needs_fluidsynth
@pytest.mark.parametrize(
    "instrument, program", [(i, p) for i, p, _ in RENDERINGS], ids=[i for i, _, _ in RENDERINGS]
)
def test_rendering_pitch(rendered_scores, instrument, program):
    pitch, _ = rendered_scores(instrument, program)
    context = f"{first_melody_for(program).name} on {instrument}: {pitch}"
    assert pitch["raw_pitch_accuracy"] >= 0.9, context
    assert pitch["voicing_recall"] >= 0.9, context


@needs_fluidsynth
@pytest.mark.parametrize(
    "instrument, program, min_f1", RENDERINGS, ids=[i for i, _, _ in RENDERINGS]
)
def test_rendering_note_f1(rendered_scores, instrument, program, min_f1):
    _, notes = rendered_scores(instrument, program)
    assert notes["f1"] >= min_f1, f"{first_melody_for(program).name} on {instrument}: {notes}"
