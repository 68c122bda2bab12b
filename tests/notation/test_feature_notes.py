"""Hostile features.json: every problem is one InputError naming the field, found before notation."""

from __future__ import annotations

import json
import os
import time
from fractions import Fraction
from pathlib import Path

import pytest

from audioscore.analysis.audio import Limits
from audioscore.errors import InputError, LimitExceeded
from audioscore.notation.feature_notes import (
    MAX_NOTES,
    instrument_of,
    notes_for_notation,
    parse_features,
    read_features,
)
from audioscore.notation.rhythm import QuantisedNote
from audioscore.notation.score import MAX_NOTE_BARS, MAX_REST_BARS, shorten_silences

NOTE = {"onset": 0.5, "offset": 0.9, "pitch_hz": 440.0, "midi": 69.02}


def document(*notes: dict) -> dict:
    return {"schema": "audioscore.features/1", "source": {"key": "x.wav"}, "notes": list(notes)}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("onset", "abc", "notes[1].onset must be a number of seconds in 0..14400"),
        ("onset", None, "notes[1].onset must be"),
        ("onset", True, "got True"),
        ("onset", -1.0, "notes[1].onset"),
        ("onset", 1e5, "got 100000.0"),
        ("onset", 1e300, "got 1e+300"),
        ("onset", 10**400, "notes[1].onset"),
        ("offset", 0.1, "notes[1].offset must be later than its onset"),
        ("midi", -5, "notes[1].midi must be a MIDI number in 0..127, got -5"),
        ("midi", 300, "got 300"),
        ("midi", 1e9, "notes[1].midi"),
        ("midi", "60", "got '60'"),
        ("pitch_hz", 0, "notes[1].pitch_hz must be a frequency"),
        ("pitch_hz", -440, "notes[1].pitch_hz"),
        ("pitch_hz", 1e12, "notes[1].pitch_hz"),
    ],
)
def test_each_bad_field_is_named(field: str, value: object, message: str) -> None:
    bad = {**NOTE, field: value}
    with pytest.raises(InputError) as raised:
        notes_for_notation(document(NOTE, bad), limits=Limits(max_duration_s=14400))
    assert message in str(raised.value)


def test_times_beyond_the_duration_limit_follow_the_setting() -> None:
    late = {**NOTE, "onset": 100.0, "offset": 101.0}
    assert len(notes_for_notation(document(NOTE, late), limits=Limits(max_duration_s=200))) == 2
    with pytest.raises(InputError, match=r"0\.\.50 \(AUDIOSCORE_MAX_DURATION_S\)"):
        notes_for_notation(document(NOTE, late), limits=Limits(max_duration_s=50))


def test_too_many_notes_is_a_limit() -> None:
    notes = [{"onset": i * 0.01, "offset": i * 0.01 + 0.005, "midi": 60} for i in range(MAX_NOTES + 1)]
    with pytest.raises(LimitExceeded, match="more than the 100000"):
        notes_for_notation(document(*notes))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"notes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (json.dumps(document(NOTE)).replace("0.5", "NaN").encode(), "NaN is not a JSON number"),
        (json.dumps(document(NOTE)).replace("0.9", "Infinity").encode(), "Infinity is not a JSON number"),
        (b'{"notes": "\xff\xfe"}', "not UTF-8"),
        (b"[1, 2]", "top level is a JSON list"),
        (json.dumps({**document(NOTE), "schema": "audioscore.features/2"}).encode(), "has schema"),
        (json.dumps({**document(NOTE), "source": []}).encode(), "source must be an object"),
        (b'{"notes": "abc"}', "notes must be a list"),
        (b"", "not JSON"),
    ],
    ids=["deep-array", "deep-in-object", "nan", "infinity", "latin1", "array", "schema", "source", "notes-str", "empty"],
)
def test_bad_documents_are_input_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_features(data)


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "features.json"
    with big.open("wb") as f:
        f.truncate(1 << 30)  # sparse: a read would take seconds and a gigabyte
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="bytes, more than"):
        read_features(big)
    assert time.monotonic() - started < 1.0


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it for reading would block forever
    for path in (tmp_path / "fifo", tmp_path, Path("/dev/zero")):
        with pytest.raises(InputError, match="not a regular file"):
            read_features(path)


