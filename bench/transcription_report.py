"""Notation accuracy of ``audioscore.notation.transcription.transcribe_file`` over the score corpus.

For every ``(melody, program)`` of :data:`score_corpus.SCORED_CORPUS` (original melodies
with known key, meter, tempo and measures, see ``tests/score_corpus.py``) this renders the
melody with fluidsynth (cached), runs ``transcribe_file(wav_path, out_dir)`` on it and
compares the result's ``.score`` dict (``key``, ``tempo_bpm``, ``time_signature``,
``measures``, ``notes``) with the reference. It prints

* one row per file: key expected/found and how a wrong key relates to the right one
  (relative, parallel, dominant = a fifth above, subdominant = a fifth below, enharmonic
  spelling), tempo expected/found, their ratio and a flag (``ok`` within 4 %, ``double``,
  ``half``, ``x3/2``, ``x2/3``, ``x3``, ``x1/3``, ``x4``, ``x1/4``, else ``off``), meter
  expected/found, measures expected/found (``8+p``: 8 full measures and a pickup), note
  precision/recall/F1 (``audioscore.analysis.evaluation.note_scores``: onset within 50 ms, pitch
  within 50 cents, offsets ignored), and the transcription's wall time; ``pos`` is the
  fraction of matched notes the score puts at the right offset from the barline (needs a
  ``beat`` per note, the offset in quarters as in score.json, and the right meter);
  it catches barlines shifted by a beat, which the other columns miss;
* totals, overall and per instrument: key accuracy, tempo within 4 %, meter accuracy,
  measures within one, mean bar position accuracy, mean note F1 (and P, R);
* the stage timings reported by ``transcribe_file`` (``.timings``), summed over files,
  and the real-time factor.

Tempo is always compared in quarter notes per minute, 6/8 included (a 6/8 tune at
dotted quarter = 72 is expected as 108; reporting 72 shows up as ``x2/3``).

Usage::

    .venv/bin/python bench/transcription_report.py [--out DIR] [--melody NAME ...]
        [--instrument piano|flute|violin|voice ...] [--json FILE] [--list]

``--out`` holds the render cache and, under ``transcriptions/``, each file's
transcription output (default ``$TMPDIR/audioscore-score-corpus``). ``--list`` prints the
corpus and exits without transcribing.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import numbers
import re
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

import corpus
import mir_eval
import numpy as np
import score_corpus
import soundfile as sf

from audioscore.analysis.evaluation import note_scores

INSTRUMENT = corpus.INSTRUMENT_NAMES
PROGRAM = {name: program for program, name in INSTRUMENT.items()}

TEMPO_TOLERANCE = 0.04  # relative; also used to name the ratio of a wrong tempo
TEMPO_RATIOS = (
    (2.0, "double"),
    (0.5, "half"),
    (1.5, "x3/2"),
    (2.0 / 3.0, "x2/3"),
    (3.0, "x3"),
    (1.0 / 3.0, "x1/3"),
    (4.0, "x4"),
    (0.25, "x1/4"),
)

_PC_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_FOUND_KEY_RE = re.compile(
    r"^\s*([A-Ga-g])\s*(#{1,2}|♯|-?sharp|-?flat|-{1,2}|b{1,2}|♭)?[\s-]*(major|minor|maj|min|m|dorian|mixolydian)?\s*$",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------
# Comparisons


def parse_found_key(text: Any) -> tuple[int, str, str] | None:
    """A transcriber's key string -> ``(tonic_pc, mode, normalised_name)``, None if unreadable.

    Lenient: music21 names (``"E- minor"``, also lower-case ``"e- minor"``), ``"Eb minor"``,
    ``"E♭ min"``, ``"E flat minor"``. Without a mode word an upper-case letter is major, a
    lower-case one minor (music21's convention). The normalised name is music21's
    spelling, so it can be compared with the expected key for spelling.
    """
    if not isinstance(text, str):
        return None
    match = _FOUND_KEY_RE.match(text)
    if not match:
        return None
    letter, accidental, mode = match.groups()
    accidental = (accidental or "").lower()
    if accidental.endswith(("flat", "sharp")):
        alter = 1 if accidental.endswith("sharp") else -1
    elif accidental in ("#", "##", "♯"):
        alter = max(1, accidental.count("#"))
    elif accidental:
        alter = -max(1, accidental.count("-"), accidental.count("b"))
    else:
        alter = 0
    if mode and mode.lower() in ("dorian", "mixolydian"):
        mode = mode.lower()
    elif mode:
        mode = "minor" if mode.lower() in ("minor", "min") or mode == "m" else "major"
    else:
        mode = "major" if letter.isupper() else "minor"
    accidental_text = "#" * alter if alter > 0 else "-" * -alter
    name = f"{letter.upper()}{accidental_text} {mode}"
    return (_LETTER_PC[letter.upper()] + alter) % 12, mode, name


def key_relation(expected: str, found: Any) -> str:
    """How ``found`` relates to the ``expected`` key (a music21 name).

    Returns ``"ok"``, ``"enharmonic"`` (right key, other spelling), ``"relative"``,
    ``"parallel"``, ``"dominant"`` (same mode, a fifth above), ``"subdominant"`` (same
    mode, a fifth below), ``"other"`` or ``"missing"`` (absent or unreadable).
    """
    parsed = parse_found_key(found)
    if parsed is None:
        return "missing"
    pc, mode, name = parsed
    exp_pc, exp_mode = score_corpus.parse_key(expected)
    if (pc, mode) == (exp_pc, exp_mode):
        return "ok" if name == expected else "enharmonic"
    if mode == exp_mode:
        interval = (pc - exp_pc) % 12
        return {7: "dominant", 5: "subdominant"}.get(interval, "other")
    if pc == exp_pc:
        return "parallel"
    if {mode, exp_mode} != {"major", "minor"}:
        return "other"
    relative_pc = (exp_pc + (9 if exp_mode == "major" else 3)) % 12
    return "relative" if pc == relative_pc else "other"


def tempo_flag(expected_bpm: float, found_bpm: Any) -> tuple[float, str]:
    """``(found / expected, flag)``; flag ``"ok"`` within 4 %, a named ratio, or ``"off"``."""
    if not isinstance(found_bpm, numbers.Real) or not math.isfinite(found_bpm) or found_bpm <= 0:
        return float("nan"), "missing"
    ratio = float(found_bpm) / expected_bpm
    if abs(ratio - 1.0) <= TEMPO_TOLERANCE:
        return ratio, "ok"
    for target, name in TEMPO_RATIOS:
        if abs(ratio / target - 1.0) <= TEMPO_TOLERANCE:
            return ratio, name
    return ratio, "off"


def normalise_meter(text: Any) -> str | None:
    """``" 3 / 4 "`` -> ``"3/4"``; ``"C"`` -> ``"4/4"``, ``"C|"`` -> ``"2/2"``; None if absent."""
    if isinstance(text, tuple | list) and len(text) == 2:
        text = f"{text[0]}/{text[1]}"
    if not isinstance(text, str):
        return None
    text = text.replace(" ", "")
    return {"C": "4/4", "c": "4/4", "C|": "2/2"}.get(text, text) or None


def score_notes(notes: Any) -> tuple[list[tuple[float, float, float, float | None]], int]:
    """The score's notes as ``(onset_s, offset_s, pitch_hz, beat or None)``, sorted; also
    how many were dropped.

    ``beat`` is the note's optional ``"beat"`` field (offset from its barline, in
    quarters, as in score.json). Entries without a MIDI pitch (rests), with a
    non-positive duration or otherwise unreadable are dropped (``note_scores`` would
    reject them).
    """
    kept, dropped = [], 0
    for note in notes or ():
        try:
            onset, offset, midi = float(note["onset_s"]), float(note["offset_s"]), note["midi"]
        except (KeyError, TypeError, ValueError):
            dropped += 1
            continue
        if midi is None or not offset > onset or onset < 0:
            dropped += 1
            continue
        beat = note.get("beat") if isinstance(note, Mapping) else None
        beat = float(beat) if isinstance(beat, numbers.Real) else None
        kept.append((onset, offset, corpus.midi_to_hz(float(midi)), beat))
    return sorted(kept, key=lambda n: n[:3]), dropped


def bar_position_accuracy(
    melody: score_corpus.ScoredMelody, est: list[tuple[float, float, float, float | None]]
) -> float:
    """Of the reference notes matched by a score note carrying a ``beat``, the fraction
    placed at the right offset from the barline (modulo the measure; NaN if none).

    Matching as in ``note_scores`` (onset 50 ms, pitch 50 cents). A right meter and
    tempo with the barlines shifted by a beat scores 0 here, and nowhere else.
    """
    bar = melody.measure_quarters
    ref = score_corpus.reference_notes(melody)
    ref_pos = [
        pos % bar
        for (pitch, _), pos in zip(melody.events, melody.event_positions, strict=True)
        if pitch is not None
    ]
    if not ref or not est:
        return float("nan")
    ref_a, est_a = np.asarray(ref, float), np.asarray([n[:3] for n in est], float)
    pairs = mir_eval.transcription.match_notes(
        ref_a[:, :2],
        ref_a[:, 2],
        est_a[:, :2],
        est_a[:, 2],
        onset_tolerance=0.05,
        pitch_tolerance=50.0,
        offset_ratio=None,
    )
    hits = [
        abs((est[j][3] - ref_pos[i] + bar / 2) % bar - bar / 2) < 1e-3
        for i, j in pairs
        if est[j][3] is not None
    ]
    return sum(hits) / len(hits) if hits else float("nan")


# --------------------------------------------------------------------------------------
# One file


@dataclass
class Row:
    melody: score_corpus.ScoredMelody
    instrument: str
    audio_s: float = 0.0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    key_found: Any = None
    key_relation: str = "missing"
    tempo_found: Any = None
    tempo_ratio: float = float("nan")
    tempo_flag: str = "missing"
    meter_found: str | None = None
    measures_found: Any = None
    notes: dict[str, float] = field(default_factory=dict)
    dropped_notes: int = 0
    bar_position: float = float("nan")

    @property
    def key_ok(self) -> bool:
        return self.key_relation in ("ok", "enharmonic")

    @property
    def tempo_ok(self) -> bool:
        return self.tempo_flag == "ok"

    @property
    def meter_ok(self) -> bool:
        return self.meter_found == self.melody.time_signature

    @property
    def measures_ok(self) -> bool:
        found = self.measures_found
        return isinstance(found, numbers.Real) and abs(found - self.melody.measures) <= 1

    @property
    def f1(self) -> float:
        return self.notes.get("f1", 0.0)

    def as_json(self) -> dict[str, Any]:
        m = self.melody
        return {
            "melody": m.name,
            "instrument": self.instrument,
            "error": self.error,
            "key": {"expected": m.key, "found": self.key_found, "relation": self.key_relation},
            "tempo_bpm": {
                "expected": m.tempo_bpm,
                "found": self.tempo_found,
                "ratio": None if math.isnan(self.tempo_ratio) else self.tempo_ratio,
                "flag": self.tempo_flag,
            },
            "time_signature": {"expected": m.time_signature, "found": self.meter_found},
            "measures": {
                "expected": m.measures,
                "pickup_quarters": m.pickup_quarters,
                "found": self.measures_found,
            },
            "notes": self.notes,
            "bar_position": None if math.isnan(self.bar_position) else self.bar_position,
            "dropped_notes": self.dropped_notes,
            "audio_s": self.audio_s,
            "seconds": self.seconds,
            "timings": self.timings,
        }


def _as_mapping(score: Any) -> Mapping[str, Any]:
    if isinstance(score, Mapping):
        return score
    if dataclasses.is_dataclass(score) and not isinstance(score, type):
        return dataclasses.asdict(score)
    raise TypeError(f"result.score is a {type(score).__name__}, expected a dict")


def evaluate(row: Row, score: Any) -> None:
    """Fill ``row`` from a transcription's score dict."""
    score = _as_mapping(score)
    m = row.melody
    row.key_found = score.get("key")
    row.key_relation = key_relation(m.key, row.key_found)
    row.tempo_found = score.get("tempo_bpm")
    row.tempo_ratio, row.tempo_flag = tempo_flag(m.tempo_bpm, row.tempo_found)
    row.meter_found = normalise_meter(score.get("time_signature"))
    row.measures_found = score.get("measures")
    est, row.dropped_notes = score_notes(score.get("notes"))
    row.notes = note_scores(score_corpus.reference_notes(m), [n[:3] for n in est])
    if row.meter_ok:
        row.bar_position = bar_position_accuracy(m, est)


