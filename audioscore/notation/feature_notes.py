"""``features.json`` as input to notation: read, parse and validate it in one place.

The CLI's ``score`` command and the transcribe function both take a
``features.json`` that anyone may have written, so everything about it is
checked here before any notation work starts, and every problem is one
:class:`~audioscore.errors.InputError` whose message names the field
(``notes[3].onset must be a finite number ≥ 0, got 'abc'``).

Conventions: times in seconds from the start of the recording, pitch in Hz,
MIDI note numbers (69 = A4).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audioscore.analysis.audio import Limits
from audioscore.analysis.note_cleaning import tuned_midi
from audioscore.errors import InputError, LimitExceeded
from audioscore.notation.quantise import join_tracker_splits
from audioscore.notation.rhythm import PerformedNote
from audioscore.notation.tonality import drifting_offsets, parse_key, take_semitone

__all__ = ["FEATURES_SCHEMA", "MAX_FEATURES_BYTES", "MAX_NOTES", "instrument_of", "notes_for_notation",
           "parse_features", "performed_notes", "read_features"]

FEATURES_SCHEMA = "audioscore.features/1"
# A 4-hour recording's features.json (every pitch frame kept) is about 100 MB.
MAX_FEATURES_BYTES = 256 * 1024**2
# Far above what pYIN finds in 4 hours of dense melody (~60,000), far below what
# would make engraving take hours.
MAX_NOTES = 100_000
MIDI_RANGE = (0, 127)
MAX_PITCH_HZ = 20_000.0  # the top of human hearing; MIDI 127 is 12.5 kHz
MAX_RISE_DB = 200.0      # beyond any recording's dynamic range (the analysis writes at most 60)
_SHOWN_CHARS = 40  # of an offending value quoted in a message
DEFAULT_VELOCITY = 80  # PerformedNote's, for notes without one
_INSTRUMENT = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def read_features(path: Path, *, max_bytes: int = MAX_FEATURES_BYTES) -> dict[str, Any]:
    """Read and parse a ``features.json`` file; only regular files, at most ``max_bytes``.

    The size is checked before reading, and the read stops one byte past the limit
    (a file that grows meanwhile cannot make it read more).

    Raises:
        InputError: missing, not a regular file (a directory, FIFO or device would
            block or never end), unreadable, or not a valid document (see ``parse_features``).
        LimitExceeded: larger than ``max_bytes``.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path.name!r} is not a regular file")
        if info.st_size > max_bytes:
            raise LimitExceeded(f"{path.name!r} is {info.st_size} bytes, more than the {max_bytes} allowed")
        # O_NONBLOCK: a FIFO swapped in after the check must not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise InputError(f"{path.name!r} is not a regular file")
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{path.name!r}: no such file") from None
    except OSError as error:
        raise InputError(f"cannot read {path.name!r}: {error.strerror}") from None
    return parse_features(data, name=path.name, max_bytes=max_bytes)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_features(data: bytes, *, name: str = "features.json", max_bytes: int = MAX_FEATURES_BYTES) -> dict[str, Any]:
    """Parse the bytes of a ``features.json``: strict UTF-8 JSON (no NaN or Infinity) whose
    top level is an object with the right ``schema`` (when it states one) and a ``notes`` list.

    Raises:
        InputError: not UTF-8, not JSON, nested too deeply, or not a features document.
        LimitExceeded: more than ``max_bytes``.
    """
    if len(data) > max_bytes:
        raise LimitExceeded(f"{name!r} is more than the {max_bytes} bytes allowed")
    try:
        text = data.decode("utf-8-sig")  # a BOM from a Windows editor is harmless
    except UnicodeDecodeError as error:
        raise InputError(f"{name!r} is not UTF-8 text (byte {error.start})") from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputError(f"{name!r} is nested too deeply to be a features.json") from None
    except ValueError as error:  # JSONDecodeError, the NaN refusal, over-long integers
        raise InputError(f"{name!r} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"{name!r} is not a features.json: the top level is a JSON {type(document).__name__}, "
                         "not an object")
    schema = document.get("schema", FEATURES_SCHEMA)
    if schema != FEATURES_SCHEMA:
        raise InputError(f"{name!r} has schema {_shown(schema)}, expected {FEATURES_SCHEMA!r}")
    source = document.get("source", {})
    if not isinstance(source, dict) or not isinstance(source.get("key", ""), str):
        raise InputError(f"{name!r}: source must be an object whose key is a string")
    if not isinstance(document.get("notes"), list):
        raise InputError(f"{name!r}: notes must be a list, got {_shown(document.get('notes'))}")
    return document


