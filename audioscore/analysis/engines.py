"""Which note engine transcribes a recording: the pYIN plugin ("melody": voice, winds, strings)
or basic-pitch ("poly": piano, guitar), and why.

An explicit engine wins; else an instrument hint names one; else (``auto``) the polyphony of
basic-pitch's notes in a sample of the audio decides (``polyphonic.PolyProbe``): a melody (even played on a piano, or
sung in a reverberant room) sounds one note at a time, ~1.0-1.35 on our corpora; chords and
accompaniment 2.3-4.0 (bench/poly_report.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from audioscore.errors import InputError

__all__ = ["ENGINES", "INSTRUMENTS", "MODE_METADATA", "POLYPHONY_THRESHOLD", "EngineChoice", "Mode", "choose",
           "check_engine", "check_instrument", "engine_for", "mode_for_object", "parse_mode", "polyphony"]

ENGINES = ("auto", "melody", "poly")
# Instrument hints and the engine each implies. The notation reads the instrument too
# (piano: grand staff; guitar: treble clef an octave down).
INSTRUMENTS = {
    "piano": "poly", "guitar": "poly", "harp": "poly", "organ": "poly",
    "voice": "melody", "flute": "melody", "recorder": "melody", "oboe": "melody", "clarinet": "melody",
    "bassoon": "melody", "saxophone": "melody", "trumpet": "melody", "horn": "melody", "trombone": "melody",
    "tuba": "melody", "violin": "melody", "viola": "melody", "cello": "melody", "bass": "melody",
    "whistle": "melody",
}
# Mean notes sounding at once above which auto picks the polyphonic engine (between the
# corpora's 1.34 and 2.29, nearer the melodies: a duet should go to the poly engine).
POLYPHONY_THRESHOLD = 1.6
_MAX_SHOWN = 40  # characters of a refused value repeated in an error
# The uploads' user metadata key (``mc cp --attr "mode=piano"``, header ``x-amz-meta-mode``) and
# fetch-youtube's request field: an engine or an instrument name.
MODE_METADATA = "mode"


class _Timed(Protocol):
    @property
    def onset(self) -> float: ...

    @property
    def offset(self) -> float: ...


@dataclass(frozen=True)
class EngineChoice:
    """What ran and why: ``features.json``'s ``engine`` block.

    Attributes:
        name: "melody" or "poly".
        requested: "auto", "melody" or "poly".
        instrument: the hint given, or None.
        model: the plugin key or ``basic-pitch <version> (ONNX)``.
        reason: "requested", "instrument <name>", or the measure auto decided on.
        polyphony: basic-pitch's polyphony when it was measured (auto), else None.
    """

    name: str
    requested: str
    instrument: str | None
    model: str
    reason: str
    polyphony: float | None = None

    def to_dict(self) -> dict[str, Any]:
        block: dict[str, Any] = {"name": self.name, "requested": self.requested, "instrument": self.instrument,
                                 "model": self.model, "reason": self.reason}
        if self.polyphony is not None:
            block["measured_polyphony"] = round(self.polyphony, 3)
        return block


def _shown(value: object) -> str:
    text = str(value)
    return repr(text[:_MAX_SHOWN] + ("..." if len(text) > _MAX_SHOWN else ""))


def check_engine(value: object) -> str:
    """An engine name from outside (CLI, metadata, request), or InputError naming the choices."""
    if not isinstance(value, str) or value.strip().lower() not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}; got {_shown(value)}")
    return value.strip().lower()


def check_instrument(value: object) -> str:
    """An instrument hint from outside, or InputError naming the choices."""
    if not isinstance(value, str) or value.strip().lower() not in INSTRUMENTS:
        raise InputError(f"instrument must be one of {', '.join(sorted(INSTRUMENTS))}; got {_shown(value)}")
    return value.strip().lower()


@dataclass(frozen=True)
class Mode:
    """A recording's requested engine and instrument, and where the request came from
    ("metadata", "key prefix", "default")."""

    engine: str = "auto"
    instrument: str | None = None
    source: str = "default"


def parse_mode(value: object, *, source: str) -> Mode:
    """A mode from outside: an engine (auto, melody, poly) or an instrument (piano, guitar, ...).

    Raises:
        InputError: anything else; the message lists the choices.
    """
    if isinstance(value, str) and value.strip().lower() in ENGINES:
        return Mode(value.strip().lower(), None, source)
    if isinstance(value, str) and value.strip().lower() in INSTRUMENTS:
        return Mode("auto", value.strip().lower(), source)
    raise InputError(f"{MODE_METADATA} must be an engine ({', '.join(ENGINES)}) or an instrument "
                     f"({', '.join(sorted(INSTRUMENTS))}); got {_shown(value)}")


def mode_for_object(key: str, metadata: dict[str, str]) -> Mode:
    """An uploaded object's mode: its ``mode`` user metadata, else its key's first folder when that
    names an engine or instrument (``piano/song.mp3``), else auto.

    Raises:
        InputError: the metadata names neither an engine nor an instrument.
    """
    if metadata.get(MODE_METADATA, "").strip():  # blank: a form's field left on auto
        return parse_mode(metadata[MODE_METADATA], source="metadata")
    folder, slash, _ = key.partition("/")
    if slash and (folder.lower() in ENGINES or folder.lower() in INSTRUMENTS):
        return parse_mode(folder, source="key prefix")
    return Mode()


def engine_for(requested: str, instrument: str | None) -> str | None:
    """The engine an explicit request or an instrument implies; None: decide from the audio."""
    if requested != "auto":
        return requested
    return INSTRUMENTS[instrument] if instrument else None


def overlap_totals(spans: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """(note-seconds, seconds when any note sounds) of (onset, offset) spans: their ratio is the
    mean number sounding at once, and totals of several excerpts add up."""
    spans = list(spans)
    events = sorted([(onset, 1) for onset, _ in spans] + [(offset, -1) for _, offset in spans])
    sounding = weighted = 0.0
    count, last = 0, 0.0
    for time, step in events:
        if count > 0:
            sounding += time - last
            weighted += count * (time - last)
        count, last = count + step, time
    return weighted, sounding


def polyphony(notes: Iterable[_Timed]) -> float:
    """Mean number of notes sounding at once over the time when any sounds (0.0 for no notes)."""
    weighted, sounding = overlap_totals((n.onset, n.offset) for n in notes)
    return weighted / sounding if sounding > 0 else 0.0


def choose(requested: str, instrument: str | None, measured: float | None) -> tuple[str, str, float | None]:
    """(engine, reason, measured polyphony): the decision ``engine_for`` leaves to the audio is
    made from the polyphony of basic-pitch's notes (``measured``, which auto always takes)."""
    decided = engine_for(requested, instrument)
    if decided is not None:
        return decided, "requested" if requested != "auto" else f"instrument {instrument}", None
    if measured is None:
        raise ValueError("auto needs the polyphony of the polyphonic engine's notes")
    if measured >= POLYPHONY_THRESHOLD:
        return "poly", f"polyphony {measured:.2f} >= {POLYPHONY_THRESHOLD} (mean notes sounding at once)", measured
    return "melody", f"polyphony {measured:.2f} < {POLYPHONY_THRESHOLD} (mean notes sounding at once)", measured
