"""Re-drive lost or failed work: what the ``redrive`` function does on each cron tick.

OpenFaaS Community Edition's async queue lives in memory and never retries, so
an invocation can be lost (queue full, gateway or NATS restart) or fail once and
stay failed. Each run asks a list of *finders* for stuck work and re-invokes the
function that does it, through the gateway's async route, with the MinIO event
that would have triggered it:

- ``features`` and ``score`` (`StageFinder`): a stage "running" past its deadline
  (the worker died or hit its time limit), "failed" with a retryable error, or due
  but never started (features: the record is older than the deadline; score:
  features finished longer ago than the deadline), i.e. its event was lost;
- ``unrecorded`` (`UnrecordedFinder`): audio objects with no record at all, older
  than a grace period (their notification was lost). The scan lists at most
  ``redrive_max_listed`` keys per run and resumes where it stopped.

Work is retried at most once per deadline, with exponential back-off between
re-drives (``redrive_backoff_s``, doubled per re-drive up to `MAX_BACKOFF_DOUBLINGS`
times). Two bounds end it, marking it failed, not retryable:

- ``redrive_max_attempts`` *failures*: retryable failures that are not outages
  (a ProcessingError, an unexpected error, a worker lost mid-way; the record's
  ``failures``): "gave up after N failed attempts: <why>";
- ``redrive_max_age_s`` since the recording was first seen (its record's
  ``created_at``), for everything else: outages of the store or the database
  (TransientError, however many deliveries they failed, duplicates included) and
  invocations lost on the way: "gave up after N s: <why>".
Claims are conditional updates on the record (`RecordStore.claim_redrive`), so of
two overlapping runs only one invokes. A run invokes at most
``redrive_max_per_run`` functions, not to flood the small in-memory queue.

Adding a finder (e.g. for one segment of a long recording) means writing a class
with a ``name`` and a ``find(scan)`` that yields `Stuck` items (where the work
keeps its status in the record, which function to invoke, and how to build its
event), and adding it to `FINDERS`; claims, bounds and the report are shared.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from audioscore.errors import InputError, TransientError
from audioscore.infra import names
from audioscore.infra.config import Settings
from audioscore.infra.events import object_created
from audioscore.infra.gateway import invoke_async
from audioscore.infra.records import recording_id_for_object
from audioscore.infra.storage import ObjectStore, encode_metadata_value
from audioscore.pipeline.common import AUDIO_SUFFIXES, FEATURES_NAME, Services
from audioscore.pipeline.segment_messages import segment_message

__all__ = [
    "EXTRACT_FUNCTION",
    "FINDERS",
    "MAX_BACKOFF_DOUBLINGS",
    "TRANSCRIBE_FUNCTION",
    "Finder",
    "Scan",
    "SegmentFinder",
    "StageFinder",
    "Stuck",
    "UnrecordedFinder",
    "backoff_s",
    "notification_for",
    "redrive",
]

EXTRACT_FUNCTION = names.EXTRACT_FEATURES
# The back-off stops growing after this many doublings (300 s doubled 6 times: 5.3 h).
MAX_BACKOFF_DOUBLINGS = 6
TRANSCRIBE_FUNCTION = names.TRANSCRIBE
log = logging.getLogger("audioscore.redrive")


@dataclass(frozen=True)
class Scan:
    """What a finder may use: the clients, the run's clock, and how many items are worth yielding."""

    services: Services
    now: dt.datetime
    limit: int
    dry_run: bool


@dataclass(frozen=True)
class Stuck:
    """One piece of stuck work, as a finder read it.

    Attributes:
        recording_id: the record.
        path: where the work keeps its status in the record, e.g. ``"stages.score"``.
        function: the function to invoke.
        seen: the sub-document at ``path`` as read (``{}`` if absent); claims require it unchanged.
        why: what went wrong, for the report and the give-up reason.
        event: builds the body for the function; raises InputError when its input is gone.
        source: source fields of a record to create first (work found in a bucket, not in the records).
        first_seen: when the recording was first seen (its record's creation; None: just now).
    """

    recording_id: str
    path: str
    function: str
    seen: Mapping[str, Any]
    why: str
    event: Callable[[], dict[str, Any]]
    source: Mapping[str, str] | None = None
    first_seen: dt.datetime | None = None

    @property
    def tries(self) -> int:
        """Deliveries that began the work or re-drives sent, whichever is more (what the report numbers)."""
        return max(self.seen.get("attempts") or 0, self.seen.get("redrives") or 0)

    @property
    def failures(self) -> int:
        """Failed tries that count against ``redrive_max_attempts`` (not outages, not lost invocations)."""
        return int(self.seen.get("failures") or 0)


