"""Parse MinIO bucket notifications (webhook bodies) into object events.

Pure functions, no I/O. The body MinIO posts to a webhook target looks like::

    {"EventName": "s3:ObjectCreated:Put", "Key": "audio/my song (1).wav",
     "Records": [{"eventName": "s3:ObjectCreated:Put",
                  "s3": {"bucket": {"name": "audio"},
                         "object": {"key": "my+song+%281%29.wav", "size": 1048576,
                                    "eTag": "d41d...", "contentType": "audio/wav",
                                    "userMetadata": {}}}}]}

Only ``Records`` is read: it carries bucket and key separately, while the
top-level ``Key`` (``bucket/key``, decoded) is ambiguous for buckets or keys
with a ``/`` and is ignored. A body that is a single record (an object with an
``s3`` member, as some relays forward it) is accepted as a one-record list.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from audioscore.errors import InputError

__all__ = [
    "CREATED_PREFIX",
    "MAX_KEY_BYTES",
    "ObjectEvent",
    "load_json",
    "object_created",
    "parse_event",
    "validate_key",
]

CREATED_PREFIX = "s3:ObjectCreated:"
# S3's own limit on object key length, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
# How much of an offending key an error message quotes, in characters.
_QUOTE_CHARS = 80


@dataclass(frozen=True)
class ObjectEvent:
    """One object notification that passed the filters.

    Attributes:
        event_name: e.g. ``s3:ObjectCreated:Put``.
        bucket: bucket name.
        key: object key, URL-decoded and checked by `validate_key`.
        etag: the object's ETag without surrounding quotes ("" if absent).
        size: object size in bytes (0 if absent).
        content_type: the object's Content-Type ("" if absent).
        user_metadata: the object's user metadata as MinIO reports it (keys such as
            ``X-Amz-Meta-Recording-Id``, case as sent).
    """

    event_name: str
    bucket: str
    key: str
    etag: str
    size: int
    content_type: str
    user_metadata: dict[str, str] = field(default_factory=dict)


def validate_key(key: str) -> str:
    """Check that an object key is safe to use as a relative path, and return it.

    Rejected: empty keys, keys longer than `MAX_KEY_BYTES` UTF-8 bytes, control
    characters (NUL included), a leading ``/``, a ``.`` or ``..`` path segment, and
    backslashes (a path separator on some systems).

    Raises:
        InputError: the key is unsafe; the message names the reason.
    """
    reason = _unsafe_reason(key)
    if reason:
        shown = key if len(key) <= _QUOTE_CHARS else key[:_QUOTE_CHARS] + "…"
        raise InputError(f"unsafe object key {shown!r}: {reason}")
    return key


def parse_event(
    body: bytes | str,
    *,
    buckets: Collection[str],
    suffixes: Collection[str] = (),
    event_prefix: str = CREATED_PREFIX,
) -> list[ObjectEvent]:
    """The object events in a MinIO webhook body that this function should act on.

    A record is kept when its event name starts with ``event_prefix``, its bucket is
    one of ``buckets`` and its decoded key ends with one of ``suffixes``
    (case-insensitive; any key when ``suffixes`` is empty). Other records are
    skipped silently: MinIO is acknowledged and nothing is done.

    Args:
        body: the request body as received (UTF-8 JSON).
        buckets: bucket names to accept.
        suffixes: key endings to accept, e.g. ``(".wav", ".mp3")``.
        event_prefix: event-name prefix to accept.

    Returns:
        The kept events in body order; ``[]`` for an empty or blank body (MinIO's
        connectivity probe) or when every record was filtered out.

    Raises:
        InputError: the body is not UTF-8 JSON, not shaped like a notification, or
            a kept record has an unsafe or undecodable key.
    """
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("event body is not UTF-8") from None
    else:
        text = body
    if not text.strip():
        return []
    doc = load_json(text, "event body")

    records = _records(doc)
    wanted_suffixes = tuple(s.lower() for s in suffixes)
    events = []
    for index, record in enumerate(records):
        event = _parse_record(record, index, buckets, wanted_suffixes, event_prefix)
        if event is not None:
            events.append(event)
    return events


def load_json(text: str | bytes, what: str) -> Any:
    r"""``json.loads`` whose every failure is the input's fault.

    Raises:
        InputError: not JSON, or nested too deeply for the parser (it recurses per level,
            so a body of ``[[[[...`` exhausts the stack rather than being malformed), or a
            string escapes half a surrogate pair (``"\ud800"``), which no UTF-8 text holds.
    """
    try:
        value = json.loads(text)
        # A lone surrogate passes every check on a str and fails where it is encoded: a hash,
        # a tool's argument, the database.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not JSON: {exc.msg} at char {exc.pos}") from None
    except UnicodeEncodeError:
        raise InputError(f"{what} has a lone surrogate escape (\\ud800-\\udfff): not Unicode text") from None
    except ValueError as exc:  # bytes that are not UTF-8 (or another JSON text encoding)
        raise InputError(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply") from None
    return value


def object_created(bucket: str, key: str, *, etag: str, size: int, content_type: str = "",
                   metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The notification MinIO posts when an object is put: what `parse_event` reads back.

    Args:
        bucket, key: where the object is (the key is URL-encoded here, as MinIO sends it).
        etag, size, content_type: as the store reports them.
        metadata: user metadata as MinIO reports it, e.g. ``{"X-Amz-Meta-Title": "..."}``.
    """
    name = CREATED_PREFIX + "Put"
    return {
        "EventName": name,
        "Key": f"{bucket}/{key}",
        "Records": [{
            "eventVersion": "2.0", "eventSource": "minio:s3", "eventName": name,
            "s3": {"bucket": {"name": bucket},
                   "object": {"key": quote_plus(key, safe=""), "size": size, "eTag": etag,
                              "contentType": content_type, "userMetadata": dict(metadata or {})}},
        }],
    }


def _records(doc: Any) -> list[Any]:
    """The list of records in a decoded body."""
    if not isinstance(doc, dict):
        raise InputError("event body is not a JSON object")
    if "Records" in doc:
        records = doc["Records"]
        if not isinstance(records, list):
            raise InputError("event 'Records' is not a list")
        return records
    if "s3" in doc:
        return [doc]
    raise InputError("event body has no 'Records'")


def _parse_record(
    record: Any,
    index: int,
    buckets: Collection[str],
    suffixes: tuple[str, ...],
    event_prefix: str,
) -> ObjectEvent | None:
    """One record as an event, or None if a filter drops it."""
    where = f"Records[{index}]"
    if not isinstance(record, dict):
        raise InputError(f"event {where} is not an object")
    event_name = record.get("eventName")
    if not isinstance(event_name, str):
        raise InputError(f"event {where} has no 'eventName'")
    # Filter before validating the rest: records we ignore may look different.
    if not event_name.startswith(event_prefix):
        return None

    s3 = _member(record, "s3", dict, where)
    bucket = _member(_member(s3, "bucket", dict, where), "name", str, where)
    if bucket not in buckets:
        return None
    obj = _member(s3, "object", dict, where)
    raw_key = _member(obj, "key", str, where)
    try:
        key = unquote_plus(raw_key, errors="strict")
    except UnicodeDecodeError:
        raise InputError(f"event {where} key is not valid percent-encoded UTF-8") from None
    if suffixes and not key.lower().endswith(suffixes):
        return None
    validate_key(key)

    size = obj.get("size", 0)
    # bool is an int subclass; a JSON true is not a size.
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"event {where} object size is not a non-negative integer")
    # MinIO omits or nulls these for some events; absent means empty, a wrong type is an error.
    etag = _or_default(obj.get("eTag"), "")
    content_type = _or_default(obj.get("contentType"), "")
    metadata = _or_default(obj.get("userMetadata"), {})
    if not isinstance(etag, str) or not isinstance(content_type, str):
        raise InputError(f"event {where} eTag or contentType is not a string")
    if not isinstance(metadata, Mapping):
        raise InputError(f"event {where} userMetadata is not an object")
    return ObjectEvent(
        event_name=event_name,
        bucket=bucket,
        key=key,
        etag=etag.strip('"'),
        size=size,
        content_type=content_type,
        user_metadata={str(k): str(v) for k, v in metadata.items()},
    )


def _or_default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _member(parent: dict[str, Any], name: str, kind: type, where: str) -> Any:
    """``parent[name]`` checked to be of ``kind``."""
    value = parent.get(name)
    if not isinstance(value, kind):
        raise InputError(f"event {where} has no valid '{name}'")
    return value


def _unsafe_reason(key: str) -> str | None:
    """Why a key is unsafe, or None."""
    if not key:
        return "empty"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates
        return "not encodable as UTF-8"
    if size > MAX_KEY_BYTES:
        return f"longer than {MAX_KEY_BYTES} bytes"
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        return "control character"
    if "\\" in key:
        return "backslash"
    if key.startswith("/"):
        return "absolute path"
    if any(part in (".", "..") for part in key.split("/")):
        return "'.' or '..' path segment"
    return None
