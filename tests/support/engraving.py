"""What the tests see of LilyPond processes."""

from __future__ import annotations

import time
from pathlib import Path


def lilypond_processes() -> set[int]:
    """Process ids of the LilyPond processes this project starts (their command line has its flag)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"-dno-point-and-click" in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def started_lilypond(before: set[int], timeout_s: float = 10.0) -> set[int]:
    """The LilyPond processes not in ``before``, waiting for one to appear (a process just
    started shows its command line only once it has run a little)."""
    deadline = time.monotonic() + timeout_s
    while not (new := lilypond_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return new