class Finder(Protocol):
    """One kind of stuck work: its name, and how to find it in a scan."""

    @property
    def name(self) -> str: ...

    def find(self, scan: Scan) -> Iterator[Stuck]: ...


def notification_for(store: ObjectStore, bucket: str, key: str, *, etag: str | None = None) -> dict[str, Any]:
    """The MinIO event for an object as it is now.

    Raises:
        InputError: the object is gone (or its key is unsafe), or its ETag is no longer ``etag``.
        TransientError: the store failed.
    """
    info = store.stat(bucket, key)
    if info is None or (etag is not None and info.etag != etag):
        raise InputError(f"{bucket}/{key} is gone" + (" or was replaced" if info else ""))
    metadata = {f"X-Amz-Meta-{k}": encode_metadata_value(v) for k, v in info.metadata.items()}
    return object_created(bucket, key, etag=info.etag, size=info.size, content_type=info.content_type or "",
                          metadata=metadata)


def _why(seen: Mapping[str, Any], deadline_s: float) -> str:
    if seen.get("status") == "running":
        return f"no result {deadline_s:g} s after it started (worker lost or timed out)"
    if seen.get("status") == "failed":
        return str(seen.get("error") or "failed")
    return "never started (its event was lost)"


@dataclass(frozen=True)
class StageFinder:
    """Records whose stage ``stage`` is stuck (see the module doc).

    Attributes:
        stage: the stage; its status is under ``stages.<stage>``.
        function: what does the stage.
        deadline_s: the stage's deadline from the settings.
        event: the notification that starts the stage, from the record.
    """

    stage: str
    function: str
    deadline_s: Callable[[Settings], float]
    event: Callable[[Mapping[str, Any], Services], dict[str, Any]]

    @property
    def name(self) -> str:
        return self.stage

    def find(self, scan: Scan) -> Iterator[Stuck]:
        deadline = self.deadline_s(scan.services.settings)
        cutoff = scan.now - dt.timedelta(seconds=deadline)
        at = f"stages.{self.stage}"
        for record in scan.services.records.stuck_stage(self.stage, cutoff=cutoff, now=scan.now, limit=scan.limit):
            seen = (record.get("stages") or {}).get(self.stage) or {}
            yield Stuck(record["_id"], at, self.function, seen, _why(seen, deadline),
                        partial(self.event, record, scan.services), first_seen=_aware(record.get("created_at")))


def _audio_event(record: Mapping[str, Any], services: Services) -> dict[str, Any]:
    source = record["source"]
    return notification_for(services.store, source["bucket"], source["key"], etag=source["etag"])


def _features_event(record: Mapping[str, Any], services: Services) -> dict[str, Any]:
    return notification_for(services.store, services.settings.features_bucket, f"{record['_id']}/{FEATURES_NAME}")


class UnrecordedFinder:
    """Audio objects that have no record, older than ``redrive_unrecorded_after_s`` (see the module doc)."""

    name = "unrecorded"

    def find(self, scan: Scan) -> Iterator[Stuck]:
        store, records, settings = scan.services.store, scan.services.records, scan.services.settings
        bucket = settings.audio_bucket
        cursor = f"unrecorded:{bucket}"
        listed = store.list_objects(bucket, start_after=records.cursor(cursor), limit=settings.redrive_max_listed)
        cutoff = scan.now - dt.timedelta(seconds=settings.redrive_unrecorded_after_s)
        candidates = {recording_id_for_object(bucket, o.key, o.etag): o for o in listed
                      if o.key.lower().endswith(AUDIO_SUFFIXES) and o.last_modified and o.last_modified <= cutoff}
        known = records.existing(list(candidates))
        for recording_id, info in candidates.items():
            if recording_id not in known:
                yield Stuck(recording_id, "stages.features", EXTRACT_FUNCTION, {},
                            "no record (the upload's notification was lost)",
                            partial(notification_for, store, bucket, info.key, etag=info.etag),
                            source={"bucket": bucket, "key": info.key, "etag": info.etag})
        # Only once every item was taken (a run that hit its bound lists this page again);
        # a short page reached the end, so the next run starts over.
        if not scan.dry_run:
            records.save_cursor(cursor, listed[-1].key if len(listed) == settings.redrive_max_listed else "")


