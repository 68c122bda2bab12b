"""Several `audioscore extract` runs started at once on empty caches all succeed alike.

A fresh install's first runs write whatever caches their libraries keep: numba's
compiled kernels (a shared numba cache written by concurrent processes has been seen to
segfault librosa), matplotlib's font list, fontconfig's. The analysis loads neither
librosa nor numba nor matplotlib (their cache directories must stay empty); the one cache it
keeps, Jinja's compiled page template in the temporary folder, is written by all six at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import corpus

ROOT = Path(__file__).resolve().parents[1]
RUNS = 6


def test_six_cold_runs_at_once_agree(tmp_path: Path) -> None:
    audio = corpus.write_tones(tmp_path / "tones.wav", [60, 64, 67])
    caches = tmp_path / "caches"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLCONFIGDIR": str(caches / "matplotlib"),
           "NUMBA_CACHE_DIR": str(caches / "numba"), "XDG_CACHE_HOME": str(caches / "xdg"),
           "TMPDIR": str(caches / "tmp")}
    (caches / "tmp").mkdir(parents=True)
    runs = [subprocess.Popen([sys.executable, "-m", "audioscore.cli", "extract", str(audio), "-o",
                              str(tmp_path / f"out{n}"), "--json"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for n in range(RUNS)]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0] * RUNS, [err for _, _, err in results]
    documents = {(tmp_path / f"out{n}" / "features.json").read_bytes() for n in range(RUNS)}
    assert len(documents) == 1, "the runs disagree"
    for name in ("mfcc.csv", "pitch.csv", "notes.csv"):
        assert len({(tmp_path / f"out{n}" / name).read_bytes() for n in range(RUNS)}) == 1, name
    assert all((tmp_path / f"out{n}" / "features.png").stat().st_size > 0 for n in range(RUNS))
    assert not (caches / "numba").exists() or not any((caches / "numba").iterdir()), "numba compiled something"
    assert not (caches / "matplotlib").exists(), "matplotlib was loaded"
    assert all("<table" in (tmp_path / f"out{n}" / "index.html").read_text() for n in range(RUNS))
    assert len(list((caches / "tmp").rglob("*.cache"))) == 1, "one compiled page template"
    assert not list((caches / "tmp").rglob("*.tmp")), "a half-written template was left behind"
