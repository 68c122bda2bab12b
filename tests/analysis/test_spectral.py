"""The NumPy spectral helpers compute what the librosa functions they replace compute."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from audioscore.analysis import _spectral


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 48000])
def test_stft_mel_and_db_have_librosas_bits(sample_rate: int) -> None:
    n_fft, hop = round(2048 * sample_rate / 22050), round(512 * sample_rate / 22050)
    y = (0.1 * np.random.default_rng(0).standard_normal(hop * 90 + 77)).astype(np.float32)
    power = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=False)) ** 2
    ours = _spectral.stft_magnitude_squared(y, n_fft, hop)
    assert ours.dtype == power.dtype and np.array_equal(ours, power)
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft)
    assert np.array_equal(_spectral.mel_basis(sample_rate, n_fft), basis)
    expected = librosa.power_to_db(basis @ power, top_db=None)
    db = _spectral.power_to_db(basis @ power)
    assert db.dtype == expected.dtype and np.array_equal(db, expected)


def test_dct_and_amplitude_db_match_librosa() -> None:
    rng = np.random.default_rng(1)
    log_mel = (rng.standard_normal((128, 40)) * 20).astype(np.float32)
    expected = librosa.feature.mfcc(S=log_mel, n_mfcc=13)
    np.testing.assert_allclose(_spectral.dct_ortho_matrix(13, 128) @ log_mel, expected, rtol=1e-5, atol=1e-4)
    magnitudes = np.abs(rng.standard_normal((320, 50))).astype(np.float32)
    assert np.array_equal(_spectral.amplitude_to_db(magnitudes, 80.0),
                          librosa.amplitude_to_db(magnitudes, ref=np.max, top_db=80.0))


def test_stft_refuses_short_or_non_finite_audio() -> None:
    with pytest.raises(ValueError, match="shorter than one frame"):
        _spectral.stft_magnitude_squared(np.zeros(100, np.float32), 2048, 512)
    with pytest.raises(ValueError, match="not finite"):
        _spectral.stft_magnitude_squared(np.full(4096, np.nan, np.float32), 2048, 512)
