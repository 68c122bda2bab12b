"""Tempo-change marks (``audioscore.notation.tempo_marks``) in scores of performed notes:
written where the tempo moves by more than 15 % for at least two bars, never for rubato; a
sudden lasting change is a new section of beats at its own tempo (``notation.sections``)."""

from __future__ import annotations

import humanised
import numpy as np
import pytest
from music21 import tempo
from tracked_notes import melody_notes

from audioscore.analysis.features import extract_file
from audioscore.notation import transcription
from audioscore.notation.lilypond import score_to_lilypond
from audioscore.notation.rhythm import PerformedNote

# A plain 4/4 tune (a half note on each downbeat, a quarter, two eighths) played at
# 100 bpm for 6 bars, 72 bpm for 6, then 100 again for 4, and a final whole note.
BAR = (0.0, 2.0, 3.0, 3.5)  # onsets in quarters
PITCHES = (60, 62, 64, 65, 67, 69, 71, 72)


def performance(sections: list[tuple[int, float]]) -> list[PerformedNote]:
    notes, t, k = [], 1.0, 0
    for bars, bpm in sections:
        quarter = 60.0 / bpm
        for _ in range(bars):
            starts = [t + q * quarter for q in BAR] + [t + 4 * quarter]
            for a, b in zip(starts[:-1], starts[1:], strict=True):
                notes.append(PerformedNote(a, b - 0.05, PITCHES[k % len(PITCHES)]))
                k += 1
            t += 4 * quarter
    notes.append(PerformedNote(t, t + 3.0, 60))  # a final whole note
    return notes


def marks(notes: list[PerformedNote]) -> tuple[list[tuple[float, int, str | None]], dict]:
    score, summary = transcription._notate(notes, transcription.TranscribeOptions())
    found = [(float(m.getOffsetInHierarchy(score)), round(m.number), None if m.textImplicit else m.text)
             for m in score.recurse().getElementsByClass(tempo.MetronomeMark)]
    return sorted(found), summary


def test_a_lasting_change_gets_a_mark_and_its_return_a_tempo():
    found, summary = marks(performance([(6, 100.0), (6, 72.0), (4, 100.0)]))
    assert summary["time_signature"] == "4/4"
    assert [(number, text) for _, number, text in found] == [(100, None), (72, None), (100, "a tempo")]
    # At the bar lines where the performance changed (the 25th and the 49th notes): the
    # beat the tracker gained in the first slow half note is repaired, so no bar moves.
    starts = [n["start_quarters"] for n in summary["notes"]]
    assert found[1][0] == starts[24] == 24 and found[2][0] == starts[48] == 48
    # The curve in score.json shows the slower middle.
    curve = np.array(summary["tempo_curve"])
    middle = (curve[:, 0] > 1.0 + 6 * 2.4 + 2.0) & (curve[:, 0] < 1.0 + 6 * 2.4 + 6 * 3.33 - 4.0)
    assert np.allclose(curve[middle, 1], 72, rtol=0.05)


def test_drift_and_rubato_get_no_new_mark():
    # Humanised performances drift by up to 10 % and slow by 15-30 % over phrase ends.
    for name in ("hymn_c_major", "tune_a_minor", "waltz_g_major"):
        perf = next(p for p in humanised.HUMANISED if p.name == name)
        notes = [PerformedNote(on, off, midi) for on, off, midi, _ in perf.played]
        found, _ = marks(notes)
        assert len(found) == 1, (name, found)


def test_a_slow_introduction_is_the_opening_mark_not_a_second_one():
    """Four bars at 72 before the main tempo of 100: one mark at the start (72; two marks at one
    moment are a LilyPond warning and one of them is dropped), then 100, which is no "a tempo"."""
    score, summary = transcription._notate(performance([(4, 72.0), (12, 100.0)]), transcription.TranscribeOptions())
    found = [(float(m.getOffsetInHierarchy(score)), round(m.number), None if m.textImplicit else m.text)
             for m in score.recurse().getElementsByClass(tempo.MetronomeMark)]
    # The intro's tempo octave is the beat tracker's to choose (72, or 144 with its values doubled);
    # the second mark comes where the tune sped up, and it is no return.
    (start, opening, text), (change_at, change, change_text) = sorted(found)
    assert (start, text) == (0.0, None) and opening in (72, 144)
    assert (change_at, change, change_text) == ({72: 16.0, 144: 32.0}[opening], 100, None)
    assert round(summary["tempo_bpm"]) == 100  # score.json's tempo stays the main one
    assert score_to_lilypond(score).count("\\tempo") == 2


@pytest.mark.parametrize("first, second", [(100.0, 140.0), (120.0, 75.0), (90.0, 120.0), (132.0, 100.0), (80.0, 120.0),
                                           (60.0, 120.0)])
def test_a_sudden_lasting_change_is_a_second_section_in_the_same_meter(first: float, second: float):
    """Eight bars at one tempo, eight at another. One tempo for both read 100 -> 140 as 6/8 at
    dotted quarter = 93 (140's dotted quarter is 100's quarter give or take 7 %), 120 -> 75 as
    60 then 75 with the first half in eighths, and 60 -> 120 as 120 with the first half's
    values doubled."""
    notes = performance([(8, first), (8, second)])
    found, summary = marks(notes)
    assert summary["time_signature"] == "4/4"
    assert [(at, number, text) for at, number, text in found] == [(0.0, round(first), None), (32.0, round(second), None)]
    assert summary["tempo_marks"] == [{"measure": 1, "bpm": round(first), "a_tempo": False},
                                      {"measure": 9, "bpm": round(second), "a_tempo": False}]
    assert abs(summary["tempo_bpm"] / first - 1.0) < 0.02  # the opening tempo, as marked
    written = [quarter + 4 * bar for bar in range(16) for quarter in BAR] + [64.0]
    assert [n["start_quarters"] for n in summary["notes"]] == written


