"""Notes and pitch of ``track_pitch`` on realistic performances (tests/realistic.py).

Renders every :data:`realistic.PERFORMANCES` entry (cached), runs the plugin at its
defaults through :func:`audioscore.analysis.pitch.track_pitch` (which includes the note cleaning
of :mod:`audioscore.analysis.note_cleaning`) and prints per file and per family:

* ``F1``: note F1, onset within 50 ms, pitch within 50 cents, offsets ignored (mir_eval);
* ``F1off``: the same, offsets also within 20 % of the note or 50 ms (mir_eval's default);
* ``bias_ms``: median signed onset error of matched notes (est - truth; + = late);
* ``VFA``: voicing false alarm, frames unvoiced in the truth but voiced in the estimate;
* ``VFA150``: the same, ignoring the 150 ms after each truth note-off (releases);
* ``VR``: voicing recall;
* ``low_c``: median |error| in cents of frames voiced in both whose truth is below MIDI 48;
* ``tun_c``: estimated tuning offset (cents) minus the truth;
* ``s/min``: plugin seconds per minute of audio.

Usage::

    PYTHONPATH=$PWD:$PWD/tests .venv/bin/python bench/realistic_report.py [--only NAME ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

import mir_eval
import realistic
import soundfile as sf

from audioscore.analysis.evaluation import f0_from_notes, note_scores
from audioscore.analysis.pitch import track_pitch

RELEASE_ALLOWANCE_S = 0.15
LOW_MIDI = 48

def evaluate(samples: np.ndarray, sr: int, truth: list[tuple[float, float, float]],
             true_tuning_cents: float = 0.0, parameters: dict[str, float] | None = None) -> dict[str, float]:
    """Track ``samples`` and score them against truth notes ``(onset_s, offset_s, pitch_hz)``."""
    start = time.perf_counter()
    result = track_pitch(samples, sr, parameters=parameters)
    seconds = time.perf_counter() - start
    notes = [(n.onset, n.offset, n.pitch_hz) for n in result.notes]
    tuning = getattr(result, "tuning_cents", float("nan")) - true_tuning_cents
    onset_only = note_scores(truth, notes)
    with_offsets = 0.0
    if notes:
        ref = np.asarray(truth, float)
        est = np.asarray(notes, float)
        with_offsets = mir_eval.transcription.precision_recall_f1_overlap(
            ref[:, :2], ref[:, 2], est[:, :2], est[:, 2], onset_tolerance=0.05, pitch_tolerance=50.0)[2]
    t, f0 = result.times, result.f0_hz
    ref_f0 = f0_from_notes(truth, t)
    ref_v, est_v = ref_f0 > 0, f0 > 0
    release = np.zeros_like(ref_v)
    for _, off, _ in truth:
        release |= (t >= off) & (t < off + RELEASE_ALLOWANCE_S)
    unvoiced = ~ref_v
    counted = unvoiced & ~release
    ref_midi = np.where(ref_v, 69 + 12 * np.log2(np.maximum(ref_f0, 1e-9) / 440.0), 0.0)
    low = ref_v & est_v & (ref_midi < LOW_MIDI)
    low_err = np.abs(1200 * np.log2(f0[low] / ref_f0[low])) if low.any() else np.zeros(0)
    return {
        "f1": onset_only["f1"],
        "f1_offsets": float(with_offsets),
        "bias_ms": 1000 * onset_only["onset_bias_s"],
        "vfa": float((est_v & unvoiced).sum() / max(unvoiced.sum(), 1)),
        "vfa150": float((est_v & counted).sum() / max(counted.sum(), 1)),
        "vr": float((est_v & ref_v).sum() / max(ref_v.sum(), 1)),
        "low_cents": float(np.median(low_err)) if low_err.size else float("nan"),
        "tuning_err": tuning,
        "s_per_min": 60.0 * seconds / (len(samples) / sr),
        "n_ref": onset_only["n_ref"],
        "n_est": onset_only["n_est"],
    }


COLUMNS = (("F1", "f1", 3), ("F1off", "f1_offsets", 3), ("bias_ms", "bias_ms", 1), ("VFA", "vfa", 3),
           ("VFA150", "vfa150", 3), ("VR", "vr", 3), ("low_c", "low_cents", 1), ("tun_c", "tuning_err", 1),
           ("s/min", "s_per_min", 3))


def _cells(values: dict[str, float]) -> str:
    out = []
    for header, key, digits in COLUMNS:
        v = values.get(key, float("nan"))
        width = max(len(header), 5) + 2
        out.append(f"{'-':>{width}}" if np.isnan(v) else f"{v:>{width}.{digits}f}")
    return "".join(out)


def _mean(rows: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in rows if not np.isnan(r[key])]
    return float(np.mean(values)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "audioscore-realistic",
                        help="render cache directory (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="performance names or families to run")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a plugin parameter over its default (experiments)")
    parser.add_argument("--json", type=Path, help="also write the per-file figures here")
    args = parser.parse_args(argv)

    sr = realistic.DEFAULT_SR
    rows: dict[str, dict[str, float]] = {}
    families: dict[str, list[dict[str, float]]] = defaultdict(list)
    header = "".join(f"{h:>{max(len(h), 5) + 2}}" for h, _, _ in COLUMNS)
    print(f"audioscore realistic report: plugin at its defaults, {sr} Hz, render cache {args.out}")
    print(f"{'file':<24} {'family':<12}{header}  notes(ref/est)")
    parameters = {k: float(v) for k, v in (item.split("=", 1) for item in args.param)}

    def row_of(p: realistic.Performance) -> dict[str, float]:
        """Render, track and score one performance, and print its row."""
        samples, _ = sf.read(realistic.render_performance(p, args.out, sr), dtype="float32")
        row = evaluate(samples, sr, realistic.truth_notes(p), p.tuning_cents, parameters or None)
        rows[p.name] = row
        print(f"{p.name:<24} {p.family:<12}{_cells(row)}  {int(row['n_ref'])}/{int(row['n_est'])}", flush=True)
        return row

    for p in realistic.PERFORMANCES:
        if args.only and p.name not in args.only and p.family not in args.only:
            continue
        families[p.family].append(row_of(p))
    print()
    print(f"{'family (mean)':<24} {'files':<12}{header}")
    for family, members in families.items():
        means = {key: _mean(members, key) for _, key, _ in COLUMNS}
        if family == "voice":  # onset bias on voice: the median over all its files' medians
            means["bias_ms"] = float(np.nanmedian([r["bias_ms"] for r in members]))
        print(f"{family:<24} {len(members):<12}{_cells(means)}")
    everything = list(rows.values())
    print(f"{'all':<24} {len(everything):<12}{_cells({k: _mean(everything, k) for _, k, _ in COLUMNS})}")
    held_out = [p for p in realistic.HELD_OUT
                if not args.only or p.name in args.only or p.family in args.only or "held_out" in args.only]
    if held_out:
        print("\nheld out (written after the fixes they check; not in the means above)")
        for p in held_out:
            row_of(p)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
