"""Polyphonic transcription over the poly corpus (tests/support/poly_corpus.py).

Every piece renders with fluidsynth (piano pieces on the piano, guitar pieces on nylon and steel
guitars), dry and with fluidsynth's reverb, and is transcribed by both engines through
``extract_file`` (the same code path as the CLI). It prints:

* per rendering: note precision/recall/F1 of the poly engine (mir_eval: onset within 50 ms, pitch
  within 50 cents, offsets ignored) and F1 with offsets (within 20 % of the note or 50 ms), the
  melody engine's F1 on the same audio, and what ``auto`` chose (and the polyphony it measured);
* mean F1 per instrument family (targets: piano >= 0.85, guitar >= 0.75), and apart from it the
  mean F1 of the held-out piano pieces (``poly_corpus.HELD_OUT``, never used to tune the decoder);
* auto's decision accuracy over these renderings (all polyphonic) and the melody corpus of
  tests/support/realistic.py (all monophonic: voice, strings, winds, piano melodies);
* CPU seconds per audio minute of the poly engine next to the melody engine on the same audio.

Usage: .venv/bin/python bench/poly_report.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

import mir_eval
import numpy as np
import poly_corpus
import realistic
import soundfile as sf

from audioscore.analysis.engines import POLYPHONY_THRESHOLD, choose
from audioscore.analysis.features import extract_file
from audioscore.analysis.pitch import PitchTracker
from audioscore.analysis.polyphonic import PolyProbe, PolyStream


def _hz(midi) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, float) - 69) / 12)


def _f1(truth, notes, offsets: bool) -> tuple[float, float, float]:
    ref_i = np.array([[a, b] for a, b, _, _ in truth])
    ref_p = _hz([p for _, _, p, _ in truth])
    if not notes:
        return 0.0, 0.0, 0.0
    est_i = np.array([[n.onset, n.offset] for n in notes])
    est_p = np.array([n.pitch_hz for n in notes])
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_i, ref_p, est_i, est_p, onset_tolerance=0.05, pitch_tolerance=50.0, offset_ratio=0.2 if offsets else None)
    return p, r, f


def _cpu(engine: str, wav: Path) -> float:
    """CPU seconds of one engine alone on a file (decoded once, outside the timing)."""
    samples, rate = sf.read(wav, dtype="float32")
    start = time.process_time()
    if engine == "poly":
        stream = PolyStream(rate)
        for i in range(0, len(samples), 1 << 16):
            stream.feed(samples[i : i + (1 << 16)])
        stream.finish()
    else:
        with PitchTracker(rate) as tracker:
            for i in range(0, len(samples), 1 << 16):
                tracker.feed(samples[i : i + (1 << 16)])
            tracker.finish()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-poly")
    parser.add_argument("--quick", action="store_true", help="dry renderings only, no melody corpus")
    args = parser.parse_args()
    families: dict[str, list[float]] = {}
    held_out: list[float] = []
    decisions: list[bool] = []
    polyphony: list[float] = []
    seconds = {"poly": 0.0, "melody": 0.0}
    audio_s = 0.0
    print(f"{'piece':<12} {'instrument':<12} {'room':<6} {'P':>5} {'R':>5} {'F1':>5} {'F1+off':>6} "
          f"{'melodyF1':>8}  auto (polyphony)")
    for piece in poly_corpus.PIECES + poly_corpus.HELD_OUT:
        unseen = piece in poly_corpus.HELD_OUT
        programs = ([("piano", poly_corpus.PIANO)] if piece.family == "piano" else
                    [("nylon", poly_corpus.GUITAR_NYLON), ("steel", poly_corpus.GUITAR_STEEL)])
        for label, program in programs:
            for reverb in (False,) if args.quick else (False, True):
                wav, _ = poly_corpus.render_piece(piece, program, args.out, reverb=reverb)
                truth = poly_corpus.truth(piece)
                features = extract_file(wav, engine="auto")
                poly = features.poly_notes
                p, r, f = _f1(truth, poly, False)
                _, _, f_off = _f1(truth, poly, True)
                _, _, f_mel = _f1(truth, features.pitch.notes, False)
                (held_out if unseen else families.setdefault(piece.family, [])).append(f)
                decisions.append(features.engine_choice.name == "poly")
                polyphony.append(features.engine_choice.polyphony)
                print(f"{piece.name:<12} {label + (' (held out)' if unseen else ''):<12} "
                      f"{'reverb' if reverb else 'dry':<6} {p:5.3f} {r:5.3f} {f:5.3f} "
                      f"{f_off:6.3f} {f_mel:8.3f}  {features.engine_choice.name} "
                      f"({features.engine_choice.polyphony:.2f})", flush=True)
                if not reverb:
                    for engine in seconds:
                        seconds[engine] += _cpu(engine, wav)
                    audio_s += features.audio.duration_s
    for family, scores in families.items():
        target = 0.85 if family == "piano" else 0.75
        print(f"mean note F1 {family}: {np.mean(scores):.3f} over {len(scores)} renderings (target {target})")
    print(f"mean note F1 piano, held-out pieces: {np.mean(held_out):.3f} over {len(held_out)} renderings")
    mono_right = 0
    melody_polyphony: list[float] = []
    if not args.quick:
        for performance in realistic.PERFORMANCES:
            wav = realistic.render_performance(performance, args.out / "melodies")
            samples, rate = sf.read(wav, dtype="float32")
            probe = PolyProbe(rate)
            probe.feed(samples)
            name, _, measured = choose("auto", None, probe.finish())
            mono_right += name == "melody"
            melody_polyphony.append(measured)
            if name != "melody":
                print(f"auto chose {name} on the melody {performance.name} (polyphony {measured:.2f})")
        print(f"auto decision: {sum(decisions)}/{len(decisions)} polyphonic renderings -> poly, "
              f"{mono_right}/{len(realistic.PERFORMANCES)} melodies -> melody; accuracy "
              f"{(sum(decisions) + mono_right) / (len(decisions) + len(realistic.PERFORMANCES)):.3f}; measured "
              f"polyphony: melodies up to {max(melody_polyphony):.2f}, polyphonic renderings from "
              f"{min(polyphony):.2f} (threshold {POLYPHONY_THRESHOLD})")
    minutes = audio_s / 60
    print(f"CPU seconds per audio minute on the same {audio_s:.0f} s: poly engine {seconds['poly'] / minutes:.2f}, "
          f"melody engine {seconds['melody'] / minutes:.2f} (auto adds a quarter of the poly engine's cost to the"
          " melody engine's to decide, and the full poly pass when it chooses poly)")


if __name__ == "__main__":
    main()
