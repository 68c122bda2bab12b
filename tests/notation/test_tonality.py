"""Key estimation and spelling."""

from __future__ import annotations

import numpy as np
import pytest
import score_corpus as sc
from real_notes import GUITAR_SOLO

from audioscore.analysis.note_cleaning import estimate_tuning
from audioscore.errors import InputError
from audioscore.notation.feature_notes import performed_notes
from audioscore.notation.tonality import (
    drifting_offsets,
    estimate_key,
    parse_key,
    quarter_tone_shift,
    spell,
    take_semitone,
)


@pytest.mark.parametrize("melody", sc.SCORED_MELODIES, ids=lambda m: m.name)
def test_every_corpus_key_is_found(melody: sc.ScoredMelody) -> None:
    key = estimate_key((p, d) for p, d in melody.events if p is not None)
    assert f"{key.tonic.name} {key.mode}".lower() == melody.key.lower()


@pytest.mark.parametrize(
    ("key", "midis", "names"),
    [
        ("D major", [66, 61, 60, 70], ["F#4", "C#4", "C4", "A#4"]),
        ("E- minor", [62, 60, 71, 66, 64], ["D4", "C4", "C-5", "G-4", "E4"]),
        ("d minor", [61, 59, 70], ["C#4", "B3", "B-4"]),
        ("F major", [70, 66], ["B-4", "G-4"]),
        ("b minor", [70, 68, 42], ["A#4", "G#4", "F#2"]),
        # A mode's own notes as its signature has them, the others as in the parallel key.
        ("D dorian", [71, 70, 73, 65], ["B4", "B-4", "C#5", "F4"]),
        ("A mixolydian", [67, 68, 72, 61], ["G4", "G#4", "C5", "C#4"]),
    ],
)
def test_spelling_follows_the_key(key: str, midis: list[int], names: list[str]) -> None:
    k = parse_key(key)
    assert [spell(m, k).nameWithOctave for m in midis] == names
    assert all(spell(m, k).midi == m for m in range(30, 100))



@pytest.mark.parametrize(
    ("key", "midi", "toward", "name"),
    [
        ("B- major", 61, 62, "C#4"), ("B- major", 61, 60, "D-4"), ("B- major", 61, None, "D-4"),
        ("B- major", 61, 66, "D-4"),  # a leap away: the key's way
        ("D minor", 61, 60, "C#4"),  # the raised seventh stays raised whichever way it goes
        ("D minor", 68, 69, "G#4"), ("D minor", 68, 67, "A-4"),
        ("D major", 60, 61, "C4"),  # C natural needs fewer accidentals than B#: direction does not matter
        ("A mixolydian", 63, 64, "D#4"), ("A mixolydian", 63, 62, "E-4"), ("D dorian", 68, 69, "G#4"),
        ("A mixolydian", 68, 67, "G#4"),  # the parallel major's own seventh, as the key spells it
    ],
)
def test_a_chromatic_step_is_spelled_the_way_it_moves(key: str, midi: int, toward: int | None, name: str) -> None:
    assert spell(midi, parse_key(key), toward).nameWithOctave == name

@pytest.mark.parametrize(
    ("text", "expected"),
    [("D major", "D major"), ("Bb minor", "B- minor"), ("f# min", "F# minor"), ("E-", "E- major"),
     ("c", "C minor"), ("G sharp minor", "G# minor"), ("D dorian", "D dorian"), ("bb Mixolydian", "B- mixolydian"),
     ("e aeolian", "E minor")],
)
def test_parse_key(text: str, expected: str) -> None:
    key = parse_key(text)
    assert f"{key.tonic.name} {key.mode}".lower() == expected.lower()


@pytest.mark.parametrize("text", ["H major", "", "D dorien", "A mixo", "#(system \"x\")"])
def test_parse_key_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="is not a key"):
        parse_key(text)


