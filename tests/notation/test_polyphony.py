"""Polyphonic notation: chords, voices, hands, the guitar staff, and the files that carry them.

Notes come from ``tests/support/polyphonic.py`` (pieces of known notation performed with chord
spreads, pedal, let-ring and a transcriber's noise) or are written here; no audio, no LilyPond
(``test_notation_checks.py`` compiles and opens polyphonic scores too).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import humanised
import polyphonic
import pytest
from music21 import chord, clef, converter, stream

from audioscore.notation.poly_score import build_poly_score
from audioscore.notation.polyphony import PolyNote, is_polyphonic
from audioscore.notation.rhythm import Grid, PerformedNote, Rhythm
from audioscore.notation.score import ScoreSpec
from audioscore.notation.tonality import parse_key
from audioscore.notation.transcription import TranscribeOptions, _notate


def _summary(notes: list[PerformedNote], instrument: str | None = None) -> dict:
    return _notate(notes, TranscribeOptions(instrument=instrument))[1]


def _block_chords(spread_s: float = 0.03) -> list[PerformedNote]:
    """Four bars of C-F-G-C triads in quarters at 100 bpm, chord notes spread and ending unevenly."""
    triads = [(60, 64, 67), (60, 65, 69), (59, 62, 67), (60, 64, 67)]
    notes = []
    for beat in range(16):
        t = 0.5 + beat * 0.6
        for k, midi in enumerate(triads[beat // 4]):
            notes.append(PerformedNote(t + spread_s * k / 2, t + 0.55 - 0.02 * k, midi, 70 + 5 * k))
    return notes


def test_notes_struck_together_are_one_chord_counted_once_for_tempo() -> None:
    summary = _summary(_block_chords())
    chords = {n["chord"] for n in summary["notes"]}
    assert None not in chords and len(chords) == 16  # every note in a chord, one chord per beat
    assert abs(summary["tempo_bpm"] - 100) < 4  # three onsets per beat would look like 300 bpm
    for chord_id in chords:
        members = [n for n in summary["notes"] if n["chord"] == chord_id]
        assert len(members) == 3
        assert len({(n["start_quarters"], n["duration_quarters"]) for n in members}) == 1
    assert summary["polyphonic"] is True and summary["time_signature"] == "4/4"


def test_a_syncopated_chord_is_tied_at_the_beats() -> None:
    # A chord from the last sixteenth of beat 1 to the middle of beat 3: tied on beats 2 and 3,
    # as the melody's notes are (test_score), not one double-dotted quarter chord.
    four_four = Rhythm(beat_s=0.5, grid=Grid(compound=False), beats_per_bar=4, downbeat_s=0.0)
    notes = [PolyNote(Fraction(0), Fraction(3, 4), 72)]
    notes += [PolyNote(Fraction(3, 4), Fraction(7, 4), midi) for midi in (64, 67, 72)]
    notes += [PolyNote(Fraction(5, 2), Fraction(3, 2), 71)]
    score = build_poly_score(notes, four_four, parse_key("C major"), ScoreSpec(), "treble")
    written = [(len(n.pitches), float(n.quarterLength), n.tie.type if n.tie else None) for n in score.recurse().notes]
    assert written == [(1, 0.75, None), (3, 0.25, "start"), (3, 1.0, "continue"), (3, 0.5, "stop"), (1, 1.5, None)]


def test_a_held_note_under_a_moving_line_is_a_second_voice() -> None:
    # Bass half notes held (no pedal) under quarter notes a sixth above, in one staff.
    notes = []
    for bar in range(4):
        t = 0.5 + bar * 2.4
        notes.append(PerformedNote(t, t + 1.15, 48, 70))
        notes.append(PerformedNote(t + 1.2, t + 2.35, 43, 70))
        for beat, midi in enumerate((57, 59, 60, 62)):
            notes.append(PerformedNote(t + beat * 0.6 + 0.01, t + beat * 0.6 + 0.57, midi, 80))
    summary = _summary(notes, "guitar")
    bass = [n for n in summary["notes"] if n["midi"] in (43, 48)]
    upper = [n for n in summary["notes"] if n["midi"] >= 57]
    assert {n["voice"] for n in bass} == {2} and {n["voice"] for n in upper} == {1}
    assert {n["duration_quarters"] for n in bass} == {2.0} and {n["duration_quarters"] for n in upper} == {1.0}


def test_pedalled_broken_chords_are_cut_to_one_voice_of_eighths() -> None:
    piece = polyphonic.by_name("broken_chords_d_major")
    summary = _summary(list(polyphonic.perform(piece, seed=0).played), "piano")
    left = [n for n in summary["notes"] if n["staff"] == 2]
    assert len(left) >= 40
    assert sum(n["voice"] == 1 for n in left) / len(left) > 0.9
    assert sum(n["duration_quarters"] == 0.5 for n in left) / len(left) > 0.9
    assert summary["time_signature"] == "3/4" and summary["key"] == "D major"


@pytest.mark.parametrize("name", ["two_hands_a_minor", "broken_chords_d_major"])
def test_the_hand_split_follows_the_passage_not_middle_c(name: str) -> None:
    piece = polyphonic.by_name(name)
    summary = _summary(list(polyphonic.perform(piece, seed=0, noise=False).played), "piano")
    staff_of = {(round(n["onset_s"], 1), n["midi"]): n["staff"] for n in summary["notes"]}
    right = wrong = crossing = 0
    performance = polyphonic.perform(piece, seed=0, noise=False)
    for played, index in zip(performance.played, performance.truth_index, strict=True):
        written = piece.notes[index]
        staff = next((s for (t, m), s in staff_of.items() if m == played.midi and abs(t - played.onset) < 0.25), None)
        right += staff == written.staff
        wrong += staff != written.staff
        crossing += staff == written.staff and (written.midi >= 60) != (written.staff == 1)
    assert right / (right + wrong) >= 0.9
    assert crossing >= 3  # notes a split at middle C would have put in the other hand


def test_guitar_is_one_treble_8_staff() -> None:
    piece = polyphonic.by_name("strum_e_minor")
    score, summary = _notate(list(polyphonic.perform(piece, seed=0).played), TranscribeOptions(instrument="guitar"))
    assert summary["clef"] == "treble_8" and summary["staves"] == 1
    assert isinstance(score.parts[0].recurse().getElementsByClass(clef.Clef).first(), clef.Treble8vbClef)
    assert min(n["midi"] for n in summary["notes"]) == 40  # sounding pitch kept: low E


@pytest.fixture(scope="module")
def piano_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    piece = polyphonic.by_name("chorale_g_major")
    score, summary = _notate(list(polyphonic.perform(piece, seed=0).played), TranscribeOptions(instrument="piano"))
    out = tmp_path_factory.mktemp("poly")
    score.write("musicxml", fp=str(out / "score.musicxml"))
    score.write("midi", fp=str(out / "score.mid"))
    return out / "score.musicxml", out / "score.mid", summary


def test_musicxml_round_trips_with_two_staves_chords_and_voices(piano_files) -> None:
    xml, _, summary = piano_files
    parsed = converter.parse(str(xml))
    assert len(parsed.parts) == 2 and summary["clef"] == "grand"
    chords = list(parsed.recurse().getElementsByClass(chord.Chord))
    assert len(chords) >= len({n["chord"] for n in summary["notes"] if n["chord"] is not None}) * 0.9
    assert any(m.hasVoices() for part in parsed.parts for m in part.getElementsByClass(stream.Measure))
    written = sum(len(c.pitches) for c in chords) + len(list(parsed.recurse().getElementsByClass("Note")))
    assert written >= len(summary["notes"])  # ties may split a note, none is lost


def test_midi_carries_the_performed_velocities(piano_files) -> None:
    _, midi, summary = piano_files
    parsed = converter.parse(str(midi))
    velocities = [n.volume.velocity for n in parsed.recurse().notes for n in (n.notes if n.isChord else [n])]
    assert len(set(velocities)) > 5
    assert sorted(set(velocities)) == sorted({n["velocity"] for n in summary["notes"]})


def test_melodies_take_the_melody_path() -> None:
    """Every humanised melody (legato overlaps, jitter) is a melody: today's score, no polyphony fields."""
    for performance in humanised.HUMANISED:
        notes = [PerformedNote(on, off, midi) for on, off, midi, _ in performance.played]
        assert not is_polyphonic(notes), performance.name
    summary = _summary([PerformedNote(on, off, midi) for on, off, midi, _ in humanised.HUMANISED[0].played])
    assert "staff" not in summary["notes"][0] and "polyphonic" not in summary


