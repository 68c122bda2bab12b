"""The transcribe stage: the score of a ``<recording id>/features.json`` object, stored
under the same prefix in the scores bucket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audioscore.errors import InputError, NotFound
from audioscore.infra.events import ObjectEvent
from audioscore.notation.feature_notes import instrument_of, read_features
from audioscore.notation.hints import read_hints
from audioscore.notation.transcription import TranscribeOptions, notes_from_features, transcribe_notes
from audioscore.pipeline.common import FEATURES_NAME, RECORDING_ID, Services, current_object, stage_failures, workdir
from audioscore.pipeline.new_hints import recorded_hints, requeue_if_changed

__all__ = ["transcribe_stage"]

SCORE_FILES = {"score.ly": "text/x-lilypond", "score.pdf": "application/pdf", "score.png": "image/png",
               "score.mid": "audio/midi", "score.musicxml": "application/vnd.recordare.musicxml+xml"}
MAX_FEATURES_BYTES = 256 * 1024**2


def transcribe_stage(event: ObjectEvent, services: Services) -> dict[str, Any]:
    """The score of a ``<recording id>/features.json`` object, stored under the same prefix in the scores bucket."""
    settings, store, records = services.settings, services.store, services.records
    recording_id, _, name = event.key.partition("/")
    if name != FEATURES_NAME or not RECORDING_ID.match(recording_id):
        raise InputError(f"not a features object of a recording: {event.key!r}")
    stale = _stale_features(event, recording_id, services)
    if stale:
        return {"status": "stale", "recording_id": recording_id, "reason": stale}
    # Claimed per features and hints: the same features scored with new hints are new work (new_hints).
    given = recorded_hints(records.get(recording_id))
    claim = event.etag + (" " + json.dumps(given, sort_keys=True) if given else "")
    if not records.begin_stage(recording_id, "score", etag=claim):
        return {"status": "duplicate", "recording_id": recording_id}
    with stage_failures(services, recording_id, "score"), workdir(settings) as tmp:
        local = store.download(event.bucket, event.key, Path(tmp), max_bytes=MAX_FEATURES_BYTES, etag=event.etag)
        document = read_features(local)  # a hostile upload is a 400 that names the field, never a 500
        record = records.get(recording_id) or {}
        title = (record.get("source") or {}).get("title") or Path(str(document.get("source", {}).get("key", ""))).stem
        hints = read_hints(given)  # the upload's key, tempo and meter, as extract-features recorded them
        notes = notes_from_features(document, limits=settings.limits(), key=hints.key)
        options = TranscribeOptions(title=title, instrument=instrument_of(document), key=hints.key,
                                    tempo_bpm=hints.tempo_bpm, time_signature=hints.time_signature)
        result = transcribe_notes(notes, Path(tmp) / "out", options)
        prefix = f"{recording_id}/"
        artifacts = {}
        pages = [(page, "image/png") for page in result.files.pages]  # score-1.png ...: the results page shows all
        for path, content_type in [(result.files.pdf.parent / n, t) for n, t in SCORE_FILES.items()] + pages + [
                (result.files.json, "application/json")]:  # score.json last: the set is complete
            store.upload_file(settings.scores_bucket, prefix + path.name, path, content_type=content_type,
                              metadata={"recording-id": recording_id})
            artifacts[path.name.replace(".", "_")] = f"{settings.scores_bucket}/{prefix}{path.name}"
        score = result.score
        summary = {k: score[k] for k in ("key", "tempo_bpm", "time_signature", "measures", "clef")}
        summary["notes"] = len(score["notes"])
        if given:
            summary["hints"] = given  # what this score was made with (the record's may be newer)
        records.finish_stage(recording_id, "score", artifacts=artifacts, summary=summary)
    requeue_if_changed(recording_id, given, event.bucket, event.key, event.etag, services)
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