def _aware(value: Any) -> dt.datetime | None:
    # pymongo hands back naive UTC datetimes unless the client is tz-aware.
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _older(value: Any, cutoff: dt.datetime) -> bool:
    when = _aware(value)
    return when is not None and when <= cutoff


def _recent(value: Any, cutoff: dt.datetime) -> bool:
    when = _aware(value)
    return when is not None and when > cutoff


class SegmentFinder:
    """Fanned-out recordings (`audioscore.pipeline.fanout`) whose segment or merge is stuck.

    A segment is stuck when "running" past the features deadline, "failed" with a
    retryable error, or still "pending" that long after the dispatch (its message
    was lost); the merge, when every segment is done but no merge finished. Both are
    re-driven with a segment message (a done segment's message makes the merge run).
    A segment given up on fails the recording's features stage, with the reason.
    """

    name = "segments"

    def find(self, scan: Scan) -> Iterator[Stuck]:
        services = scan.services
        deadline = services.settings.redrive_features_deadline_s
        cutoff = scan.now - dt.timedelta(seconds=deadline)
        for record in services.records.fanned_out_running(limit=scan.limit):
            first_seen = _aware(record.get("created_at"))
            fan, source = record["fanout"], record.get("source") or {}
            message = partial(segment_message, source.get("bucket", ""), source.get("key", ""), fan["etag"])
            segments = fan.get("segments") or {}
            for index, seen in sorted(segments.items(), key=lambda item: int(item[0])):
                if seen.get("status") == "failed" and seen.get("retryable") is False:
                    if not scan.dry_run:
                        services.records.fail_stage(record["_id"], "features", f"segment {index}: {seen.get('error')}",
                                                    retryable=False)
                    break
                if _recent(seen.get("redriven_at"), cutoff) or _recent(seen.get("redrive_after"), scan.now):
                    continue
                status = seen.get("status")
                if ((status == "running" and _older(seen.get("started_at"), cutoff)) or status == "failed"
                        or (status == "pending" and _older(fan.get("dispatched_at"), cutoff))):
                    yield Stuck(record["_id"], f"fanout.segments.{index}", EXTRACT_FUNCTION, seen,
                                _why(seen, deadline), partial(message, int(index)), first_seen=first_seen)
            merge = fan.get("merge") or {}
            last_done = max((_aware(s.get("finished_at")) or scan.now for s in segments.values()), default=scan.now)
            if (segments and all(s.get("status") == "done" for s in segments.values())
                    and not _recent(merge.get("redriven_at"), cutoff)
                    and not _recent(merge.get("redrive_after"), scan.now)
                    and ((merge.get("status") == "running" and _older(merge.get("started_at"), cutoff))
                         or merge.get("status") == "failed"
                         or (merge.get("status") == "pending" and last_done <= cutoff))):
                yield Stuck(record["_id"], "fanout.merge", EXTRACT_FUNCTION, merge, _why(merge, deadline),
                            partial(message, len(segments) - 1), first_seen=first_seen)


FINDERS: tuple[Finder, ...] = (
    # When each stage is due is the records' rule (RecordStore.stuck_stage); a fanned-out recording's
    # features stage runs as long as its segments: SegmentFinder watches those.
    StageFinder("features", EXTRACT_FUNCTION, lambda s: s.redrive_features_deadline_s, _audio_event),
    StageFinder("score", TRANSCRIBE_FUNCTION, lambda s: s.redrive_score_deadline_s, _features_event),
    SegmentFinder(),
    UnrecordedFinder(),
)


