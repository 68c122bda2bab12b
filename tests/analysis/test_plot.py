"""features.png shows what was found: the pitch line at the notes' heights and times, on a
picture whose width follows the duration."""

from __future__ import annotations

import io
from pathlib import Path

import corpus
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from audioscore.analysis.features import Features, extract_file
from audioscore.analysis.plot import F0_RGB, render_features

PITCHES = (57, 69, 81)  # A3, A4, A5: one octave apart, so equally spaced on the picture's log axis
NOTE_S = 1.0


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Features:
    path = tmp_path_factory.mktemp("plot") / "octaves.wav"
    return extract_file(corpus.write_tones(path, PITCHES, note_s=NOTE_S))


def _green_rows(picture: np.ndarray, column: int) -> np.ndarray:
    pixels = picture[:, column - 3 : column + 4].astype(int)
    return np.flatnonzero((np.abs(pixels - F0_RGB).sum(axis=2) < 30).any(axis=1))


def test_pitch_line_is_drawn_at_each_notes_time_and_height(features: Features) -> None:
    picture = np.asarray(Image.open(io.BytesIO(render_features(features))).convert("RGB"))
    height, width = picture.shape[:2]
    assert (height, width) == (800, 1000)  # the narrowest picture: 3 s of audio
    duration = features.audio.duration_s
    # The panel spans the columns between its frame lines: find them on the middle row.
    middle = picture[height // 3]
    dark = np.flatnonzero((middle < 40).all(axis=1))
    left, right = dark[0], dark[-1]
    rows = []
    for index in range(len(PITCHES)):
        column = round(left + (index + 0.5) * NOTE_S / duration * (right - left))
        green = _green_rows(picture, column)
        assert green.size, f"no pitch line over note {index}"
        rows.append(float(np.median(green)))
    # Higher notes higher up, an octave each the same distance apart.
    assert rows[0] > rows[1] > rows[2]
    assert rows[0] - rows[1] == pytest.approx(rows[1] - rows[2], abs=3)


def test_no_line_where_nothing_is_voiced(tmp_path: Path) -> None:
    sr = 22050
    path = tmp_path / "note_then_silence.wav"
    sf.write(path, np.concatenate([corpus.harmonic(corpus.midi_to_hz(69), 1.0, sr), corpus.silence(3.0, sr)]), sr)
    picture = np.asarray(Image.open(io.BytesIO(render_features(extract_file(path)))).convert("RGB"))
    is_line = (np.abs(picture.astype(int) - F0_RGB).sum(axis=2) < 30).any(axis=0)
    width = picture.shape[1]
    assert is_line[: width // 4].any()
    # The last half of the panel (2 s to 4 s) is silence: no line there (the legend's sample excluded).
    assert not is_line[width // 2 : width - 150].any()
