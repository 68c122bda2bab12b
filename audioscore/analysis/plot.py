"""features.png: the pitch track and notes over a log-frequency spectrogram,
with the MFCCs below."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from audioscore.analysis.features import Features
from audioscore.analysis.overview import FREQUENCY_LIMITS_HZ

__all__ = ["render_features"]

# Points of the pitch line drawn at most: more are invisible at this width and slow to draw.
MAX_LINE_POINTS = 20000
# Columns of the MFCC image at most: about the picture's width in pixels.
MAX_IMAGE_COLUMNS = 2000


def _rgba(values: np.ndarray, norm: Normalize, cmap: str) -> np.ndarray:
    # Colours as bytes before imshow: matplotlib then resamples 8-bit RGBA, not float64
    # data at the picture's full size (about 100 MB for a wide picture).
    return matplotlib.colormaps[cmap](norm(values), bytes=True)


def render_features(features: Features, *, title: str | None = None) -> bytes:
    """Draw the features and return the PNG bytes."""
    pitch, mfcc, spectrogram = features.pitch, features.mfcc, features.spectrogram
    duration = max(features.audio.duration_s, 1e-3)
    db, hop_s = spectrogram.db, spectrogram.hop_s
    width = float(np.clip(duration / 2.0, 10.0, 24.0))
    # A Figure of its own, not pyplot's: no global state, so threads may draw at once.
    fig = Figure(figsize=(width, 8), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    # Rows are log-spaced, so draw on a log2(Hz) axis labelled in Hz.
    low, high = np.log2(FREQUENCY_LIMITS_HZ)
    top.imshow(_rgba(db, Normalize(), "magma"), aspect="auto", origin="lower", interpolation="nearest",
               extent=(0.0, db.shape[1] * hop_s, low, high))
    ticks = [f for f in (50, 100, 200, 500, 1000, 2000, 4000) if FREQUENCY_LIMITS_HZ[0] <= f <= FREQUENCY_LIMITS_HZ[1]]
    top.set_yticks(np.log2(ticks), [str(f) for f in ticks])
    top.set_ylim(low, high)
    top.set_ylabel("Hz")

    notes = features.notes
    if notes:  # one call for all notes: a call per note costs seconds for long recordings
        top.hlines([np.log2(n.pitch_hz) for n in notes], [n.onset for n in notes],
                   [n.offset for n in notes], colors="#39d5ff", linewidth=5, alpha=0.55,
                   label=f"notes ({features.engine_choice.name} engine)")
    every = max(1, pitch.f0_hz.size // MAX_LINE_POINTS)
    f0_hz = pitch.f0_hz[::every]
    f0 = np.where(f0_hz > 0, np.log2(np.maximum(f0_hz, 1e-9)), np.nan)
    top.plot(pitch.times[::every], f0, color="#7CFC00", linewidth=1.2, label="f0 (pYIN)")
    top.legend(loc="upper right", framealpha=0.6)
    top.set_title(title or f"pitch track and {len(notes)} notes")

    # Standardised per coefficient: raw c0 is so much larger that it would flatten the rest.
    coefficients = mfcc.coefficients[:, :: max(1, mfcc.coefficients.shape[1] // MAX_IMAGE_COLUMNS)]
    spread = coefficients.std(axis=1, keepdims=True)
    standardised = (coefficients - coefficients.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
    z_scores = Normalize(vmin=-3, vmax=3)
    bottom.imshow(
        _rgba(standardised, z_scores, "coolwarm"), aspect="auto", origin="lower", interpolation="nearest",
        extent=(0.0, mfcc.times[-1] + mfcc.hop_s if mfcc.times.size else duration, -0.5,
                mfcc.coefficients.shape[0] - 0.5),
    )
    bottom.set_ylabel("MFCC (z-score)")
    bottom.set_xlabel("time (s)")
    bottom.set_xlim(0.0, duration)
    fig.colorbar(ScalarMappable(z_scores, "coolwarm"), ax=bottom, pad=0.01)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
