"""End-to-end time of ``transcribe`` on 3-minute recordings, per stage (``make bench``).

Two recordings, rendered with fluidsynth once and cached: one of the corpus melodies
played on piano over and over at a steady tempo (~600 notes), and a fast one played over
and over as people play (``humanised.perform``: tempo drift, rubato at every phrase end,
jitter, scoops; ~550 notes): a tempo that moves costs the beat tracker more work.
Stages overlap: LilyPond starts up while the notes are notated (its stage is timed from
the source given) and engraves while the feature files and MIDI/MusicXML are written.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import corpus
import humanised

from audioscore.notation.transcription import transcribe_file

DURATION_S = 180.0
TARGET_S = 10.0
PERFORMED = "run_c_major"  # 3 notes a second at quarter = 168


def long_recording(cache: Path) -> Path:
    melody = next(m for m in corpus.MELODIES if m.name == "folk_d_major")
    period = melody.duration_s
    repeats = int(DURATION_S // period) + 1
    notes = tuple((on + k * period, off + k * period, p) for k in range(repeats) for on, off, p in melody.notes
                  if off + k * period <= DURATION_S)
    wav, _ = corpus.render(replace(melody, name=f"folk_d_major_x{repeats}", notes=notes), corpus.PIANO, cache)
    return wav


def performed_recording(cache: Path) -> Path:
    melody = next(m for m in humanised.CORPUS_MELODIES if m.name == PERFORMED)
    times = int(DURATION_S // (melody.total_quarters * 60.0 / melody.tempo_bpm)) + 1
    return humanised.render_performance(humanised.perform(humanised.played_through(melody, times), seed=7), cache)


def report(name: str, wav: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = transcribe_file(wav, out)
        total = time.perf_counter() - start
        info = subprocess.run(["pdfinfo", str(Path(out) / "score.pdf")], capture_output=True, text=True, check=True)
        pages = next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    score = result.score
    seconds = soundfile.info(str(wav)).duration
    print(f"transcribe of {seconds:.0f} s of {name} ({len(score['notes'])} notes, {score['measures']} measures, "
          f"{pages} pages): {total:.2f} s wall (target < {TARGET_S:.0f} s; the cloud recipe took ~300 s)")
    for stage, stage_s in result.timings.items():
        print(f"  {stage:<15} {stage_s:6.2f} s")
    print(f"  found: {score['key']}, {score['time_signature']}, quarter = {score['tempo_bpm']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    transcribe_file(corpus.render(corpus.MELODIES[0], corpus.PIANO, args.cache)[0], tempfile.mkdtemp())  # warm-up
    report("piano at a steady tempo", long_recording(args.cache))
    report(f"{PERFORMED} performed (flute, tempo drifting)", performed_recording(args.cache))

if __name__ == "__main__":
    main()
