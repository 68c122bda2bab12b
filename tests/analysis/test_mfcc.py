"""MFCCs: frames equal librosa's whole-file computation; sizes and errors."""

from __future__ import annotations

import corpus
import librosa
import numpy as np
import pytest

from audioscore.analysis.mfcc import FRAMES_PER_BLOCK, MfccStream, compute_mfcc, mfcc_frame_sizes


@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000])
def test_block_by_block_equals_librosa_whole_file(sample_rate: int) -> None:
    rng = np.random.default_rng(1)
    n_fft, hop = mfcc_frame_sizes(sample_rate)
    # Long enough for several blocks, with a length that is not a whole number of hops.
    samples = (0.1 * rng.standard_normal(hop * (2 * FRAMES_PER_BLOCK + 37) + 123)).astype(np.float32)
    samples += corpus.harmonic(220.0, len(samples) / sample_rate, sample_rate)[: len(samples)]
    expected = librosa.feature.mfcc(y=samples, sr=sample_rate, n_mfcc=13, n_fft=n_fft, hop_length=hop)
    ours = compute_mfcc(samples, sample_rate)
    assert ours.coefficients.shape == expected.shape
    np.testing.assert_allclose(ours.coefficients, expected, rtol=1e-4, atol=1e-3)


def test_frames_keep_librosa_default_durations() -> None:
    assert mfcc_frame_sizes(22050) == (2048, 512)
    assert mfcc_frame_sizes(44100) == (4096, 1024)
    mfcc = compute_mfcc(corpus.sine(440.0, 1.0, 44100), 44100, n_mfcc=20)
    assert mfcc.coefficients.shape[0] == 20
    assert mfcc.hop_s == pytest.approx(512 / 22050)
    assert mfcc.times[1] == pytest.approx(mfcc.hop_s)
    assert mfcc.mean.shape == mfcc.std.shape == (20,)


@pytest.mark.parametrize("n_mfcc", [0, 129])
def test_rejects_out_of_range_coefficient_counts(n_mfcc: int) -> None:
    with pytest.raises(ValueError, match=f"n_mfcc={n_mfcc}"):
        compute_mfcc(corpus.sine(440.0, 0.5, 22050), 22050, n_mfcc=n_mfcc)


def test_streamed_in_any_pieces_equals_whole_file_bit_for_bit() -> None:
    sample_rate = 44100
    rng = np.random.default_rng(2)
    samples = (0.1 * rng.standard_normal(sample_rate * 20 + 77)).astype(np.float32)
    samples[: sample_rate * 3] *= 1e-6  # a quiet start: the dB floor comes from the loud part
    whole = compute_mfcc(samples, sample_rate).coefficients
    for piece in (1000, 65536, 300001):
        with MfccStream(sample_rate) as stream:
            for start in range(0, len(samples), piece):
                stream.feed(samples[start : start + piece])
            np.testing.assert_array_equal(stream.finish().coefficients, whole)
