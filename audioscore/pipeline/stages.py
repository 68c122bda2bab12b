"""What each function does, between parsing its request and answering it:
fetch a URL into the audio bucket, extract features from an audio object,
transcribe a features object, and report a recording's status.

Every stage is idempotent: the recording id comes from the source object
(bucket, key, ETag), and a stage already done for the same input is skipped.
A failure is written to the record with whether a retry can help, then
raised for the HTTP layer to answer.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audioscore.analysis.audio import AudioInfo, probe
from audioscore.analysis.export import file_sha256, write_features
from audioscore.analysis.features import Features, Source, extract_file, summarise
from audioscore.download.urls import FetchPolicy, validate_url, youtube_video_id
from audioscore.download.ytdlp import fetch_audio
from audioscore.errors import AudioscoreError, InputError, NotFound, TransientError
from audioscore.infra.config import Settings
from audioscore.infra.events import ObjectEvent
from audioscore.infra.records import RecordStore, recording_id_for_object
from audioscore.infra.storage import ObjectInfo, ObjectStore, stale_reason
from audioscore.notation.feature_notes import read_features
from audioscore.notation.transcription import (
    TranscribeOptions,
    notes_from_features,
    transcribe_notes,
)

__all__ = ["AUDIO_SUFFIXES", "LongRecording", "Services", "current_object", "describe_failure", "extract_stage", "fetch_stage", "stage_failures",
           "status_view", "store_features", "transcribe_stage", "workdir"]

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".webm", ".mp4", ".mkv", ".mov")
FEATURES_NAME = "features.json"
RECORDING_ID = re.compile(r"^[0-9a-f]{24}$")
FEATURE_FILES = ("features.png", "pitch.csv", "notes.csv", "mfcc.csv")  # uploaded before features.json
SCORE_FILES = {"score.ly": "text/x-lilypond", "score.pdf": "application/pdf", "score.png": "image/png",
               "score.mid": "audio/midi", "score.musicxml": "application/vnd.recordare.musicxml+xml"}
CONTENT_TYPES = {".png": "image/png", ".csv": "text/csv", ".json": "application/json"}
MAX_FEATURES_BYTES = 256 * 1024**2


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
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=settings.work_dir, prefix="audioscore-")


def _fetched_key(video_id: str) -> str:
    """Object key of a fetched video: its id, restricted to characters safe in a key."""
    return "youtube/" + (re.sub(r"[^A-Za-z0-9_-]+", "_", video_id).strip("_") or "video") + ".flac"


def fetch_stage(request: dict[str, Any], services: Services, policy: FetchPolicy) -> dict[str, Any]:
    """Download a URL's audio into the audio bucket and open its record.

    Raises:
        InputError: no or bad URL, or a URL the policy refuses.
    """
    url = request.get("url")
    title = request.get("title")
    if not isinstance(url, str) or not url.strip():
        raise InputError('the request needs a "url" string')
    if title is not None and not isinstance(title, str):
        raise InputError('"title" must be a string')
    settings = services.settings
    # A video already fetched is not downloaded again (the URL is still checked first).
    validate_url(url.strip(), policy)
    video_id = youtube_video_id(url.strip())
    known = services.store.stat(settings.audio_bucket, _fetched_key(video_id)) if video_id else None
    if known is not None:
        recording_id = recording_id_for_object(settings.audio_bucket, known.key, known.etag)
        return {"recording_id": recording_id, "bucket": settings.audio_bucket, "key": known.key,
                "title": known.metadata.get("title", ""), "status": "exists"}
    with workdir(settings) as tmp:
        fetched = fetch_audio(url.strip(), Path(tmp), policy, title=title)
        key = _fetched_key(fetched.video_id)
        metadata = {"source-url": fetched.source_url, "title": fetched.title, "video-id": fetched.video_id}
        etag = services.store.upload_file(settings.audio_bucket, key, fetched.path, content_type="audio/flac",
                                          metadata=metadata)
    recording_id = recording_id_for_object(settings.audio_bucket, key, etag)
    services.records.upsert_source(recording_id, {
        "kind": "url", "url": fetched.source_url, "video_id": fetched.video_id, "title": fetched.title,
        "bucket": settings.audio_bucket, "key": key, "etag": etag})
    if services.records.begin_stage(recording_id, "fetched", etag=etag):
        services.records.finish_stage(recording_id, "fetched", artifacts={"audio": f"{settings.audio_bucket}/{key}"},
                                      summary={"duration_s": fetched.duration_s})
    return {"recording_id": recording_id, "bucket": settings.audio_bucket, "key": key, "title": fetched.title,
            "status": "fetched"}


LongRecording = Callable[[ObjectEvent, str, Path, AudioInfo, Services], dict[str, Any]]


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


def extract_stage(event: ObjectEvent, services: Services, *,
                  long_recording: LongRecording | None = None) -> dict[str, Any]:
    """Features of an uploaded audio object, stored under ``<recording id>/`` in the features bucket.

    A recording longer than ``settings.fanout_min_s`` goes to ``long_recording`` (with the
    recording id, the downloaded file and its probe) when one is given.
    """
    settings, store, records = services.settings, services.store, services.records
    recording_id = recording_id_for_object(event.bucket, event.key, event.etag)
    # Before anything is recorded: the object must still be the one the event is about.
    info, stale = current_object(event, store)
    if info is None or stale:
        return {"status": "stale", "recording_id": recording_id, "reason": stale}
    # Metadata as stored, not as the event says: an event is only a hint of what to look at.
    metadata = info.metadata
    records.upsert_source(recording_id, {
        "kind": "url" if metadata.get("source-url") else "upload", "bucket": event.bucket, "key": event.key,
        "etag": event.etag, "url": metadata.get("source-url"), "video_id": metadata.get("video-id"),
        "title": metadata.get("title") or Path(event.key).stem})
    if not records.begin_stage(recording_id, "features", etag=event.etag):
        return {"status": "duplicate", "recording_id": recording_id}
    with stage_failures(services, recording_id, "features"), workdir(settings) as tmp:
        path = store.download(event.bucket, event.key, Path(tmp), max_bytes=settings.max_object_bytes,
                              etag=event.etag)
        limits = settings.limits()
        probed = probe(path, limits)
        if long_recording is not None and probed.duration_s > settings.fanout_min_s:
            return long_recording(event, recording_id, path, probed, services)
        features = extract_file(path, limits=limits, info=probed)
        source = Source(key=event.key, sha256=file_sha256(path), bucket=event.bucket, etag=event.etag)
        artifacts = store_features(features, source, recording_id, Path(tmp), services)
    return {"status": "done", "recording_id": recording_id, "features": artifacts["features_json"]}


def store_features(features: Features, source: Source, recording_id: str, tmp: Path,
                   services: Services, *, summary_extra: dict[str, Any] | None = None) -> dict[str, str]:
    """Write the feature files, upload them (features.json last: its upload starts
    transcription) and mark the stage done; returns the artifacts' locations."""
    settings = services.settings
    files = write_features(features, source, tmp / "out")
    prefix = f"{recording_id}/"
    artifacts, etag = {}, ""
    for name in (*FEATURE_FILES, FEATURES_NAME):
        local = files.features_json.parent / name
        etag = services.store.upload_file(settings.features_bucket, prefix + name, local,
                                          content_type=CONTENT_TYPES[local.suffix],
                                          metadata={"recording-id": recording_id})
        artifacts[name.replace(".", "_")] = f"{settings.features_bucket}/{prefix}{name}"
    summary = summarise(features)
    summary["mfcc_mean"] = [round(float(v), 4) for v in features.mfcc.mean]
    summary["duration_s"] = round(features.audio.duration_s, 3)
    summary.update(summary_extra or {})
    # features.json's ETag (uploaded last): transcribe acts only on events for this version.
    services.records.finish_stage(recording_id, "features", artifacts=artifacts, summary=summary, result_etag=etag)
    return artifacts