def _number(note: Mapping[str, Any], field: str, where: str, low: float, high: float, rule: str) -> float:
    """A note's field as a float in [low, high]; bools, strings, null and non-finite values refused."""
    value = note.get(field)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            number = math.inf
        if low <= number <= high:
            return number
    raise InputError(f"{where}.{field} must be {rule}, got {_shown(value)}")


def _note(raw: object, index: int, max_duration_s: float) -> tuple[float, float, float, int, float | None, float | None]:
    where = f"notes[{index}]"
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be an object with onset, offset and midi, got {_shown(raw)}")
    span = f"a number of seconds in 0..{max_duration_s:g} (AUDIOSCORE_MAX_DURATION_S)"
    onset = _number(raw, "onset", where, 0.0, max_duration_s, span)
    offset = _number(raw, "offset", where, 0.0, max_duration_s, span)
    if offset <= onset:
        raise InputError(f"{where}.offset must be later than its onset ({onset:g} s), got {offset:g}")
    low, high = MIDI_RANGE
    midi = _number(raw, "midi", where, low - 0.5, high + 0.49, f"a MIDI number in {low}..{high}")
    if "pitch_hz" in raw:  # not used for notation, but a document that has it must be sane
        _number(raw, "pitch_hz", where, math.ulp(0.0), MAX_PITCH_HZ, f"a frequency in Hz, > 0 and ≤ {MAX_PITCH_HZ:g}")
    velocity = DEFAULT_VELOCITY
    if "velocity" in raw:  # the attack's loudness (either engine); older documents have none
        velocity = round(_number(raw, "velocity", where, 1, 127, "a MIDI velocity in 1..127"))
    rise = _number(raw, "rise_db", where, 0.0, MAX_RISE_DB, f"a level rise in dB, 0..{MAX_RISE_DB:g}") if "rise_db" in raw else None
    dip = _number(raw, "dip_db", where, 0.0, MAX_RISE_DB, f"a level dip in dB, 0..{MAX_RISE_DB:g}") if "dip_db" in raw else None
    return onset, offset, midi, velocity, rise, dip


def notes_for_notation(document: Mapping[str, Any], *, limits: Limits | None = None, key: str | None = None
                       ) -> list[PerformedNote]:
    """The performed notes of a parsed ``features.json``, every field checked.

    A note needs a finite ``onset`` and a later ``offset`` within the longest accepted
    recording (``limits.max_duration_s``: the caller's configured limits, ``Limits()`` when None), and a
    ``midi`` number that rounds into 0..127; ``pitch_hz``, when present, must be in
    (0, 20000] Hz; ``velocity``, when present, in 1..127; ``rise_db`` and ``dip_db`` in 0..200. Notes may come in any order and
    overlap (a polyphonic engine's); the melody tracker's splits are joined unless
    ``engine.name`` is "poly". ``key``: the key the take is in, when the user knows it (see
    ``performed_notes``).

    Raises:
        InputError: the first offending note, named by index and field; ``key`` is not a key.
        LimitExceeded: more than MAX_NOTES notes.
    """
    notes = document.get("notes")
    if not isinstance(notes, list):
        raise InputError(f"notes must be a list, got {_shown(notes)}")
    if len(notes) > MAX_NOTES:
        raise LimitExceeded(f"{len(notes)} notes, more than the {MAX_NOTES} a score may have")
    max_duration_s = (limits or Limits()).max_duration_s
    parsed = [_note(raw, i, max_duration_s) for i, raw in enumerate(notes)]
    return performed_notes(parsed, frames=_voicing(document), melodic=_engine(document).get("name") != "poly",
                           tuning_cents=_tuning_cents(notes), key=key)