def test_mode_follows_the_tonic_when_the_profile_hesitates() -> None:
    """The same white notes: starting and ending on A is A minor, on C is C major."""
    assert str(estimate_key([(69, 1), (72, 1), (76, 1), (74, 1), (72, 1), (71, 1), (69, 2)])) == "a minor"
    assert str(estimate_key([(60, 1), (64, 1), (67, 1), (65, 1), (64, 1), (62, 1), (60, 2)])) == "C major"


# Tunes written for these tests: (MIDI, quarters).
# A fiddle tune on G's notes with F naturals (a major key's flat seventh), ending on G.
_G_MIXOLYDIAN = [(67, 1), (71, .5), (74, .5), (77, 1), (74, 1), (72, 1), (71, .5), (69, .5), (67, 2),
                 (65, 1), (69, 1), (72, 1), (71, 1), (69, 1), (65, 1), (67, 2)]
# A minor air on A with F sharps (the raised sixth) and G naturals, starting and ending on A.
_A_DORIAN = [(69, 1), (72, 1), (76, 1), (78, 2), (76, 1), (74, 1), (72, 1), (71, 1), (69, 3),
             (67, 1), (69, 1), (71, 1), (72, 1), (74, 1), (78, 1), (76, 2), (74, 1), (72, 1), (71, 1), (69, 3)]
# The same notes as C major's, resting on D: D dorian.
_D_DORIAN = [(62, 1), (65, 1), (69, 1), (71, 2), (69, 1), (72, 1), (69, 1), (67, 1), (69, 3),
             (74, 1), (72, 1), (69, 1), (67, 1), (65, 1), (64, 1), (65, 1), (64, 1), (60, 1), (62, 3)]


@pytest.mark.parametrize(("notes", "expected"), [(_G_MIXOLYDIAN, "G mixolydian"), (_A_DORIAN, "A dorian"),
                                                 (_D_DORIAN, "D dorian")])
def test_a_modal_tune_is_in_its_mode(notes: list[tuple[int, float]], expected: str) -> None:
    key = estimate_key(notes)
    assert f"{key.tonic.name} {key.mode}" == expected


def test_a_blues_line_that_bends_its_third_rests_on_its_tonic() -> None:
    """A B blues (D and D-sharp, A natural): the profile alone takes E minor, whose tonic
    the line barely touches; the line starts, rests and ends on B."""
    line = [(71, 1), (74, .5), (75, .5), (78, 1), (71, 1), (69, 1), (66, .5), (69, .5), (71, 2), (71, .5), (74, .5),
            (75, .5), (78, .5), (81, 1), (78, 1), (76, 1), (74, .5), (71, .5), (69, 1), (71, 3)]
    key = estimate_key(line)
    assert f"{key.tonic.name} {key.mode}" == "B mixolydian"


def test_a_passing_flat_seventh_leaves_a_major_tune_major() -> None:
    """One F natural on the way down in a G major tune is a passing note, not a mode."""
    tune = [(67, 1), (71, 1), (74, 1), (72, .5), (71, .5), (69, 1), (66, 1), (67, 2),
            (74, 1), (72, .5), (71, .5), (69, .5), (67, .5), (65, .5), (64, .5), (62, 1), (66, 1), (67, 2)]
    assert str(estimate_key(tune)) == "G major"


def test_the_rock_guitar_solo_in_a_rests_on_a() -> None:
    """GuitarSet's "Rock1-130-A" solo uses D major's notes with C naturals, and rests on A
    (its first note, the most held): A mixolydian, as rock players hear it, not D major."""
    key = estimate_key([(midi, length * 130.0 / 60.0) for _, length, midi in GUITAR_SOLO])
    assert f"{key.tonic.name} {key.mode}" == "A mixolydian"


# A sight-singing tune in C major, sung twice through.
_TUNE = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 71, 69, 67, 65, 64, 62, 60, 62, 64, 67, 69, 67, 65, 64, 62, 60] * 2