def transcribe_stage(event: ObjectEvent, services: Services) -> dict[str, Any]:
    """The score of a ``<recording id>/features.json`` object, stored under the same prefix in the scores bucket."""
    settings, store, records = services.settings, services.store, services.records
    recording_id, _, name = event.key.partition("/")
    if name != FEATURES_NAME or not RECORDING_ID.match(recording_id):
        raise InputError(f"not a features object of a recording: {event.key!r}")
    stale = _stale_features(event, recording_id, services)
    if stale:
        return {"status": "stale", "recording_id": recording_id, "reason": stale}
    if not records.begin_stage(recording_id, "score", etag=event.etag):
        return {"status": "duplicate", "recording_id": recording_id}
    with stage_failures(services, recording_id, "score"), workdir(settings) as tmp:
        local = store.download(event.bucket, event.key, Path(tmp), max_bytes=MAX_FEATURES_BYTES, etag=event.etag)
        document = read_features(local)  # a hostile upload is a 400 that names the field, never a 500
        record = records.get(recording_id) or {}
        title = (record.get("source") or {}).get("title") or Path(str(document.get("source", {}).get("key", ""))).stem
        result = transcribe_notes(notes_from_features(document), Path(tmp) / "out", TranscribeOptions(title=title))
        prefix = f"{recording_id}/"
        artifacts = {}
        for path, content_type in [(result.files.pdf.parent / n, t) for n, t in SCORE_FILES.items()] + [
                (result.files.json, "application/json")]:  # score.json last: the set is complete
            store.upload_file(settings.scores_bucket, prefix + path.name, path, content_type=content_type,
                              metadata={"recording-id": recording_id})
            artifacts[path.name.replace(".", "_")] = f"{settings.scores_bucket}/{prefix}{path.name}"
        score = result.score
        summary = {k: score[k] for k in ("key", "tempo_bpm", "time_signature", "measures", "clef")}
        summary["notes"] = len(score["notes"])
        records.finish_stage(recording_id, "score", artifacts=artifacts, summary=summary)
    return {"status": "done", "recording_id": recording_id, "score": artifacts["score_pdf"]}


def _stale_features(event: ObjectEvent, recording_id: str, services: Services) -> str | None:
    """Why a features event must not be acted on (None when it may), checked before anything is recorded.

    Raises:
        NotFound: no such recording (a features object no extract-features run wrote, or a forged key).
    """
    record = services.records.get(recording_id)
    if record is None:
        raise NotFound(f"no recording {recording_id} (for {event.bucket}/{event.key})")
    # Recorded when features finished; absent while a run is between its upload and its record.
    recorded = ((record.get("stages") or {}).get("features") or {}).get("result_etag")
    if recorded and recorded != event.etag:
        return f"the recording's features are ETag {recorded}, not the event's {event.etag or 'none'}"
    return current_object(event, services.store)[1]


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
