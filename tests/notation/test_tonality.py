"""Key estimation and spelling."""

from __future__ import annotations

import pytest
import score_corpus as sc

from audioscore.notation.tonality import estimate_key, parse_key, spell


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
    ],
)
def test_spelling_follows_the_key(key: str, midis: list[int], names: list[str]) -> None:
    k = parse_key(key)
    assert [spell(m, k).nameWithOctave for m in midis] == names
    assert all(spell(m, k).midi == m for m in range(30, 100))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("D major", "D major"), ("Bb minor", "B- minor"), ("f# min", "F# minor"), ("E-", "E- major"),
     ("c", "C minor"), ("G sharp minor", "G# minor")],
)
def test_parse_key(text: str, expected: str) -> None:
    key = parse_key(text)
    assert f"{key.tonic.name} {key.mode}".lower() == expected.lower()


@pytest.mark.parametrize("text", ["H major", "", "D dorian", "#(system \"x\")"])
def test_parse_key_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="is not a key"):
        parse_key(text)


def test_mode_follows_the_tonic_when_the_profile_hesitates() -> None:
    """The same white notes: starting and ending on A is A minor, on C is C major."""
    assert str(estimate_key([(69, 1), (72, 1), (76, 1), (74, 1), (72, 1), (71, 1), (69, 2)])) == "a minor"
    assert str(estimate_key([(60, 1), (64, 1), (67, 1), (65, 1), (64, 1), (62, 1), (60, 2)])) == "C major"
