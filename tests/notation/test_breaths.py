"""Breaths (``audioscore.notation.quantise``): a performer pausing before a phrase, for less
than a beat, keeps the written bars; steadily held notes are not taken for breaths."""

from __future__ import annotations

from pathlib import Path

import humanised
import numpy as np
import pytest
import score_corpus
from tracked_notes import melody_notes
from written_check import written_share

from audioscore.analysis.features import extract_file
from audioscore.notation.beats import positions_in_beats
from audioscore.notation.quantise import notate_rhythm, shifted_after, shifted_before
from audioscore.notation.rhythm import PerformedNote

PHRASE_BARS = 4


def played(name: str, breath_beats: float, legato: bool = False
           ) -> tuple[list[PerformedNote], list[tuple[float, float]], score_corpus.ScoredMelody]:
    """The corpus melody at a steady tempo with a pause of ``breath_beats`` before each phrase
    (every PHRASE_BARS bars) but the first: the note before stops at its written end, or with
    ``legato`` is held into the pause. Its notes and their written (start, length) in quarters."""
    melody = next(m for m in score_corpus.SCORED_MELODIES if m.name == name)
    phrase = PHRASE_BARS * melody.measure_quarters
    period = 60.0 / melody.tempo_bpm
    starts = np.cumsum([0.0] + [length for _, length in melody.events])
    breaths = [s for s in starts[1:-1] if (s - melody.pickup_quarters) % phrase == 0]

    def at(quarters: float) -> float:
        return 1.0 + period * (quarters + breath_beats * sum(quarters >= b for b in breaths))

    notes, written = [], []
    for (pitch, length), start in zip(melody.events, starts[:-1], strict=True):
        if pitch is None:
            continue
        end = at(start) + 0.9 * period * length
        if legato and start + length in breaths:
            end = at(start + length) - 0.03
        notes.append(PerformedNote(at(start), end, pitch))
        written.append((float(start), float(length)))
    return notes, written, melody


@pytest.mark.parametrize(("name", "legato"), [
    ("hymn_c_major", False), ("hymn_c_major", True), ("low_march_c_minor", False), ("low_march_c_minor", True),
    ("arpeggios_e_major", False), ("arpeggios_e_major", True), ("waltz_g_major", True)])
def test_a_breath_before_each_phrase_keeps_the_bars(name: str, legato: bool) -> None:
    """A pause of 0.6-0.9 of a beat before each phrase, the note before it stopped or held
    into it: the tracker gave the pause a beat of its own, shifting every bar after it
    (before: 0.54-0.96 of the notes right); now the beat is dropped and the bars after the
    breath are where they are written."""
    for breath in (0.6, 0.9):
        notes, written, melody = played(name, breath, legato)
        right, summary = written_share(notes, written)
        assert right == 1.0 and summary["time_signature"] == melody.time_signature, (breath, right)


@pytest.mark.parametrize("name", ["hymn_c_major", "song_bb_major", "lullaby_eb_major", "waltz_d_minor", "low_waltz_b_minor"])
def test_held_notes_without_a_breath_keep_their_length(name: str) -> None:
    """Steady performances, their half and dotted-half notes held to the next note or stopped
    early: the same held spans a breath's are, but the bars before and after them agree.
    (Without the phrase-start condition the lullaby read 4/4; without the bars' agreement
    it lost a beat played twice, test_ritardando's steady ending.)"""
    for legato in (False, True):
        notes, written, melody = played(name, 0.0, legato)
        right, summary = written_share(notes, written)
        assert right == 1.0 and summary["time_signature"] == melody.time_signature, (legato, right)


def test_a_breath_of_part_of_a_beat_keeps_the_jigs_bars() -> None:
    """A jig held into a pause of 0.9 of a quarter (0.6 of its dotted-quarter beat) before
    its second phrase: the tracker kept one phase for both and put the first phrase's
    beats on its eighths (0.52 of the notes right); now the breath takes that part of a beat."""
    for legato in (False, True):
        notes, written, melody = played("jig_e_minor", 0.9, legato)
        right, summary = written_share(notes, written)
        assert right == 1.0 and summary["time_signature"] == melody.time_signature, (legato, right)


def played_share(performance: humanised.Performance) -> tuple[float, str]:
    """The share of a performance's written notes notated right from its played notes, and the meter."""
    notes = [PerformedNote(on, off, midi, velocity) for on, off, midi, velocity in performance.played]
    right, summary = written_share(notes, [(float(t.start), float(t.duration)) for t in performance.truth])
    return right, summary["time_signature"]


@pytest.mark.parametrize("name", ["jig_e_minor", "waltz_d_minor"])
def test_humanised_breaths_keep_the_bars(name: str) -> None:
    """The bench's humanised performances with a breath before each phrase's downbeat (tempo
    drift, rubato, jitter; ``humanised.breathing``), notated from the played notes: before, the
    jig's first phrase sat an eighth off its beats (0.52 right) and the waltz read 4/4 (0.42); the
    waltz's phrases are too short to agree on their own downbeat, so after a silence a clearly
    better fit of the whole now drops the beat."""
    performance = next(p for p in humanised.HUMANISED if p.name == name)
    right, meter = played_share(humanised.breathing(performance, before_pickup=False))
    assert right >= 0.95 and meter == performance.melody.time_signature, right


@pytest.mark.parametrize("name", ["waltz_g_major", "arpeggios_e_major"])
def test_a_long_take_breathing_before_every_phrase_keeps_the_bars(name: str) -> None:
    """A melody played through five times, breathing before every phrase: the tracker gave many
    breaths a beat of its own, and slips were repaired one at a time, three in all, so from the
    fourth on each breath shifted every bar after it by one more beat (0.25 and 0.38 of the
    notes right); each repair pass now repairs every slip the meter's phase finds."""
    performance = next(p for p in humanised.long_takes() if p.melody.name == f"{name}_x{humanised.LONG_TAKE_TIMES}")
    right, meter = played_share(humanised.breathing(performance))
    assert right >= 0.9 and meter == performance.melody.time_signature, right


