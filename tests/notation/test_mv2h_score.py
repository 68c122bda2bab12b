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

pytest.importorskip("pyMV2H")
import mv2h_score

# A 2/4 tune with an eighth pickup, played with drift and rubato.
MARCH = next(m for m in humanised.WIDENED_MELODIES if m.name == "march_bb_major")


def _written(performance: humanised.Performance, time_signature: str = "2/4", key: str = "B- major",
             drop: int | None = None, first: int = 0, shift_quarters: float = 0.0) -> dict[str, Any]:
    """The score.json a transcription that wrote the truth exactly would give (in
    ``time_signature`` and ``key``; without note ``drop`` and the notes before ``first``; its
    bar lines ``shift_quarters`` later)."""
    truth = mv2h_score.truth_music(performance)
    numerator, denominator = map(int, time_signature.split("/"))
    bar = 4.0 * numerator / denominator
    shift = (bar if performance.truth[0].start < 0 else 0.0) + shift_quarters
    notes = [{"start_quarters": float(n.start) + shift, "duration_quarters": float(n.duration), "midi": n.midi,
              "onset_s": note.on_val / 1000.0, "offset_s": note.off_val / 1000.0}
             for k, (n, note) in enumerate(zip(performance.truth, truth.__notes__, strict=True))
             if k != drop and k >= first]
    # score.json's tempo curve holds its beats' times: here the truth's at every sixteenth (the
    # reading keeps those on its own beats).
    beats = [[tatum.time / 1000.0, 0.0] for tatum in truth.__tatums__]
    return {"notes": notes, "time_signature": time_signature, "key": key, "tempo_curve": beats}


def test_the_truth_written_exactly_scores_one() -> None:
    performance = humanised.perform(MARCH, seed=40)
    result = mv2h_score.scores(performance, _written(performance))
    assert result == pytest.approx(dict.fromkeys(mv2h_score.PARTS, 1.0))


def test_a_2_4_tune_written_in_4_4_keeps_its_beats_and_loses_its_bars() -> None:
    performance = humanised.perform(MARCH, seed=40)
    result = mv2h_score.scores(performance, _written(performance, time_signature="4/4"))
    # An eighth's pickup and 8 bars: 33 eighths and 16 beats on both sides match; the truth's
    # 8 bars of 2/4 and the 4 of 4/4 do not.
    assert result["meter"] == pytest.approx(2 * 49 / ((49 + 8) + (49 + 4)))
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
    assert mv2h_score.key_score(truth, found) == score


def test_a_6_8_tune_keeps_its_eighths_and_bars_in_3_4_and_its_beats_in_bars_half_a_bar_off() -> None:
    jig = next(m for m in humanised.CORPUS_MELODIES if m.name == "jig_e_minor")  # 8 bars, no pickup
    performance = humanised.perform(jig, seed=40)
    assert mv2h_score.scores(performance, _written(performance, "6/8", "E minor"))["meter"] == pytest.approx(1.0)
    # 48 eighths and 8 bars match; 16 dotted-quarter beats against 24 quarters do not.
    in_3_4 = mv2h_score.scores(performance, _written(performance, "3/4", "E minor"))["meter"]
    assert in_3_4 == pytest.approx(2 * 56 / ((48 + 16 + 8) + (48 + 24 + 8)))
    # Bar lines a dotted quarter late: the eighths and beats match, no bar does.
    late = mv2h_score.scores(performance, _written(performance, "6/8", "E minor", shift_quarters=1.5))["meter"]
    assert late < 0.95


def test_a_score_that_starts_on_a_triplet_is_measured_on_the_sixteenths_of_its_bars() -> None:
    """The transcription's tatums start at the sixteenth before its first note, as the truth's do."""
    melody = next(m for m in humanised.TRIPLET_MELODIES if m.name == "triplets_c_minor")  # C5, E-flat, then D5 at 1 1/3
    performance = humanised.perform(melody, seed=40)
    from_triplet = mv2h_score.scores(performance, _written(performance, key="C minor", first=3))
    assert from_triplet["meter"] > 0.9


def test_an_exact_rendering_needs_no_performed_beats() -> None:
    melody = next(m for m in sc.SCORED_MELODIES if m.name == "waltz_g_major")
    from notation_report import exact_performance

    performance = exact_performance(melody)
    result = mv2h_score.scores(performance, _written(performance, time_signature="3/4", key="G major"))
    assert result == pytest.approx(dict.fromkeys(mv2h_score.PARTS, 1.0))
