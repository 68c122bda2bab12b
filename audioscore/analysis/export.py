"""Write extracted features to a directory: features.json, sonic-annotator
style CSVs and a picture. Files appear atomically, so a crash never leaves a
half-written artifact behind."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from audioscore.analysis.features import Features, RoundedSeries, Source, to_document
from audioscore.infra.files import atomic_writer, write_atomic

__all__ = ["FeatureFiles", "file_sha256", "write_features", "write_json"]

HASH_CHUNK_BYTES = 1 << 20
BLOCK_ROWS = 1 << 16  # rows or values formatted at once when writing long series


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


def _write_csv(f: BinaryIO, columns: list[np.ndarray], formats: list[str]) -> None:
    # sonic-annotator's layout: no header, timestamp first. In blocks: files can be long.
    rows = len(columns[0]) if columns else 0
    for first in range(0, rows, BLOCK_ROWS):
        block = np.column_stack([c[first : first + BLOCK_ROWS] for c in columns])
        np.savetxt(f, block, fmt=formats, delimiter=",")


def write_json(f: BinaryIO, value: Any) -> None:
    """Write a JSON value, compact; ``RoundedSeries`` in it are written a block of values at a time."""
    if isinstance(value, dict):
        f.write(b"{")
        for i, (key, item) in enumerate(value.items()):
            f.write(b"," if i else b"")
            f.write(json.dumps(key).encode() + b":")
            write_json(f, item)
        f.write(b"}")
    elif isinstance(value, RoundedSeries):
        f.write(b"[")
        for first in range(0, value.values.size, BLOCK_ROWS):
            f.write(b"," if first else b"")
            block = value.rounded(first, first + BLOCK_ROWS)
            f.write(json.dumps(block, separators=(",", ":"))[1:-1].encode())
        f.write(b"]")
    else:
        f.write(json.dumps(value, separators=(",", ":")).encode())


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
    with atomic_writer(files.pitch_csv) as f:
        _write_csv(f, [pitch.times[voiced], pitch.f0_hz[voiced]], ["%.6f", "%.3f"])
    notes = np.array([(n.onset, n.offset - n.onset, n.pitch_hz) for n in features.notes]).reshape(-1, 3)
    with atomic_writer(files.notes_csv) as f:
        _write_csv(f, list(notes.T), ["%.6f", "%.6f", "%.3f"])
    with atomic_writer(files.mfcc_csv) as f:
        _write_csv(f, [mfcc.times, *mfcc.coefficients], ["%.6f"] + ["%.5f"] * mfcc.coefficients.shape[0])
    if files.features_png is not None:
        from audioscore.analysis.plot import (
            render_features,  # Pillow only when a picture is wanted
        )

        write_atomic(files.features_png, render_features(features))
    document = to_document(features, source, mfcc_frames=files.mfcc_csv.name)
    # features.json last: its presence means the set is complete (the transcribe trigger).
    with atomic_writer(files.features_json) as f:
        write_json(f, document)
    return files