def test_a_faster_second_verse_played_by_a_person_is_marked_where_it_came(tmp_path):
    """A song played twice through, the second time 1.3 times as fast, with drift, rubato and
    jitter, rendered and tracked: the change is marked within a bar of where it came, at the
    tempo played there."""
    performance = next(p for p in humanised.tempo_changed() if p.name == "song_bb_major_twice")
    features = extract_file(humanised.render_performance(performance, tmp_path))
    _, summary = transcription._notate(melody_notes(features), transcription.TranscribeOptions())
    at, factor = performance.tempo_change
    (opening, change) = summary["tempo_marks"]
    assert summary["time_signature"] == "4/4"
    assert abs(opening["bpm"] / performance.mean_tempo_bpm - 1.0) < 0.04
    assert abs((change["measure"] - 1) * 4 - at) <= 4
    assert abs(change["bpm"] / (performance.melody.tempo_bpm * factor) - 1.0) < 0.08


def test_a_note_held_into_a_slower_section_keeps_its_beats(tmp_path):
    """The minuet played twice, the second time at 0.75 of the tempo: its first time ends on a
    dotted half slowed by the phrase's ritardando (1.6 s, three beats of the old tempo, two of
    the new). Changing tempo at that note's onset lost a beat there and the first half's bar
    lines moved (before: 0.48 of the notes in place); the change comes after it."""
    performance = next(p for p in humanised.tempo_changed() if p.name == "minuet_a_minor_twice")
    features = extract_file(humanised.render_performance(performance, tmp_path))
    _, summary = transcription._notate(melody_notes(features), transcription.TranscribeOptions())
    found = summary["notes"]
    first = found[0]["start_quarters"]
    in_place = 0
    for truth in performance.truth:
        note = min(found, key=lambda n: abs(n["onset_s"] - truth.onset_s))
        in_place += abs(note["onset_s"] - truth.onset_s) < 0.1 and note["start_quarters"] - first == float(truth.start)
    assert in_place >= 0.95 * len(performance.truth), (in_place, len(performance.truth))
    assert [mark["measure"] for mark in summary["tempo_marks"]] == [1, 9]


def test_a_piano_part_marks_its_tempo_changes_too():
    """The same 100 -> 72 -> 100 tune with a chord under every half note, notated as piano: the
    grand staff carries the marks the melody's staff does (before: the opening mark only)."""
    melody = performance([(6, 100.0), (6, 72.0), (4, 100.0)])
    notes = list(melody) + [PerformedNote(n.onset, n.offset, low) for n in melody[::4] for low in (48, 52)]
    score, summary = transcription._notate_polyphony(sorted(notes, key=lambda n: (n.onset, n.midi)),
                                                    transcription.TranscribeOptions())
    assert summary["polyphonic"] and summary["staves"] == 2
    assert summary["tempo_marks"] == [{"measure": 1, "bpm": 100, "a_tempo": False},
                                      {"measure": 7, "bpm": 72, "a_tempo": False},
                                      {"measure": 13, "bpm": 100, "a_tempo": True}]
    assert score_to_lilypond(score).count("\\tempo") == 3


def test_a_final_ritardando_is_written_rit_not_a_new_tempo():
    """The last four bars slowing bar by bar to 60 % (as a piece's end is played): a reader
    marks "rit." where it begins, not a new metronome mark (written as one before), and a
    last section at a new steady tempo keeps its mark."""
    score, summary = transcription._notate(performance([(12, 100.0), (1, 90.0), (1, 80.0), (1, 70.0), (1, 60.0)]),
                                           transcription.TranscribeOptions())
    assert [mark["bpm"] for mark in summary["tempo_marks"]] == [100]
    assert summary["tempo_words"] == [{"measure": 13, "text": "rit."}]
    assert '\\mark \\markup \\italic "rit."' in score_to_lilypond(score)
    _, steady = transcription._notate(performance([(10, 100.0), (6, 72.0)]), transcription.TranscribeOptions())
    assert [mark["bpm"] for mark in steady["tempo_marks"]] == [100, 72] and steady["tempo_words"] == []


def test_a_final_ritardando_over_chords_is_written_rit():
    """The same ending played with a left hand of fifths: the piano score writes it alike."""
    melody = performance([(12, 100.0), (1, 90.0), (1, 80.0), (1, 70.0), (1, 60.0)])
    chords = sorted([PerformedNote(n.onset, n.offset, n.midi + 12, 80) for n in melody]
                    + [PerformedNote(n.onset, n.offset, low, 60) for n in melody for low in (48, 55)], key=lambda n: n.onset)
    score, summary = transcription._notate(chords, transcription.TranscribeOptions(instrument="piano"))
    assert summary["polyphonic"] and [mark["bpm"] for mark in summary["tempo_marks"]] == [100]
    assert summary["tempo_words"] == [{"measure": 13, "text": "rit."}]
    assert '\\mark \\markup \\italic "rit."' in score_to_lilypond(score)
