"""Building the music21 score: measures, ties, rests, clefs; MIDI and MusicXML export."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree

import music21
import pytest

from audioscore.notation.lilypond import score_to_lilypond
from audioscore.notation.rhythm import Grid, QuantisedNote, Rhythm
from audioscore.notation.score import ScoreSpec, build_score, choose_clef, summarise_score
from audioscore.notation.tonality import parse_key

FOUR_FOUR = Rhythm(beat_s=0.5, grid=Grid(compound=False), beats_per_bar=4, downbeat_s=0.0)
SIX_EIGHT = Rhythm(beat_s=0.75, grid=Grid(compound=True), beats_per_bar=2, downbeat_s=0.0)


def q(start: float, duration: float, midi: int) -> QuantisedNote:
    return QuantisedNote(Fraction(start), Fraction(duration), midi)


def test_notes_over_bar_lines_are_tied_and_gaps_are_rests() -> None:
    notes = [q(0, 1, 62), q(1, 1, 66), q(3, 2, 69), q(6, 1, 71), q(8, 4, 74)]  # a rest at beat 3 of bar 2
    score = build_score(notes, FOUR_FOUR, parse_key("D major"), ScoreSpec("t", "c"))
    measures = list(score.parts[0].getElementsByClass(music21.stream.Measure))
    assert len(measures) == 3
    assert all(m.duration.quarterLength == 4 for m in measures)
    tied = [n for n in score.recurse().notes if n.tie is not None]
    assert [(n.nameWithOctave, n.tie.type) for n in tied] == [("A4", "start"), ("A4", "stop")]
    assert score.recurse().getElementsByClass(music21.note.Rest)
    assert [n.nameWithOctave for n in score.recurse().notes] == ["D4", "F#4", "A4", "A4", "B4", "D5"]


def test_six_eight_and_summary() -> None:
    notes = [q(0, 1.5, 64), q(1.5, 1, 67), q(2.5, 0.5, 69), q(3, 3, 71)]
    key = parse_key("E minor")
    score = build_score(notes, SIX_EIGHT, key, ScoreSpec())
    summary = summarise_score(score, notes, SIX_EIGHT, key)
    assert summary["time_signature"] == "6/8" and summary["measures"] == 2
    assert summary["key"] == "E minor" and summary["tempo_bpm"] == pytest.approx(120.0)
    assert [(n["measure"], n["beat"], n["name"]) for n in summary["notes"]] == [
        (1, 0.0, "E4"), (1, 1.5, "G4"), (1, 2.5, "A4"), (2, 0.0, "B4")]
    mark = score.recurse().getElementsByClass(music21.tempo.MetronomeMark).first()
    assert mark.referent.quarterLength == 1.5 and mark.number == 80  # dotted quarter = 80


def test_a_chromatic_note_is_spelled_the_way_the_melody_moves_on_the_staff_and_in_score_json() -> None:
    """A saxophone's lower neighbour D, C#, D in B-flat major (a key-wise D-flat reads as a
    diminished step), a chromatic descent E, E-flat, D in C major, and a rising one."""
    for key, midis, names in [
        ("B- major", [62, 61, 62, 65], ["D4", "C#4", "D4", "F4"]),
        ("C major", [64, 63, 62, 60], ["E4", "E-4", "D4", "C4"]),
        ("C major", [65, 66, 67, 60], ["F4", "F#4", "G4", "C4"]),
        ("F major", [69, 70, 71, 72], ["A4", "B-4", "B4", "C5"]),  # B-flat is the key's: the B after it is natural
    ]:
        notes = [q(i, 1, m) for i, m in enumerate(midis)]
        score = build_score(notes, FOUR_FOUR, parse_key(key), ScoreSpec())
        assert [n.nameWithOctave for n in score.recurse().notes] == names, key
        summary = summarise_score(score, notes, FOUR_FOUR, parse_key(key))
        assert [n["name"] for n in summary["notes"]] == names, key


def test_a_chromatic_note_across_the_grand_staff_is_spelled_by_the_melody_not_by_its_staff() -> None:
    """C#/D-flat 4 on the treble staff, the melody falling from it to B3 on the bass staff and
    later rising to D4 on the treble: the melody's next note decides (D-flat), not the staff's."""
    midis = [40, 43, 47, 61, 59, 55, 62, 64, 72, 76]
    notes = [q(i, 1, m) for i, m in enumerate(midis)]
    score = build_score(notes, FOUR_FOUR, parse_key("C major"), ScoreSpec())
    upper, _ = score.parts
    assert [n.nameWithOctave for n in upper.recurse().notes][0] == "D-4"
    summary = summarise_score(score, notes, FOUR_FOUR, parse_key("C major"))
    assert summary["notes"][3]["name"] == "D-4"


@pytest.mark.parametrize(
    ("midis", "clef"),
    [([67, 72, 76, 79], "treble"), ([40, 45, 48, 52], "bass"), ([40, 43, 47, 72, 76, 79, 81], "grand"),
     ([84, 88, 91, 96, 93], "treble^8"), ([28, 31, 33, 36, 40], "bass_8"), ([74, 79, 84, 88], "treble")],
)
def test_clef_from_range(midis: list[int], clef: str) -> None:
    assert choose_clef(midis) == clef


def test_grand_staff_splits_at_middle_c() -> None:
    notes = [q(i, 1, m) for i, m in enumerate([40, 43, 47, 52, 64, 72, 76, 79])]
    score = build_score(notes, FOUR_FOUR, parse_key("E minor"), ScoreSpec())
    upper, lower = score.parts
    assert all(n.pitch.midi >= 60 for n in upper.recurse().notes)
    assert all(n.pitch.midi < 60 for n in lower.recurse().notes)
    assert len(upper.getElementsByClass(music21.stream.Measure)) == len(lower.getElementsByClass(music21.stream.Measure))


def test_midi_and_musicxml_round_trip(tmp_path: Path) -> None:
    notes = [q(0, 1, 60), q(1, 0.5, 62), q(1.5, 0.5, 64), q(2, 2, 65), q(4, 4, 67)]
    score = build_score(notes, FOUR_FOUR, parse_key("C major"), ScoreSpec("Round trip"))
    score.write("musicxml", fp=tmp_path / "s.musicxml")
    score.write("midi", fp=tmp_path / "s.mid")
    parsed = music21.converter.parse(tmp_path / "s.musicxml")
    assert [n.pitch.midi for n in parsed.recurse().notes] == [60, 62, 64, 65, 67]
    xml = (tmp_path / "s.musicxml").read_text()
    assert "<work-title>Round trip</work-title>" in xml
    # The metronome mark stands above the staff (MuseScore puts a direction without a placement below).
    marks = [d for d in ElementTree.fromstring(xml.encode()).iter("direction") if d.find("direction-type/metronome") is not None]
    assert [d.get("placement") for d in marks] == ["above"]
    midi = music21.converter.parse(tmp_path / "s.mid")
    assert [n.pitch.midi for n in midi.recurse().notes] == [60, 62, 64, 65, 67]


def test_no_notes_is_an_error() -> None:
    with pytest.raises(ValueError, match="no notes"):
        build_score([], FOUR_FOUR, parse_key("C"), ScoreSpec())


def test_a_breath_is_a_comma_after_the_whole_note_in_every_format(tmp_path: Path) -> None:
    """A breath after a note held over a bar line is marked on its last tied piece (the comma
    comes after the sound), as a MusicXML breath-mark and a LilyPond \\breathe; other notes get none."""
    notes = [q(0, 1, 60), q(1, 1, 62), q(2, 3, 64), q(5, 1, 65), q(6, 2, 67)]
    notes[2] = QuantisedNote(Fraction(2), Fraction(3), 64, breath_after=True)  # E4 from beat 3 over the bar line
    score = build_score(notes, FOUR_FOUR, parse_key("C major"), ScoreSpec("Breath"))
    marked = [(n.nameWithOctave, n.tie.type if n.tie else None) for n in score.recurse().notes
              if any(isinstance(a, music21.articulations.BreathMark) for a in n.articulations)]
    assert marked == [("E4", "stop")]
    score.write("musicxml", fp=tmp_path / "s.musicxml")
    xml = ElementTree.fromstring((tmp_path / "s.musicxml").read_bytes())
    with_breath = [n for n in xml.iter("note") if n.find("notations/articulations/breath-mark") is not None]
    assert [(n.findtext("pitch/step"), n.find("tie").get("type")) for n in with_breath] == [("E", "stop")]
    source = score_to_lilypond(score)
    assert source.count("\\breathe") == 1 and "e'4 \\breathe f'4" in source
