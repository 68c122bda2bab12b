"""Polyphonic notation on noisy performed notes (``tests/support/polyphonic.py``), ``make bench``.

Every piece of known notation (chorale, melody over broken chords, block chords, a two-hand
piece whose hands cross middle C, guitar strumming and fingerpicking) is performed with
tempo drift, chord spreads of 20-40 ms (strums), pedal or let-ring, and a polyphonic
transcriber's noise (spurious short notes, octave ghosts); the notation stage alone
(``audioscore.notation.transcription``: notes -> score, no engraving) runs on the notes with the
piece's instrument. Per performance and in total:

* ``chords``: share of the written chord notes (starting and ending with another note of
  their staff) notated in a chord;
* ``hands``: share of matched notes on the right staff (piano: the hand; guitar: trivially 1);
* ``acc``: share of written notes whose notated start and duration equal the truth after
  aligning a tempo octave (x2, /2, x3/2, x2/3) and a constant shift;
* ``found``: share of written notes matched by a notated note (same pitch, onset within 0.35 s);
* key right (tonic and mode), tempo within 4 % of the performance's mean, meter right;
* ``fixed C``: the hand agreement a split at middle C would have had, for comparison.

Usage::

    .venv/bin/python bench/poly_notation_report.py [--seeds N] [--piece NAME ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

import polyphonic as pp

from audioscore.notation import transcription as transcribe

MATCH_S = 0.35
RATIOS = (1.0, 2.0, 0.5, 1.5, 2.0 / 3.0)
TEMPO_TOLERANCE = 0.04


def _match(perf: pp.Performance, notes: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Written note index -> notated note: same pitch, nearest onset within MATCH_S, each used once."""
    onset_of = {i: p.onset for p, i in zip(perf.played, perf.truth_index, strict=True) if i >= 0}
    pairs = sorted((abs(n["onset_s"] - onset_of[i]), i, k) for i, w in enumerate(perf.piece.notes)
                   for k, n in enumerate(notes) if n["midi"] == w.midi and abs(n["onset_s"] - onset_of[i]) <= MATCH_S)
    matched: dict[int, dict[str, Any]] = {}
    used: set[int] = set()
    for _, i, k in pairs:
        if i not in matched and k not in used:
            matched[i] = notes[k]
            used.add(k)
    return matched


def _accuracy(perf: pp.Performance, matched: dict[int, dict[str, Any]], found_bpm: float) -> float:
    ratio = min(RATIOS, key=lambda r: abs(found_bpm / perf.tempo_bpm / r - 1.0))
    written = perf.piece.notes
    shifts: dict[Fraction, int] = {}
    for i, n in matched.items():
        shift = Fraction(n["start_quarters"]).limit_denominator(48) - written[i].start * Fraction(ratio).limit_denominator(6)
        shifts[shift] = shifts.get(shift, 0) + 1
    if not shifts:
        return 0.0
    shift = max(shifts.items(), key=lambda item: item[1])[0]
    r = Fraction(ratio).limit_denominator(6)
    right = sum(1 for i, n in matched.items()
                if Fraction(n["start_quarters"]).limit_denominator(48) - shift == written[i].start * r
                and Fraction(n["duration_quarters"]).limit_denominator(48) == written[i].duration * r)
    return right / len(written)


def evaluate(perf: pp.Performance) -> dict[str, Any]:
    piece = perf.piece
    start = time.perf_counter()
    _, summary = transcribe._notate(list(perf.played), transcribe.TranscribeOptions(instrument=piece.instrument))
    seconds = time.perf_counter() - start
    matched = _match(perf, summary["notes"])
    chord_notes = [i for i in range(len(piece.notes)) if piece.in_chord(i)]
    in_chords = sum(1 for i in chord_notes if i in matched and matched[i]["chord"] is not None)
    hands = sum(1 for i, n in matched.items() if n["staff"] == piece.notes[i].staff)
    fixed_c = sum(1 for i in matched if (1 if piece.notes[i].midi >= 60 else 2) == piece.notes[i].staff)
    found_bpm = summary["tempo_bpm"]
    return {
        "name": perf.name, "instrument": piece.instrument, "notes": len(piece.notes),
        "found": len(matched) / len(piece.notes),
        "chords": in_chords / len(chord_notes) if chord_notes else None,
        "hands": hands / len(matched) if matched else 0.0,
        "fixed_c": fixed_c / len(matched) if matched and piece.instrument == "piano" else None,
        "accuracy": _accuracy(perf, matched, found_bpm),
        "key": summary["key"], "key_true": piece.key, "key_ok": summary["key"] == piece.key,
        "tempo": found_bpm, "tempo_true": round(perf.tempo_bpm, 1),
        "tempo_ok": abs(found_bpm / perf.tempo_bpm - 1.0) <= TEMPO_TOLERANCE,
        "meter": summary["time_signature"], "meter_ok": summary["time_signature"] == piece.time_signature,
        "clef": summary["clef"], "seconds": round(seconds, 2),
    }


def _mean(rows: list[dict[str, Any]], field: str) -> str:
    values = [float(r[field]) for r in rows if r[field] is not None]
    return f"{sum(values) / len(values):.2f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="performances per piece")
    parser.add_argument("--piece", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pieces = [p for p in pp.PIECES if not args.piece or p.name in args.piece]
    rows = [evaluate(pp.perform(piece, seed)) for piece in pieces for seed in range(args.seeds)]
    print(f"{'performance':28} {'found':>5} {'chords':>6} {'hands':>5} {'fixC':>5} {'acc':>5} "
          f"{'key':>18} {'tempo':>12} {'meter':>9} {'clef':>8} {'s':>5}")
    for r in rows:
        key = r["key"] if r["key_ok"] else f"{r['key']}!"
        tempo = f"{r['tempo']:.0f}/{r['tempo_true']:.0f}{'' if r['tempo_ok'] else '!'}"
        meter = r["meter"] if r["meter_ok"] else f"{r['meter']}!"
        chords = "-" if r["chords"] is None else f"{r['chords']:.2f}"
        fixed = "-" if r["fixed_c"] is None else f"{r['fixed_c']:.2f}"
        print(f"{r['name']:28} {r['found']:5.2f} {chords:>6} {r['hands']:5.2f} {fixed:>5} {r['accuracy']:5.2f} "
              f"{key:>18} {tempo:>12} {meter:>9} {r['clef']:>8} {r['seconds']:5.2f}")
    for label, group in (("piano", [r for r in rows if r["instrument"] == "piano"]),
                         ("guitar", [r for r in rows if r["instrument"] == "guitar"]), ("all", rows)):
        if not group:
            continue
        print(f"{label:7} n={len(group):2}  found {_mean(group, 'found')}  chords {_mean(group, 'chords')}  "
              f"hands {_mean(group, 'hands')} (fixed middle C {_mean(group, 'fixed_c')})  "
              f"accuracy {_mean(group, 'accuracy')}  key {_mean(group, 'key_ok')}  tempo {_mean(group, 'tempo_ok')}  "
              f"meter {_mean(group, 'meter_ok')}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
