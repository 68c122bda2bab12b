"""Scores from performed notes: always a score for a melody however short, and every
score opens in MuseScore and compiles in LilyPond without warnings.

Notes come straight from the corpora (no audio): the exact score corpus, humanised
performances (tempo drift, rubato, jitter; ``tests/humanised.py``) as played, and polyphonic
performances with a transcriber's noise (``tests/support/polyphonic.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import humanised
import polyphonic
import pretty_midi
import pytest
import score_corpus as sc

from audioscore.errors import InputError
from audioscore.notation.lilypond import render_lilypond, score_to_lilypond
from audioscore.notation.rhythm import PerformedNote
from audioscore.notation.score import MAX_NOTE_BARS
from audioscore.notation.transcription import TranscribeOptions, _notate, _write_with_music21

MUSESCORE = next((shutil.which(name) for name in ("mscore3", "musescore3", "mscore") if shutil.which(name)), None)


def _exact(name: str) -> list[PerformedNote]:
    return [PerformedNote(on, off, midi) for on, off, midi in sc.by_name(name).melody().notes]


def _performed(name: str) -> list[PerformedNote]:
    performance = next(p for p in (*humanised.HUMANISED, *humanised.HELD_OUT_MODAL) if p.name == name)
    return [PerformedNote(on, off, midi) for on, off, midi, _ in performance.played]


def _breathing(name: str) -> list[PerformedNote]:
    performance = humanised.breathing(next(p for p in humanised.HUMANISED if p.name == name))
    return [PerformedNote(on, off, midi) for on, off, midi, _ in performance.played]


CASES = {
    "exact-jig_d_major": lambda: _exact("jig_d_major"),
    "exact-arpeggios_e_major": lambda: _exact("arpeggios_e_major"),
    "humanised-waltz_d_minor": lambda: _performed("waltz_d_minor"),
    "humanised-triplets_g_major": lambda: _performed("triplets_g_major"),
    "humanised-siciliano_f_sharp_minor": lambda: _performed("siciliano_f_sharp_minor"),
    "humanised-swing_f_major": lambda: _performed("swing_f_major"),  # a "Swing" mark with the tempo
    "humanised-dorian_air_d": lambda: _performed("dorian_air_d"),  # a mode: D dorian, no key signature
    "breathing-jig_e_minor": lambda: _breathing("jig_e_minor"),  # a breath mark
    "one-note": lambda: [PerformedNote(0.5, 2.1, 69)],
    "two-notes": lambda: [PerformedNote(0.2, 0.7, 60), PerformedNote(0.75, 1.9, 67)],
    "drone": lambda: [PerformedNote(0.0, 12.0, 50)],
    # A whistle line C6-C7 and a contrabass line around C1-C2: octave clefs, not five ledger lines.
    "whistle": lambda: [PerformedNote(0.3 * k, 0.3 * k + 0.27, m) for k, m in enumerate([84, 88, 91, 96, 95, 91, 88, 84] * 2)],
    "contrabass": lambda: [PerformedNote(0.5 * k, 0.5 * k + 0.45, m) for k, m in enumerate([24, 28, 31, 36, 35, 31, 28, 24] * 2)],
    "minute-drone": lambda: [PerformedNote(0.5, 60.5, 50)],  # held past MAX_NOTE_BARS: bars left out, marked
    # Melody instruments named by the user: the clefs their players read (INSTRUMENT_CLEFS).
    "cello-high": lambda: _line([64, 65, 67, 69, 67, 65, 68, 64]),  # E4-A4: tenor clef
    "cello-low": lambda: _line([36, 43, 48, 52, 55, 52, 48, 43]),  # C2-G3: bass clef
    "viola": lambda: _line([48, 55, 60, 64, 62, 59, 55, 52]),  # C3-E4: alto clef
    "tenor-voice": lambda: _line([50, 55, 59, 62, 67, 64, 60, 55]),  # D3-G4: treble clef an octave down
    "cello-wide": lambda: _line([36, 40, 43, 48, 55, 60, 64, 67, 69, 65, 57, 48]),  # C2-A4: one staff, not a grand staff
    "double-bass": lambda: _line([28, 33, 38, 43, 40, 36, 33, 28]),  # E1-G2, written an octave up
    # Polyphonic performances with a transcriber's noise: chords, voices, two staves, treble_8.
    "poly-chorale": lambda: _polyphonic("chorale_g_major"),
    "poly-two-hands": lambda: _polyphonic("two_hands_a_minor"),
    "poly-broken-chords": lambda: _polyphonic("broken_chords_d_major"),
    "poly-guitar-strum": lambda: _polyphonic("strum_e_minor"),
}
INSTRUMENTS = {"poly-chorale": "piano", "poly-two-hands": "piano", "poly-broken-chords": None,
               "poly-guitar-strum": "guitar", "cello-high": "cello", "cello-low": "cello", "viola": "viola",
               "tenor-voice": "voice", "cello-wide": "cello", "double-bass": "bass"}


def _line(midis: list[int]) -> list[PerformedNote]:
    """The pitches as quarters at 100 bpm, twice."""
    return [PerformedNote(0.6 * k, 0.6 * k + 0.55, m) for k, m in enumerate(midis * 2)]


def _polyphonic(name: str) -> list[PerformedNote]:
    return list(polyphonic.perform(polyphonic.by_name(name), seed=1).played)


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, dict]]:
    """Each case's MusicXML path, LilyPond log and score.json summary."""
    root = tmp_path_factory.mktemp("notation_checks")
    result = {}
    for name, notes in CASES.items():
        score, summary = _notate(notes(), TranscribeOptions(title=name, instrument=INSTRUMENTS.get(name)))
        out = root / name
        out.mkdir()
        rendered = render_lilypond(score_to_lilypond(score), out, basename="score")
        xml = out / "score.musicxml"
        _write_with_music21(score, "musicxml", xml)
        result[name] = (xml, rendered.log, summary)
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_lilypond_compiles_without_warnings(scores, name: str) -> None:
    _, log, _ = scores[name]
    assert "warning" not in log.lower(), log


