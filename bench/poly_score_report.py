"""Polyphonic scores from audio, end to end: each piece of the poly corpus
(tests/support/poly_corpus.py) rendered with fluidsynth, dry and with reverb, then
``transcribe_file`` with the piece's instrument as the hint, as ``audioscore transcribe
piece.wav --instrument piano|guitar`` runs it.

Prints per rendering the score's key, tempo and meter against the piece's, whether the score
shows chords (notes sharing a chord id) and, for piano, two staves with notes in both; then the
share right over all renderings (issue 15's targets: key and tempo right on >= 90 %), and apart
from it over the held-out pieces (``poly_corpus.HELD_OUT``).
Tempo is right within 4 %; a double or half is counted apart.

Usage: .venv/bin/python bench/poly_score_report.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

import poly_corpus

from audioscore.notation.transcription import TranscribeOptions, transcribe_file

TEMPO_TOLERANCE = 0.04
PROGRAMS = {"piano": (poly_corpus.PIANO,), "guitar": (poly_corpus.GUITAR_NYLON, poly_corpus.GUITAR_STEEL)}


def _tempo_verdict(estimate: float, truth: float) -> str:
    for factor, word in ((1.0, "right"), (2.0, "double"), (0.5, "half")):
        if abs(estimate / (truth * factor) - 1.0) <= TEMPO_TOLERANCE:
            return word
    return "wrong"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "audioscore-poly")
    args = parser.parse_args()
    rows = []
    print(f"{'rendering':34} {'key':>17} {'tempo':>13} {'meter':>9}  chords  hands")
    for piece in poly_corpus.PIECES + poly_corpus.HELD_OUT:
        for program in PROGRAMS[piece.family]:
            for reverb in (False, True):
                wav, _ = poly_corpus.render_piece(piece, program, args.out, reverb=reverb)
                with tempfile.TemporaryDirectory() as work:
                    score = transcribe_file(wav, work, TranscribeOptions(instrument=piece.family), plot=False).score
                notes = score["notes"]
                chords = sum(1 for n in notes if n.get("chord") is not None)
                staves = {n.get("staff") for n in notes}
                two_hands = piece.family != "piano" or (score.get("staves") == 2 and len(staves) == 2)
                row = {
                    "key": score["key"].replace("-", "b") == piece.key,  # music21 writes B- for Bb
                    "tempo": _tempo_verdict(score["tempo_bpm"], piece.tempo_bpm),
                    "meter": score["time_signature"] == piece.time_signature,
                    "chords": chords > 0,
                    "hands": two_hands,
                    "held_out": piece in poly_corpus.HELD_OUT,
                }
                rows.append(row)
                name = f"{piece.name} p{program}{' rev' if reverb else ''}{' (held out)' if row['held_out'] else ''}"
                print(f"{name:34} {score['key']:>11} {'ok' if row['key'] else 'X':>4} "
                      f"{score['tempo_bpm']:6.1f} {row['tempo']:>6} {score['time_signature']:>5} "
                      f"{'ok' if row['meter'] else 'X':>3}  {chords:6d}  {'yes' if two_hands else 'no':>5}")
    for label, chosen in (("", [r for r in rows if not r["held_out"]]), ("held out: ", [r for r in rows if r["held_out"]])):
        count = len(chosen)

        def share(test, chosen=chosen, count=count) -> str:
            right = sum(1 for r in chosen if test(r))
            return f"{right}/{count} ({right / count:.0%})"

        print(f"\n{label}key right {share(lambda r: r['key'])}; tempo right {share(lambda r: r['tempo'] == 'right')}"
              f" (doubles/halves {share(lambda r: r['tempo'] in ('double', 'half'))}); "
              f"meter right {share(lambda r: r['meter'])}; chords shown {share(lambda r: r['chords'])}; "
              f"two hands where piano {share(lambda r: r['hands'])}")

if __name__ == "__main__":
    main()
