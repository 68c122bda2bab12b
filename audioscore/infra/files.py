"""Writing files so they appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["ARTIFACT_MODE", "atomic_writer", "write_atomic"]

ARTIFACT_MODE = 0o644  # mkstemp creates 0600; artifacts are meant to be shared


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: it appears (mode 0644) only when the block ends without error."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(temporary, ARTIFACT_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside ``path``, then rename it into place (mode 0644)."""
    with atomic_writer(path) as f:
        f.write(data)
