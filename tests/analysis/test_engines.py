"""Engine choice: explicit, by instrument, by the audio's polyphony (auto); hostile values refused;
features.json says what ran and why."""

from __future__ import annotations

import json
from types import SimpleNamespace

import corpus
import poly_corpus
import pytest

from audioscore.analysis.engines import Mode, check_engine, choose, mode_for_object, parse_mode, polyphony
from audioscore.errors import InputError


def _notes(*spans):
    return [SimpleNamespace(onset=a, offset=b) for a, b in spans]


def test_polyphony_is_mean_notes_sounding_while_any_sound() -> None:
    assert polyphony([]) == 0.0
    assert polyphony(_notes((0, 1), (2, 3))) == 1.0
    assert polyphony(_notes((0, 2), (0, 2), (0, 1))) == pytest.approx(2.5)


def test_explicit_engine_then_instrument_then_the_audio() -> None:
    chords = _notes((0, 2), (0, 2), (0, 2))
    assert choose("melody", "piano", 3.0)[:2] == ("melody", "requested")
    assert choose("auto", "guitar", None)[:2] == ("poly", "instrument guitar")
    assert choose("auto", "voice", 3.0)[:2] == ("melody", "instrument voice")
    name, reason, measured = choose("auto", None, polyphony(chords))
    assert name == "poly" and measured == 3.0 and "polyphony 3.00" in reason
    assert choose("auto", None, polyphony(_notes((0, 1), (1, 2))))[0] == "melody"


@pytest.mark.parametrize("value", ["", "Poly;rm -rf /", "piano\x00", "x" * 5000, None, 3, ["poly"]])
def test_hostile_modes_are_refused_in_one_short_line(value) -> None:
    with pytest.raises(InputError) as error:
        parse_mode(value, source="metadata")
    assert "\n" not in str(error.value) and len(str(error.value)) < 400
    with pytest.raises(InputError):
        check_engine(value)


def test_object_mode_from_metadata_then_key_prefix() -> None:
    assert mode_for_object("song.mp3", {}) == Mode()
    assert mode_for_object("piano/song.mp3", {}) == Mode("auto", "piano", "key prefix")
    assert mode_for_object("Poly/a/b.wav", {}) == Mode("poly", None, "key prefix")
    assert mode_for_object("songs/piano.mp3", {}) == Mode()  # an unknown folder is no hint
    assert mode_for_object("piano/song.mp3", {"mode": "melody"}) == Mode("melody", None, "metadata")
    with pytest.raises(InputError):
        mode_for_object("song.mp3", {"mode": "<script>"})


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    out = tmp_path_factory.mktemp("engines")
    chords = poly_corpus.render_piece(poly_corpus.small_piece(), poly_corpus.PIANO, out)[0]
    sung = out / "sung.wav"  # a voice-like line: vibrato on harmonic tones, one at a time
    import numpy as np
    import soundfile as sf
    line = [corpus.vibrato(corpus.midi_to_hz(m), 40.0, 5.5, 0.6, 44100, partials=6)[0] for m in (57, 60, 62, 64, 62, 60)]
    sf.write(sung, np.concatenate(line), 44100, subtype="PCM_16")
    return chords, sung


def test_auto_picks_poly_on_chords_and_melody_on_a_sung_line(renders) -> None:
    from audioscore.analysis.features import Source, extract_file, to_document

    chords, sung = renders
    poly = extract_file(chords)
    assert poly.engine.name == "poly" and poly.engine.requested == "auto" and poly.engine.polyphony > 2
    melody = extract_file(sung)
    assert melody.engine.name == "melody" and melody.engine.polyphony < 1.6
    # features.json: the engine block, velocities, overlapping notes, polyphony; the pitch track is still there.
    doc = json.loads(json.dumps(to_document(poly, Source("c.wav", "0")), default=lambda s: s.rounded(0, 10**9)))
    assert doc["engine"]["name"] == "poly" and doc["engine"]["model"].startswith("basic-pitch")
    assert all(1 <= n["velocity"] <= 127 for n in doc["notes"]) and doc["summary"]["polyphony"] > 2
    assert any(b["onset"] < a["offset"] for a, b in zip(doc["notes"], doc["notes"][1:]))
    assert doc["pitch"]["f0_hz"] and doc["mfcc"]["mean"]
    # auto measured a sample of the audio, then ran the polyphonic engine on all of it: the same
    # notes as asking for that engine outright.
    assert poly.poly_notes == extract_file(chords, engine="poly").poly_notes
    forced = extract_file(chords, engine="melody")
    assert forced.engine.reason == "requested" and forced.notes == forced.pitch.notes and not forced.poly_notes