def run_one(
    transcribe_file: Callable[..., Any],
    melody: score_corpus.ScoredMelody,
    program: int,
    out: Path,
    sr: int,
    fail_fast: bool,
) -> Row:
    instrument = INSTRUMENT.get(program, f"program{program}")
    row = Row(melody, instrument)
    wav, _ = score_corpus.render_scored(melody, program, out, sr)
    row.audio_s = sf.info(str(wav)).duration
    result_dir = out / "transcriptions" / f"{melody.name}-{instrument}"
    result_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        result = transcribe_file(wav, result_dir)
        row.seconds = time.perf_counter() - start
        row.timings = {
            str(k): float(v) for k, v in (getattr(result, "timings", None) or {}).items()
        }
        evaluate(row, result.score)
    except Exception as exc:  # a bench reports failures and goes on
        if fail_fast:
            raise
        row.seconds = time.perf_counter() - start
        row.error = f"{type(exc).__name__}: {exc}"
        print(f"  {melody.name} / {instrument}: {row.error}", file=sys.stderr)
        traceback.print_exc(limit=-3, file=sys.stderr)
    return row


# --------------------------------------------------------------------------------------
# Printing


def _num(value: Any, fmt: str, width: int) -> str:
    if isinstance(value, numbers.Real) and not math.isnan(value):
        return f"{float(value) if fmt else value:>{width}{fmt}}"
    text = "-" if value is None or isinstance(value, numbers.Real) else str(value)[:width]
    return f"{text:>{width}}"


