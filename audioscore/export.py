"""Write extracted features to a directory: features.json, sonic-annotator
style CSVs and a picture. Files appear atomically, so a crash never leaves a
half-written artifact behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import Features, Source, to_document
from .files import write_atomic

__all__ = ["FeatureFiles", "file_sha256", "write_features"]

HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FeatureFiles:
    """Paths of the files written for one recording (png None when not drawn)."""

    features_json: Path
    pitch_csv: Path
    notes_csv: Path
    mfcc_csv: Path
    features_png: Path | None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _csv(columns: list[np.ndarray], formats: list[str]) -> bytes:
    # sonic-annotator's layout: no header, timestamp first.
    buffer = io.StringIO()
    if columns and len(columns[0]):
        np.savetxt(buffer, np.column_stack(columns), fmt=formats, delimiter=",")
    return buffer.getvalue().encode()


def write_features(
    features: Features, source: Source, out_dir: str | os.PathLike[str], *, plot: bool = True
) -> FeatureFiles:
    """Write all feature files for one recording into ``out_dir`` (created if needed).

    Files: ``features.json``; ``pitch.csv`` (timestamp,Hz for voiced frames, as
    sonic-annotator writes pYIN's smoothed pitch track); ``notes.csv``
    (onset,duration,Hz); ``mfcc.csv`` (timestamp,c0..cN-1); ``features.png``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = FeatureFiles(
        out / "features.json", out / "pitch.csv", out / "notes.csv", out / "mfcc.csv",
        out / "features.png" if plot else None,
    )
    pitch, mfcc = features.pitch, features.mfcc
    voiced = pitch.f0_hz > 0
    write_atomic(files.pitch_csv, _csv([pitch.times[voiced], pitch.f0_hz[voiced]], ["%.6f", "%.3f"]))
    notes = np.array([(n.onset, n.offset - n.onset, n.pitch_hz) for n in pitch.notes]).reshape(-1, 3)
    write_atomic(files.notes_csv, _csv(list(notes.T), ["%.6f", "%.6f", "%.3f"]))
    n_coefficients = mfcc.coefficients.shape[0]
    write_atomic(
        files.mfcc_csv,
        _csv([mfcc.times, *mfcc.coefficients], ["%.6f"] + ["%.5f"] * n_coefficients),
    )
    if files.features_png is not None:
        from .plot import render_features  # matplotlib only when a picture is wanted

        write_atomic(files.features_png, render_features(features))
    document = to_document(features, source, mfcc_frames=files.mfcc_csv.name)
    # features.json last: its presence means the set is complete (the transcribe trigger).
    write_atomic(files.features_json, json.dumps(document, separators=(",", ":")).encode())
    return files
