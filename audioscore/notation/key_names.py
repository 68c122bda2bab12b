"""Key names as people write them ("D major", "Bb minor", "f#"): parsed without music21,
so the command line can refuse a typo before it loads anything heavy."""

from __future__ import annotations

import re

__all__ = ["KEY_FORMS", "read_key_name"]

_MODES = ("ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian")
_KEY_TEXT = re.compile(r"^\s*([A-Ga-g])\s*(#|♯|b|♭|-|sharp|flat)?\s*(major|minor|maj|min|m|" + "|".join(_MODES) + r")?\s*$",
                       re.IGNORECASE)
_ACCIDENTALS = {"#": "#", "♯": "#", "sharp": "#", "b": "-", "♭": "-", "-": "-", "flat": "-"}
KEY_FORMS = ("a letter A-G, then #, ♯, b, ♭ or nothing, then major, minor or a mode such as dorian or mixolydian "
             "(e.g. 'D major', 'Bb minor', 'f# minor', 'A mixolydian')")


def read_key_name(text: str) -> tuple[str, str]:
    """The tonic in music21's spelling ("B-", "F#") and the mode ("major", "minor" or a
    church mode: "dorian", "mixolydian", ...).

    A bare letter means major; a lower-case letter alone means minor.

    Raises:
        ValueError: not a key; the message lists the accepted forms.
    """
    match = _KEY_TEXT.match(text)
    if not match:
        raise ValueError(f"{text[:40]!r} is not a key: {KEY_FORMS}")
    letter, accidental, mode = match.groups()
    alter = _ACCIDENTALS.get((accidental or "").lower(), "")
    if mode is None:
        mode_name = "minor" if letter.islower() else "major"
    elif mode.lower() in _MODES:
        mode_name = {"ionian": "major", "aeolian": "minor"}.get(mode.lower(), mode.lower())
    else:
        mode_name = "major" if mode.lower() in ("major", "maj") else "minor"
    return letter.upper() + alter, mode_name