def _sung(drift_cents: float, note_s: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and unrounded MIDI numbers of the tune sung with a steady drift over its length
    and 12 cents of scatter per note."""
    rng = np.random.default_rng(seed)
    onsets = np.arange(len(_TUNE)) * note_s
    cents = drift_cents * onsets / onsets[-1] + rng.normal(0.0, 12.0, len(_TUNE))
    return onsets, np.array(_TUNE) + cents / 100.0


@pytest.mark.parametrize("drift_cents", [-120.0, -60.0, 0.0, 90.0])
def test_a_drifting_singer_is_written_in_the_key_they_began_in(drift_cents: float) -> None:
    onsets, midis = _sung(drift_cents)
    offsets = drifting_offsets(onsets, midis, np.full(len(midis), 0.45))
    assert np.round(midis - offsets).astype(int).tolist() == _TUNE
    # One offset for the whole take writes the last notes a semitone off once the drift
    # passes half a semitone.
    one = np.angle(np.exp(2j * np.pi * (midis - np.round(midis))).sum()) / (2 * np.pi)
    if abs(drift_cents) > 100:
        assert np.round(midis - one).astype(int).tolist() != _TUNE


def test_the_drift_is_followed_to_the_ends_of_a_take() -> None:
    """At a take's ends a window holds the notes on one side only: their mean lags a steady
    sag by a quarter of the window's drift, and a line through them does not."""
    onsets = np.arange(28) * 0.5
    midis = np.array(_TUNE[:28]) - 0.3 - 0.6 * onsets / onsets[-1]
    offsets = drifting_offsets(onsets, midis, np.full(28, 0.45))
    assert offsets[0] == pytest.approx(-0.3, abs=0.02)
    assert offsets[-1] == pytest.approx(-0.9, abs=0.02)


@pytest.mark.parametrize(("start_cents", "drift_cents"), [(-30.0, -60.0), (25.0, 55.0), (-35.0, -45.0), (-40.0, -30.0), (-20.0, 0.0)])
def test_a_take_whose_median_tuning_passes_the_quarter_tone_is_written_in_the_key_it_began_in(
        start_cents: float, drift_cents: float) -> None:
    """The melody engine takes one tuning off every note, the take's circular mean: a singer
    who sinks from 30 cents flat to 90 has it past the quarter tone, and notes rounded from it
    alone read a semitone below the key they began in, all the way through."""
    onsets, midis = _sung(drift_cents, seed=3)
    sung = midis + start_cents / 100.0
    tuning = estimate_tuning(440.0 * 2.0 ** ((sung - 69.0) / 12.0), np.full(len(sung), 0.45))
    raw = [(on, on + 0.45, m - tuning / 100.0, 80, None, None) for on, m in zip(onsets, sung, strict=True)]
    notes = performed_notes(raw, frames=None, melodic=True, tuning_cents=tuning)
    assert [n.midi for n in notes] == _TUNE


def test_a_take_a_quarter_tone_off_and_a_real_change_of_key_stay_as_sung() -> None:
    """A singer 48 cents sharp throughout is in tune with themself; a phrase repeated a
    semitone higher, in tune, is a new key, not drift."""
    onsets, midis = _sung(0.0)
    offsets = drifting_offsets(onsets, midis + 0.48, np.ones(len(midis)))
    assert np.round(midis + 0.48 - offsets).astype(int).tolist() == _TUNE
    raised = np.concatenate([midis[:28], midis[28:] + 1.0])
    offsets = drifting_offsets(onsets, raised, np.ones(len(midis)))
    assert np.round(raised - offsets).astype(int).tolist() == _TUNE[:28] + [m + 1 for m in _TUNE[28:]]



@pytest.mark.parametrize(
    ("transposed", "tuning_cents", "expected"),
    [
        (-1, -49.0, -1),  # read as B major from notes 49 cents flat of it: B-flat (2 flats, not 5 sharps)
        (-1, 48.5, 1),    # read as B major from notes 48.5 cents sharp of it: C major
        (0, 49.0, 0),     # C major, not D-flat (5 flats)
        (0, -49.0, 0),    # C major, not B (5 sharps)
        (-1, -47.0, 0),   # 47 cents flat is a take tuned low, as read: B major stays
        (4, 48.5, 1),     # E major becomes F major (1 flat): the prior's cost when the take was in E
    ],
)
def test_a_take_near_a_quarter_tone_reads_in_the_smaller_key_signature(
        transposed: int, tuning_cents: float, expected: int) -> None:
    assert quarter_tone_shift([(m + transposed, 0.5) for m in _TUNE], tuning_cents) == expected


@pytest.mark.parametrize(
    ("transposed", "first_offset", "tuning_cents", "key", "expected"),
    [
        (-1, 0.0, 45.0, "C major", 1),     # read as B major, 45 cents sharp of it: the C major sung 55 flat
        (-1, 0.0, 45.0, "B major", 0),     # the same notes, said to be in B major, stay
        (-1, 0.0, 45.0, None, 0),          # without a key: 5 cents from the quarter tone is a take tuned high
        (4, 0.0, 48.5, "E major", 0),      # E major stays E major, where the smaller signature wrote F
        (0, 0.0, -30.0, "B major", -1),    # C major 30 cents flat, said to be B major: 70 cents sharp of it
        (0, 0.0, -20.0, "B major", 0),     # 80 cents off the key given: the notes stay as sung
        (-1, 0.3, 20.0, "B major", 0),     # a drifting take that began 50 cents sharp of B, said to be in B
        (-1, 0.4, 40.0, "B major", 1),     # one that began 80 cents sharp of B is C 20 cents flat, whatever the key
        (-1, 0.0, 25.0, "B- major", 0),    # B major said to be B-flat: C fits no better (5 of 7 degrees), B stays
    ],
)
def test_near_a_quarter_tone_the_key_given_decides_the_semitone(
        transposed: int, first_offset: float, tuning_cents: float, key: str | None, expected: int) -> None:
    """A take a quarter tone from A440 is either key a semitone apart, and no profile can tell
    which (one reading is the other transposed): the key a user gives does, where the take is
    near enough to the quarter tone for both readings to be a singer's."""
    notes = [(m + transposed, 0.5) for m in _TUNE]
    assert take_semitone(notes, first_offset, tuning_cents, parse_key(key) if key else None) == expected


def test_a_minor_key_given_counts_its_raised_sixth_and_seventh() -> None:
    """E F-sharp G-sharp A, A minor's rising line, read a semitone low: on the natural minor
    scale both readings hold two of the four notes; the raised degrees make it A minor."""
    notes = [(m - 1, 0.5) for m in [76, 78, 80, 81] * 4]
    assert take_semitone(notes, 0.0, 45.0, parse_key("a minor")) == 1


def test_a_key_that_is_not_one_is_the_users_mistake() -> None:
    raw = [(0.5 * i, 0.5 * i + 0.45, float(m), 80, None, None) for i, m in enumerate(_TUNE)]
    with pytest.raises(InputError, match="is not a key"):
        performed_notes(raw, frames=None, melodic=True, tuning_cents=45.0, key="H major")


def test_a_take_sung_a_quarter_tone_flat_is_written_in_the_key_given() -> None:
    """The tune in E major sung 55 cents flat: the melody engine hears E-flat major 45 cents
    sharp, and the notation writes E-flat (3 flats, not 4 sharps), unless the user says E major."""
    onsets, midis = _sung(0.0, seed=5)
    heard = midis + 3.0  # the tuning the engine took off (+45 cents) leaves the notes at E-flat
    raw = [(on, on + 0.45, m, 80, None, None) for on, m in zip(onsets, heard, strict=True)]
    in_e = [m + 4 for m in _TUNE]
    assert [n.midi + 1 for n in performed_notes(raw, frames=None, melodic=True, tuning_cents=45.0)] == in_e
    given = performed_notes(raw, frames=None, melodic=True, tuning_cents=45.0, key="E major")
    assert [n.midi for n in given] == in_e
