"""Streaming extraction: decoding a file chunk by chunk gives exactly what the in-memory path gives."""

from __future__ import annotations

import json
from pathlib import Path

import corpus
import numpy as np
import pytest
import soundfile as sf

from audioscore.analysis.audio import load_audio
from audioscore.analysis.export import write_features
from audioscore.analysis.features import Source, extract, extract_file
from audioscore.analysis.overview import MAX_COLUMNS, ROWS, SpectrogramSampler

SR = 44100


@pytest.fixture(scope="module")
def melody_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    notes = [corpus.harmonic(corpus.midi_to_hz(p), 0.4, SR) for p in (60, 64, 67, 72, 67, 64)]
    path = tmp_path_factory.mktemp("features") / "melody.wav"
    sf.write(path, np.concatenate(notes + [corpus.silence(0.3, SR)]), SR, subtype="FLOAT")
    return path


def test_streamed_file_equals_in_memory_extraction(melody_wav: Path) -> None:
    streamed = extract_file(melody_wav)
    in_memory = extract(load_audio(melody_wav))
    assert streamed.audio == in_memory.audio
    np.testing.assert_array_equal(streamed.pitch.f0_hz, in_memory.pitch.f0_hz)
    np.testing.assert_array_equal(streamed.pitch.voiced_prob, in_memory.pitch.voiced_prob)
    assert streamed.pitch.notes == in_memory.pitch.notes
    assert [round(n.midi) for n in streamed.pitch.notes] == [60, 64, 67, 72, 67, 64]
    np.testing.assert_array_equal(streamed.mfcc.coefficients, in_memory.mfcc.coefficients)


def test_written_json_holds_every_frame(melody_wav: Path, tmp_path: Path) -> None:
    features = extract_file(melody_wav)
    files = write_features(features, Source(key="melody.wav", sha256="0" * 64), tmp_path)
    document = json.loads(files.features_json.read_text())
    pitch = document["pitch"]
    assert len(pitch["times"]) == len(pitch["f0_hz"]) == len(pitch["voiced_prob"]) == features.pitch.f0_hz.size
    np.testing.assert_allclose(pitch["f0_hz"], features.pitch.f0_hz, atol=5e-4)
    rows = files.mfcc_csv.read_text().splitlines()
    assert len(rows) == features.mfcc.coefficients.shape[1]
    assert files.features_png.read_bytes().startswith(b"\x89PNG")


def test_spectrogram_budget_holds_for_any_length() -> None:
    sampler = SpectrogramSampler(8000)
    chunk = corpus.sine(440.0, 60.0, 8000)
    for _ in range(30):  # half an hour
        sampler.feed(chunk)
    spectrogram = sampler.finish()
    assert spectrogram.db.shape[0] == ROWS
    assert MAX_COLUMNS // 2 <= spectrogram.db.shape[1] <= MAX_COLUMNS
    assert spectrogram.db.shape[1] * spectrogram.hop_s == pytest.approx(1800, rel=0.01)
    # The tone is the loudest row throughout.
    assert len(set(np.argmax(spectrogram.db, axis=0).tolist())) == 1


def test_without_the_picture_no_spectrogram_is_sampled_and_the_rest_is_the_same(melody_wav: Path) -> None:
    with_picture, without = extract_file(melody_wav), extract_file(melody_wav, picture=False)
    assert with_picture.spectrogram.db.shape[1] > 0
    assert without.spectrogram.db.shape == (ROWS, 0)
    np.testing.assert_array_equal(without.pitch.f0_hz, with_picture.pitch.f0_hz)
    assert without.pitch.notes == with_picture.pitch.notes
    np.testing.assert_array_equal(without.mfcc.coefficients, with_picture.mfcc.coefficients)
