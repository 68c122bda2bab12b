"""Hints given again for audio already analysed. The same file uploaded again to the same key
with other ``key``/``tempo``/``time-signature`` metadata is the same recording (its id comes
from the content's ETag), so extract-features skips it as a duplicate; the new hints are
recorded and the score made again from the features it has. A video fetched again with other
options is refused instead."""

from __future__ import annotations

import json
from typing import Any

from audioscore.analysis.engines import MODE_METADATA, Mode
from audioscore.errors import Conflict
from audioscore.infra.names import TRANSCRIBE
from audioscore.notation.hints import ScoreHints, read_hints
from audioscore.pipeline.common import FEATURES_NAME, Services
from audioscore.pipeline.recovery import notification_for

__all__ = ["recorded_hints", "refuse_other_options", "requeue_if_changed", "rescore_with"]


def recorded_hints(record: dict[str, Any] | None) -> dict[str, Any]:
    """The hints a recording was scored with (none: an empty dict)."""
    return ((record or {}).get("source") or {}).get("hints") or {}


def rescore_with(recording_id: str, hints: ScoreHints, services: Services) -> str | None:
    """Record ``hints`` where they differ from the recording's and, if its features are done,
    queue transcribe for them; the action taken ("rescoring", "recorded") or None (the same)."""
    record = services.records.get(recording_id)
    if hints.to_dict() == recorded_hints(record):
        return None
    features = ((record or {}).get("stages") or {}).get("features") or {}
    if features.get("status") != "done" or not features.get("result_etag"):
        services.records.upsert_source(recording_id, {"hints": hints.to_dict()})
        return "recorded"  # the transcribe still to come reads them from the record
    services.records.set_hints(recording_id, hints.to_dict())  # the score due again, for the re-drive too
    if services.invoke is None:
        return "recorded"
    # Transcribe claims the score stage per features ETag and hints, so this is not a duplicate.
    services.invoke(TRANSCRIBE, notification_for(services.store, services.settings.features_bucket,
                                                 f"{recording_id}/{FEATURES_NAME}", etag=features["result_etag"]))
    return "rescoring"


def requeue_if_changed(recording_id: str, scored_with: dict[str, Any], bucket: str, key: str, etag: str,
                       services: Services) -> bool:
    """Queue transcribe again where the recording's hints changed while it scored with
    ``scored_with`` (the re-scoring queued then found the stage running and was skipped)."""
    if recorded_hints(services.records.get(recording_id)) == scored_with or services.invoke is None:
        return False
    services.invoke(TRANSCRIBE, notification_for(services.store, bucket, key, etag=etag))
    return True


def refuse_other_options(mode: Mode | None, hints: ScoreHints, recording_id: str, stored: dict[str, str]) -> None:
    """Refuse a request for a video fetched before that gives another mode or other hints than
    it was fetched with (``stored``: its audio object's metadata): they would not apply, and the
    user would not know.

    Raises:
        Conflict: they differ; the message says what was used and how to change it.
    """
    used = read_hints(stored).to_dict()
    stored_mode = stored.get(MODE_METADATA) or "auto"
    asked = {name: value for name, value in hints.to_dict().items() if used.get(name) != value}
    if mode is not None and stored_mode != (mode.instrument or mode.engine):
        asked[MODE_METADATA] = mode.instrument or mode.engine
    if asked:
        how = ("`audioscore transcribe` on its audio with --instrument or --engine" if MODE_METADATA in asked
               else "`audioscore score` on its features.json with --key, --tempo or --time-signature")
        raise Conflict(f"this video was fetched before (recording {recording_id}) with "
                       f"{json.dumps({MODE_METADATA: stored_mode, **used})}; its score stands. "
                       f"For {json.dumps(asked)}, run {how}")
