"""What a results page shows, independent of where it came from (a CLI folder or a record).

Every string here may come from a user (titles, file names, error messages): the template
escapes them all (Jinja2 autoescaping). Links are the one thing escaping does not make safe
(``javascript:`` survives it), so every href goes through `safe_href` when it is made.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_TABLE_NOTES", "Link", "Note", "Page", "Stage", "facts_from_summaries", "notes_from_score",
           "safe_href"]

MAX_TABLE_NOTES = 200  # the table lists the first ones; the piano-roll and the files have them all
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def safe_href(url: str) -> str:
    """``url`` if a page may link to it: http(s) with a host, or relative (no scheme, not ``//host``).

    Raises:
        ValueError: any other URL (``javascript:``, ``data:``, ``file:``, protocol-relative, control characters).
    """
    text = str(url)
    if not text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text) or "\\" in text:
        raise ValueError(f"not a link a page may use: {text[:80]!r}")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc and not parts.username and not parts.password:
        return text
    if not parts.scheme and not parts.netloc and not text.startswith("//") and ":" not in text.split("/", 1)[0]:
        return text
    raise ValueError(f"not a link a page may use: {text[:80]!r}")


def file_href(name: str) -> str:
    """A relative link to a file in the page's own folder (percent-encoded)."""
    return safe_href(urllib.parse.quote(name))


@dataclass(frozen=True)
class Link:
    """A download link: what it is, and where (checked by `safe_href`)."""

    label: str
    href: str

    def __post_init__(self) -> None:
        safe_href(self.href)


@dataclass(frozen=True)
class Note:
    """A note for the table and the piano-roll: times in seconds, MIDI number (may be fractional)."""

    onset_s: float
    offset_s: float
    midi: float
    name: str = ""
    measure: int | None = None
    beat: float | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        number = round(self.midi)
        return f"{_NAMES[number % 12]}{number // 12 - 1}"


@dataclass(frozen=True)
class Stage:
    """One pipeline stage of a cluster recording: status, when, and the error a user can act on."""

    name: str
    status: str
    started_at: str = ""
    finished_at: str = ""
    error: str = ""


@dataclass
class Page:
    """Everything a results page shows; empty fields are left out of the page."""

    title: str
    source: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    audio: str | None = None
    audio_note: str = ""
    score_pages: list[str] = field(default_factory=list)
    features_plot: str | None = None
    downloads: list[Link] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refresh_s: int | None = None  # reload after this many seconds (work still running)
    status_line: str = ""

    def __post_init__(self) -> None:
        for href in (self.audio, self.features_plot, *self.score_pages):
            if href is not None:
                safe_href(href)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def notes_from_score(score: Mapping[str, Any]) -> list[Note]:
    """Notes of a score.json document (schema ``audioscore.score/1``); malformed entries are skipped."""
    notes = []
    for raw in score.get("notes") or []:
        if not isinstance(raw, Mapping):
            continue
        onset, offset, midi = (_number(raw.get(k)) for k in ("onset_s", "offset_s", "midi"))
        if onset is None or offset is None or midi is None or offset < onset:
            continue
        measure, beat = raw.get("measure"), _number(raw.get("beat"))
        notes.append(Note(onset, offset, midi, str(raw.get("name") or ""),
                          measure if isinstance(measure, int) and not isinstance(measure, bool) else None, beat))
    return notes


def notes_from_rows(rows: Iterable[tuple[float, float, float]]) -> list[Note]:
    """Notes from (onset s, duration s, Hz) rows, as notes.csv has them."""
    notes = []
    for onset, duration, hz in rows:
        if all(math.isfinite(v) for v in (onset, duration, hz)) and hz > 0 and duration >= 0:
            notes.append(Note(onset, onset + duration, 69 + 12 * math.log2(hz / 440.0)))
    return notes


def _fmt_seconds(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d} ({seconds:.1f} s)"


def facts_from_summaries(score: Mapping[str, Any] | None, features: Mapping[str, Any] | None,
                         duration_s: float | None = None, engine: str = "", given: Collection[str] = ()
                         ) -> list[tuple[str, str]]:
    """The page's key facts from a score summary (score.json or the record's) and a features
    summary; ``given``: the hints the user gave ("key", "tempo", "time-signature"), so marked."""
    facts: list[tuple[str, str]] = []
    score, features = score or {}, features or {}

    def told(name: str) -> str:
        return " (given)" if name in given else ""

    if score.get("key"):
        facts.append(("Key", str(score["key"]) + told("key")))
    if score.get("time_signature"):
        facts.append(("Meter", str(score["time_signature"]) + told("time-signature")))
    tempo = _number(score.get("tempo_bpm"))
    if tempo is not None:
        facts.append(("Tempo", f"quarter = {tempo:.0f}" + told("tempo")))
    if isinstance(score.get("measures"), int):
        facts.append(("Measures", str(score["measures"])))
    notes = score.get("notes")
    count = len(notes) if isinstance(notes, list) else notes if isinstance(notes, int) else None
    if count is None and isinstance(features.get("note_count"), int):
        count = features["note_count"]
    if count is not None:
        facts.append(("Notes", str(count)))
    duration = _number(duration_s) if duration_s is not None else _number(features.get("duration_s"))
    if duration is not None:
        facts.append(("Duration", _fmt_seconds(duration)))
    median = _number(features.get("median_f0_hz"))
    if median is not None:
        facts.append(("Median pitch", f"{median:.1f} Hz"))
    voiced = _number(features.get("voiced_ratio"))
    if voiced is not None:
        facts.append(("Voiced", f"{voiced:.0%}"))
    if engine:
        facts.append(("Engine", engine))
    return facts


def engine_name(document: Mapping[str, Any]) -> str:
    """The note engine a features document or summary names (``engine``: a name or ``{"name": ...}``)."""
    engine = document.get("engine")
    if isinstance(engine, Mapping):
        engine = engine.get("name") or engine.get("id")
    return str(engine) if isinstance(engine, str | int | float) and not isinstance(engine, bool) else ""
