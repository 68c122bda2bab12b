"""Fan-out of a long recording over parallel invocations of extract-features, and fan-in.

The dispatcher writes a plan into the recording's document and queues one
segment message per segment through the gateway. Each segment invocation
claims its segment (a conditional update, so a redelivered message does not
run twice), stores its result under ``<recording id>/segments/`` in the
features bucket and marks the segment done. Whoever finds every segment done
claims the merge with another conditional update: exactly one merge runs,
even when two segments finish together. The merge writes the usual feature
files, marks the stage done and deletes the segment objects.

Record fields (``fanout``)::

    {"etag", "sha256", "source": {probe of the audio}, "plan": {SegmentPlan},
     "dispatched_at", "segments": {"<i>": {"status": "pending"|"running"|"done"|"failed",
                                           "attempts", "started_at", "error", "retryable"}},
     "merge": {"status": "pending"|"running"|"done"|"failed", "started_at"}}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from audioscore.analysis.audio import AudioInfo
from audioscore.analysis.engines import EngineChoice, Mode, choose, engine_for
from audioscore.analysis.export import file_sha256
from audioscore.analysis.features import Source
from audioscore.analysis.polyphonic import model_name
from audioscore.analysis.segments import SegmentPlan, analyse_segment, merge_segments, plan_segments
from audioscore.errors import ConfigError, InputError, TransientError
from audioscore.infra.events import ObjectEvent
from audioscore.infra.names import EXTRACT_FEATURES, SEGMENT_FIELD
from audioscore.infra.records import recording_id_for_object
from audioscore.pipeline.common import Services, describe_failure, stage_failures, workdir
from audioscore.pipeline.extract_stage import extract_stage, store_features
from audioscore.pipeline.segment_messages import read_segment_message, segment_message

__all__ = ["SEGMENT_FIELD", "dispatch_segments", "extract_features_stage", "segment_stage"]



def extract_features_stage(event: ObjectEvent, services: Services) -> dict[str, Any]:
    """extract-features for one audio object: in one pass, or fanned out when long."""
    return extract_stage(event, services, long_recording=dispatch_segments)


def _now(services: Services) -> dt.datetime:
    return services.records.now()


def dispatch_segments(event: ObjectEvent, recording_id: str, path: Path, info: AudioInfo, mode: Mode,
                      services: Services) -> dict[str, Any]:
    """Plan the segments (once per input ETag) and queue every segment not done yet.

    Segments run the polyphonic engine too when the mode asks for it (an engine or an instrument);
    under auto they run the melody engine only: deciding would take both engines on every segment.
    """
    settings = services.settings
    if services.invoke is None:  # a deployment without a gateway to invoke through
        raise ConfigError("fan-out needs a way to invoke functions (GATEWAY_URL and the webhook-token secret)")
    plan = plan_segments(info.duration_s, segment_s=settings.segment_s, context_s=settings.segment_context_s)
    fanout = {
        "etag": event.etag, "sha256": file_sha256(path), "source": asdict(info), "plan": plan.to_dict(),
        "dispatched_at": _now(services),
        "segments": {str(i): {"status": "pending", "attempts": 0} for i in range(plan.count)},
        "merge": {"status": "pending"},
        "mode": asdict(mode),
    }
    # A redelivered dispatch for the same input keeps the segments already done.
    segments = services.records.start_fanout(recording_id, fanout).get("segments", {})
    queued = [int(i) for i, state in segments.items() if state.get("status") != "done"]
    for index in sorted(queued):
        services.invoke(EXTRACT_FEATURES, segment_message(event.bucket, event.key, event.etag, index))
    if not queued:  # every segment was done before: only the merge is missing
        return _maybe_merge(recording_id, services)
    return {"status": "dispatched", "recording_id": recording_id, "segments": plan.count, "queued": len(queued)}


def segment_stage(body: Any, services: Services) -> dict[str, Any]:
    """Analyse one segment of a fanned-out recording; merge if it was the last one."""
    records, settings = services.records, services.settings
    event, index = read_segment_message(body, settings.audio_bucket)
    recording_id = recording_id_for_object(event.bucket, event.key, event.etag)
    fan = records.fanout(recording_id, etag=event.etag)
    if fan is None:  # a message from a plan since replaced, or never made
        return {"status": "ignored", "recording_id": recording_id, "reason": "no such fan-out"}
    plan = SegmentPlan.from_dict(fan["plan"])
    if index >= plan.count:
        raise InputError(f"segment {index} of a recording in {plan.count} segments")
    if not records.claim_segment(recording_id, index):
        # Redelivered or running elsewhere; a lost merge is picked up here too.
        return {"status": "duplicate", "recording_id": recording_id, "segment": index,
                **_maybe_merge(recording_id, services)}
    try:
        with workdir(settings) as tmp:
            path = services.store.download(event.bucket, event.key, Path(tmp), max_bytes=settings.max_object_bytes,
                                           etag=event.etag)  # the version the plan was made for
            result = analyse_segment(path, plan, index, limits=settings.limits(),
                                     poly=_engine(Mode(**fan.get("mode") or {})) == "poly")
            services.store.upload_bytes(settings.features_bucket, _segment_key(recording_id, index), result.to_bytes(),
                                        content_type="application/octet-stream",
                                        metadata={"recording-id": recording_id})
    except Exception as error:
        _segment_failed(services, recording_id, index, error)
        raise
    records.finish_segment(recording_id, index)
    return {"status": "done", "recording_id": recording_id, "segment": index, **_maybe_merge(recording_id, services)}


def _engine(mode: Mode) -> str:
    """The engine segments run for a mode: auto is the melody engine (see ``dispatch_segments``)."""
    return engine_for(mode.engine, mode.instrument) or "melody"


def _segments_choice(mode: Mode, plugin: str) -> EngineChoice:
    """What ran on a recording in segments, and why, for its record and features.json."""
    if engine_for(mode.engine, mode.instrument) is None:
        return EngineChoice("melody", "auto", None, plugin, "recording in segments: auto runs the melody engine")
    name, reason, _ = choose(mode.engine, mode.instrument, None)
    return EngineChoice(name, mode.engine, mode.instrument, model_name() if name == "poly" else plugin, reason)


def _segment_key(recording_id: str, index: int) -> str:
    return f"{recording_id}/segments/{index:04d}.npz"


def _segment_failed(services: Services, recording_id: str, index: int, error: Exception) -> None:
    """Mark the segment failed; fail the recording when it cannot succeed or failed too often.

    An outage (TransientError) is not counted: the re-drive bounds those by age.
    """
    message, retryable = describe_failure(error)
    counted = retryable and not isinstance(error, TransientError)
    segment = services.records.fail_segment(recording_id, index, message, retryable=retryable, counts=counted)
    failures = int(segment.get("failures") or 0)
    if not retryable or failures >= services.settings.segment_max_attempts:
        attempts = int(segment.get("attempts") or 1)
        services.records.fail_stage(recording_id, "features",
                                    f"segment {index} failed after {attempts} attempt(s): {message}", retryable=False)


def _maybe_merge(recording_id: str, services: Services) -> dict[str, Any]:
    """Merge if every segment is done and nobody else holds the merge."""
    fanout = services.records.fanout(recording_id) or {}
    if not fanout or any(s.get("status") != "done" for s in fanout["segments"].values()):
        return {"merged": False}
    if not services.records.claim_merge(recording_id):
        return {"merged": False}
    plan = SegmentPlan.from_dict(fanout["plan"])
    settings, store = services.settings, services.store
    record = services.records.get(recording_id) or {}
    source_record = record.get("source") or {}
    try:
        with stage_failures(services, recording_id, "features"), workdir(settings) as tmp:
            paths = []
            for index in range(plan.count):
                folder = Path(tmp) / f"segment-{index}"
                paths.append(store.download(settings.features_bucket, _segment_key(recording_id, index), folder,
                                            max_bytes=settings.max_object_bytes))
            features = merge_segments(paths, plan, AudioInfo(**fanout["source"]))
            mode = Mode(**fanout.get("mode") or {})
            features = replace(features, engine=_segments_choice(mode, features.pitch.plugin))
            source = Source(key=source_record.get("key", ""), sha256=fanout["sha256"],
                            bucket=source_record.get("bucket"), etag=fanout["etag"])
            artifacts = store_features(features, source, recording_id, Path(tmp), services,
                                       summary_extra={"segments": plan.count}, mode=mode)
    except Exception:
        services.records.end_merge(recording_id, done=False)  # claimable again by the next attempt
        raise
    services.records.end_merge(recording_id, done=True)
    for index in range(plan.count):  # intermediate objects go once the merged set is stored
        store.remove(settings.features_bucket, _segment_key(recording_id, index))
    return {"merged": True, "features": artifacts["features_json"]}
