"""Long recordings (``make bench``): peak memory and time of a whole extraction
(decode, pitch, notes, MFCCs, every output file written) for 10, 60 and 180
minutes of synthesised melody, each in a fresh process.

The audio is generated a minute at a time and encoded to FLAC through an
ffmpeg pipe, so the benchmark itself never holds a recording in memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SR = 44100
LENGTHS_MIN = (10, 60, 180)
HARMONICS = (1.0, 0.5, 0.3, 0.2)


def synthesise_minute(rng: np.random.Generator) -> np.ndarray:
    """A minute of a random melody: notes of 0.15-0.9 s between A2 and A5, one in eight a rest."""
    out = np.zeros(60 * SR, np.float32)
    position = 0
    while position < out.size:
        length = int(rng.uniform(0.15, 0.9) * SR)
        if rng.random() >= 0.125:
            hz = 440.0 * 2 ** ((rng.integers(45, 82) - 69) / 12)
            t = np.arange(min(length, out.size - position)) / SR
            envelope = np.exp(-3.0 * t) * np.minimum(1.0, t / 0.01)
            tone = sum(a * np.sin(2 * np.pi * k * hz * t) for k, a in enumerate(HARMONICS, 1))
            out[position : position + t.size] = 0.25 * envelope * tone
        position += length
    return out


def synthesise(path: Path, minutes: int) -> Path:
    """A FLAC file of ``minutes`` of melody (cached)."""
    if path.exists():
        return path
    partial = path.with_suffix(".part.flac")
    encoder = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", "-",
         "-c:a", "flac", str(partial)], stdin=subprocess.PIPE)
    rng = np.random.default_rng(minutes)
    for _ in range(minutes):
        encoder.stdin.write(synthesise_minute(rng).tobytes())
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise SystemExit(f"ffmpeg failed to encode {path}")
    partial.rename(path)
    return path


# A fresh interpreter per length: peak RSS (VmHWM) is per process.
CHILD = """
import json, sys, tempfile, time
from audioscore.analysis.export import write_features
from audioscore.analysis.features import Source, extract_file

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

wall, cpu = time.perf_counter(), time.process_time()
features = extract_file(sys.argv[1])
with tempfile.TemporaryDirectory() as out:
    write_features(features, Source(key="long.flac", sha256="-"), out)
print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                  "peak_rss_mb": peak_mb(), "notes": len(features.pitch.notes),
                  "frames": int(features.pitch.f0_hz.size)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("build/bench"))
    parser.add_argument("--minutes", type=int, nargs="*", default=list(LENGTHS_MIN))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"{'minutes':>7} {'wall s':>8} {'CPU s':>8} {'CPU s/min':>10} {'peak RSS MB':>12} {'notes':>7}")
    for minutes in args.minutes:
        path = synthesise(args.cache / f"long_{minutes}min.flac", minutes)
        run = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=False, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{minutes:>7} failed: {run.stderr.strip().splitlines()[-1:]}")
            continue
        stats = json.loads(run.stdout)
        print(f"{minutes:>7} {stats['wall_s']:>8.1f} {stats['cpu_s']:>8.1f} {stats['cpu_s'] / minutes:>10.2f} "
              f"{stats['peak_rss_mb']:>12.0f} {stats['notes']:>7}", flush=True)


if __name__ == "__main__":
    main()