def _measures_text(melody: score_corpus.ScoredMelody) -> str:
    return f"{melody.measures}{'+p' if melody.pickup_quarters else ''}"


def print_rows(rows: list[Row]) -> None:
    name_w = max(len(r.melody.name) for r in rows)
    print(
        f"{'melody':<{name_w}} {'instr':<6} | {'key':<10} {'found':<10} {'relation':<11} | "
        f"{'tempo':>5} {'found':>6} {'ratio':>5} {'':<7} | {'meter':>5} {'found':>5} | "
        f"{'meas':>4} {'found':>5} {'pos':>5} | {'P':>5} {'R':>5} {'F1':>5} {'n ref/est':>9} | "
        f"{'time_s':>6}"
    )
    for r in rows:
        m = r.melody
        head = f"{m.name:<{name_w}} {r.instrument:<6} | "
        if r.error:
            print(f"{head}ERROR {r.error}"[: name_w + 150])
            continue
        key_found = "-" if r.key_found is None else str(r.key_found)
        meter_mark = "" if r.meter_ok else "*"
        measures_mark = "" if r.measures_ok else "*"
        n = r.notes
        print(
            f"{head}{m.key:<10} {key_found[:10]:<10} {r.key_relation:<11} | "
            f"{m.tempo_bpm:>5.0f} {_num(r.tempo_found, '.1f', 6)} {_num(r.tempo_ratio, '.3f', 5)} "
            f"{r.tempo_flag:<7} | {m.time_signature:>5} {(r.meter_found or '-') + meter_mark:>5} | "
            f"{_measures_text(m):>4} {_num(r.measures_found, '', 4)}{measures_mark or ' '} "
            f"{_num(r.bar_position, '.2f', 5)} | "
            f"{n['precision']:>5.3f} {n['recall']:>5.3f} {n['f1']:>5.3f} "
            f"{int(n['n_ref']):>4}/{int(n['n_est']):<4} | {r.seconds:>6.2f}"
            + (f"  ({r.dropped_notes} notes dropped)" if r.dropped_notes else "")
        )


