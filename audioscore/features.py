"""Feature extraction: pitch track and notes (pYIN via Vamp) and MFCCs, and
the ``features.json`` document (schema ``audioscore.features/1``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import Audio
from .mfcc import N_MFCC, Mfcc, compute_mfcc
from .pitch import PLUGIN_KEY, PitchResult, track_pitch

__all__ = ["SCHEMA", "Features", "Source", "extract", "summarise", "to_document"]

SCHEMA = "audioscore.features/1"
# The f0 range is robust to stray frames: these percentiles of voiced f0.
F0_RANGE_PERCENTILES = (2.0, 98.0)


@dataclass(frozen=True)
class Source:
    """Where the audio came from: a bucket object, or a local file (bucket and etag None)."""

    key: str
    sha256: str
    bucket: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Features:
    """Everything extracted from one recording."""

    audio: Audio
    pitch: PitchResult
    mfcc: Mfcc


def extract(
    audio: Audio,
    *,
    plugin_key: str = PLUGIN_KEY,
    plugin_parameters: dict[str, float] | None = None,
    n_mfcc: int = N_MFCC,
    progress: Callable[[str, float], None] | None = None,
) -> Features:
    """Extract the pitch track, notes and MFCCs of decoded audio.

    Args:
        audio: decoded mono audio.
        plugin_key: Vamp plugin with pYIN's outputs.
        plugin_parameters: plugin parameters by identifier.
        n_mfcc: number of MFCCs.
        progress: called with (stage, fraction done).

    Returns:
        The features.
    """
    pitch = track_pitch(
        audio.samples,
        audio.sample_rate,
        plugin_key=plugin_key,
        parameters=plugin_parameters,
        progress=(lambda done: progress("pitch", done)) if progress else None,
    )
    if progress:
        progress("mfcc", 0.0)
    mfcc = compute_mfcc(audio.samples, audio.sample_rate, n_mfcc=n_mfcc)
    if progress:
        progress("mfcc", 1.0)
    return Features(audio, pitch, mfcc)


def summarise(features: Features) -> dict[str, Any]:
    """Summary statistics: voiced ratio, median f0 and f0 range (Hz), note count."""
    f0 = features.pitch.f0_hz
    voiced = f0[f0 > 0]
    summary: dict[str, Any] = {
        "voiced_ratio": round(float(voiced.size / f0.size), 4) if f0.size else 0.0,
        "median_f0_hz": None,
        "f0_range_hz": None,
        "note_count": len(features.pitch.notes),
    }
    if voiced.size:
        low, high = np.percentile(voiced, F0_RANGE_PERCENTILES)
        summary["median_f0_hz"] = round(float(np.median(voiced)), 2)
        summary["f0_range_hz"] = [round(float(low), 2), round(float(high), 2)]
    return summary


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    return np.round(np.asarray(values, np.float64), digits).tolist()


def to_document(features: Features, source: Source, *, mfcc_frames: str = "mfcc.csv") -> dict[str, Any]:
    """The ``features.json`` document (see DESIGN.md, "features.json")."""
    pitch, mfcc, info = features.pitch, features.mfcc, features.audio.source
    return {
        "schema": SCHEMA,
        "source": {"bucket": source.bucket, "key": source.key, "etag": source.etag, "sha256": source.sha256},
        "audio": {
            "duration_s": round(features.audio.duration_s, 4),
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "analysis_sample_rate": features.audio.sample_rate,
        },
        "pitch": {
            "plugin": pitch.plugin,
            "hop_s": round(pitch.hop_s, 7),
            "times": _rounded(pitch.times, 5),
            "f0_hz": _rounded(pitch.f0_hz, 3),
            "voiced_prob": _rounded(pitch.voiced_prob, 4),
        },
        "notes": [
            {
                "onset": round(n.onset, 4),
                "offset": round(n.offset, 4),
                "pitch_hz": round(n.pitch_hz, 3),
                "midi": round(n.midi, 3),
            }
            for n in pitch.notes
        ],
        "mfcc": {
            "n_mfcc": int(mfcc.coefficients.shape[0]),
            "hop_s": round(mfcc.hop_s, 7),
            "mean": _rounded(mfcc.mean, 5),
            "std": _rounded(mfcc.std, 5),
            "frames": mfcc_frames,
        },
        "summary": summarise(features),
    }