def test_piano_melody_is_a_grand_staff_with_an_empty_left_hand() -> None:
    notes = [PerformedNote(0.5 + 0.5 * k, 0.95 + 0.5 * k, midi) for k, midi in enumerate([72, 74, 76, 77, 79, 77, 76, 74])]
    summary = _summary(notes, "piano")
    assert summary["clef"] == "grand" and summary["staves"] == 2
    assert {n["staff"] for n in summary["notes"]} == {1}


def test_chords_of_one_pitch_class_are_in_its_own_major_key_as_a_melody_is() -> None:
    """A drone in octaves: nothing to estimate a key from, so the pitch's own major key (the
    melody path's rule), not a minor key with five flats for a C."""
    for pitch_class, key in ((0, "C major"), (3, "E- major"), (6, "F# major")):
        octaves = [PerformedNote(0.5 + 0.5 * i, 1.4 + 0.5 * i, midi + pitch_class, 70)
                   for i in range(16) for midi in (36, 48, 60)]
        summary = _summary(octaves, "piano")
        assert summary["polyphonic"] and summary["key"] == key
        assert {n["name"][:-1] for n in summary["notes"]} == {key.split()[0]}


def _repeated_chords(per_bar: int) -> list[PerformedNote]:
    """Block chords a beat apart at 120 bpm, all alike in loudness and length, the harmony
    changing every ``per_bar`` beats: only the chord changes say where the bars are."""
    progression = [(50, 57, 62, 65), (46, 53, 62, 65), (43, 50, 62, 67), (45, 52, 61, 64)] * 2
    return [PerformedNote(0.5 + 0.5 * (per_bar * bar + beat), 0.5 + 0.5 * (per_bar * bar + beat) + 0.4, midi, 70)
            for bar, chord_ in enumerate(progression) for beat in range(per_bar) for midi in chord_]


@pytest.mark.parametrize("per_bar, signature", [(3, "3/4"), (4, "4/4")])
def test_bars_follow_the_chord_changes_of_repeated_block_chords(per_bar: int, signature: str) -> None:
    summary = _summary(_repeated_chords(per_bar), "piano")
    assert summary["time_signature"] == signature
    bass: dict[float, tuple[int, float]] = {}
    for n in summary["notes"]:
        bass[n["start_quarters"]] = min(bass.get(n["start_quarters"], (127, 0.0)), (n["midi"], n["beat"]))
    lows = [bass[start] for start in sorted(bass)]
    changes = [beat for (before, _), (midi, beat) in zip(lows, lows[1:]) if midi != before]
    assert len(changes) == 7 and set(changes) == {0.0}  # every change of harmony on a downbeat
