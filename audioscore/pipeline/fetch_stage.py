"""The fetch-youtube stage: a URL's audio into the audio bucket, and its record opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audioscore.analysis.engines import MODE_METADATA, parse_mode
from audioscore.download.urls import FetchPolicy, validate_url, youtube_video_id
from audioscore.download.ytdlp import fetch_audio
from audioscore.errors import InputError
from audioscore.infra.records import recording_id_for_object
from audioscore.notation.hints import HINT_NAMES, given, read_hints
from audioscore.pipeline.common import Services, fetched_key, workdir
from audioscore.pipeline.new_hints import refuse_other_options

__all__ = ["REQUEST_FIELDS", "fetch_stage"]

# A misspelt field ("time_signature") is refused, not silently ignored.
REQUEST_FIELDS = ("url", "title", MODE_METADATA, *HINT_NAMES)


def fetch_stage(request: dict[str, Any], services: Services, policy: FetchPolicy) -> dict[str, Any]:
    """Download a URL's audio into the audio bucket and open its record. An optional ``"mode"``
    (an engine or an instrument, as the uploads' ``mode`` metadata) and the score's hints
    (``"key"``, ``"tempo"``, ``"time-signature"``, as the uploads' metadata of those names) go
    with the audio object. A video fetched before keeps what it was fetched with.

    Raises:
        InputError: no or bad URL, or a URL the policy refuses; a mode that is neither; a bad hint;
            a field not in REQUEST_FIELDS.
    """
    unknown = sorted(str(name) for name in request if name not in REQUEST_FIELDS)
    if unknown:
        raise InputError(f"unknown field {unknown[0][:40]!r} in the request; the fields are {', '.join(REQUEST_FIELDS)}")
    url = request.get("url")
    title = request.get("title")
    if not isinstance(url, str) or not url.strip():
        raise InputError('the request needs a "url" string')
    if title is not None and not isinstance(title, str):
        raise InputError('"title" must be a string')
    mode = parse_mode(request[MODE_METADATA], source="request") if given(request, MODE_METADATA) else None
    hints = read_hints(request)
    settings = services.settings
    # A video already fetched is not downloaded again (the URL is still checked first).
    validate_url(url.strip(), policy)
    video_id = youtube_video_id(url.strip())
    known = services.store.stat(settings.audio_bucket, fetched_key(video_id)) if video_id else None
    if known is not None:
        recording_id = recording_id_for_object(settings.audio_bucket, known.key, known.etag)
        refuse_other_options(mode, hints, recording_id, known.metadata)
        return {"recording_id": recording_id, "bucket": settings.audio_bucket, "key": known.key,
                "title": known.metadata.get("title", ""), "status": "exists",
                "hints": read_hints(known.metadata).to_dict()}
    with workdir(settings) as tmp:
        fetched = fetch_audio(url.strip(), Path(tmp), policy, title=title)
        key = fetched_key(fetched.video_id)
        metadata = {"source-url": fetched.source_url, "title": fetched.title, "video-id": fetched.video_id}
        if mode is not None:  # read back by extract-features like an upload's --attr "mode=..."
            metadata[MODE_METADATA] = mode.instrument or mode.engine
        metadata.update({name: str(value) for name, value in hints.to_dict().items()})
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
            "status": "fetched", "hints": hints.to_dict()}