def test_long_silences_and_held_notes_are_shortened() -> None:
    bar = Fraction(4)
    notes = [QuantisedNote(Fraction(0), Fraction(1), 60),
             QuantisedNote(Fraction(2), 400 * bar, 62),              # held for 400 bars
             QuantisedNote(Fraction(40_000), Fraction(1), 64),       # 10,000 bars later
             QuantisedNote(Fraction(40_001), Fraction(1), 65)]
    shortened, cuts = shorten_silences(notes, bar)
    # The held note keeps its first bars (to the bar line, then MAX_NOTE_BARS whole bars and what
    # is left of its last bar); the bars left out are its own, not a silence's.
    assert shortened[1].duration == 2 + MAX_NOTE_BARS * bar + 2
    held, rest = cuts
    assert (held.held, held.bars, held.removed) == (True, 399, (399 - MAX_NOTE_BARS) * bar)
    assert (rest.held, rest.bars) == (False, (40_000 - (2 + 400 * 4)) // 4)
    # Whole bars only: every note keeps its beat; the gap is MAX_REST_BARS empty bars.
    assert [n.start % bar for n in shortened] == [n.start % bar for n in notes]
    assert shortened[2].start - (shortened[1].start + shortened[1].duration) <= (MAX_REST_BARS + 1) * bar
    assert shortened[3].start - shortened[2].start == 1


def test_a_held_note_under_other_notes_is_cut_short_not_cut_out() -> None:
    """Bars are removed only where nothing else sounds: a pedal note under a tune is shortened."""
    bar = Fraction(4)
    notes = [QuantisedNote(Fraction(0), 40 * bar, 40), *(QuantisedNote(Fraction(k), Fraction(1), 72) for k in range(0, 160, 8))]
    shortened, cuts = shorten_silences(sorted(notes, key=lambda n: n.start), bar)
    assert not [c for c in cuts if c.held]
    assert [n.start for n in shortened] == sorted(n.start for n in notes)
    assert next(n for n in shortened if n.midi == 40).duration == MAX_NOTE_BARS * bar


def test_velocity_and_instrument_of_a_polyphonic_engine_are_read() -> None:
    chord = [dict(NOTE, midi=60.0, velocity=90), dict(NOTE, midi=64.0, velocity=45), dict(NOTE, midi=67.0)]
    doc = document(*chord) | {"engine": {"name": "poly", "instrument": "piano"}}
    notes = notes_for_notation(doc)
    assert [(n.midi, n.velocity) for n in notes] == [(60, 90), (64, 45), (67, 80)]  # 80: no velocity given
    assert instrument_of(doc) == "piano"
    assert instrument_of(document(NOTE)) is None
    assert instrument_of(document(NOTE) | {"engine": {"name": "melody", "instrument": None}}) is None


@pytest.mark.parametrize("value", [-1, 201, "steep", True, None, float("nan")])
@pytest.mark.parametrize(("field", "what"), [("rise_db", "rise"), ("dip_db", "dip")])
def test_a_bad_level_rise_or_dip_is_named(field: str, what: str, value: object) -> None:
    with pytest.raises(InputError, match=rf"notes\[0\]\.{field} must be a level {what} in dB, 0\.\.200"):
        notes_for_notation(document(dict(NOTE, **{field: value})))


def test_a_level_rise_and_dip_are_read() -> None:
    notes = notes_for_notation(document(dict(NOTE, rise_db=12.5, dip_db=9.0)))
    assert [(n.rise_db, n.dip_db) for n in notes] == [(12.5, 9.0)]


@pytest.mark.parametrize("velocity", [0, 128, "loud", True, None, 1e400])
def test_a_bad_velocity_is_named(velocity: object) -> None:
    with pytest.raises(InputError, match=r"notes\[0\]\.velocity must be a MIDI velocity in 1\.\.127"):
        notes_for_notation(document(dict(NOTE, velocity=velocity)))


@pytest.mark.parametrize("instrument", ["Piano", "piano; rm -rf", "", 3, ["piano"], "x" * 40])
def test_a_bad_instrument_is_named(instrument: object) -> None:
    with pytest.raises(InputError, match="engine.instrument must be a lower-case instrument name"):
        instrument_of(document(NOTE) | {"engine": {"name": "poly", "instrument": instrument}})


def test_a_polyphonic_engine_s_repeated_notes_are_not_joined() -> None:
    """The melody tracker's splits are joined using its voicing; a polyphonic engine's re-struck
    notes stay two notes."""
    notes = [dict(NOTE, onset=0.5, offset=0.9), dict(NOTE, onset=0.91, offset=1.4)]
    pitch = {"times": [0.01 * k for k in range(200)], "voiced_prob": [1.0] * 200}
    assert len(notes_for_notation(document(*notes) | {"pitch": pitch})) == 1
    assert len(notes_for_notation(document(*notes) | {"pitch": pitch, "engine": {"name": "poly"}})) == 2


def _performed(written: list[int], played_cents: float, tuning_cents: float) -> dict:
    """A features document of ``written`` played ``played_cents`` off A440, as the melody
    engine writes it with its tuning estimate ``tuning_cents`` taken off each midi."""
    notes = []
    for i, midi in enumerate(written):
        played = midi + played_cents / 100.0
        notes.append({"onset": 0.5 * i, "offset": 0.5 * i + 0.45, "pitch_hz": 440.0 * 2 ** ((played - 69) / 12),
                      "midi": played - tuning_cents / 100.0})
    return document(*notes)


def test_a_take_a_quarter_tone_sharp_reads_in_the_smaller_key_signature() -> None:
    """A B-flat tune played 49 cents sharp sits between B-flat and B; the engine's tuning
    estimate wrapped to -49 rounds it to B major (5 sharps), and notation writes B-flat."""
    written = [70, 72, 74, 75, 77, 75, 74, 72, 70, 74, 77, 82, 81, 79, 77, 75, 74, 72, 70]
    assert [n.midi for n in notes_for_notation(_performed(written, 49.0, -49.0))] == written
    # 40 cents sharp, clearly tuned high: read as played, in B-flat either way.
    assert [n.midi for n in notes_for_notation(_performed(written, 40.0, 40.0))] == written
    # The same notes without pitch_hz give no tuning to judge by: rounded as they are.
    bare = [{k: v for k, v in n.items() if k != "pitch_hz"} for n in _performed(written, 49.0, -49.0)["notes"]]
    assert [n.midi for n in notes_for_notation(document(*bare))] == [m + 1 for m in written]