def redrive(services: Services, *, token: str, dry_run: bool = False, now: dt.datetime | None = None,
            finders: Sequence[Finder] = FINDERS, invoke: Callable[..., None] = invoke_async) -> dict[str, Any]:
    """One run: find stuck work, give up on what used its attempts, re-invoke the rest.

    Args:
        services: the store, the records and the settings.
        token: the webhook token the invoked functions check.
        dry_run: report what would be done, change nothing.
        now: the run's time (tests); the current time by default.
        finders: where to look.
        invoke: ``invoke_async`` or a stand-in.

    Returns:
        ``{"dry_run", "redriven": [...], "gave_up": [...], "errors": [...]}``; each item names
        the recording, the work's path and the function, with ``attempt`` or ``reason``.
        A gateway that refuses an invocation ends the run, the error listed (with
        ``error``) and the claim undone, so the attempt is not counted.

    Raises:
        TransientError: the store or the database failed.
    """
    settings = services.settings
    scan = Scan(services, now or dt.datetime.now(dt.UTC), settings.redrive_max_per_run, dry_run)
    report: dict[str, Any] = {"dry_run": dry_run, "redriven": [], "gave_up": [], "errors": []}
    for finder in finders:
        for item in finder.find(scan):
            if len(report["redriven"]) >= settings.redrive_max_per_run:
                return report
            outcome = _act(item, services, scan.now, dry_run, partial(invoke, token=token))
            if outcome:
                kind, entry = outcome
                report[kind].append(entry)
                log.log(logging.ERROR if kind == "errors" else logging.INFO, "%s: %s", kind, entry)
                if kind == "errors":  # the gateway refused: the next ones would fail too
                    return report
    return report


def _act(item: Stuck, services: Services, now: dt.datetime, dry_run: bool,
         invoke: Callable[..., None]) -> tuple[str, dict[str, Any]] | None:
    """Give up on or re-drive one item; None when another run or a delivery got there first."""
    records, settings = services.records, services.settings
    entry: dict[str, Any] = {"recording_id": item.recording_id, "work": item.path, "function": item.function}
    if item.source and not dry_run:
        records.upsert_source(item.recording_id, item.source)
    body, reason = None, _exhausted(item, settings, now)
    if reason is None:
        try:
            body = item.event()
        except InputError as error:
            reason = f"gave up: {error}"
    if body is None:
        reason = reason or "gave up"
        if dry_run or records.give_up(item.recording_id, item.path, item.seen, reason):
            return "gave_up", entry | {"reason": reason}
        return None
    entry |= {"why": item.why, "attempt": item.tries + 1}
    if dry_run:
        return "redriven", entry
    lost_worker = item.why if item.seen.get("status") == "running" else None
    if not records.claim_redrive(item.recording_id, item.path, item.seen, error=lost_worker,
                                 backoff_s=backoff_s(settings, (item.seen.get("redrives") or 0) + 1)):
        return None
    try:
        invoke(settings.gateway_url, item.function, body)
    except TransientError as error:
        records.release_redrive(item.recording_id, item.path, item.seen)
        return "errors", entry | {"error": str(error)}
    return "redriven", entry


def _exhausted(item: Stuck, settings: Settings, now: dt.datetime) -> str | None:
    """Why the work is not to be tried again (a give-up reason), or None."""
    if item.failures >= settings.redrive_max_attempts:
        return f"gave up after {item.failures} failed attempts: {item.why}"
    age_s = (now - item.first_seen).total_seconds() if item.first_seen else 0.0
    if age_s > settings.redrive_max_age_s:
        return f"gave up after {age_s:.0f} s (REDRIVE_MAX_AGE_S {settings.redrive_max_age_s:g}): {item.why}"
    return None


def backoff_s(settings: Settings, redrives: int) -> float:
    """How long after its ``redrives``-th re-drive (1, 2, ...) work waits before the next one, in seconds."""
    return settings.redrive_backoff_s * 2 ** min(max(redrives - 1, 0), MAX_BACKOFF_DOUBLINGS)
