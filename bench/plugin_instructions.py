"""The pYIN plugin's cost in instructions (``make bench``): a figure that load cannot move.

Wall time on a shared machine swings by a third from run to run; callgrind counts
the instructions ``vamp-simple-host`` executes to run our plugin over the same 60 s
of the realistic corpus (eight renderings, in name order), so two builds compare
to within 0.1 %. The count includes the host's own reading and printing (~155 M).

Issue 13 holds the plugin within 10 % of its cost when the issue was filed (commit
a38c0bd, 2,602 M on this audio).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))

import realistic
import soundfile as sf

PLUGIN_DIR = ROOT / "audioscore" / "plugins"
FILED_M = 2602.0  # a38c0bd, the plugin issue 13 was filed against
BUDGET = 1.10
SECONDS = 60
PIECES = 8


def corpus_minute(cache: Path, sr: int) -> Path:
    """The first SECONDS of the first PIECES renderings by name, joined (cached)."""
    out = cache / f"plugin-instructions-{sr}.wav"
    if not out.exists():
        chosen = sorted(realistic.PERFORMANCES, key=lambda p: p.name)[:PIECES]
        parts = [sf.read(realistic.render_performance(p, cache, sr), dtype="float32")[0] for p in chosen]
        sf.write(out, np.concatenate(parts)[: SECONDS * sr], sr)
    return out


def instructions(wav: Path, plugin_dir: Path) -> float:
    """Millions of instructions callgrind counts for the host running the plugin's notes output."""
    with tempfile.TemporaryDirectory() as scratch:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out",
             "vamp-simple-host", "audioscore_pyin:pyin", str(wav), "4"],
            env={**os.environ, "VAMP_PATH": str(plugin_dir)}, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{run.stderr[-2000:]}")
    return int(found.group(1)) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "audioscore-realistic")
    parser.add_argument("--plugin-dir", type=Path, default=PLUGIN_DIR, help="a directory holding audioscore_pyin.so")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    wav = corpus_minute(args.cache, realistic.DEFAULT_SR)
    count = instructions(wav, args.plugin_dir)
    print(f"audioscore plugin instructions: {SECONDS} s of the realistic corpus ({wav.name})")
    print(f"  this build                {count:7,.0f} M")
    print(f"  when issue 13 was filed   {FILED_M:7,.0f} M (a38c0bd; budget {BUDGET * FILED_M:,.0f} M)")
    print(f"  ratio                     {count / FILED_M:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
