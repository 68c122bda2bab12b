"""What a user may tell the notation instead of letting it estimate: the tempo, the time
signature and the key. One set of checks for the command line's flags, an upload's user
metadata and fetch-youtube's request; no heavy imports, so a typo is refused before any work."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audioscore.errors import InputError
from audioscore.notation.key_names import read_key_name

__all__ = ["HINT_NAMES", "TEMPO_RANGE_BPM", "TIME_SIGNATURES", "ScoreHints", "check_key", "check_tempo",
           "check_time_signature", "given", "read_hints"]

TEMPO_RANGE_BPM = (20.0, 400.0)
TIME_SIGNATURES = ("2/4", "3/4", "4/4", "6/8")
# The names in metadata (``mc cp --attr "key=E major;tempo=92"``), requests and records: the CLI's flags.
HINT_NAMES = ("key", "tempo", "time-signature")
_MAX_SHOWN = 40  # characters of a refused value repeated in an error
# A tempo as text: ASCII digits only (float() would take "9_2" and other scripts' digits).
_DECIMAL = re.compile(r"^\s*[0-9]+(\.[0-9]*)?\s*\Z")


def _shown(value: object) -> str:
    text = str(value)
    return repr(text[:_MAX_SHOWN] + ("..." if len(text) > _MAX_SHOWN else ""))


def check_tempo(value: object) -> float:
    """Quarter notes per minute from outside (a number, or its text), finite and within TEMPO_RANGE_BPM."""
    low, high = TEMPO_RANGE_BPM
    bpm = math.nan
    if (isinstance(value, (int, float)) and not isinstance(value, bool)) or (isinstance(value, str) and _DECIMAL.match(value)):
        try:
            bpm = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            pass
    if not low <= bpm <= high:  # NaN fails too
        raise InputError(f"tempo must be quarter notes per minute in {low:g}..{high:g}; got {_shown(value)}")
    return bpm


def check_time_signature(value: object) -> str:
    """A time signature the notation writes, or InputError naming them."""
    if not isinstance(value, str) or value.strip() not in TIME_SIGNATURES:
        raise InputError(f"time signature must be one of {', '.join(TIME_SIGNATURES)}; got {_shown(value)}")
    return value.strip()


def check_key(value: object) -> str:
    """A key as people write it ("D major", "bb", "F♯ minor") in one spelling ("Bb minor"), or
    InputError naming the forms."""
    if not isinstance(value, str):
        raise InputError(f"key must be text such as 'D major'; got {_shown(value)}")
    try:
        tonic, mode = read_key_name(value)
    except ValueError as error:
        raise InputError(f"key: {error}") from None
    return f"{tonic.replace('-', 'b')} {mode}"


@dataclass(frozen=True)
class ScoreHints:
    """The user's tempo, time signature and key; None: estimate it."""

    key: str | None = None
    tempo_bpm: float | None = None
    time_signature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The hints given, under HINT_NAMES (as a record keeps them)."""
        values = {"key": self.key, "tempo": self.tempo_bpm, "time-signature": self.time_signature}
        return {name: value for name, value in values.items() if value is not None}


def given(values: Mapping[str, object], name: str) -> bool:
    """Whether ``values`` gives ``name``: present and not blank (a form's field left empty)."""
    value = values.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def read_hints(values: Mapping[str, object]) -> ScoreHints:
    """The hints ``values`` gives (user metadata, a request, a form, a record's copy), each
    checked; other names are not looked at.

    Raises:
        InputError: a hint that is not one; the message names it and what it may be.
    """
    return ScoreHints(
        key=check_key(values["key"]) if given(values, "key") else None,
        tempo_bpm=check_tempo(values["tempo"]) if given(values, "tempo") else None,
        time_signature=check_time_signature(values["time-signature"]) if given(values, "time-signature") else None,
    )