@pytest.mark.skipif(MUSESCORE is None, reason="musescore3 is not installed (make setup installs it: "
                    "apt-get install --no-install-recommends musescore3)")
def test_every_score_opens_in_musescore(scores, tmp_path: Path) -> None:
    """One headless MuseScore run converts every score's MusicXML to PDF; any error fails."""
    jobs = [{"in": str(xml), "out": str(tmp_path / f"{name}.pdf")} for name, (xml, _, _) in scores.items()]
    job_file = tmp_path / "jobs.json"
    job_file.write_text(json.dumps(jobs))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    run = subprocess.run([MUSESCORE, "-j", str(job_file)], check=False, capture_output=True, text=True, timeout=300, env=env,
                         stdin=subprocess.DEVNULL)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "error" not in output.lower(), output
    for job in jobs:
        assert Path(job["out"]).stat().st_size > 1000, (job, output)


@pytest.mark.parametrize("name", ["one-note", "two-notes", "drone"])
def test_a_short_melody_is_a_short_score_with_a_remark(scores, name: str) -> None:
    _, _, summary = scores[name]
    assert summary["notes"] and summary["measures"] <= 5, summary  # the drone: 12 s at quarter = 100
    assert "defaults" in summary["remarks"][0]
    assert summary["notes"][0]["midi"] == CASES[name]()[0].midi
    if name != "two-notes":  # one pitch: its own major key, not a guess
        assert summary["key"] == {"one-note": "A major", "drone": "D major"}[name]


def test_a_minute_long_drone_is_shown_in_part_and_keeps_its_length(scores) -> None:
    """60 s at the default quarter = 100 is 25 bars: MAX_NOTE_BARS of them shown, the cut marked
    in the score and in score.json, and the note's times the recording's."""
    xml, _, summary = scores["minute-drone"]
    (note,) = summary["notes"]
    assert summary["measures"] <= MAX_NOTE_BARS + 1
    assert abs(note["offset_s"] - 60.5) < 0.7 and abs(note["onset_s"] - 0.5) < 0.7
    assert summary["shortened_notes"] == [{"measure": 1, "bars": 25, "bars_shown": MAX_NOTE_BARS}]
    assert summary["shortened_rests"] == []
    assert f"held 25 bars, {MAX_NOTE_BARS} shown" in xml.read_text()


