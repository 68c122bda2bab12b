"""Recording documents in MongoDB: ids, stage claims, idempotency, errors, status view.

Runs against mongomock always, and the same behaviour against a real MongoDB when
``MONGO_URL`` is set (e.g. ``MONGO_URL=mongodb://localhost:27017``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import mongomock
import pymongo
import pytest
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from audioscore.download.urls import youtube_video_id
from audioscore.errors import ProcessingError, TransientError
from audioscore.infra.events import ObjectEvent
from audioscore.infra.records import (
    MAX_ERRORS,
    STAGES,
    RecordStore,
    connect,
    recording_id_for_event,
    recording_id_for_object,
    recording_id_for_url,
    redact_url,
)

MONGO_URL = os.environ.get("MONGO_URL", "")
T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
RID = recording_id_for_object("audio", "my song (1).wav", "d41d8cd98f00b204e9800998ecf8427e")
UPLOAD = {
    "kind": "upload",
    "bucket": "audio",
    "key": "my song (1).wav",
    "etag": "d41d8cd98f00b204e9800998ecf8427e",
}


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


# --- ids -------------------------------------------------------------------------------------


def test_object_id_is_deterministic_and_distinct() -> None:
    rid = recording_id_for_object("audio", "a.wav", "e1")
    assert rid == recording_id_for_object("audio", "a.wav", '"e1"')
    assert len(rid) == 24 and int(rid, 16) >= 0
    others = {
        recording_id_for_object("audio", "a.wav", "e2"),
        recording_id_for_object("audio", "b.wav", "e1"),
        recording_id_for_object("other", "a.wav", "e1"),
    }
    assert rid not in others and len(others) == 3


@pytest.mark.parametrize(
    "url",
    [
        "dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=x",
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "  https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ  ",
    ],
)
def test_every_form_of_one_video_has_one_id(url: str) -> None:
    assert recording_id_for_url(url) == recording_id_for_url("dQw4w9WgXcQ")


def test_other_urls_are_hashed_as_given() -> None:
    a = recording_id_for_url("http://127.0.0.1:8000/clip.webm")
    assert a == recording_id_for_url(" http://127.0.0.1:8000/clip.webm\n")
    assert a != recording_id_for_url("http://127.0.0.1:8000/other.webm")
    assert recording_id_for_url("dQw4w9WgXcQ") != recording_id_for_url("aaaaaaaaaaa")
    assert youtube_video_id("https://evil.example/watch?v=dQw4w9WgXcQ") is None
    assert youtube_video_id("https://notyoutube.com/watch?v=dQw4w9WgXcQ") is None
    assert youtube_video_id("https://www.youtube.com/watch?v=short") is None
    assert youtube_video_id("https://www.youtube.com/") is None


def _event(**metadata: str) -> ObjectEvent:
    return ObjectEvent("s3:ObjectCreated:Put", "audio", "a.wav", "e1", 10, "audio/wav", metadata)


def test_event_id_prefers_valid_metadata() -> None:
    carried = recording_id_for_url("dQw4w9WgXcQ")
    assert recording_id_for_event(_event(**{"X-Amz-Meta-Recording-Id": carried})) == carried
    assert recording_id_for_event(_event(**{"recording-id": carried.upper()})) == carried
    own = recording_id_for_object("audio", "a.wav", "e1")
    assert recording_id_for_event(_event()) == own
    assert recording_id_for_event(_event(**{"X-Amz-Meta-Recording-Id": "../../x"})) == own


def test_redact_url() -> None:
    assert redact_url("mongodb://user:p%40ss@db:27017/x?authSource=admin") == (
        "mongodb://db:27017/x?authSource=admin"
    )
    assert redact_url("mongodb://db:27017") == "mongodb://db:27017"
    assert redact_url("see mongodb+srv://u:s@a.b/c and more") == "see mongodb+srv://a.b/c and more"


# --- behaviour, on mongomock and on a real server --------------------------------------------


class Behaviour:
    """The store's contract; subclasses provide the ``collection`` fixture."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, collection: Any, clock: FakeClock) -> RecordStore:
        store = RecordStore(collection, stale_after_s=600, clock=clock)
        store.ensure_indexes()
        return store

    def test_indexes(self, store: RecordStore) -> None:
        store.ensure_indexes()  # idempotent
        info = store.collection.index_information()
        assert {"source_object", "source_video_id"} <= set(info)
        assert {f"stage_{s}_status" for s in STAGES} <= set(info)
        assert info["source_object"]["unique"]

    def test_upsert_source_is_idempotent(self, store: RecordStore, clock: FakeClock) -> None:
        first = store.upsert_source(RID, UPLOAD)
        assert first["_id"] == RID
        assert first["source"] == UPLOAD
        clock.advance(5)
        second = store.upsert_source(RID, UPLOAD | {"title": "My song", "url": None})
        assert store.collection.count_documents({}) == 1
        assert second["source"] == UPLOAD | {"title": "My song"}
        assert _utc(second["created_at"]) == _utc(first["created_at"])
        assert _utc(second["updated_at"]) - _utc(first["updated_at"]) == dt.timedelta(seconds=5)

    def test_upsert_source_rejects_unknown_fields(self, store: RecordStore) -> None:
        with pytest.raises(ValueError, match="unknown source fields"):
            store.upsert_source(RID, {"kind": "upload", "path": "/etc"})
        with pytest.raises(ValueError, match="kind"):
            store.upsert_source(RID, {"kind": "ftp"})
        assert store.get(RID) is None

    def test_one_source_object_one_recording(self, store: RecordStore) -> None:
        store.upsert_source(RID, UPLOAD)
        with pytest.raises(ProcessingError, match="another recording"):
            store.upsert_source("f" * 24, UPLOAD)
        # Sources without all three fields are not constrained.
        store.upsert_source("a" * 24, {"kind": "url", "url": "https://youtu.be/dQw4w9WgXcQ"})
        store.upsert_source("b" * 24, {"kind": "url", "url": "https://youtu.be/dQw4w9WgXcQ"})

    def test_times_are_utc_and_millisecond(self, store: RecordStore) -> None:
        doc = store.upsert_source(RID, UPLOAD)
        assert _utc(doc["created_at"]) == T0.replace(microsecond=123000)

    def test_begin_stage_claims_a_new_stage(self, store: RecordStore) -> None:
        store.upsert_source(RID, UPLOAD)
        assert store.begin_stage(RID, "features", etag="e1") is True
        stage = store.get(RID)["stages"]["features"]
        assert stage["status"] == "running"
        assert stage["etag"] == "e1"
        assert stage["attempts"] == 1
        assert _utc(stage["started_at"]) == T0.replace(microsecond=123000)

    def test_begin_stage_creates_a_missing_record(self, store: RecordStore) -> None:
        assert store.begin_stage(RID, "score") is True
        doc = store.get(RID)
        assert doc["stages"]["score"]["status"] == "running"
        assert "created_at" in doc

    def test_duplicate_delivery_is_skipped(self, store: RecordStore) -> None:
        """Same object, same ETag, delivered twice: one run, one document."""
        for _ in range(2):
            store.upsert_source(RID, UPLOAD)
        assert store.begin_stage(RID, "features", etag="e1") is True
        store.finish_stage(RID, "features", artifacts={"features": "features/x/features.json"})
        assert store.begin_stage(RID, "features", etag="e1") is False
        assert store.collection.count_documents({}) == 1
        doc = store.get(RID)
        assert doc["stages"]["features"]["status"] == "done"
        assert doc["stages"]["features"]["attempts"] == 1

    def test_done_for_another_input_runs_again(self, store: RecordStore) -> None:
        assert store.begin_stage(RID, "score", etag="e1")
        store.finish_stage(RID, "score", artifacts={})
        assert store.begin_stage(RID, "score", etag="e2") is True
        assert store.get(RID)["stages"]["score"]["attempts"] == 2

    def test_done_without_etag_is_not_rerun(self, store: RecordStore) -> None:
        assert store.begin_stage(RID, "fetched")
        store.finish_stage(RID, "fetched", artifacts={"audio": "audio/a.wav"})
        assert store.begin_stage(RID, "fetched") is False

    def test_fresh_running_stage_is_not_taken(self, store: RecordStore, clock: FakeClock) -> None:
        assert store.begin_stage(RID, "features", etag="e1")
        clock.advance(599)
        assert store.begin_stage(RID, "features", etag="e1") is False
        assert store.begin_stage(RID, "features", etag="e2") is False

    def test_stale_running_stage_is_taken_over(self, store: RecordStore, clock: FakeClock) -> None:
        assert store.begin_stage(RID, "features", etag="e1")
        clock.advance(601)
        assert store.begin_stage(RID, "features", etag="e1") is True
        stage = store.get(RID)["stages"]["features"]
        assert stage["attempts"] == 2
        assert _utc(stage["started_at"]) == _utc_ms(clock.now)

    def test_failed_stage_may_be_retried(self, store: RecordStore) -> None:
        assert store.begin_stage(RID, "features", etag="e1")
        store.fail_stage(RID, "features", "MongoDB find failed", retryable=True)
        assert store.begin_stage(RID, "features", etag="e1") is True
        stage = store.get(RID)["stages"]["features"]
        assert stage["status"] == "running"
        assert "error" not in stage and "finished_at" not in stage

    def test_stages_are_independent(self, store: RecordStore) -> None:
        assert store.begin_stage(RID, "features", etag="e1")
        assert store.begin_stage(RID, "score", etag="e1")

    def test_unknown_stage(self, store: RecordStore) -> None:
        for call in (
            lambda: store.begin_stage(RID, "mix"),
            lambda: store.finish_stage(RID, "mix", artifacts={}),
            lambda: store.fail_stage(RID, "mix", "x", retryable=False),
        ):
            with pytest.raises(ValueError, match="unknown stage"):
                call()

    def test_finish_stage(self, store: RecordStore, clock: FakeClock) -> None:
        store.upsert_source(RID, UPLOAD)
        store.begin_stage(RID, "features", etag="e1")
        store.fail_stage(RID, "features", "boom", retryable=True)
        store.begin_stage(RID, "features", etag="e1")
        clock.advance(12.5)
        artifacts = {"features": "features/r/features.json", "pitch_csv": "features/r/pitch.csv"}
        summary = {"voiced_ratio": 0.71, "note_count": 42, "mfcc_mean": [1.0, 2.0]}
        store.finish_stage(RID, "features", artifacts=artifacts, summary=summary)
        doc = store.get(RID)
        stage = doc["stages"]["features"]
        assert stage["status"] == "done"
        assert _utc(stage["finished_at"]) - _utc(stage["started_at"]) == dt.timedelta(seconds=12.5)
        assert "error" not in stage
        assert doc["artifacts"] == {"features": artifacts}
        assert doc["summary"] == {"features": summary}
        assert _utc(doc["updated_at"]) == _utc_ms(clock.now)
        # The error history stays.
        assert [e["message"] for e in doc["errors"]] == ["boom"]

    def test_finish_stage_without_summary_keeps_none(self, store: RecordStore) -> None:
        store.finish_stage(RID, "fetched", artifacts={"audio": "audio/x.m4a"})
        doc = store.get(RID)
        assert "summary" not in doc
        assert doc["artifacts"]["fetched"] == {"audio": "audio/x.m4a"}

    def test_fail_stage(self, store: RecordStore) -> None:
        store.upsert_source(RID, UPLOAD)
        store.begin_stage(RID, "score")
        store.fail_stage(RID, "score", "no notes to transcribe", retryable=False)
        doc = store.get(RID)
        stage = doc["stages"]["score"]
        assert (stage["status"], stage["error"], stage["retryable"]) == (
            "failed",
            "no notes to transcribe",
            False,
        )
        [entry] = doc["errors"]
        assert (entry["stage"], entry["message"], entry["retryable"]) == (
            "score",
            "no notes to transcribe",
            False,
        )
        assert _utc(entry["at"]) == T0.replace(microsecond=123000)

    def test_errors_are_capped_newest_last(self, store: RecordStore, clock: FakeClock) -> None:
        for i in range(MAX_ERRORS + 5):
            clock.advance(1)
            store.fail_stage(RID, "features", f"error {i}", retryable=True)
        errors = store.get(RID)["errors"]
        assert len(errors) == MAX_ERRORS
        assert [e["message"] for e in errors] == [f"error {i}" for i in range(5, MAX_ERRORS + 5)]

    def test_long_messages_are_truncated(self, store: RecordStore) -> None:
        store.fail_stage(RID, "features", "x" * 10_000, retryable=False)
        assert len(store.get(RID)["errors"][0]["message"]) <= 2001

    def test_status_is_json(self, store: RecordStore) -> None:
        store.upsert_source(RID, UPLOAD | {"title": "My song"})
        store.begin_stage(RID, "features", etag="e1")
        store.finish_stage(RID, "features", artifacts={"features": "k"}, summary={"n": 1})
        store.begin_stage(RID, "score", etag="e2")
        store.fail_stage(RID, "score", "bad", retryable=True)
        view = store.status(RID)
        assert view is not None
        assert json.loads(json.dumps(view)) == view
        assert view["id"] == RID and "_id" not in view
        assert view["source"]["title"] == "My song"
        assert view["stages"]["features"]["status"] == "done"
        assert view["stages"]["score"]["status"] == "failed"
        assert view["created_at"] == "2024-05-01T12:00:00.123Z"
        assert view["errors"][0]["at"] == "2024-05-01T12:00:00.123Z"
        assert store.status("0" * 24) is None


