"""Pitch and note accuracy of ``track_pitch`` over the development corpus.

Renders every :data:`corpus.CORPUS` entry with fluidsynth (cached) plus a set of
synthetic tones whose f0 is known exactly, runs :func:`audioscore.analysis.pitch.track_pitch`
on each, scores it with :mod:`audioscore.analysis.evaluation` (mir_eval) and prints

* one row per file: raw pitch accuracy (RPA), raw chroma accuracy (RCA), voicing
  recall (VR), voicing false alarm (VFA), octave error rate (OER), note
  precision/recall/F1 (onset within 50 ms, pitch within 50 cents, offsets ignored),
  onset bias (median est - ref onset of matched notes, ms; positive = late) and
  median |onset error| (ms);
* the mean of each column per instrument;
* the onset error per instrument pooled over all matched notes of that instrument
  (median, quartiles and range of est - MIDI note-on, in ms), once for the scoring
  match (50 ms, so later notes are censored) and once for a 150 ms match window.

Usage::

    .venv/bin/python bench/corpus_report.py [--out DIR] [--sr 44100]

``--out`` is the render cache (default ``$TMPDIR/audioscore-corpus``); renderings are
reused across runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

import corpus
import mir_eval
import soundfile as sf

from audioscore.analysis.evaluation import f0_from_notes, note_scores, notes_from_midi, pitch_scores
from audioscore.analysis.pitch import track_pitch

INSTRUMENT = corpus.INSTRUMENT_NAMES
SYNTH_F0_HZ = (55.0, 82.4, 110.0, 220.0, 440.0, 880.0, 1760.0)
SYNTH_DURATION_S = 1.5
# Matching window for the second onset-bias table: wide enough that late notes are not
# censored by the 50 ms scoring tolerance, narrow enough not to pair neighbouring notes.
WIDE_ONSET_TOLERANCE_S = 0.15
VIBRATO = ((220.0, 50.0, 5.5), (330.0, 50.0, 5.5), (440.0, 100.0, 6.5))  # f0, cents, rate


@dataclass
class Row:
    name: str
    instrument: str
    pitch: dict[str, float]
    notes: dict[str, float]
    onset_errors_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    wide_onset_errors_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds: float = 0.0


def score(
    name: str,
    instrument: str,
    samples: np.ndarray,
    sr: int,
    ref_f0: Callable[[np.ndarray], np.ndarray],
    ref_notes: list[tuple[float, float, float]],
) -> Row:
    """Track ``samples`` and score against a reference f0 function and note list."""
    start = time.perf_counter()
    result = track_pitch(samples, sr)
    seconds = time.perf_counter() - start
    # Reference on the estimate's own frame times, so no resampling smears either side.
    pitch = pitch_scores(result.times, ref_f0(result.times), result.times, result.f0_hz)
    est_notes = [(n.onset, n.offset, n.pitch_hz) for n in result.notes]
    notes = note_scores(ref_notes, est_notes)
    return Row(
        name,
        instrument,
        pitch,
        notes,
        _onset_errors(ref_notes, est_notes, 0.05),
        _onset_errors(ref_notes, est_notes, WIDE_ONSET_TOLERANCE_S),
        seconds,
    )


def _onset_errors(ref: list, est: list, tolerance_s: float) -> np.ndarray:
    """est - ref onsets of matched pairs (mir_eval matching, pitch within 50 cents)."""
    if not ref or not est:
        return np.zeros(0)
    ref_a, est_a = np.asarray(ref, float), np.asarray(est, float)
    pairs = mir_eval.transcription.match_notes(
        ref_a[:, :2],
        ref_a[:, 2],
        est_a[:, :2],
        est_a[:, 2],
        onset_tolerance=tolerance_s,
        pitch_tolerance=50.0,
        offset_ratio=None,
    )
    if not pairs:
        return np.zeros(0)
    r, e = np.asarray(pairs, int).T
    return est_a[e, 0] - ref_a[r, 0]


def synthetic_rows(sr: int) -> list[Row]:
    rows = []
    duration = SYNTH_DURATION_S

    def constant(f0: float) -> Callable[[np.ndarray], np.ndarray]:
        return lambda t: np.where((t >= 0) & (t < duration), f0, 0.0)

    for kind in ("sine", "harmonic"):
        for f0 in SYNTH_F0_HZ:
            samples = getattr(corpus, kind)(f0, duration, sr)
            rows.append(
                score(f"{kind}_{f0:g}Hz", kind, samples, sr, constant(f0), [(0.0, duration, f0)])
            )
    for f0, cents, rate in VIBRATO:
        for partials in (1, 8):
            samples, true_f0 = corpus.vibrato(f0, cents, rate, duration, sr, partials=partials)
            name = f"vibrato_{f0:g}Hz_{cents:g}c_{rate:g}Hz_p{partials}"
            rows.append(score(name, "vibrato", samples, sr, true_f0, [(0.0, duration, f0)]))
    return rows


def corpus_rows(out_dir: Path, sr: int) -> list[Row]:
    rows = []
    for melody, program in corpus.CORPUS:
        wav, mid = corpus.render(melody, program, out_dir, sr)
        samples, file_sr = sf.read(wav, dtype="float32")
        if file_sr != sr:
            raise RuntimeError(f"{wav}: {file_sr} Hz, expected {sr}")
        ref_notes = notes_from_midi(mid)
        instrument = INSTRUMENT.get(program, f"program{program}")
        rows.append(
            score(
                melody.name,
                instrument,
                samples,
                sr,
                lambda t, notes=ref_notes: f0_from_notes(notes, t),
                ref_notes,
            )
        )
    return rows


COLUMNS = (
    # header, width, getter
    ("RPA", 5, lambda r: r.pitch["raw_pitch_accuracy"]),
    ("RCA", 5, lambda r: r.pitch["raw_chroma_accuracy"]),
    ("VR", 5, lambda r: r.pitch["voicing_recall"]),
    ("VFA", 5, lambda r: r.pitch["voicing_false_alarm"]),
    ("OER", 5, lambda r: r.pitch["octave_error_rate"]),
    ("P", 5, lambda r: r.notes["precision"]),
    ("R", 5, lambda r: r.notes["recall"]),
    ("F1", 5, lambda r: r.notes["f1"]),
    ("bias_ms", 7, lambda r: 1000 * r.notes["onset_bias_s"]),
    ("|on|_ms", 7, lambda r: 1000 * r.notes["onset_abs_median_s"]),
)


def _fmt(value: float, width: int, ms: bool) -> str:
    if np.isnan(value):
        return f"{'-':>{width}}"
    return f"{value:>{width}.1f}" if ms else f"{value:>{width}.3f}"


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _line(label: str, values: list[float], extra: str = "") -> str:
    cells = [_fmt(v, w, h.endswith("_ms")) for v, (h, w, _) in zip(values, COLUMNS, strict=True)]
    return f"{label} " + " ".join(cells) + extra


def print_table(rows: list[Row]) -> None:
    name_w = max(len(r.name) for r in rows)
    inst_w = max(10, *(len(r.instrument) for r in rows))
    header = " ".join(f"{h:>{w}}" for h, w, _ in COLUMNS)
    print(f"{'file':<{name_w}} {'instrument':<{inst_w}} {header}  notes(ref/est/match)")
    for r in rows:
        n = r.notes
        counts = f"  {int(n['n_ref'])}/{int(n['n_est'])}/{int(n['n_matched'])}"
        label = f"{r.name:<{name_w}} {r.instrument:<{inst_w}}"
        print(_line(label, [g(r) for _, _, g in COLUMNS], counts))

    print()
    print("Mean per instrument (bias and |on| columns: mean of the per-file medians)")
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r.instrument].append(r)
    print(f"{'instrument':<{inst_w}} {'files':>5} {header}")
    for instrument, members in groups.items():
        means = [_nanmean([g(r) for r in members]) for _, _, g in COLUMNS]
        print(_line(f"{instrument:<{inst_w}} {len(members):>5}", means))

    for attribute, window_ms in (
        ("onset_errors_s", 50),
        ("wide_onset_errors_s", round(1000 * WIDE_ONSET_TOLERANCE_S)),
    ):
        print()
        print(
            f"Onset error per instrument, pooled over notes matched within {window_ms} ms "
            "(est - MIDI note-on, ms; + = late)"
        )
        _print_onset_table(groups, attribute, inst_w)


def _print_onset_table(groups: dict[str, list[Row]], attribute: str, inst_w: int) -> None:
    print(
        f"{'instrument':<{inst_w}} {'matched':>7} {'median':>7} {'q25':>7} {'q75':>7} "
        f"{'min':>7} {'max':>7}"
    )
    for instrument, members in groups.items():
        errors = np.concatenate([getattr(r, attribute) for r in members]) * 1000
        if errors.size == 0:
            print(f"{instrument:<{inst_w}} {0:>7}")
            continue
        q25, med, q75 = np.percentile(errors, [25, 50, 75])
        print(
            f"{instrument:<{inst_w}} {errors.size:>7} {med:>7.1f} {q25:>7.1f} {q75:>7.1f} "
            f"{errors.min():>7.1f} {errors.max():>7.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "audioscore-corpus",
        help="render cache directory (default: %(default)s)",
    )
    parser.add_argument("--sr", type=int, default=corpus.DEFAULT_SR, help="sample rate, Hz")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rows = synthetic_rows(args.sr) + corpus_rows(args.out, args.sr)
    elapsed = time.perf_counter() - start
    print(
        f"audioscore corpus report: plugin audioscore_pyin:pyin, {args.sr} Hz, "
        f"render cache {args.out}"
    )
    print("Pitch: mir_eval melody (50 cents). Notes: onset 50 ms, pitch 50 cents, no offsets.")
    print(
        "Renderings: reference f0 is 0 after each MIDI note-off, so release and reverb tails\n"
        "(and the 2.4-3 s after the last note) count as voicing false alarms (VFA)."
    )
    print()
    print_table(rows)
    tracking = sum(r.seconds for r in rows)
    print()
    print(
        f"{len(rows)} files; track_pitch {tracking:.1f} s in all; total {elapsed:.1f} s "
        "(including rendering)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
