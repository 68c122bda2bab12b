"""The extract-features stage: features of an uploaded audio object, stored under
``<recording id>/`` in the features bucket (long recordings go to ``fanout``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from audioscore.analysis.audio import AudioInfo, probe
from audioscore.analysis.engines import Mode, mode_for_object
from audioscore.analysis.export import file_sha256, write_features
from audioscore.analysis.features import Features, Source, extract_file, summarise
from audioscore.infra.events import ObjectEvent
from audioscore.infra.records import recording_id_for_object
from audioscore.notation.hints import read_hints
from audioscore.pipeline.common import FEATURES_NAME, Services, current_object, stage_failures, workdir
from audioscore.pipeline.new_hints import rescore_with

__all__ = ["LongRecording", "extract_stage", "store_features"]

FEATURE_FILES = ("features.png", "pitch.csv", "notes.csv", "mfcc.csv")  # uploaded before features.json
CONTENT_TYPES = {".png": "image/png", ".csv": "text/csv", ".json": "application/json"}

LongRecording = Callable[[ObjectEvent, str, Path, AudioInfo, Mode, Services], dict[str, Any]]


def extract_stage(event: ObjectEvent, services: Services, *,
                  long_recording: LongRecording | None = None) -> dict[str, Any]:
    """Features of an uploaded audio object, stored under ``<recording id>/`` in the features bucket.

    A recording longer than ``settings.fanout_min_s`` goes to ``long_recording`` (with the
    recording id, the downloaded file, its probe and its mode) when one is given.
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
        # The same audio again: new hints in its metadata score it again (a bad one is a 400).
        rescoring = rescore_with(recording_id, read_hints(metadata), services)
        return {"status": "duplicate", "recording_id": recording_id, **({"hints": rescoring} if rescoring else {})}
    with stage_failures(services, recording_id, "features"), workdir(settings) as tmp:
        mode = mode_for_object(event.key, metadata)  # bad metadata: a 400, recorded, before any download
        hints = read_hints(metadata).to_dict()
        if hints:  # for transcribe, which sees only the features
            records.upsert_source(recording_id, {"hints": hints})
        path = store.download(event.bucket, event.key, Path(tmp), max_bytes=settings.max_object_bytes,
                              etag=event.etag)
        limits = settings.limits()
        probed = probe(path, limits)
        if long_recording is not None and probed.duration_s > settings.fanout_min_s:
            return long_recording(event, recording_id, path, probed, mode, services)
        features = extract_file(path, limits=limits, info=probed, engine=mode.engine, instrument=mode.instrument)
        source = Source(key=event.key, sha256=file_sha256(path), bucket=event.bucket, etag=event.etag)
        artifacts = store_features(features, source, recording_id, Path(tmp), services, mode=mode)
    return {"status": "done", "recording_id": recording_id, "features": artifacts["features_json"]}


def store_features(features: Features, source: Source, recording_id: str, tmp: Path,
                   services: Services, *, summary_extra: dict[str, Any] | None = None,
                   mode: Mode | None = None) -> dict[str, str]:
    """Write the feature files, upload them (features.json last: its upload starts
    transcription) and mark the stage done, the record saying which engine ran and why
    (``summary.features.engine``); returns the artifacts' locations."""
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
    summary["engine"] = {**features.engine_choice.to_dict(), "requested_by": (mode or Mode()).source}
    summary.update(summary_extra or {})
    # features.json's ETag (uploaded last): transcribe acts only on events for this version.
    services.records.finish_stage(recording_id, "features", artifacts=artifacts, summary=summary, result_etag=etag)
    return artifacts