def _tuning_cents(notes: list[dict[str, Any]]) -> float:
    """The take's tuning as the melody engine took it off each (checked) note: its
    ``pitch_hz`` against its ``midi``, cents in [-50, 50); 0 when no note has a ``pitch_hz``."""
    cents = [100.0 * (tuned_midi(n["pitch_hz"]) - n["midi"]) for n in notes if "pitch_hz" in n]
    return float((np.median(cents) + 50.0) % 100.0 - 50.0) if cents else 0.0


def performed_notes(
    notes: Sequence[tuple[float, float, float, int, float | None, float | None]], *,
    frames: tuple[np.ndarray, np.ndarray] | None, melodic: bool, tuning_cents: float = 0.0, key: str | None = None,
) -> list[PerformedNote]:
    """Notes ``(onset_s, offset_s, midi, velocity, rise_db, dip_db)`` as notation takes them, in onset order:
    the CLI's analysis in memory and a ``features.json`` read back give the same notes.

    Args:
        frames: the pitch analysis's frame times and voicing probabilities, if known.
        melodic: the melody tracker's notes, whose splits of one note are joined
            (a polyphonic engine's notes are not its).
        tuning_cents: the take's tuning the melody's ``midi`` have taken off; a drifting
            take is written in the key it began in, and near a quarter tone the key
            signature decides which semitone the notes round to (see ``take_semitone``).
        key: the key the take is in (a user's ``--key``): near a quarter tone, it decides the semitone.

    Raises:
        InputError: ``key`` is not a key.
    """
    ordered = sorted(notes, key=lambda n: n[0])
    # Tuned notes still carry a singer's drift around the take's one offset.
    offsets = drifting_offsets([n[0] for n in ordered], [n[2] for n in ordered], [n[1] - n[0] for n in ordered])
    rounded = [round(n[2] - offset) for n, offset in zip(ordered, offsets, strict=True)]
    if melodic and rounded:
        try:
            given = parse_key(key) if key else None
        except ValueError as error:
            raise InputError(str(error)) from None
        shift = take_semitone([(m, n[1] - n[0]) for m, n in zip(rounded, ordered, strict=True)], float(offsets[0]),
                              tuning_cents, given)
        rounded = [m + shift for m in rounded]
    low, high = MIDI_RANGE
    performed = [PerformedNote(on, off, min(high, max(low, m)), v, rise, dip)
                 for (on, off, _, v, rise, dip), m in zip(ordered, rounded, strict=True)]
    return join_tracker_splits(performed, *frames) if frames and melodic else performed


def _engine(document: Mapping[str, Any]) -> Mapping[str, Any]:
    engine = document.get("engine")
    return engine if isinstance(engine, Mapping) else {}


def instrument_of(document: Mapping[str, Any]) -> str | None:
    """The instrument a ``features.json`` names (``engine.instrument``), None when it names none.

    Raises:
        InputError: an instrument that is not a short lower-case name.
    """
    value = _engine(document).get("instrument")
    if value is None:
        return None
    if not isinstance(value, str) or not _INSTRUMENT.fullmatch(value):
        raise InputError(f"engine.instrument must be a lower-case instrument name such as 'piano', got {_shown(value)}")
    return value


def _voicing(document: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The pitch analysis's frame times and voicing probabilities, when the document has
    them (a features.json written by this project does; a hand-made notes list need not)."""
    pitch = document.get("pitch")
    if not isinstance(pitch, Mapping):
        return None
    times, voiced = pitch.get("times"), pitch.get("voiced_prob")
    if not (isinstance(times, list) and isinstance(voiced, list) and len(times) == len(voiced) and times):
        return None
    try:
        frames = np.asarray(times, dtype=float), np.asarray(voiced, dtype=float)
    except (TypeError, ValueError):
        return None
    if frames[0].ndim != 1 or not (np.isfinite(frames[0]).all() and np.isfinite(frames[1]).all()):
        return None
    return frames
