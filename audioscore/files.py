"""Writing files so they appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["ARTIFACT_MODE", "write_atomic"]

ARTIFACT_MODE = 0o644  # mkstemp creates 0600; artifacts are meant to be shared


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside ``path``, then rename it into place (mode 0644)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, ARTIFACT_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