def _fraction(rows: list[Row], attribute: str) -> str:
    hits = sum(getattr(r, attribute) for r in rows)
    return f"{hits:>2}/{len(rows):<2} {100 * hits / len(rows):>5.1f}%"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _bar_positions(rows: list[Row]) -> str:
    values = [r.bar_position for r in rows if not math.isnan(r.bar_position)]
    if not values:
        return f"{'-':>11}"
    return f"{_mean(values):>5.3f} n={len(values):<3}"


def print_totals(rows: list[Row]) -> None:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r.instrument].append(r)
    groups["all"] = rows
    print(
        f"{'instrument':<10} {'files':>5} | {'key ok':>13} | {'tempo +-4%':>13} | "
        f"{'meter ok':>13} | {'measures +-1':>13} | {'bar pos':>11} | {'P':>5} {'R':>5} "
        f"{'F1':>5} | {'errors':>6}"
    )
    for instrument, members in groups.items():
        print(
            f"{instrument:<10} {len(members):>5} | {_fraction(members, 'key_ok')} | "
            f"{_fraction(members, 'tempo_ok')} | {_fraction(members, 'meter_ok')} | "
            f"{_fraction(members, 'measures_ok')} | {_bar_positions(members)} | "
            f"{_mean([r.notes.get('precision', 0.0) for r in members]):>5.3f} "
            f"{_mean([r.notes.get('recall', 0.0) for r in members]):>5.3f} "
            f"{_mean([r.f1 for r in members]):>5.3f} | {sum(bool(r.error) for r in members):>6}"
        )
    print(
        "(failed files count as wrong everywhere, with F1 0; 'bar pos' is the mean over the\n"
        " n files with the right meter and a 'beat' per note)"
    )

    ok = [r for r in rows if not r.error]
    spelled = sum(r.key_relation == "ok" for r in ok)
    print()
    print(f"Key: {spelled} of {len(rows)} with the expected spelling; relations: ", end="")
    print(", ".join(f"{k} {v}" for k, v in Counter(r.key_relation for r in ok).most_common()))
    print("Tempo flags: ", end="")
    print(", ".join(f"{k} {v}" for k, v in Counter(r.tempo_flag for r in ok).most_common()))
    meters = Counter(
        f"{r.melody.time_signature}->{r.meter_found or '-'}" for r in ok if not r.meter_ok
    )
    print(
        "Meter errors (expected->found): "
        + (", ".join(f"{k} {v}" for k, v in meters.items()) or "none")
    )
    by_meter: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_meter[r.melody.time_signature].append(r)
    print(
        "Meter accuracy by expected meter: "
        + ", ".join(
            f"{k}: {sum(r.meter_ok for r in v)}/{len(v)}" for k, v in sorted(by_meter.items())
        )
    )


