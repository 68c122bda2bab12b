"""End-to-end time of ``transcribe`` on a 3-minute recording, per stage (``make bench``).

The recording is one of the corpus melodies played on piano over and over
(a steady tempo, ~600 notes), rendered with fluidsynth once and cached.
Stages overlap: LilyPond runs while the feature files and MIDI/MusicXML are
written, so the stage times add up to more than the total.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import corpus

from audioscore.notation.transcription import transcribe_file

DURATION_S = 180.0
TARGET_S = 10.0


def long_recording(cache: Path) -> Path:
    melody = next(m for m in corpus.MELODIES if m.name == "folk_d_major")
    period = melody.duration_s
    repeats = int(DURATION_S // period) + 1
    notes = tuple((on + k * period, off + k * period, p) for k in range(repeats) for on, off, p in melody.notes
                  if off + k * period <= DURATION_S)
    wav, _ = corpus.render(replace(melody, name=f"folk_d_major_x{repeats}", notes=notes), corpus.PIANO, cache)
    return wav


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    wav = long_recording(args.cache)
    transcribe_file(corpus.render(corpus.MELODIES[0], corpus.PIANO, args.cache)[0], tempfile.mkdtemp())  # warm-up
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = transcribe_file(wav, out)
        total = time.perf_counter() - start
        info = subprocess.run(["pdfinfo", str(Path(out) / "score.pdf")], capture_output=True, text=True, check=True)
        pages = next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    score = result.score
    print(f"transcribe of {DURATION_S:.0f} s of piano ({len(score['notes'])} notes, {score['measures']} measures, "
          f"{pages} pages): {total:.2f} s wall (target < {TARGET_S:.0f} s; the cloud recipe took ~300 s)")
    for stage, seconds in result.timings.items():
        print(f"  {stage:<15} {seconds:6.2f} s")
    print(f"  found: {score['key']}, {score['time_signature']}, quarter = {score['tempo_bpm']}")


if __name__ == "__main__":
    main()
