"""Speed and memory of feature extraction (``make bench``).

Prints, for the same audio: our pYIN plugin's CPU seconds per minute of audio
at 22.05 and 44.1 kHz (pitch track and notes), librosa.pyin's at the same rate,
frame and hop, their ratio, MFCC time, and peak memory of a whole extraction.
CPU time (not wall time) because these machines share their cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import corpus
import librosa

from audioscore.analysis.audio import load_audio
from audioscore.analysis.mfcc import compute_mfcc
from audioscore.analysis.pitch import track_pitch

RATES = (22050, 44100)
AUDIO_S = 60.0
LIBROSA_AUDIO_S = 15.0  # librosa.pyin is slow; timed on a slice and scaled per minute
REPEATS = 5


def bench_audio(cache: Path) -> Path:
    """A minute of piano and flute melodies from the test corpus, as one WAV file."""
    import soundfile as sf

    path = cache / "bench_60s.wav"
    if path.exists():
        return path
    pieces = []
    for melody, program in corpus.CORPUS:
        wav, _ = corpus.render(melody, program, cache)
        pieces.append(sf.read(wav, dtype="float32")[0])
        if sum(map(len, pieces)) >= AUDIO_S * corpus.DEFAULT_SR:
            break
    signal = np.concatenate(pieces)[: int(AUDIO_S * corpus.DEFAULT_SR)]
    sf.write(path, signal, corpus.DEFAULT_SR)
    return path


def cpu_seconds(function, repeats: int = REPEATS) -> float:
    """Best CPU time of a call over repeats, in seconds: other tenants of a shared machine only add time."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return min(times)


# Run in a fresh interpreter that imports only what extraction needs.
CHILD = """
import json, sys, time
from audioscore.analysis.audio import Audio, load_audio
from audioscore.analysis.features import extract

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

audio = load_audio(sys.argv[1])
# Warm up on the first second: librosa's lazy imports and JIT alone take ~200 MB.
extract(Audio(audio.samples[: audio.sample_rate].copy(), audio.sample_rate, audio.source))
baseline = peak_mb()
start = time.process_time()
features = extract(audio)
print(json.dumps({"baseline_mb": baseline, "peak_rss_mb": peak_mb(),
                  "cpu_s": time.process_time() - start, "notes": len(features.pitch.notes)}))
"""


def peak_rss_child(path: Path) -> dict[str, float]:
    """Extract in a fresh process; report its CPU time and peak RSS."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    path = bench_audio(args.cache)
    minutes = AUDIO_S / 60.0
    print(f"audio: {path} ({AUDIO_S:.0f} s, piano/flute renderings)\n")
    print(f"{'rate':>6} {'ours s/min':>11} {'min/core-min':>13} {'librosa s/min':>14} {'ratio':>7} {'mfcc s/min':>11}")
    for rate in RATES:
        samples = load_audio(path, sample_rate=rate).samples
        track_pitch(samples[:rate], rate)  # warm-up: plugin load, first allocations
        ours = cpu_seconds(partial(track_pitch, samples, rate)) / minutes
        block = 2048 if rate == 44100 else 1024
        piece = samples[: int(LIBROSA_AUDIO_S * rate)]
        theirs = cpu_seconds(
            partial(librosa.pyin, piece, fmin=50.0, fmax=2000.0, sr=rate, frame_length=block, hop_length=block // 8),
            repeats=1,
        ) / (LIBROSA_AUDIO_S / 60.0)
        mfcc = cpu_seconds(partial(compute_mfcc, samples, rate)) / minutes
        print(f"{rate:>6} {ours:>11.3f} {60.0 / ours:>13.1f} {theirs:>14.2f} {theirs / ours:>6.1f}x {mfcc:>11.3f}")
    child_stats = peak_rss_child(path)
    print(f"\nwhole extraction (pitch, notes, MFCC) of {AUDIO_S:.0f} s at 44.1 kHz in a fresh process: "
          f"{child_stats['cpu_s']:.2f} CPU s, peak RSS {child_stats['peak_rss_mb']:.0f} MB "
          f"(of which {child_stats['baseline_mb']:.0f} MB after a 1 s warm-up: libraries, JIT, decoded audio), "
          f"{child_stats['notes']} notes")


if __name__ == "__main__":
    main()