def print_timings(rows: list[Row]) -> None:
    stages: dict[str, float] = defaultdict(float)
    for r in rows:
        for stage, seconds in r.timings.items():
            stages[stage] += seconds
    total = sum(r.seconds for r in rows)
    audio = sum(r.audio_s for r in rows)
    print(
        f"transcribe_file wall time {total:.1f} s for {audio:.1f} s of audio "
        f"(real-time factor {total / audio if audio else float('nan'):.3f})"
    )
    if stages:
        staged = sum(stages.values())
        width = max(10, *(len(s) for s in stages))
        print(f"{'stage':<{width}} {'total_s':>8} {'per_file_s':>10} {'share':>6}  (of all stages)")
        for stage, seconds in stages.items():
            share = seconds / staged if staged else float("nan")
            print(f"{stage:<{width}} {seconds:>8.2f} {seconds / len(rows):>10.3f} {share:>6.1%}")
        if total > staged:
            print(
                f"{'(untimed)':<{width}} {total - staged:>8.2f} {(total - staged) / len(rows):>10.3f}"
            )


def print_corpus(pairs: list[tuple[score_corpus.ScoredMelody, int]]) -> None:
    melodies = list(dict.fromkeys(m for m, _ in pairs))
    name_w = max(len(m.name) for m in melodies)
    print(
        f"{'melody':<{name_w}} {'key':<9} {'meter':>5} {'bpm':>4} {'meas':>4} {'range':>7} "
        f"{'music_s':>7} {'staff':<6} instruments"
    )
    for m in melodies:
        low, high = m.pitch_range
        programs = ", ".join(INSTRUMENT.get(p, str(p)) for mm, p in pairs if mm is m)
        print(
            f"{m.name:<{name_w}} {m.key:<9} {m.time_signature:>5} {m.tempo_bpm:>4.0f} "
            f"{_measures_text(m):>4} {low:>3}-{high:<3} {m.music_s:>7.2f} {m.staff:<6} {programs}"
        )


