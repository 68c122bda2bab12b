"""MFCCs with librosa, framed like librosa's defaults whatever the sample rate.

librosa's defaults (2048-sample frames, 512-sample hop at 22.05 kHz) are what
the Cloud Function recipe this replaces used; we keep those durations
(92.9 ms frames, 23.2 ms hop) at the rate the audio was decoded at.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

__all__ = ["N_MFCC", "Mfcc", "compute_mfcc", "mfcc_frame_sizes"]

N_MFCC = 13
REFERENCE_RATE = 22050
REFERENCE_N_FFT = 2048
REFERENCE_HOP = 512


@dataclass(frozen=True)
class Mfcc:
    """MFCC frames.

    Attributes:
        coefficients: shape (n_mfcc, n_frames).
        times: frame centres in seconds, shape (n_frames,).
        hop_s: seconds between frames.
    """

    coefficients: np.ndarray
    times: np.ndarray
    hop_s: float

    @property
    def mean(self) -> np.ndarray:
        """Mean of each coefficient over time, shape (n_mfcc,)."""
        return self.coefficients.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation of each coefficient over time, shape (n_mfcc,)."""
        return self.coefficients.std(axis=1)


def mfcc_frame_sizes(sample_rate: int) -> tuple[int, int]:
    """Return (n_fft, hop_length) in samples for a sample rate in Hz."""
    scale = sample_rate / REFERENCE_RATE
    return int(round(REFERENCE_N_FFT * scale)), int(round(REFERENCE_HOP * scale))


def compute_mfcc(samples: np.ndarray, sample_rate: int, *, n_mfcc: int = N_MFCC) -> Mfcc:
    """Compute MFCCs of a mono signal.

    Args:
        samples: mono signal, shape (n,).
        sample_rate: Hz.
        n_mfcc: number of coefficients (1..128).

    Returns:
        The coefficients with their frame times (centred frames, as librosa).

    Raises:
        ValueError: n_mfcc out of range.
    """
    if not 1 <= n_mfcc <= 128:
        raise ValueError(f"n_mfcc={n_mfcc} must be between 1 and 128")
    n_fft, hop = mfcc_frame_sizes(sample_rate)
    coefficients = librosa.feature.mfcc(
        y=np.asarray(samples, np.float32), sr=sample_rate, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop
    )
    times = np.arange(coefficients.shape[1]) * (hop / sample_rate)
    return Mfcc(coefficients, times, hop / sample_rate)
