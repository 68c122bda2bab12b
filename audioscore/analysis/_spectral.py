"""The few spectral helpers ``mfcc`` and ``overview`` need, in NumPy alone.

They compute what librosa's ``stft``, ``filters.mel`` (Slaney scale and norm),
``power_to_db``, ``amplitude_to_db`` and ``feature.mfcc`` compute with those
functions' defaults (``tests/analysis/test_spectral.py`` compares them with librosa).
Importing librosa costs 1.5-4 s of wall time here (scipy.signal, scipy.stats and
numba's compiled-function cache), several times what the analysis of a 30-s file
costs, and its numba cache is a directory that concurrent first runs write at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["amplitude_to_db", "dct_ortho_matrix", "mel_basis", "power_to_db", "stft_magnitude_squared"]

AMIN_POWER = 1e-10  # librosa's amin for power_to_db (amplitude_to_db uses 1e-5 squared)
_MAX_MEM_BLOCK = 2**8 * 2**10  # librosa.util.MAX_MEM_BLOCK: stft's columns per FFT call


def periodic_hann(n: int) -> np.ndarray:
    """The periodic ("DFT-even") Hann window of ``n`` samples, float64, computed as
    ``scipy.signal.get_window("hann", n)`` does, so that it has the same bits."""
    fac = np.linspace(-np.pi, np.pi, n + 1, dtype=np.float64)
    window = np.zeros(n + 1, dtype=np.float64)
    for k, a in enumerate((0.5, 0.5)):
        window += a * np.cos(k * fac)
    return window[:-1]


def stft_magnitude_squared(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|² of float32 mono audio, uncentred frames, Hann window; shape (1 + n_fft // 2, frames), float32.

    Frames are ``y[t * hop : t * hop + n_fft]``; as ``librosa.stft(..., center=False)``, in
    the same column blocks (an FFT's rounding can depend on how many it does at once).

    Raises:
        ValueError: fewer samples than one frame, or samples that are not finite.
    """
    if len(y) < n_fft:
        raise ValueError(f"{len(y)} samples is shorter than one frame ({n_fft})")
    if not np.isfinite(y).all():
        raise ValueError("audio buffer is not finite everywhere")
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop].T  # (n_fft, n_frames)
    window = periodic_hann(n_fft).reshape(-1, 1)
    bins, n_frames = 1 + n_fft // 2, frames.shape[1]
    spectrum = np.empty((bins, n_frames), dtype=np.complex64)
    columns = max(_MAX_MEM_BLOCK // (bins * spectrum.itemsize), 1)
    for first in range(0, n_frames, columns):
        last = min(first + columns, n_frames)
        spectrum[:, first:last] = np.fft.rfft(window * frames[:, first:last], axis=0)
    return np.abs(spectrum) ** 2


def _hz_to_mel(frequencies: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asanyarray(frequencies, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = hz / f_sp
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    log_t = hz >= min_log_hz
    return np.where(log_t, min_log_hz / f_sp + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep, mels)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


def mel_basis(sample_rate: int, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """Triangular mel filters from 0 Hz to Nyquist, Slaney-normalised; shape (n_mels, 1 + n_fft // 2), float32."""
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    return weights


def power_to_db(power: np.ndarray) -> np.ndarray:
    """10·log10(power) relative to 1, floored at 1e-10 (no dynamic-range clip)."""
    log_spec = 10.0 * np.log10(np.maximum(AMIN_POWER, power))
    log_spec -= 10.0 * np.log10(np.maximum(AMIN_POWER, 1.0))  # in place: keeps float32 float32
    return log_spec


def amplitude_to_db(magnitudes: np.ndarray, top_db: float) -> np.ndarray:
    """dB of magnitudes relative to their maximum, at most ``top_db`` below it."""
    power = np.square(np.abs(magnitudes))
    reference = np.max(np.abs(magnitudes)) ** 2
    amin = 1e-5**2  # librosa's amplitude amin, squared
    log_spec = 10.0 * np.log10(np.maximum(amin, power))
    log_spec -= 10.0 * np.log10(np.maximum(amin, reference))
    return np.maximum(log_spec, log_spec.max() - top_db)


def dct_ortho_matrix(n_out: int, n_in: int) -> np.ndarray:
    """The first ``n_out`` rows of the orthonormal DCT-II of length ``n_in``, shape (n_out, n_in), float64:
    ``matrix @ x`` is ``scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:n_out]``."""
    k = np.arange(n_out, dtype=np.float64)[:, np.newaxis]
    n = np.arange(n_in, dtype=np.float64)[np.newaxis, :]
    matrix = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    matrix[0] /= np.sqrt(2.0)
    return matrix
