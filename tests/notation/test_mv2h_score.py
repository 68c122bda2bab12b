"""The bench's MV2H (bench/mv2h_score.py): a score that is the truth scores 1, and each part
falls for the error it measures, as the reference defines it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import humanised
import score_corpus as sc

mv2h_score = pytest.importorskip("mv2h_score")

# A 2/4 tune with an eighth pickup, played with drift and rubato.
MARCH = next(m for m in humanised.WIDENED_MELODIES if m.name == "march_bb_major")


def _written(performance: humanised.Performance, time_signature: str = "2/4", key: str = "B- major",
             drop: int | None = None) -> dict[str, Any]:
    """The score.json a transcription that wrote the truth exactly would give (in
    ``time_signature`` and ``key``; without note ``drop``)."""
    truth = mv2h_score.truth_music(performance)
    numerator, denominator = map(int, time_signature.split("/"))
    bar = 4.0 * numerator / denominator
    shift = bar if performance.truth[0].start < 0 else 0.0
    notes = [{"start_quarters": float(n.start) + shift, "duration_quarters": float(n.duration), "midi": n.midi,
              "onset_s": note.on_val / 1000.0, "offset_s": note.off_val / 1000.0}
             for k, (n, note) in enumerate(zip(performance.truth, truth.__notes__, strict=True)) if k != drop]
    beats = [[t, 0.0] for t in performance.beat_times_s]  # score.json's tempo curve: its beats' times
    return {"notes": notes, "time_signature": time_signature, "key": key, "tempo_curve": beats}


def test_the_truth_written_exactly_scores_one() -> None:
    performance = humanised.perform(MARCH, seed=40)
    result = mv2h_score.scores(performance, _written(performance))
    assert result == pytest.approx(dict.fromkeys(mv2h_score.PARTS, 1.0))


def test_a_2_4_tune_written_in_4_4_keeps_its_beats_and_loses_its_bars() -> None:
    performance = humanised.perform(MARCH, seed=40)
    result = mv2h_score.scores(performance, _written(performance, time_signature="4/4"))
    assert 0.6 < result["meter"] < 0.95
    assert result["multi_pitch"] == result["note_value"] == result["harmony"] == 1.0


def test_a_missed_note_costs_multi_pitch_and_the_relative_key_costs_harmony() -> None:
    performance = humanised.perform(MARCH, seed=40)
    result = mv2h_score.scores(performance, _written(performance, key="G minor", drop=5))
    assert result["multi_pitch"] == pytest.approx(2 * 25 / (26 + 25))  # F1 of 25 found of 26
    assert result["harmony"] == pytest.approx(0.3)
    assert result["mv2h"] < 1.0


def test_a_note_written_at_half_its_value_costs_note_value() -> None:
    performance = humanised.perform(MARCH, seed=40)
    written = _written(performance)
    halved = written["notes"][3]
    halved["offset_s"] -= (halved["offset_s"] - halved["onset_s"]) / 2
    result = mv2h_score.scores(performance, written)
    assert result["note_value"] == pytest.approx(1 - 0.5 / 26)  # half its length wrong, one note of 26
    assert result["multi_pitch"] == result["voice"] == result["meter"] == 1.0


@pytest.mark.parametrize(("truth", "found", "score"), [
    ("C major", "A minor", 0.3), ("A minor", "C major", 0.3),  # relative, either way
    ("C major", "C minor", 0.2), ("G major", "D major", 0.5), ("G major", "C major", 0.5),
    ("C major", "D major", 0.0), ("D dorian", "D minor", 1.0), ("A mixolydian", "A major", 1.0),
])
def test_keys_score_as_the_reference_scores_them(truth: str, found: str, score: float) -> None:
    assert mv2h_score.key_score(mv2h_score._key(truth), mv2h_score._key(found)) == score


def test_an_exact_rendering_needs_no_performed_beats() -> None:
    melody = next(m for m in sc.SCORED_MELODIES if m.name == "waltz_g_major")
    from notation_report import exact_performance

    performance = exact_performance(melody)
    result = mv2h_score.scores(performance, _written(performance, time_signature="3/4", key="G major"))
    assert result == pytest.approx(dict.fromkeys(mv2h_score.PARTS, 1.0))
