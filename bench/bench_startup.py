"""Start-up figures (``make bench``): wall time of ``audioscore --help``, of ``audioscore extract``
on a 30-s file (and per minute of audio), and of ``python -c "import numpy"`` as the yardstick.

Medians of five fresh processes each, wall time (what a person waits for on an idle machine)
and CPU time (which does not grow with the machine's load). extract runs at its default,
``--engine auto`` (the pitch tracker, and the polyphonic model on one window in four to choose),
and with ``--engine melody``.
Targets (issue 12): --help within 2.5x the numpy import; extract within 2.5 s per minute of audio.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import corpus

REPEATS = 5
AUDIO_S = 30.0
CLI = [sys.executable, "-m", "audioscore.cli"]


def median_wall(command: list[str]) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system, the process and its tools)
    of REPEATS runs of ``command`` (each must succeed). CPU time does not depend on what else
    the machine is doing; wall time is what a person waits for on an idle one."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        notes = [57 + (i * 5) % 19 for i in range(int(AUDIO_S / 0.5))]
        audio = corpus.write_tones(Path(tmp) / "bench_30s.wav", notes, note_s=0.5)
        numpy_s = median_wall([sys.executable, "-c", "import numpy"])
        help_s = median_wall([*CLI, "--help"])
        extract_s = median_wall([*CLI, "extract", str(audio), "-o", f"{tmp}/out", "-q"])
        no_plot_s = median_wall([*CLI, "extract", str(audio), "-o", f"{tmp}/out", "-q", "--no-plot"])
        melody_s = median_wall([*CLI, "extract", str(audio), "-o", f"{tmp}/out", "-q", "--engine", "melody"])
    per_minute = 60.0 / AUDIO_S
    load = os.getloadavg()[0]
    print(f"start-up, seconds, median of {REPEATS} (load average {load:.1f} on {os.cpu_count()} CPUs:"
          " wall times grow with it, CPU times do not)")
    print("                                    wall    CPU")
    print(f"  python -c 'import numpy'        {numpy_s[0]:6.2f} {numpy_s[1]:6.2f}  (yardstick)")
    print(f"  audioscore --help               {help_s[0]:6.2f} {help_s[1]:6.2f}  "
          f"({help_s[0] / numpy_s[0]:.1f}x numpy; target <= 2.5x)")
    print(f"  audioscore extract (30 s)       {extract_s[0]:6.2f} {extract_s[1]:6.2f}  "
          f"({extract_s[0] * per_minute:.2f} s wall, {extract_s[1] * per_minute:.2f} s CPU per audio minute;"
          " target <= 2.5)")
    print(f"  audioscore extract --no-plot    {no_plot_s[0]:6.2f} {no_plot_s[1]:6.2f}  "
          f"({no_plot_s[0] * per_minute:.2f} s wall, {no_plot_s[1] * per_minute:.2f} s CPU per audio minute)")
    print(f"  audioscore extract --engine melody {melody_s[0]:6.2f} {melody_s[1]:6.2f}  "
          f"({melody_s[0] * per_minute:.2f} s wall, {melody_s[1] * per_minute:.2f} s CPU per audio minute)")

if __name__ == "__main__":
    main()
