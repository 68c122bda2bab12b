"""The spectrogram behind features.png, sampled while the audio streams past.

A fixed budget of columns on log-spaced rows, so the picture costs the same
memory and drawing time for a minute or for hours: columns start a hop apart,
and the hop doubles (every other column dropped) whenever the budget fills.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from audioscore.analysis._spectral import amplitude_to_db

__all__ = ["FREQUENCY_LIMITS_HZ", "MAX_COLUMNS", "Spectrogram", "SpectrogramSampler", "spectrogram_from_magnitudes"]

MAX_COLUMNS = 1500
ROWS = 320
N_FFT_S = 0.093
FREQUENCY_LIMITS_HZ = (40.0, 4000.0)
DYNAMIC_RANGE_DB = 80.0


@dataclass(frozen=True)
class Spectrogram:
    """dB magnitudes on log-spaced rows between FREQUENCY_LIMITS_HZ, shape (ROWS, columns);
    column k starts at k * hop_s seconds."""

    db: np.ndarray
    hop_s: float


def spectrogram_from_magnitudes(magnitudes: np.ndarray, hop_s: float) -> Spectrogram:
    """dB relative to the loudest cell, DYNAMIC_RANGE_DB deep."""
    if not magnitudes.size:
        return Spectrogram(magnitudes, hop_s)
    return Spectrogram(amplitude_to_db(magnitudes, DYNAMIC_RANGE_DB), hop_s)


class SpectrogramSampler:
    """Takes audio in pieces and keeps between MAX_COLUMNS / 2 and MAX_COLUMNS columns."""

    def __init__(self, sample_rate: int, *, hop: int | None = None) -> None:
        """A given ``hop`` (samples) stays fixed: segments of one recording sampled alike join up."""
        self.sample_rate = sample_rate
        self.n_fft = 1 << int(np.ceil(np.log2(N_FFT_S * sample_rate)))
        self._fixed_hop = hop is not None
        self.hop = hop or self.n_fft // 4
        bins = np.fft.rfftfreq(self.n_fft, 1.0 / sample_rate)
        self._rows = np.searchsorted(bins, np.geomspace(*FREQUENCY_LIMITS_HZ, ROWS)).clip(0, len(bins) - 1)
        self._window = np.hanning(self.n_fft).astype(np.float32)
        self._columns: list[np.ndarray] = []
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # sample index of _buffer[0]
        self._samples_in = 0

    def feed(self, samples: np.ndarray) -> None:
        """Add the next samples (mono, any length)."""
        self._samples_in += len(samples)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float32)])
        self._take_columns()

    def finish(self) -> Spectrogram:
        """The sampled spectrogram, in dB relative to its loudest cell."""
        return spectrogram_from_magnitudes(self.finish_magnitudes(), self.hop / self.sample_rate)

    def finish_magnitudes(self) -> np.ndarray:
        """The sampled columns' magnitudes, shape (ROWS, columns)."""
        self._buffer = np.concatenate([self._buffer, np.zeros(self.n_fft, np.float32)])
        self._take_columns()
        return np.stack(self._columns, axis=1) if self._columns else np.zeros((ROWS, 0), np.float32)

    def _take_columns(self) -> None:
        # Columns start inside the audio; their windows may run into the zeros finish() appends.
        # All the columns the buffer holds are taken with one FFT call: a call per column
        # costs more than the transform itself.
        while True:
            first = len(self._columns)
            stop = min(-(-self._samples_in // self.hop),
                       (self._buffer_start + len(self._buffer) - self.n_fft) // self.hop + 1)
            if not self._fixed_hop:
                stop = min(stop, MAX_COLUMNS + 1)
            if stop <= first:
                break
            offsets = np.arange(first, stop) * self.hop - self._buffer_start
            frames = sliding_window_view(self._buffer, self.n_fft)[offsets] * self._window
            self._columns.extend(np.abs(np.fft.rfft(frames, axis=1))[:, self._rows].astype(np.float32))
            if len(self._columns) > MAX_COLUMNS and not self._fixed_hop:
                self._columns = self._columns[::2]
                self.hop *= 2
        # Keep only what the next column needs.
        drop = min(max(0, len(self._columns) * self.hop - self._buffer_start), len(self._buffer))
        self._buffer = self._buffer[drop:]
        self._buffer_start += drop
