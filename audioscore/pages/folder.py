"""``index.html`` for a CLI output folder: the files `extract` and `transcribe` wrote, as one page.

The audio: a page that links to the input where it lies breaks as soon as the folder moves,
is zipped or is sent to someone, and that is what people do with a results folder. So the
input is put into the folder as ``audio<ext>`` (a hard link when it is on the same file
system, which costs no space; a copy otherwise), and the page links to that. An input
already inside the folder is linked where it is. A container browsers do not play (AIFF,
WMA, APE, ...) gets no player, only a note, rather than a player that fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

from audioscore.infra.files import write_atomic
from audioscore.pages.model import (
    Link,
    Page,
    engine_name,
    facts_from_summaries,
    file_href,
    notes_from_rows,
    notes_from_score,
)
from audioscore.pages.render import render_page

__all__ = ["INDEX_NAME", "PLAYABLE_SUFFIXES", "write_index"]

INDEX_NAME = "index.html"
# Containers Chromium, Firefox and Safari play in <audio> (Safari: not Ogg/WebM before 2024; still linked).
PLAYABLE_SUFFIXES = frozenset({".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".mp4", ".aac", ".webm"})
# Larger JSON documents are not parsed for the page (a 4-hour features.json is hundreds of MB of per-frame data).
MAX_JSON_BYTES = 64 * 1024**2
_DOWNLOADS = (("Score (PDF)", "score.pdf"), ("MIDI", "score.mid"), ("MusicXML", "score.musicxml"),
              ("LilyPond", "score.ly"), ("score.json", "score.json"), ("features.json", "features.json"),
              ("features.png", "features.png"), ("pitch.csv", "pitch.csv"), ("notes.csv", "notes.csv"),
              ("mfcc.csv", "mfcc.csv"))


def _json(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return {}
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _note_rows(path: Path) -> list[tuple[float, float, float]]:
    rows = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                try:
                    onset, duration, hz = (float(v) for v in row[:3])
                except ValueError:
                    continue  # a header
                rows.append((onset, duration, hz))
    except (OSError, ValueError):
        return []
    return rows


def _place_audio(audio: Path, out: Path) -> tuple[str | None, str]:
    """The audio's link from the page and a note for the reader (see the module docstring)."""
    suffix = audio.suffix.lower()
    if suffix not in PLAYABLE_SUFFIXES:
        return None, (f"{audio.name}: browsers cannot play this container; the analysis used it as it is. "
                      "Convert it (e.g. to .m4a or .ogg) to listen here.")
    try:
        inside = audio.resolve().relative_to(out.resolve())
    except ValueError:
        inside = None
    if inside is not None:
        return file_href(inside.as_posix()), ""
    target = out / f"audio{suffix}"
    temporary = out / f".audio{suffix}.tmp"
    temporary.unlink(missing_ok=True)
    try:
        try:
            os.link(audio, temporary)
        except OSError:  # another file system, or links not allowed: a copy
            shutil.copyfile(audio, temporary)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        return None, f"{audio.name} could not be put beside this page ({error.strerror}); it is not playable here."
    return file_href(target.name), f"A copy of {audio.name}, so that the folder plays wherever it goes."


def build_page(out: Path, audio: Path | None) -> Page:
    """The page of an output folder, from the files in it."""
    score = _json(out / "score.json")
    features = _json(out / "features.json")
    summary = features.get("summary") if isinstance(features.get("summary"), dict) else {}
    duration = (features.get("audio") or {}).get("duration_s") if isinstance(features.get("audio"), dict) else None
    title = str(score.get("title") or "") or (audio.stem if audio else out.name)
    notes = notes_from_score(score) if score else notes_from_rows(_note_rows(out / "notes.csv"))
    audio_href, audio_note = _place_audio(audio, out) if audio is not None else (None, "")
    pages = sorted(out.glob("score-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])
                   if p.stem.rsplit("-", 1)[1].isdigit() else 0)
    score_pages = [file_href(p.name) for p in pages if p.stem.rsplit("-", 1)[1].isdigit()]
    if not score_pages and (out / "score.png").is_file():
        score_pages = [file_href("score.png")]
    return Page(
        title=title,
        source=audio.name if audio else "",
        facts=facts_from_summaries(score, summary, duration, engine_name(features)),
        remarks=[str(r) for r in score.get("remarks") or [] if isinstance(r, str)],
        audio=audio_href, audio_note=audio_note, score_pages=score_pages,
        features_plot=file_href("features.png") if (out / "features.png").is_file() else None,
        downloads=[Link(label, file_href(name)) for label, name in _DOWNLOADS if (out / name).is_file()],
        notes=notes,
    )


def write_index(out_dir: str | os.PathLike[str], *, audio: Path | None = None, title: str = "") -> Path:
    """Write ``index.html`` into an output folder (atomically) and return its path.

    Args:
        out_dir: the folder `extract` or `transcribe` wrote.
        audio: the input, put beside the page for its player (see the module docstring).
        title: the page's title; by default the score's, else the input's name.
    """
    out = Path(out_dir)
    page = build_page(out, audio)
    if title:
        page.title = title
    generated = f"generated {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    path = out / INDEX_NAME
    # "replace": a file name that is not UTF-8 (its bytes decoded to lone surrogates) shows as "?".
    write_atomic(path, render_page(page, file_page=True, generated=generated).html.encode("utf-8", "replace"))
    return path