@pytest.mark.parametrize(("name", "clef", "lilypond"), [("whistle", "treble^8", '\\clef "treble^8"'),
                                                         ("contrabass", "bass_8", '\\clef "bass_8"')])
def test_lines_far_above_or_below_the_staff_get_an_octave_clef(scores, name: str, clef: str, lilypond: str) -> None:
    xml, _, summary = scores[name]
    assert summary["clef"] == clef and lilypond in (xml.parent / "score.ly").read_text()
    assert f"<clef-octave-change>{1 if clef == 'treble^8' else -1}</clef-octave-change>" in xml.read_text()
    assert summary["notes"][0]["midi"] == CASES[name]()[0].midi  # sounding pitches: only the clef says 8va


def test_no_notes_is_still_an_error() -> None:
    with pytest.raises(InputError, match="no notes"):
        _notate([], TranscribeOptions())


def test_score_json_carries_a_tempo_curve(scores) -> None:
    _, _, summary = scores["humanised-waltz_d_minor"]
    curve = summary["tempo_curve"]
    assert len(curve) > 10 and all(t2 > t1 for (t1, _), (t2, _) in itertools.pairwise(curve))
    assert all(0.8 < bpm / summary["tempo_bpm"] < 1.25 for _, bpm in curve)


def test_a_modal_tune_is_written_in_its_mode(scores) -> None:
    """D dorian is written as such in score.json and LilyPond, its B naturals need no
    accidental, and the MusicXML has C major's empty signature without the mode, which
    MuseScore 3 refuses."""
    xml, _, summary = scores["humanised-dorian_air_d"]
    assert summary["key"] == "D dorian"
    lilypond = (xml.parent / "score.ly").read_text()
    assert "\\key d \\dorian" in lilypond and "bes" not in lilypond
    text = xml.read_text()
    assert "<fifths>0</fifths>" in text and "<mode>" not in text


def test_a_melody_s_midi_keeps_how_loud_each_note_was_played(tmp_path: Path) -> None:
    """The humanised waltz as played (louder downbeats, random +-8): the MIDI file's notes
    carry the performed velocities, in order."""
    performance = next(p for p in humanised.HUMANISED if p.name == "waltz_d_minor")
    notes = [PerformedNote(on, off, midi, velocity) for on, off, midi, velocity in performance.played]
    score, _ = _notate(notes, TranscribeOptions())
    score.write("midi", fp=str(tmp_path / "score.mid"))
    (track,) = pretty_midi.PrettyMIDI(str(tmp_path / "score.mid")).instruments
    assert [(n.pitch, n.velocity) for n in sorted(track.notes, key=lambda n: n.start)] == [
        (n.midi, n.velocity) for n in notes]


@pytest.mark.parametrize(("name", "clef", "lilypond", "part"), [
    ("cello-high", "tenor", '\\clef "tenor"', "Cello"), ("cello-low", "bass", '\\clef "bass"', "Cello"),
    ("viola", "alto", '\\clef "alto"', "Viola"), ("tenor-voice", "treble_8", '\\clef "treble_8"', "Voice"),
    ("cello-wide", "bass", '\\clef "bass"', "Cello"), ("double-bass", "bass_8", '\\clef "bass_8"', "Double bass")])
def test_a_named_melody_instrument_gets_the_clef_its_players_read(scores, name: str, clef: str, lilypond: str,
                                                                 part: str) -> None:
    """A cello's phrase above the bass staff in the tenor clef (it was treble), a viola in the
    alto clef and a tenor in the treble clef an octave down (both were bass), a cello's wide
    line on one bass staff (it was a grand staff), a double bass an octave above its sound;
    the pitches stay as sounding."""
    xml, _, summary = scores[name]
    assert summary["clef"] == clef and lilypond in (xml.parent / "score.ly").read_text()
    assert f"<part-name>{part}</part-name>" in xml.read_text()
    assert [n["midi"] for n in summary["notes"]] == [n.midi for n in CASES[name]()]
