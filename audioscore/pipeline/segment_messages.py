"""The message that asks extract-features for one segment of a fanned-out recording:
written by the fan-out and by the re-drive, read by the segment stage. A module of its
own so that the re-drive, which only writes it, loads no analysis code."""

from __future__ import annotations

from typing import Any

from audioscore.errors import InputError
from audioscore.infra.events import ObjectEvent, validate_key
from audioscore.infra.names import SEGMENT_FIELD, SEGMENT_MESSAGE_FIELDS

__all__ = ["read_segment_message", "segment_message"]


def segment_message(bucket: str, key: str, etag: str, index: int) -> dict[str, Any]:
    """The body that asks extract-features for one segment."""
    return {SEGMENT_FIELD: dict(zip(SEGMENT_MESSAGE_FIELDS, (bucket, key, etag, index), strict=True))}


def read_segment_message(body: Any, audio_bucket: str) -> tuple[ObjectEvent, int]:
    """The recording's object and the segment's index from a message's ``SEGMENT_FIELD`` value.

    Raises:
        InputError: not a well-formed segment message for ``audio_bucket``.
    """
    if not isinstance(body, dict):
        raise InputError("a segment message is a JSON object")
    try:
        bucket, key, etag, index = (body[k] for k in SEGMENT_MESSAGE_FIELDS)
    except KeyError as missing:
        raise InputError(f"segment message without {missing}") from None
    if not all(isinstance(v, str) and v for v in (bucket, key, etag)) or not isinstance(index, int) or index < 0:
        raise InputError("segment message: bucket, key and etag must be text, index a non-negative integer")
    if bucket != audio_bucket:
        raise InputError(f"segment message for bucket {bucket!r}, not {audio_bucket!r}")
    event = ObjectEvent(event_name="segment", bucket=bucket, key=validate_key(key), etag=etag, size=0,
                        content_type="", user_metadata={})
    return event, index