# --------------------------------------------------------------------------------------


def load_transcribe_file() -> Callable[..., Any]:
    """``audioscore.notation.transcription.transcribe_file``, or exit with a clear message."""
    try:
        transcribe = importlib.import_module("audioscore.notation.transcription")
    except ModuleNotFoundError as exc:
        if exc.name == "audioscore.notation.transcription":
            sys.exit(
                "transcription_report: audioscore/notation/transcription.py does not exist yet; this "
                "report needs audioscore.notation.transcription.transcribe_file(wav_path, out_dir) "
                "returning an object with .score (dict: key, tempo_bpm, time_signature, "
                "measures, notes) and .timings (dict: stage -> seconds). "
                "Use --list to see the corpus meanwhile."
            )
        raise
    function = getattr(transcribe, "transcribe_file", None)
    if not callable(function):
        sys.exit("transcription_report: audioscore.notation.transcription has no transcribe_file()")
    return function


def select(
    melodies: list[str] | None, instruments: list[str] | None
) -> list[tuple[score_corpus.ScoredMelody, int]]:
    pairs = list(score_corpus.SCORED_CORPUS)
    if melodies:
        pairs = [(m, p) for m, p in pairs if any(s in m.name for s in melodies)]
    if instruments:
        unknown = set(instruments) - set(PROGRAM)
        if unknown:
            sys.exit(f"transcription_report: unknown instrument(s) {sorted(unknown)}")
        pairs = [(m, p) for m, p in pairs if INSTRUMENT.get(p) in instruments]
    if not pairs:
        sys.exit("transcription_report: no (melody, instrument) pair selected")
    return pairs


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and other stray types in a score dict."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "audioscore-score-corpus",
        help="render cache and transcription output directory (default: %(default)s)",
    )
    parser.add_argument("--sr", type=int, default=corpus.DEFAULT_SR, help="sample rate, Hz")
    parser.add_argument(
        "--melody", action="append", help="only melodies whose name contains this (repeatable)"
    )
    parser.add_argument(
        "--instrument",
        action="append",
        choices=sorted(set(PROGRAM) - {"choir"}),
        help="only this instrument (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--list", action="store_true", help="print the corpus and exit")
    parser.add_argument(
        "--fail-fast", action="store_true", help="stop at the first failing transcription"
    )
    args = parser.parse_args(argv)

    pairs = select(args.melody, args.instrument)
    if args.list:
        print_corpus(pairs)
        return 0
    transcribe_file = load_transcribe_file()

    start = time.perf_counter()
    rows = [
        run_one(transcribe_file, melody, program, args.out, args.sr, args.fail_fast)
        for melody, program in pairs
    ]
    elapsed = time.perf_counter() - start

    print(f"audioscore transcription report: {len(rows)} files, {args.sr} Hz, cache {args.out}")
    print(
        "Tempo in quarter notes per minute (6/8 too). Notes: onset 50 ms, pitch 50 cents, "
        "offsets ignored. '*' marks a wrong meter / measures off by more than one."
    )
    print()
    print_rows(rows)
    print()
    print_totals(rows)
    print()
    print_timings(rows)
    print(f"total {elapsed:.1f} s including rendering")

    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in rows], indent=1, default=_plain))
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
