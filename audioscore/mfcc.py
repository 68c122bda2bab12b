"""MFCCs with librosa, framed like librosa's defaults whatever the sample rate.

librosa's defaults (2048-sample frames, 512-sample hop at 22.05 kHz) are what
the Cloud Function recipe this replaces used; we keep those durations
(92.9 ms frames, 23.2 ms hop) at the rate the audio was decoded at.

The mel spectrogram is computed a block of frames at a time, so memory does
not hold a whole-file STFT; the frames equal ``librosa.feature.mfcc``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

__all__ = ["N_MFCC", "Mfcc", "compute_mfcc", "mel_power", "mfcc_frame_sizes"]

N_MFCC = 13
REFERENCE_RATE = 22050
REFERENCE_N_FFT = 2048
REFERENCE_HOP = 512
FRAMES_PER_BLOCK = 512  # STFT frames computed at once: about 8 MB at 44.1 kHz


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
    return round(REFERENCE_N_FFT * scale), round(REFERENCE_HOP * scale)


def mel_power(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mel power spectrogram, shape (128, n_frames), block by block.

    Frames are centred like librosa's (zero padding of n_fft // 2 each side):
    frame t covers padded[t * hop : t * hop + n_fft].
    """
    n_fft, hop = mfcc_frame_sizes(sample_rate)
    padded = np.pad(np.asarray(samples, np.float32), n_fft // 2)
    n_frames = 1 + len(samples) // hop
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft)
    mel = np.empty((basis.shape[0], n_frames), np.float32)
    for first in range(0, n_frames, FRAMES_PER_BLOCK):
        last = min(n_frames, first + FRAMES_PER_BLOCK)
        segment = padded[first * hop : (last - 1) * hop + n_fft]
        spectrum = librosa.stft(segment, n_fft=n_fft, hop_length=hop, center=False)
        mel[:, first:last] = basis @ (np.abs(spectrum) ** 2)
    return mel


def compute_mfcc(samples: np.ndarray, sample_rate: int, *, n_mfcc: int = N_MFCC) -> Mfcc:
    """Compute MFCCs of a mono signal.

    Args:
        samples: mono signal, shape (n,).
        sample_rate: Hz.
        n_mfcc: number of coefficients (1..128).

    Returns:
        The coefficients with their frame times (centred frames, as librosa).

    Raises:
        ValueError: n_mfcc out of range, or a signal shorter than one hop.
    """
    if not 1 <= n_mfcc <= 128:
        raise ValueError(f"n_mfcc={n_mfcc} must be between 1 and 128")
    _, hop = mfcc_frame_sizes(sample_rate)
    if len(samples) < hop:
        raise ValueError(f"{len(samples)} samples is shorter than one MFCC hop ({hop})")
    # power_to_db's top_db clip is relative to the whole file's maximum, hence after all blocks.
    log_mel = librosa.power_to_db(mel_power(samples, sample_rate))
    coefficients = librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)
    times = np.arange(coefficients.shape[1]) * (hop / sample_rate)
    return Mfcc(coefficients, times, hop / sample_rate)
