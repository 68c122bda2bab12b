"""A final ritardando (``audioscore.notation.ritardando``): a piece's last bars slowing to half
its tempo keep their written values and bars, marked "rit."; a steady ending is no ritardando."""

from __future__ import annotations

import numpy as np
import pytest
import score_corpus
from written_check import written_share

from audioscore.notation.rhythm import PerformedNote

MELODIES = ("hymn_c_major", "tune_a_minor", "low_waltz_b_minor", "low_march_c_minor", "lullaby_eb_major", "song_bb_major",
            "waltz_g_major", "arpeggios_e_major")


def played(name: str, slowest: float, bars: int) -> tuple[list[PerformedNote], list[tuple[float, float]]]:
    """The corpus melody at its tempo, each beat's period growing evenly over its last ``bars``
    bars to ``slowest`` times the tempo's (1: steady); its notes and their written (start, length)
    in quarters."""
    melody = next(m for m in score_corpus.SCORED_MELODIES if m.name == name)
    per_bar = int(round(melody.measure_quarters))
    events = melody.events * 2  # played twice: the ritardando is the end, not half the piece
    starts = np.cumsum([0.0] + [length for _, length in events])
    total = int(np.ceil(starts[-1])) + 2
    growth = np.clip((np.arange(total) - (total - 2 - bars * per_bar)) / (bars * per_bar), 0.0, 1.0)
    periods = 60.0 / melody.tempo_bpm * (1.0 + (slowest - 1.0) * growth)
    beat_times = np.concatenate([[1.0], 1.0 + np.cumsum(periods)])

    def at(quarters: float) -> float:
        return float(np.interp(quarters, np.arange(len(beat_times)), beat_times))

    notes, written = [], []
    for (pitch, length), start in zip(events, starts[:-1], strict=True):
        if pitch is not None:
            notes.append(PerformedNote(at(start), at(start) + 0.9 * (at(start + length) - at(start)), pitch))
            written.append((float(start), float(length)))
    return notes, written


def written_right(name: str, slowest: float, bars: int) -> tuple[float, dict]:
    return written_share(*played(name, slowest, bars))


@pytest.mark.parametrize("name", MELODIES)
def test_a_final_ritardando_to_half_tempo_keeps_the_written_values(name: str) -> None:
    """Slowing over the last three bars to 2.5 times the beat period: the tracker followed it
    only to 1.35 times and gained beats, writing the last notes at twice their values in extra
    bars (before: 0.84-0.93 of the notes right, 1-3 bars too many; now all right)."""
    right, summary = written_right(name, 2.5, 3)
    _, steady = written_right(name, 1.0, 3)
    assert right == 1.0, (name, right)
    assert summary["measures"] == steady["measures"]
    assert abs(summary["tempo_bpm"] / steady["tempo_bpm"] - 1.0) < 0.04  # measured before the ritardando


@pytest.mark.parametrize("name", MELODIES)
def test_a_steady_ending_on_long_notes_is_no_ritardando(name: str) -> None:
    """The same melodies played steadily: their closing half and whole notes are written as they are."""
    right, summary = written_right(name, 1.0, 3)
    assert right == 1.0 and summary["tempo_words"] == [], (name, right, summary["tempo_words"])