@pytest.mark.parametrize("name", ["hymn_c_major", "low_waltz_b_minor"])
def test_each_breath_of_a_long_take_is_judged_before_the_breaths_after_it(name: str) -> None:
    """The same: the bars after a breath were judged with the breaths after them still holding
    their extra beats, so none fitted the meter better (0.13 of the hymn right; the waltz read
    4/4, 0.10); a breath is now judged on the notes up to the next silence a phrase on."""
    performance = next(p for p in humanised.long_takes() if p.melody.name == f"{name}_x{humanised.LONG_TAKE_TIMES}")
    right, meter = played_share(humanised.breathing(performance))
    assert right >= 0.95 and meter == performance.melody.time_signature, right


@pytest.mark.parametrize("name", ["swing_f_major", "triplets_g_major", "run_c_major", "minuet_a_minor"])
def test_breaths_where_the_tracker_gained_a_beat_at_every_one_are_taken_out_together(name: str) -> None:
    """A long take breathing before every phrase, the tracker gaining a beat at (nearly) every
    breath: judged one at a time, each breath's window held the others' beats still in, no one
    breath taken out fitted the meter better, and each phrase sat a beat later in the bar (0.20,
    0.59, 0.60 and 0.80 of the notes right); judged together they are all taken out."""
    performance = next(p for p in humanised.long_takes() if p.melody.name == f"{name}_x{humanised.LONG_TAKE_TIMES}")
    right, meter = played_share(humanised.breathing(performance))
    assert right >= 0.9 and meter == performance.melody.time_signature, right


@pytest.mark.parametrize("seed", [1022, 2222])
def test_a_breath_before_a_pickup_keeps_the_bars(seed: int) -> None:
    """A jig breathed before each phrase's one-note pickup (the bench's humanised take and a
    re-performed one): the tracker put the first phrase two eighths off its beats, where its
    quarter-eighth figures notate as simply as eighth-quarter ones, and 0.45-0.48 of the notes
    were right; now the breath may take those two eighths, as a jig's long notes are on its beats."""
    melody = next(m for m in humanised.CORPUS_MELODIES if m.name == "jig_g_major")
    right, meter = played_share(humanised.breathing(humanised.perform(melody, seed=seed)))
    assert right >= 0.9 and meter == "6/8", right


@pytest.mark.parametrize("name", ["jig_e_minor", "song_bb_major"])
def test_a_clear_breath_is_marked_after_its_note(name: str) -> None:
    """The bench's humanised take breathing before its second phrase gets a breath mark after
    the note before the breath and nowhere else; the same take without breaths gets none."""
    performance = next(p for p in humanised.HUMANISED if p.name == name)
    breathing = humanised.breathing(performance)
    for take in (performance, breathing):
        notes = [PerformedNote(on, off, midi, velocity) for on, off, midi, velocity in take.played]
        _, quantised, _ = notate_rhythm(notes)
        assert len(quantised) == len(take.truth)
        late = [b.onset_s - a.onset_s for a, b in zip(performance.truth, take.truth, strict=True)]
        before_breaths = [k - 1 for k in range(1, len(late)) if late[k] > late[k - 1]]
        assert [k for k, n in enumerate(quantised) if n.breath_after] == before_breaths
    assert before_breaths  # the breathing take has one


@pytest.mark.parametrize("shift", [0.25, 0.5, 1.0, 1.5])
def test_shifted_beats_move_only_one_side(shift: float) -> None:
    """``shifted_after`` takes ``shift`` beats out between two times: the times before keep their
    positions and the times after come that much earlier (to within the beats' own unevenness:
    a part of a beat is measured on other beats); ``shifted_before`` the other way round."""
    beats = 0.5 * np.arange(20) + 0.01 * np.sin(np.arange(20))
    start_s, end_s = beats[6], beats[9] + 0.1
    early, late = np.array([beats[2] + 0.1, start_s]), np.array([end_s, beats[12] + 0.2])
    after = shifted_after(beats, start_s, end_s, shift)
    assert after is not None
    assert np.allclose(positions_in_beats(early, after), positions_in_beats(early, beats))
    assert np.allclose(positions_in_beats(late, after), positions_in_beats(late, beats) - shift, atol=0.01)
    before = shifted_before(beats, start_s, end_s, shift)
    assert before is not None
    assert np.allclose(positions_in_beats(early, before), positions_in_beats(early, beats) + shift, atol=0.01)
    assert np.allclose(positions_in_beats(late, before), positions_in_beats(late, beats), atol=0.01)
    assert shifted_after(beats, start_s, end_s, 3.5) is None  # more than the span holds


def test_a_gained_beat_before_a_pickup_after_a_breath_comes_out(tmp_path: Path) -> None:
    """A jig (re-performed, seed 2122) breathing before its second phrase's eighth pickup,
    through audio and the pitch tracker: the tracker gave the breath a beat of its own, and the
    pickup, halfway between two beats, counted the breath's span from the beat before it, so
    the span looked unsqueezed and every bar after sat a beat late (0.45 of the notes right)."""
    melody = next(m for m in humanised.CORPUS_MELODIES if m.name == "jig_g_major")
    performance = humanised.breathing(humanised.perform(melody, seed=2122))
    notes = melody_notes(extract_file(humanised.render_performance(performance, tmp_path)))
    right, summary = written_share(notes, [(float(t.start), float(t.duration)) for t in performance.truth])
    assert right >= 0.9 and summary["time_signature"] == "6/8", right
