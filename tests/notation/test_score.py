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


def _written(score: music21.stream.Score) -> list[tuple[str, float, str | None]]:
    return [(n.nameWithOctave, float(n.quarterLength), n.tie.type if n.tie else None) for n in score.recurse().notes]


def test_a_note_is_tied_at_the_beats_a_reader_counts(tmp_path: Path) -> None:
    # The real sax phrase's bar: an E-flat from the last sixteenth of beat 1 to the middle of
    # beat 3 was one double-dotted quarter, hiding beats 2 and 3; then a D from the last
    # sixteenth of beat 2 over the middle of the bar, tied on beat 3's last sixteenth.
    notes = [q(0, 0.75, 74), q(0.75, 1.75, 75), q(2.5, 0.5, 71), q(3, 1, 72),
             q(4, 0.75, 72), q(4.75, 0.25, 71), q(5, 0.75, 72), q(5.75, 1.25, 74), q(7, 1, 69)]
    score = build_score(notes, FOUR_FOUR, parse_key("B- major"), ScoreSpec())
    assert _written(score) == [
        ("D5", 0.75, None), ("E-5", 0.25, "start"), ("E-5", 1.0, "continue"), ("E-5", 0.5, "stop"), ("B4", 0.5, None),
        ("C5", 1.0, None), ("C5", 0.75, None), ("B4", 0.25, None), ("C5", 0.75, None), ("D5", 0.25, "start"),
        ("D5", 1.0, "stop"), ("A4", 1.0, None)]
    score.write("midi", fp=tmp_path / "s.mid")  # a tied note sounds once, for its whole length
    played = [(n.pitch.midi, float(n.quarterLength)) for n in music21.converter.parse(tmp_path / "s.mid").recurse().notes]
    assert played[1] == (75, 1.75) and played[-2] == (74, 1.25) and len(played) == len(notes)


def test_a_chromatic_note_tied_over_beats_shows_its_accidental_once(tmp_path: Path) -> None:
    # C# from the last sixteenth of beat 1 to the middle of beat 3 (three tied pieces), and
    # again in the next bar: a sharp on its first piece and on the next bar's, none between.
    notes = [q(0, 0.75, 60), q(0.75, 1.75, 61), q(2.5, 1.5, 62), q(4, 4, 61)]
    score = build_score(notes, FOUR_FOUR, parse_key("C major"), ScoreSpec())
    score.write("musicxml", fp=tmp_path / "s.musicxml")
    accidentals = [a.text for a in ElementTree.parse(tmp_path / "s.musicxml").iter("accidental")]
    assert accidentals == ["sharp", "sharp"]


@pytest.mark.parametrize(("rhythm", "durations", "written"), [
    (FOUR_FOUR, [0.5, 1, 0.5, 2], [0.5, 1, 0.5, 2]),      # eighth-quarter-eighth: the quarter over beat 2
    (FOUR_FOUR, [1, 2, 1], [1, 2, 1]),                    # quarter-half-quarter: the half over the middle
    (FOUR_FOUR, [1.5, 0.5, 2], [1.5, 0.5, 2]),            # a dotted quarter from the downbeat
    (FOUR_FOUR, [0.5, 1.5, 2], [0.5, 1.5, 2]),            # eighth-dotted quarter, to the middle
    (FOUR_FOUR, [1, 1.5, 1.5], [1, 1, 0.5, 1.5]),         # a dotted quarter over the middle, tied there
    (FOUR_FOUR, [1.75, 0.25, 2], [1, 0.75, 0.25, 2]),     # a quarter tied to a dotted eighth, not 4..
    (SIX_EIGHT, [0.5, 1, 1.5], [0.5, 1, 1.5]),            # 6/8's eighth-quarter within a beat
    (SIX_EIGHT, [1, 1, 1], [1, 0.5, 0.5, 1]),             # a quarter over 6/8's second beat, tied at it
])
def test_syncopations_readers_know_stay_whole_and_others_are_tied_at_the_beat(
        rhythm: Rhythm, durations: list[float], written: list[float]) -> None:
    starts = [sum(durations[:k]) for k in range(len(durations))]
    notes = [q(start, length, 60 + 2 * k) for k, (start, length) in enumerate(zip(starts, durations, strict=True))]
    score = build_score(notes, rhythm, parse_key("C major"), ScoreSpec())
    assert [length for _, length, _ in _written(score)] == written


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