class TestMongomock(Behaviour):
    @pytest.fixture
    def collection(self) -> Any:
        return mongomock.MongoClient(tz_aware=True).audioscore.recordings

    def test_naive_datetimes_are_read_as_utc(self, clock: FakeClock) -> None:
        # A client without tz_aware returns naive UTC datetimes; the view still says UTC.
        store = RecordStore(mongomock.MongoClient().db.recordings, clock=clock)
        store.upsert_source(RID, UPLOAD)
        assert store.get(RID)["created_at"].tzinfo is None
        assert store.status(RID)["created_at"] == "2024-05-01T12:00:00.123Z"


@pytest.mark.skipif(
    not MONGO_URL, reason="set MONGO_URL=mongodb://host:port to test a real MongoDB"
)
class TestRealMongo(Behaviour):
    @pytest.fixture
    def collection(self) -> Iterator[Any]:
        name = f"audioscore_test_{uuid.uuid4().hex[:12]}"
        store = connect(MONGO_URL, name, timeout_ms=3000)
        try:
            yield store.collection
        finally:
            store.collection.database.client.drop_database(name)
            store.close()

    # Atomicity is the server's: mongomock matches and modifies in separate steps.
    def test_concurrent_claims_have_one_winner(self, store: RecordStore) -> None:
        store.upsert_source(RID, UPLOAD)
        results: list[bool] = []
        barrier = threading.Barrier(8)

        def claim() -> None:
            barrier.wait()
            results.append(store.begin_stage(RID, "features", etag="e1"))

        threads = [threading.Thread(target=claim) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 7 + [True]


# --- failures ---------------------------------------------------------------------------------


class FailingCollection:
    """A collection whose every call fails as an unreachable server does."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.exc

        return fail


@pytest.mark.parametrize(
    "exc",
    [
        ServerSelectionTimeoutError(
            "db:27017: [Errno 111] Connection refused, Timeout: 5.0s\n"
            "Topology Description: <mongodb://admin:hunter2@db:27017>"
        ),
        OperationFailure("not authorized on audioscore mongodb://admin:hunter2@db"),
    ],
)
def test_database_errors_are_transient(exc: Exception) -> None:
    store = RecordStore(FailingCollection(exc))  # type: ignore[arg-type]
    calls = [
        store.ensure_indexes,
        lambda: store.upsert_source(RID, UPLOAD),
        lambda: store.begin_stage(RID, "features", etag="e1"),
        lambda: store.finish_stage(RID, "features", artifacts={}),
        lambda: store.fail_stage(RID, "features", "x", retryable=True),
        lambda: store.get(RID),
        lambda: store.status(RID),
    ]
    for call in calls:
        with pytest.raises(TransientError) as info:
            call()
        message = str(info.value)
        assert message.startswith("MongoDB ")
        assert "\n" not in message and "hunter2" not in message
        assert info.value.http_status == 503 and info.value.exit_code == 4


def test_connect_unreachable_names_host_not_credentials() -> None:
    with pytest.raises(TransientError, match=r"unreachable at 127\.0\.0\.1:9\b") as info:
        connect("mongodb://admin:hunter2@127.0.0.1:9/?authSource=admin", "db", timeout_ms=300)
    assert "hunter2" not in str(info.value) and "admin:" not in str(info.value)
    assert "\n" not in str(info.value)


def test_connect_invalid_url_is_transient_without_credentials() -> None:
    with pytest.raises(TransientError, match="unusable") as info:
        connect("mongodb://admin:hunter2@", "db")
    assert "hunter2" not in str(info.value)


def test_connect_uses_the_given_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_client(url: str, **kwargs: Any) -> Any:
        seen.update(kwargs, url=url)
        return mongomock.MongoClient(tz_aware=True)

    monkeypatch.setattr(pymongo, "MongoClient", fake_client)
    store = connect("mongodb://db:27017", "music", timeout_ms=1234)
    assert seen["serverSelectionTimeoutMS"] == 1234 and seen["appname"] == "audioscore"
    assert store.collection.full_name == "music.recordings"
    assert "source_object" in store.collection.index_information()


def _utc(value: dt.datetime) -> dt.datetime:
    """A stored datetime as aware UTC (clients may return naive UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _utc_ms(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
