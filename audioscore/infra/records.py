"""One MongoDB document per recording: source, status per stage, artifacts, summaries, errors.

Document shape (collection `COLLECTION`)::

    {"_id": "<24 hex>",                 # deterministic, see recording_id_for_*
     "source": {"kind": "upload" | "url", "bucket", "key", "etag", "url", "video_id", "title"},
     "stages": {"<stage>": {"status": "running" | "done" | "failed", "etag", "result_etag",
                            "started_at", "finished_at", "attempts", "failures", "error", "retryable",
                            "redriven_at", "redrives", "redrive_after"}},     # the last three: see audioscore.pipeline.recovery
     "artifacts": {"<stage>": {"<name>": "<object key>"}},
     "summary": {"<stage>": {...}},
     "errors": [{"stage", "message", "retryable", "at"}],   # newest last, at most MAX_ERRORS
     "created_at", "updated_at"}

Stages are `STAGES`. Times are timezone-aware UTC datetimes, truncated to
milliseconds (what BSON stores). Delivery is at least once, so ids derive from
the source and `RecordStore.begin_stage` tells a duplicate delivery from new work.
Every database failure surfaces as `TransientError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from audioscore.download.urls import is_youtube_video_id, youtube_video_id
from audioscore.errors import ProcessingError, TransientError

__all__ = [
    "COLLECTION",
    "CURSORS",
    "MAX_ERRORS",
    "RECORDING_ID_METADATA",
    "SOURCE_FIELDS",
    "SOURCE_KINDS",
    "STAGES",
    "STALE_AFTER_S",
    "RecordStore",
    "connect",
    "recording_id_for_event",
    "recording_id_for_object",
    "recording_id_for_url",
    "redact_url",
]

COLLECTION = "recordings"
# Beside it: named positions of scans that resume where they stopped (see RecordStore.cursor).
CURSORS = "cursors"
STAGES = ("fetched", "features", "score")
SOURCE_KINDS = ("upload", "url")
SOURCE_FIELDS = ("kind", "bucket", "key", "etag", "url", "video_id", "title", "hints")
# A "running" stage older than this is presumed dead (crashed or timed-out worker), in seconds.
STALE_AFTER_S = 3600.0
# Errors kept per document: enough to see a retry history, bounded so a poison event cannot grow it.
MAX_ERRORS = 20
# Longest error message stored, in characters.
MAX_MESSAGE_CHARS = 2000
# User metadata that carries a recording id from one stage to the next object
# (fetch-youtube sets it on the audio it puts, so extract-features updates the same record).
RECORDING_ID_METADATA = "recording-id"
_ID_HEX = 24
_ID_RE = re.compile(r"^[0-9a-f]{24}$")
# Where a piece of work keeps its status in a document, e.g. "stages.score".
_PATH_RE = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")
_CREDENTIALS_RE = re.compile(r"(?<=://)[^/@\s]*@")


def _hash_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_ID_HEX]


def recording_id_for_object(bucket: str, key: str, etag: str) -> str:
    """Recording id of an uploaded object: the same object (bucket, key, ETag) gives the same id.

    Returns:
        24 lowercase hex characters (the first 96 bits of sha256 of ``bucket/key@etag``).
    """
    etag = etag.strip('"')
    return _hash_id(f"{bucket}/{key}@{etag}")


def recording_id_for_url(video_id_or_url: str) -> str:
    """Recording id of a fetched video: every URL form of one YouTube video gives the same id.

    Args:
        video_id_or_url: a bare 11-character YouTube id, a YouTube URL, or any other URL
            (hashed as given, whitespace stripped).

    Returns:
        24 lowercase hex characters.
    """
    text = video_id_or_url.strip()
    video_id = text if is_youtube_video_id(text) else youtube_video_id(text)
    return _hash_id(f"youtube:{video_id}" if video_id else f"url:{text}")


def recording_id_for_event(event: Any) -> str:
    """Recording id for an object event (`audioscore.infra.events.ObjectEvent`).

    The id in the object's ``recording-id`` user metadata if it carries a valid one
    (MinIO reports it as ``X-Amz-Meta-Recording-Id``), else the id of the object itself.
    """
    wanted = {RECORDING_ID_METADATA, "x-amz-meta-" + RECORDING_ID_METADATA}
    for name, value in event.user_metadata.items():
        if name.lower() in wanted and _ID_RE.match(value.strip().lower()):
            return value.strip().lower()
    return recording_id_for_object(event.bucket, event.key, event.etag)


def redact_url(url: str) -> str:
    """``url`` without ``user:password@``, safe for messages and logs."""
    return _CREDENTIALS_RE.sub("", url)


def _hosts(url: str) -> str:
    """The ``host:port[,host:port]`` part of a MongoDB URL, without credentials."""
    rest = url.split("://", 1)[-1]
    netloc = re.split(r"[/?]", rest, maxsplit=1)[0]
    return netloc.rsplit("@", 1)[-1] or "?"


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """A short, credential-free, single-line description of a database error."""
    first = (str(exc).splitlines() or [""])[0]
    # Server selection errors append a topology dump: long, and says nothing new.
    first = redact_url(first.split(", Topology Description:", 1)[0])
    if len(first) > limit:
        first = first[:limit] + "…"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


@contextlib.contextmanager
def _db(action: str) -> Iterator[None]:
    """Map pymongo errors to TransientError."""
    try:
        yield
    except PyMongoError as exc:
        raise TransientError(f"MongoDB {action} failed: {_one_line(exc)}") from exc


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")


def _check_path(path: str) -> None:
    if not _PATH_RE.match(path):
        raise ValueError(f"not a work path such as 'stages.score': {path!r}")


def _failure(path: str, error: str, *, retryable: bool, now: dt.datetime, counts: bool = False) -> dict[str, Any]:
    """The update marking the work under ``path`` failed, with the error appended to the document's list.

    ``counts``: the failure spends one of the work's attempts (``failures`` + 1): a retryable failure
    that is not an outage of a dependency (see `RecordStore.fail_stage`).
    """
    message = error if len(error) <= MAX_MESSAGE_CHARS else error[:MAX_MESSAGE_CHARS] + "…"
    entry = {"stage": path.removeprefix("stages."), "message": message, "retryable": bool(retryable), "at": now}
    return {
        "$set": {
            f"{path}.status": "failed",
            f"{path}.finished_at": now,
            f"{path}.error": message,
            f"{path}.retryable": bool(retryable),
            "updated_at": now,
        },
        "$push": {"errors": {"$each": [entry], "$slice": -MAX_ERRORS}},
        "$inc": {f"{path}.failures": 1 if counts and retryable else 0},
    }


# When a stage is due at all, for the re-drive (`RecordStore.stuck_stage`): a query that must hold,
# and the field saying since when it is due. A fanned-out recording's features stage runs as long
# as its segments, which `RecordStore.fanned_out_running` finds instead.
_STAGE_DUE: dict[str, tuple[dict[str, Any], str]] = {
    "features": ({**{f"source.{k}": {"$exists": True} for k in ("bucket", "key", "etag")},
                  "$nor": [{"fanout": {"$exists": True}, "stages.features.status": "running"}]}, "created_at"),
    "score": ({"stages.features.status": "done"}, "stages.features.finished_at"),
}


def _unchanged(recording_id: str, path: str, seen: Mapping[str, Any]) -> dict[str, Any]:
    """A filter matching the document only while the work under ``path`` is as ``seen``."""
    return {"_id": recording_id, **{f"{path}.{k}": seen.get(k) for k in ("status", "attempts", "redrives")}}


class RecordStore:
    """Status records of recordings in one MongoDB collection.

    Args:
        collection: the ``recordings`` collection (pymongo or mongomock).
        stale_after_s: age in seconds after which a "running" stage may be taken over.
        clock: returns the current time as an aware datetime (tests inject one).
    """

    def __init__(
        self,
        collection: Collection,
        *,
        stale_after_s: float = STALE_AFTER_S,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.collection = collection
        self.stale_after_s = float(stale_after_s)
        self._clock = clock

    def now(self) -> dt.datetime:
        """The store's clock (UTC, milliseconds), for callers that write times of their own."""
        return self._now()

    def _now(self) -> dt.datetime:
        # BSON dates hold milliseconds: truncate so what we keep equals what we read back.
        now = self._clock().astimezone(dt.UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def ensure_indexes(self) -> None:
        """Create the indexes (idempotent).

        Unique on the source object (where bucket, key and ETag are all present),
        on the video id, and per stage on (status, updated_at) for re-driving stuck
        or failed stages.

        Raises:
            TransientError: the database failed.
        """
        with _db("create_index"):
            self.collection.create_index(
                [("source.bucket", 1), ("source.key", 1), ("source.etag", 1)],
                name="source_object",
                unique=True,
                partialFilterExpression={
                    "source.bucket": {"$exists": True},
                    "source.key": {"$exists": True},
                    "source.etag": {"$exists": True},
                },
            )
            self.collection.create_index([("source.video_id", 1)], name="source_video_id")
            for stage in STAGES:
                self.collection.create_index(
                    [(f"stages.{stage}.status", 1), ("updated_at", 1)],
                    name=f"stage_{stage}_status",
                )

    def _touch(self, recording_id: str, now: dt.datetime) -> None:
        """Create the document if it does not exist yet."""
        try:
            self.collection.update_one(
                {"_id": recording_id},
                {"$setOnInsert": {"created_at": now, "updated_at": now}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # a concurrent delivery inserted it first: that is all we wanted

    def upsert_source(self, recording_id: str, source: Mapping[str, Any]) -> dict[str, Any]:
        """Create the record or update its source fields (idempotent).

        Args:
            recording_id: from `recording_id_for_object` or `recording_id_for_url`.
            source: any of `SOURCE_FIELDS`; ``kind`` must be "upload" or "url" when
                given. None values are left out (existing values stay).

        Returns:
            The document after the update.

        Raises:
            ValueError: unknown field or kind (a programming error).
            ProcessingError: another recording already has this source object.
            TransientError: the database failed.
        """
        unknown = set(source) - set(SOURCE_FIELDS)
        if unknown:
            raise ValueError(f"unknown source fields {sorted(unknown)}")
        if "kind" in source and source["kind"] not in SOURCE_KINDS:
            raise ValueError(f"source kind must be one of {SOURCE_KINDS}")
        now = self._now()
        update = {
            "$set": {f"source.{k}": v for k, v in source.items() if v is not None}
            | {"updated_at": now},
            "$setOnInsert": {"created_at": now},
        }
        with _db("upsert"):
            for _attempt in range(2):
                try:
                    record = self.collection.find_one_and_update(
                        {"_id": recording_id},
                        update,
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                    assert record is not None  # an upsert returns the document it made
                    return dict(record)
                except DuplicateKeyError:
                    # Two first deliveries raced on the insert: the retry updates instead.
                    continue
        # Still a duplicate: another recording holds this source object (source_object index).
        raise ProcessingError(
            f"recording {recording_id}: its source object belongs to another recording"
        )

    def begin_stage(self, recording_id: str, stage: str, *, etag: str | None = None) -> bool:
        """Claim a stage for this delivery: True means do the work, False means skip it.

        The stage becomes "running" unless it is already "done" for the same input
        ``etag`` (a duplicate delivery) or "running" since less than `stale_after_s`
        (another delivery is at work). A stage that failed, is done for another
        input, or has been running too long is (re)claimed. Creates the document if
        it does not exist.

        Args:
            recording_id: the recording.
            stage: one of `STAGES`.
            etag: ETag of the stage's input object (None if it has none).

        Raises:
            ValueError: unknown stage.
            TransientError: the database failed.
        """
        _check_stage(stage)
        now = self._now()
        prefix = f"stages.{stage}"
        claimable = {
            "_id": recording_id,
            "$or": [
                {f"{prefix}.status": {"$nin": ["running", "done"]}},
                {f"{prefix}.status": "done", f"{prefix}.etag": {"$ne": etag}},
                {
                    f"{prefix}.status": "running",
                    f"{prefix}.started_at": {"$lt": now - dt.timedelta(seconds=self.stale_after_s)},
                },
            ],
        }
        update = {
            "$set": {
                f"{prefix}.status": "running",
                f"{prefix}.etag": etag,
                f"{prefix}.started_at": now,
                "updated_at": now,
            },
            "$unset": {
                f"{prefix}.finished_at": "",
                f"{prefix}.error": "",
                f"{prefix}.retryable": "",
                # Until this run records its own result, the object it is about to replace is no
                # longer "the" result (see finish_stage).
                f"{prefix}.result_etag": "",
            },
            "$inc": {f"{prefix}.attempts": 1},
        }
        with _db("begin_stage"):
            self._touch(recording_id, now)
            result = self.collection.update_one(claimable, update)
        return result.matched_count == 1

    def finish_stage(
        self,
        recording_id: str,
        stage: str,
        *,
        artifacts: Mapping[str, str],
        summary: Mapping[str, Any] | None = None,
        result_etag: str | None = None,
    ) -> None:
        """Mark a stage done and record where its outputs are.

        Args:
            recording_id: the recording.
            stage: one of `STAGES`.
            artifacts: artifact name → object key (``"bucket/key"`` or as the caller
                stores them), kept under ``artifacts.<stage>`` (replaced, not merged).
            summary: kept under ``summary.<stage>`` when given.
            result_etag: ETag of the output that starts the next stage (features.json), kept
                as ``stages.<stage>.result_etag``: the next stage acts only on events for it.

        Raises:
            ValueError: unknown stage.
            TransientError: the database failed.
        """
        _check_stage(stage)
        now = self._now()
        fields: dict[str, Any] = {
            f"stages.{stage}.status": "done",
            f"stages.{stage}.finished_at": now,
            f"artifacts.{stage}": dict(artifacts),
            "updated_at": now,
        }
        if summary is not None:
            fields[f"summary.{stage}"] = dict(summary)
        if result_etag is not None:
            fields[f"stages.{stage}.result_etag"] = result_etag.strip('"')
        update = {
            "$set": fields,
            "$unset": {f"stages.{stage}.error": "", f"stages.{stage}.retryable": ""},
            "$setOnInsert": {"created_at": now},
        }
        with _db("finish_stage"):
            self.collection.update_one({"_id": recording_id}, update, upsert=True)

    def set_hints(self, recording_id: str, hints: Mapping[str, Any]) -> None:
        """Record new score hints and reopen the score stage (no status: due, as if never started,
        so the re-drive runs it if the transcribe queued for them is lost); its files stay."""
        now = self._now()
        update = {"$set": {"source.hints": dict(hints), "updated_at": now},
                  "$unset": {f"stages.score.{field}": "" for field in ("status", "etag", "started_at", "error",
                                                                       "retryable")}}
        with _db("set_hints"):
            self.collection.update_one({"_id": recording_id}, update)

    def fail_stage(self, recording_id: str, stage: str, error: str, *, retryable: bool,
                   transient: bool = False) -> None:
        """Mark a stage failed and append the error to the document's error list.

        A retryable failure that is not ``transient`` adds one to the stage's ``failures``, the
        count the re-drive bounds; an outage of a dependency (TransientError) does not, however
        many deliveries it fails: the re-drive bounds those by the recording's age instead.

        Args:
            recording_id: the recording.
            stage: one of `STAGES`.
            error: what went wrong, one line preferred (truncated to MAX_MESSAGE_CHARS).
            retryable: whether a later delivery may succeed (TransientError) or not (InputError).
            transient: the failure was an outage of a dependency (TransientError).

        Raises:
            ValueError: unknown stage.
            TransientError: the database failed.
        """
        _check_stage(stage)
        now = self._now()
        update = _failure(f"stages.{stage}", error, retryable=retryable, now=now, counts=not transient)
        update["$setOnInsert"] = {"created_at": now}
        with _db("fail_stage"):
            self.collection.update_one({"_id": recording_id}, update, upsert=True)

    def find(
        self, query: Mapping[str, Any], *, fields: Sequence[str] | None = None, limit: int = 0
    ) -> list[dict[str, Any]]:
        """Documents matching a MongoDB query, least recently updated first.

        Args:
            query: the filter.
            fields: the fields to return (``_id`` always comes); all when None.
            limit: at most this many; 0 for all.

        Raises:
            TransientError: the database failed.
        """
        with _db("find"):
            return list(self.collection.find(dict(query), list(fields) if fields is not None else None,
                                             sort=[("updated_at", 1)], limit=limit))

    def claim_redrive(
        self, recording_id: str, path: str, seen: Mapping[str, Any], *, error: str | None = None,
        backoff_s: float = 0.0,
    ) -> bool:
        """Mark the work under ``path`` re-driven now (``redriven_at``, ``redrives`` + 1), if unchanged.

        Args:
            recording_id: the recording.
            path: where the work keeps its status, e.g. ``"stages.score"``.
            seen: that sub-document as the caller read it (``{}`` if absent). The claim
                holds only while its status, attempts and redrives are the same, so of
                two concurrent re-drive runs exactly one claims, and none claims work
                that a delivery has just begun.
            error: when given, the work is also marked failed (retryable) with this
                message: a stage left "running" by a lost worker, which `begin_stage`
                then takes again. That counts as a failure (``failures`` + 1): the input
                may be what kills the worker.
            backoff_s: not to be re-driven again before this many seconds (``redrive_after``).

        Returns:
            Whether this caller claimed it.

        Raises:
            ValueError: a malformed path.
            TransientError: the database failed.
        """
        _check_path(path)
        now = self._now()
        update: dict[str, Any] = _failure(path, error, retryable=True, now=now, counts=True) if error else {"$set": {}}
        update["$set"] |= {f"{path}.redriven_at": now, "updated_at": now,
                           f"{path}.redrive_after": now + dt.timedelta(seconds=backoff_s)}
        update.setdefault("$inc", {})[f"{path}.redrives"] = 1
        with _db("claim_redrive"):
            return self.collection.update_one(_unchanged(recording_id, path, seen), update).modified_count == 1

    def release_redrive(self, recording_id: str, path: str, seen: Mapping[str, Any]) -> None:
        """Undo `claim_redrive` (its invocation could not be queued): the re-drive is not counted.

        Raises:
            ValueError: a malformed path.
            TransientError: the database failed.
        """
        _check_path(path)
        redrives = seen.get("redrives") or 0
        claimed = {"_id": recording_id, f"{path}.redrives": redrives + 1}
        restore: dict[str, Any] = {"$set": {}, "$unset": {}}
        for name in ("redriven_at", "redrive_after"):
            if seen.get(name):
                restore["$set"][f"{path}.{name}"] = seen[name]
            else:
                restore["$unset"][f"{path}.{name}"] = ""
        restore = {k: v for k, v in restore.items() if v}  # MongoDB refuses an empty operator
        with _db("release_redrive"):
            self.collection.update_one(claimed, restore | {"$inc": {f"{path}.redrives": -1}})

    def give_up(self, recording_id: str, path: str, seen: Mapping[str, Any], reason: str) -> bool:
        """Mark the work under ``path`` failed for good (not retryable), if it is still as ``seen``.

        Returns:
            Whether it was marked (False: it changed meanwhile, e.g. a late delivery began it).

        Raises:
            ValueError: a malformed path.
            TransientError: the database failed.
        """
        _check_path(path)
        update = _failure(path, reason, retryable=False, now=self._now())
        with _db("give_up"):
            return self.collection.update_one(_unchanged(recording_id, path, seen), update).modified_count == 1

    # ------------------------------------------------------------------ re-drive: stuck work

    def stuck_stage(self, stage: str, *, cutoff: dt.datetime, now: dt.datetime, limit: int = 0
                    ) -> list[dict[str, Any]]:
        """Records whose stage is stuck: due for a re-drive by the rules of `audioscore.pipeline.recovery`.

        Stuck means "running" and started before ``cutoff`` (a lost worker), "failed" with a
        retryable error, or never started although due since before ``cutoff`` (features: the
        record was created then, with a source object; score: features finished then). Work
        re-driven after ``cutoff``, or whose back-off (``redrive_after``) ends after ``now``, is
        left out, and so is the features stage of a fanned-out recording while it runs (its
        segments are watched instead, see `fanned_out_running`).

        Args:
            stage: ``"features"`` or ``"score"``.
            cutoff: the deadline's start (now minus the stage's deadline).
            now: the run's time.
            limit: at most this many (0: all), least recently updated first.

        Returns:
            The records' ``_id``, ``source``, ``stages`` and ``created_at``.

        Raises:
            ValueError: a stage that has no re-drive rule.
            TransientError: the database failed.
        """
        if stage not in _STAGE_DUE:
            raise ValueError(f"no re-drive rule for stage {stage!r}; expected one of {tuple(_STAGE_DUE)}")
        requires, due_since = _STAGE_DUE[stage]
        at = f"stages.{stage}"
        query = {**requires, "$and": [
            {"$or": [{f"{at}.redriven_at": None}, {f"{at}.redriven_at": {"$lte": cutoff}}]},
            {"$or": [{f"{at}.redrive_after": None}, {f"{at}.redrive_after": {"$lte": now}}]},
            {"$or": [{f"{at}.status": "running", f"{at}.started_at": {"$lte": cutoff}},
                     {f"{at}.status": "failed", f"{at}.retryable": True},
                     {f"{at}.status": None, due_since: {"$lte": cutoff}}]},
        ]}
        return self.find(query, fields=("source", "stages", "created_at"), limit=limit)

    def fanned_out_running(self, *, limit: int = 0) -> list[dict[str, Any]]:
        """Fanned-out recordings whose features stage is still running (their segments may be stuck).

        Returns:
            The records' ``_id``, ``source``, ``fanout`` and ``created_at``.

        Raises:
            TransientError: the database failed.
        """
        return self.find({"stages.features.status": "running", "fanout": {"$exists": True}},
                         fields=("source", "fanout", "created_at"), limit=limit)

    def existing(self, recording_ids: Sequence[str]) -> set[str]:
        """Which of these recordings have a record.

        Raises:
            TransientError: the database failed.
        """
        return {r["_id"] for r in self.find({"_id": {"$in": list(recording_ids)}}, fields=("_id",))}

    # ------------------------------------------------------------------ fan-out (see audioscore.pipeline.fanout)

    def start_fanout(self, recording_id: str, fanout: Mapping[str, Any]) -> dict[str, Any]:
        """Record a fan-out plan (``fanout``, with its input's ``etag``) unless one for that ETag is there.

        A redelivered dispatch for the same input keeps the segments already done.

        Returns:
            The ``fanout`` sub-document now stored (``{}`` if the record is gone).

        Raises:
            TransientError: the database failed.
        """
        with _db("start_fanout"):
            self.collection.update_one({"_id": recording_id, "fanout.etag": {"$ne": fanout["etag"]}},
                                       {"$set": {"fanout": dict(fanout)}})
            document = self.collection.find_one({"_id": recording_id}, {"fanout": 1}) or {}
        return dict(document.get("fanout") or {})

    def fanout(self, recording_id: str, *, etag: str | None = None) -> dict[str, Any] | None:
        """The recording's ``fanout`` sub-document (only if made for ``etag``, when given), or None.

        Raises:
            TransientError: the database failed.
        """
        query: dict[str, Any] = {"_id": recording_id}
        if etag is not None:
            query["fanout.etag"] = etag
        with _db("find"):
            document = self.collection.find_one(query, {"fanout": 1})
        return None if document is None or "fanout" not in document else dict(document["fanout"])

    def claim_segment(self, recording_id: str, index: int) -> bool:
        """Claim segment ``index`` of a fan-out for this invocation: True means do it.

        pending or failed becomes running (``attempts`` + 1), and so does a running claim
        older than `stale_after_s` (its worker is presumed dead).

        Raises:
            TransientError: the database failed.
        """
        return self._claim_fanout_work(recording_id, f"fanout.segments.{int(index)}")

    def claim_merge(self, recording_id: str) -> bool:
        """Claim the merge of a fan-out (as `claim_segment`): exactly one of concurrent callers wins.

        Raises:
            TransientError: the database failed.
        """
        return self._claim_fanout_work(recording_id, "fanout.merge")

    def _claim_fanout_work(self, recording_id: str, path: str) -> bool:
        now = self._now()
        stale = now - dt.timedelta(seconds=self.stale_after_s)
        with _db("claim"):
            result = self.collection.update_one(
                {"_id": recording_id, "$or": [{f"{path}.status": {"$in": ["pending", "failed"]}},
                                              {f"{path}.status": "running", f"{path}.started_at": {"$lt": stale}}]},
                {"$set": {f"{path}.status": "running", f"{path}.started_at": now}, "$inc": {f"{path}.attempts": 1},
                 "$unset": {f"{path}.error": ""}})
        return result.modified_count == 1

    def finish_segment(self, recording_id: str, index: int) -> None:
        """Mark a claimed (running) segment done.

        Raises:
            TransientError: the database failed.
        """
        path = f"fanout.segments.{int(index)}"
        with _db("finish_segment"):
            self.collection.update_one({"_id": recording_id, f"{path}.status": "running"},
                                       {"$set": {f"{path}.status": "done", f"{path}.finished_at": self._now()}})

    def fail_segment(self, recording_id: str, index: int, error: str, *, retryable: bool,
                     counts: bool) -> dict[str, Any]:
        """Mark a segment failed; ``counts``: the failure spends one of its attempts (``failures`` + 1).

        Returns:
            The segment's sub-document after the update (``{}`` if the record is gone).

        Raises:
            TransientError: the database failed.
        """
        path = f"fanout.segments.{int(index)}"
        with _db("fail_segment"):
            document = self.collection.find_one_and_update(
                {"_id": recording_id},
                {"$set": {f"{path}.status": "failed", f"{path}.error": error, f"{path}.retryable": retryable},
                 "$inc": {f"{path}.failures": 1 if counts else 0}},
                projection={path: 1}, return_document=ReturnDocument.AFTER)
        return dict((document or {}).get("fanout", {}).get("segments", {}).get(str(int(index))) or {})

    def end_merge(self, recording_id: str, *, done: bool) -> None:
        """Mark the claimed merge done, or failed (claimable again by the next attempt).

        Raises:
            TransientError: the database failed.
        """
        with _db("end_merge"):
            self.collection.update_one({"_id": recording_id}, {"$set": {
                "fanout.merge.status": "done" if done else "failed", "fanout.merge.finished_at": self._now()}})

    def cursor(self, name: str) -> str:
        """Where the scan ``name`` resumes: what `save_cursor` saved, or "".

        Raises:
            TransientError: the database failed.
        """
        with _db("find"):
            doc = self.collection.database[CURSORS].find_one({"_id": name})
        return str((doc or {}).get("after", ""))

    def save_cursor(self, name: str, after: str) -> None:
        """Save where the scan ``name`` resumes.

        Raises:
            TransientError: the database failed.
        """
        with _db("save_cursor"):
            try:
                self.collection.database[CURSORS].update_one({"_id": name}, {"$set": {"after": after}}, upsert=True)
            except DuplicateKeyError:
                pass  # a concurrent run saved it first: either position is fine

    def get(self, recording_id: str) -> dict[str, Any] | None:
        """The raw document, or None.

        Raises:
            TransientError: the database failed.
        """
        with _db("find"):
            return self.collection.find_one({"_id": recording_id})

    def status(self, recording_id: str) -> dict[str, Any] | None:
        """A JSON-friendly view of the document, or None.

        ``_id`` becomes ``id``; datetimes become ISO-8601 UTC strings
        (``2024-05-01T12:00:00.000Z``); ObjectIds become strings.

        Raises:
            TransientError: the database failed.
        """
        doc = self.get(recording_id)
        if doc is None:
            return None
        view = {"id": str(doc.pop("_id"))}
        view.update(_jsonable(doc))
        return view

    def close(self) -> None:
        """Close the client behind the collection (for stores made by `connect`)."""
        self.collection.database.client.close()


def _jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO-8601 UTC and other BSON types as strings."""
    if isinstance(value, dt.datetime):
        # pymongo returns naive UTC datetimes unless the client is tz_aware.
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def connect(
    url: str,
    database: str,
    *,
    timeout_ms: int = 5000,
    collection: str = COLLECTION,
    stale_after_s: float = STALE_AFTER_S,
) -> RecordStore:
    """Connect to MongoDB, check it answers, and make sure the indexes exist.

    Args:
        url: a ``mongodb://`` or ``mongodb+srv://`` URL (may hold credentials).
        database: database name.
        timeout_ms: server selection timeout in milliseconds.
        collection: collection name.
        stale_after_s: see `RecordStore`.

    Raises:
        TransientError: MongoDB is unreachable or refused us (the message names the
            hosts, never the credentials).
    """
    where = _hosts(url)
    try:
        client: pymongo.MongoClient = pymongo.MongoClient(
            url, serverSelectionTimeoutMS=timeout_ms, appname="audioscore", tz_aware=True
        )
    except PyMongoError as exc:
        # Bad syntax, or an SRV record that does not resolve (which may be transient).
        raise TransientError(f"MongoDB URL for {where} is unusable: {_one_line(exc)}") from None
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        client.close()
        raise TransientError(f"MongoDB unreachable at {where}: {_one_line(exc)}") from None
    store = RecordStore(client[database][collection], stale_after_s=stale_after_s)
    try:
        store.ensure_indexes()
    except TransientError:
        client.close()
        raise
    return store
