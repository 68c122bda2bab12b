"""MFCCs as librosa computes them (in NumPy, `_spectral`), framed like librosa's defaults whatever the sample rate.

librosa's defaults (2048-sample frames, 512-sample hop at 22.05 kHz) are what
the Cloud Function recipe this replaces used; we keep those durations
(92.9 ms frames, 23.2 ms hop) at the rate the audio was decoded at.

Audio is taken as it arrives and the mel spectrogram computed a block of frames
at a time, so memory does not grow with the length of the recording; the
frames equal ``librosa.feature.mfcc``'s.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Self

import numpy as np

from audioscore.analysis._spectral import dct_ortho_matrix, mel_basis, power_to_db, stft_magnitude_squared

__all__ = ["N_MFCC", "Mfcc", "MfccStream", "compute_mfcc", "mfcc_frame_sizes", "mfcc_from_log_mel"]

N_MFCC = 13
REFERENCE_RATE = 22050
REFERENCE_N_FFT = 2048
REFERENCE_HOP = 512
FRAMES_PER_BLOCK = 512  # STFT frames computed at once: about 8 MB at 44.1 kHz
FRAMES_PER_READ = 8192  # log-mel frames read back at once: 4 MB
TOP_DB = 80.0  # librosa.power_to_db's default dynamic range
MEL_BANDS = 128  # librosa.filters.mel's default


@dataclass(frozen=True)
class Mfcc:
    """MFCC frames.

    Attributes:
        coefficients: shape (n_mfcc, n_frames).
        times: frame centres in seconds, shape (n_frames,).
        hop_s: seconds between frames.
        level_db: each frame's power over the mel bands in dB, unclipped, shape (n_frames,):
            a loudness that, unlike the first coefficient (a mean of the bands' dB), does
            not depend on how the sound's partials fall into bands.
    """

    coefficients: np.ndarray
    times: np.ndarray
    hop_s: float
    level_db: np.ndarray

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


class MfccStream:
    """MFCCs of audio that arrives in pieces, frame for frame equal to the whole-file result.

    librosa's dB conversion clips at 80 dB below the loudest mel value of the whole
    file, which is known only at the end: the unclipped log-mel frames wait in a
    temporary file (about 0.5 kB per frame), not in memory.
    """

    def __init__(self, sample_rate: int, *, n_mfcc: int = N_MFCC, pad_start: bool = True) -> None:
        """Without ``pad_start`` (a segment of a longer recording whose first frame is F) the
        caller feeds audio from sample ``F * hop - n_fft // 2`` on, and the frames equal the
        whole recording's frames F, F+1, ... when F is a multiple of FRAMES_PER_BLOCK.

        Raises:
            ValueError: n_mfcc out of range.
        """
        if not 1 <= n_mfcc <= 128:
            raise ValueError(f"n_mfcc={n_mfcc} must be between 1 and 128")
        self.sample_rate, self.n_mfcc = sample_rate, n_mfcc
        self.n_fft, self.hop = mfcc_frame_sizes(sample_rate)
        self._basis = mel_basis(sample_rate, self.n_fft, MEL_BANDS)
        # Frames are centred like librosa's: n_fft // 2 zeros in front (and behind, at the end).
        self._pending = np.zeros(self.n_fft // 2 if pad_start else 0, np.float32)
        self._frames = 0
        self._max_db = np.float32(-np.inf)
        self._spill = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close/finish)
        self.samples_in = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the temporary file (idempotent)."""
        self._spill.close()

    def feed(self, samples: np.ndarray) -> None:
        """Add the next samples (mono, any length)."""
        self.samples_in += len(samples)
        self._pending = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        self._emit(None)

    def finish(self) -> Mfcc:
        """The MFCCs of everything fed; the temporary file is deleted.

        Raises:
            ValueError: fewer samples than one hop.
        """
        if self.samples_in < self.hop:
            self.close()
            raise ValueError(f"{self.samples_in} samples is shorter than one MFCC hop ({self.hop})")
        try:
            self._flush(1 + self.samples_in // self.hop)
            return mfcc_from_log_mel(self._spill, self._frames, self._max_db, self.sample_rate, self.n_mfcc)
        finally:
            self.close()

    def finish_log_mel(self, n_frames: int) -> tuple[np.ndarray, np.float32]:
        """The first ``n_frames`` unclipped log-mel frames, shape (n_frames, bands), and their peak
        (for ``mfcc_from_log_mel`` once every segment is in); zeros pad the end if audio runs out."""
        try:
            self._flush(n_frames)
            self._spill.seek(0)
            frames = np.frombuffer(self._spill.read(), np.float32).reshape(self._frames, -1)
            return frames, self._max_db
        finally:
            self.close()

    def _flush(self, n_frames: int) -> None:
        self._pending = np.concatenate([self._pending, np.zeros(self.n_fft // 2, np.float32)])
        self._emit(n_frames)

    def _emit(self, total_frames: int | None) -> None:
        # Frame t covers padded[t * hop : t * hop + n_fft]; _pending starts at frame _frames.
        ready = max(0, (len(self._pending) - self.n_fft) // self.hop + 1)
        if total_frames is None:
            # Whole blocks only: the FFT's rounding depends on how many frames it does at once,
            # so the same blocks as a whole-file run make the same bits, however audio arrives.
            ready -= ready % FRAMES_PER_BLOCK
        else:
            ready = min(ready, total_frames - self._frames)
        for first in range(0, ready, FRAMES_PER_BLOCK):
            last = min(ready, first + FRAMES_PER_BLOCK)
            segment = self._pending[first * self.hop : (last - 1) * self.hop + self.n_fft]
            log_mel = power_to_db(self._basis @ stft_magnitude_squared(segment, self.n_fft, self.hop))
            self._max_db = max(self._max_db, log_mel.max())
            self._spill.write(np.ascontiguousarray(log_mel.T, np.float32).tobytes())
        self._frames += ready
        self._pending = self._pending[ready * self.hop :]


def mfcc_from_log_mel(
    spill: BinaryIO, n_frames: int, max_db: np.float32, sample_rate: int, n_mfcc: int = N_MFCC
) -> Mfcc:
    """MFCCs of the unclipped log-mel frames in a file (float32, frame after frame, 128 bands),
    clipped as librosa clips a whole file: 80 dB below ``max_db``, the loudest of them all."""
    bands = MEL_BANDS
    _, hop = mfcc_frame_sizes(sample_rate)
    coefficients = np.empty((n_mfcc, n_frames), np.float32)
    level_db = np.empty(n_frames, np.float32)
    floor = max_db - TOP_DB
    dct = dct_ortho_matrix(n_mfcc, bands)  # librosa.feature.mfcc's DCT-II, orthonormal
    spill.seek(0)
    for first in range(0, n_frames, FRAMES_PER_READ):
        count = min(FRAMES_PER_READ, n_frames - first)
        block = np.frombuffer(spill.read(count * bands * 4), np.float32).reshape(count, bands).T
        coefficients[:, first : first + count] = dct @ np.maximum(block, floor)
        peak = block.max(axis=0)
        level_db[first : first + count] = peak + 10.0 * np.log10(np.sum(10.0 ** ((block - peak) / 10.0), axis=0))
    times = np.arange(n_frames) * (hop / sample_rate)
    return Mfcc(coefficients, times, hop / sample_rate, level_db)


def compute_mfcc(samples: np.ndarray, sample_rate: int, *, n_mfcc: int = N_MFCC) -> Mfcc:
    """Compute MFCCs of a mono signal held in memory (see ``MfccStream`` for a stream).

    Args:
        samples: mono signal, shape (n,).
        sample_rate: Hz.
        n_mfcc: number of coefficients (1..128).

    Returns:
        The coefficients with their frame times (centred frames, as librosa).

    Raises:
        ValueError: n_mfcc out of range, or a signal shorter than one hop.
    """
    with MfccStream(sample_rate, n_mfcc=n_mfcc) as stream:
        stream.feed(samples)
        return stream.finish()
