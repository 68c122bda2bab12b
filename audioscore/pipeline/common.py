"""What every stage shares: the clients a function holds (``Services``), failure
recording, the work directory, the event's object as it is now, and status lookups.

Every stage is idempotent: the recording id comes from the source object
(bucket, key, ETag), and a stage already done for the same input is skipped.
A failure is written to the record with whether a retry can help, then
raised for the HTTP layer to answer.

The stages themselves are one module each (``fetch_stage``, ``extract_stage``,
``transcribe_stage``), so that a function imports only its own stage's libraries:
this module loads no numpy, librosa, music21, plugin or yt-dlp.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from audioscore.errors import AudioscoreError, InputError, TransientError
from audioscore.infra.config import Settings
from audioscore.infra.events import ObjectEvent
from audioscore.infra.records import RecordStore
from audioscore.infra.storage import ObjectInfo, ObjectStore, stale_reason

__all__ = ["AUDIO_SUFFIXES", "CONTAINER_SUFFIXES", "FEATURES_NAME", "RECORDING_ID", "Services", "current_object", "describe_failure",
           "stage_failures", "status_view", "workdir"]

# The names files of each accepted container (audioscore.analysis.audio.ACCEPTED_CONTAINERS) go
# by: uploads are picked from the audio bucket by name, so a name missing here is an upload
# silently ignored (an .aiff from a browser was), though its content would be read.
CONTAINER_SUFFIXES = {
    "wav": (".wav", ".wave"), "w64": (".w64",), "aiff": (".aiff", ".aif", ".aifc"), "caf": (".caf",),
    "au": (".au", ".snd"), "flac": (".flac",), "wv": (".wv",), "ape": (".ape",), "mp3": (".mp3",),
    "aac": (".aac", ".adts"), "ac3": (".ac3",), "eac3": (".eac3", ".ec3"), "amr": (".amr",),
    "ogg": (".ogg", ".oga", ".opus", ".spx"), "mov": (".mov", ".mp4", ".m4a", ".m4b", ".m4v", ".3gp", ".3g2"),
    "matroska": (".mkv", ".mka", ".webm"), "avi": (".avi",), "asf": (".wma", ".wmv", ".asf"), "flv": (".flv",),
    "mpeg": (".mpg", ".mpeg"), "mpegts": (".ts", ".mts", ".m2ts"),
}
AUDIO_SUFFIXES = tuple(suffix for suffixes in CONTAINER_SUFFIXES.values() for suffix in suffixes)
FEATURES_NAME = "features.json"
RECORDING_ID = re.compile(r"^[0-9a-f]{24}$")


def fetched_key(video_id: str) -> str:
    """Object key of a fetched video: its id, restricted to characters safe in a key."""
    return "youtube/" + (re.sub(r"[^A-Za-z0-9_-]+", "_", video_id).strip("_") or "video") + ".flac"


@dataclass
class Services:
    """Clients a function creates once and reuses across calls."""

    store: ObjectStore
    records: RecordStore
    settings: Settings
    # Queues work for a function by name (the gateway's async route); None where nothing may.
    invoke: Callable[[str, dict[str, Any]], None] | None = None


def describe_failure(error: Exception) -> tuple[str, bool]:
    """What to record of a failure: its message (internals not shown) and whether a retry can help (5xx)."""
    if isinstance(error, AudioscoreError):
        return str(error), error.http_status >= 500
    return f"internal error: {type(error).__name__}", True


@contextmanager
def stage_failures(services: Services, recording_id: str, stage: str) -> Iterator[None]:
    """Record a failure of the stage (retryable for 5xx; an outage, TransientError, spends no attempt) and re-raise it."""
    try:
        yield
    except Exception as error:
        message, retryable = describe_failure(error)
        services.records.fail_stage(recording_id, stage, message, retryable=retryable,
                                    transient=isinstance(error, TransientError))
        raise


def workdir(settings: Settings) -> tempfile.TemporaryDirectory[str]:
    """A fresh temporary directory under ``settings.work_dir`` for one stage run (a context manager)."""
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=settings.work_dir, prefix="audioscore-")


def current_object(event: ObjectEvent, store: ObjectStore) -> tuple[ObjectInfo | None, str | None]:
    """The event's object as it is now, and why the event is stale (None when it is not).

    Raises:
        InputError: the event has no ETag (which version it is about cannot be told).
        TransientError: the store failed.
    """
    if not event.etag:
        raise InputError(f"the event for {event.bucket}/{event.key} has no eTag")
    info = store.stat(event.bucket, event.key)
    return info, stale_reason(info, event.bucket, event.key, event.etag)



def status_view(recording_id: str, services: Services) -> dict[str, Any] | None:
    """A recording's record with presigned links to its artifacts, or None if unknown.

    Raises:
        InputError: the id is not a recording id.
    """
    if not RECORDING_ID.match(recording_id):
        raise InputError("id must be a recording id (24 hexadecimal characters)")
    status = services.records.status(recording_id)
    if status is None:
        return None
    links: dict[str, dict[str, str]] = {}
    for stage, artifacts in (status.get("artifacts") or {}).items():
        for name, location in artifacts.items():
            bucket, _, key = location.partition("/")
            links.setdefault(stage, {})[name] = services.store.presigned_get(
                bucket, key, expires_s=services.settings.presign_expiry_s)
    status["links"] = links
    return status
