"""The redrive function: invocations lost or failing on purpose, recovered (or given up)
through the gateway stand-in, with the functions' real apps, moto for S3 and mongomock."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import corpus
import pytest
from functions_harness import TOKEN, call, minio_event
from gateway_harness import Chain, running_chain

from audioscore.errors import ConfigError, ProcessingError
from audioscore.infra.config import Settings
from audioscore.infra.config import settings as settings_cache
from audioscore.infra.gateway import invoke_async
from audioscore.infra.storage import ObjectStore, StoreConfig
from audioscore.pipeline import functions, transcribe_stage
from audioscore.pipeline import recovery as redrive
from audioscore.pipeline.common import Services

FEATURE_FILES = {"features.json", "features.png", "pitch.csv", "notes.csv", "mfcc.csv"}
SCORE_FILES = {"score.ly", "score.pdf", "score.png", "score-1.png", "score.mid", "score.musicxml", "score.json"}


@pytest.fixture
def chain(object_store, s3_server, tmp_path, monkeypatch) -> Iterator[Chain]:
    with running_chain(monkeypatch, s3_server, object_store, tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def tune(tmp_path_factory) -> Path:
    return corpus.write_tones(tmp_path_factory.mktemp("audio") / "tune.wav", [60, 64, 67, 72, 67])


def keys(store: ObjectStore, bucket: str) -> set[str]:
    return {o.key for o in store.list_objects(bucket, limit=10_000)}


def assert_complete(chain: Chain, recording_id: str) -> None:
    record = chain.records.get(recording_id)
    assert record is not None
    assert [record["stages"][s]["status"] for s in ("features", "score")] == ["done", "done"], record["stages"]
    assert {f"{recording_id}/{n}" for n in FEATURE_FILES} <= keys(chain.store, "features")
    assert {f"{recording_id}/{n}" for n in SCORE_FILES} <= keys(chain.store, "scores")


def only_recording(chain: Chain) -> str:
    [record] = chain.records.find({})
    return record["_id"]


def lost_uploads(chain: Chain, tmp_path: Path, count: int = 1) -> None:
    """Upload ``count`` small objects (not audio) whose notifications the gateway loses."""
    chain.gateway.drop("extract-features", count)
    for n in range(count):
        path = tmp_path / f"{n}.wav"
        path.write_bytes(b"RIFF" + bytes([n]))
        chain.upload(path.name, path)
    chain.settle()


def test_a_lost_upload_event_is_found_in_the_bucket_and_redriven(chain, tune) -> None:
    chain.gateway.drop("extract-features")
    chain.upload("lost.wav", tune)
    chain.settle()
    assert chain.records.find({}) == []  # the notification never reached the function

    status, report = chain.redrive()
    assert status == 200, report
    [item] = report["redriven"]
    assert item["work"] == "stages.features" and item["function"] == "extract-features" and item["attempt"] == 1
    chain.settle()
    assert_complete(chain, item["recording_id"])
    record = chain.records.get(item["recording_id"])
    assert record["source"]["key"] == "lost.wav" and record["source"]["title"] == "lost"
    assert record["stages"]["features"]["redrives"] == 1 and record["stages"]["features"]["attempts"] == 1
    assert chain.redrive() == (200, {"dry_run": False, "redriven": [], "gave_up": [], "errors": []})


def test_a_lost_transcribe_event_is_redriven(chain, tune) -> None:
    chain.gateway.drop("transcribe")
    chain.upload("song.wav", tune)
    chain.settle()
    recording_id = only_recording(chain)
    stages = chain.records.get(recording_id)["stages"]
    assert stages["features"]["status"] == "done" and "score" not in stages

    status, report = chain.redrive()
    assert status == 200 and [(i["recording_id"], i["function"]) for i in report["redriven"]] == [
        (recording_id, "transcribe")]
    assert report["redriven"][0]["why"] == "never started (its event was lost)"
    chain.settle()
    assert_complete(chain, recording_id)
    assert [d.status for d in chain.gateway.deliveries("transcribe")] == [None, 200]  # the lost one, the re-drive


def test_a_stage_that_keeps_failing_is_given_up_after_the_attempt_bound(chain, tune, monkeypatch) -> None:
    """A real processing failure (500) spends an attempt each time: given up after the bound."""
    def crash(*args, **kwargs):
        raise ProcessingError("engraver crashed")

    monkeypatch.setattr(transcribe_stage, "transcribe_notes", crash)
    chain.upload("song.wav", tune)
    chain.settle()
    recording_id = only_recording(chain)
    for attempt in (2, 3):
        assert chain.records.get(recording_id)["stages"]["score"]["retryable"] is True
        report = chain.redrive()[1]
        assert [i["attempt"] for i in report["redriven"]] == [attempt], report
        chain.settle()
    [gave_up] = chain.redrive()[1]["gave_up"]
    assert gave_up["reason"] == "gave up after 3 failed attempts: engraver crashed"
    score = chain.records.get(recording_id)["stages"]["score"]
    assert score["status"] == "failed" and score["retryable"] is False and score["error"] == gave_up["reason"]
    assert score["attempts"] == 3 and score["redrives"] == 2 and score["failures"] == 3
    assert chain.redrive()[1]["gave_up"] == []  # given up for good
    assert [d.status for d in chain.gateway.deliveries("transcribe")] == [500, 500, 500]


def test_an_outage_spends_no_attempts_and_is_bounded_by_age(chain, tune, monkeypatch) -> None:
    """The store stays down for transcribe: its 503s are retried past the attempt bound, until the age bound."""
    broken = ObjectStore.connect(StoreConfig(endpoint="127.0.0.1:9", access_key="x", secret_key="x",
                                             region="us-east-1", connect_timeout_s=0.5))
    monkeypatch.setattr(functions.transcribe, "_services", Services(broken, chain.records, Settings.from_env()))
    chain.upload("song.wav", tune)
    chain.settle()
    recording_id = only_recording(chain)
    for attempt in (1, 2, 3, 4):  # each delivery failed before it could begin the stage (attempts 0)
        assert [i["attempt"] for i in chain.redrive()[1]["redriven"]] == [attempt]
        chain.settle()
    assert all(d.status == 503 for d in chain.gateway.deliveries("transcribe"))
    services = functions.redrive.services()
    created = chain.records.get(recording_id)["created_at"].replace(tzinfo=dt.UTC)  # mongomock's are naive
    later = created + dt.timedelta(seconds=services.settings.redrive_max_age_s + 1)
    [gave_up] = redrive.redrive(services, token=TOKEN, now=later)["gave_up"]
    assert gave_up["reason"].startswith("gave up after 86401 s (REDRIVE_MAX_AGE_S 86400): ")
    assert chain.records.get(recording_id)["stages"]["score"]["retryable"] is False


def test_invocations_lost_every_time_are_given_up_at_the_age_bound(chain, tmp_path) -> None:
    """Each re-drive is lost too: not counted as failures (the queue lost them), so bounded by age."""
    lost_uploads(chain, tmp_path)
    chain.gateway.drop("extract-features", 4)
    for attempt in (1, 2, 3, 4):
        assert [i["attempt"] for i in chain.redrive()[1]["redriven"]] == [attempt]
        chain.settle()
    [record] = chain.records.find({})
    services = functions.redrive.services()
    later = record["created_at"].replace(tzinfo=dt.UTC) + dt.timedelta(seconds=services.settings.redrive_max_age_s + 1)
    [gave_up] = redrive.redrive(services, token=TOKEN, now=later)["gave_up"]
    assert gave_up["reason"].endswith("s (REDRIVE_MAX_AGE_S 86400): never started (its event was lost)")
    assert all(d.dropped for d in chain.gateway.deliveries("extract-features"))


def test_redrives_back_off_exponentially(chain, tmp_path) -> None:
    lost_uploads(chain, tmp_path)
    chain.gateway.drop("extract-features", 3)
    services = functions.redrive.services()
    paced = replace(services, settings=replace(services.settings, redrive_backoff_s=1000))
    start = dt.datetime.now(dt.UTC)

    def run(after_s: float) -> int:
        report = redrive.redrive(paced, token=TOKEN, now=start + dt.timedelta(seconds=after_s))
        chain.settle()
        return len(report["redriven"])

    # The wait runs from each claim (the records' clock, here a few seconds after ``start``):
    # 1000 s after the first re-drive, 2000 s after the second.
    assert [run(t) for t in (0, 990, 1100, 1990, 2200)] == [1, 0, 1, 0, 1]


def test_bad_input_is_not_redriven(chain, tmp_path) -> None:
    (tmp_path / "bogus.wav").write_text("this is not audio")
    chain.upload("bogus.wav", tmp_path / "bogus.wav")
    chain.settle()
    assert chain.redrive() == (200, {"dry_run": False, "redriven": [], "gave_up": [], "errors": []})
    assert [d.status for d in chain.gateway.deliveries("extract-features")] == [400]


def test_a_worker_lost_mid_stage_is_taken_over(chain, tune) -> None:
    """A stage left "running" past its deadline (the worker died) is marked failed and re-driven."""
    chain.gateway.drop("extract-features")
    etag = chain.upload("crash.wav", tune)
    chain.settle()
    _, report = chain.redrive(query={"dry_run": "true"})  # reports, changes nothing
    [item] = report["redriven"]
    assert chain.records.get(item["recording_id"]) is None and len(chain.gateway.deliveries()) == 1
    chain.records.upsert_source(item["recording_id"], {"bucket": "audio", "key": "crash.wav", "etag": etag})
    assert chain.records.begin_stage(item["recording_id"], "features", etag=etag)  # ... and then nothing

    [item] = chain.redrive()[1]["redriven"]
    assert item["why"] == "no result 0 s after it started (worker lost or timed out)" and item["attempt"] == 2
    chain.settle()
    assert_complete(chain, item["recording_id"])
    errors = chain.records.get(item["recording_id"])["errors"]
    assert [e["message"] for e in errors] == [item["why"]]


def test_the_cron_connectors_call_and_bad_tokens(object_store, s3_server, tmp_path, monkeypatch) -> None:
    """The cron-connector sends no token: accepted, answered with counts only; a wrong token is refused."""
    with running_chain(monkeypatch, s3_server, object_store, tmp_path,
                       env={"REDRIVE_FEATURES_DEADLINE_S": "3600"}) as chain:
        lost_uploads(chain, tmp_path)
        chain.gateway.drop("extract-features")
        assert chain.redrive(token="wrong")[0] == 401
        assert chain.redrive(token=None) == (200, {"dry_run": False, "redriven": 1, "gave_up": 0, "errors": 0})
        assert chain.redrive(token=None)[1]["redriven"] == 0  # claimed: not again within the deadline
        assert call(chain.urls["redrive"], method="GET")[0] == 405


def test_a_gateway_outage_does_not_use_up_attempts(chain, tmp_path, monkeypatch) -> None:
    lost_uploads(chain, tmp_path)
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(functions.redrive, "_services", None)
    settings_cache.cache_clear()  # the next services() reads the environment again
    status, report = chain.redrive()
    assert status == 503 and "unreachable" in report["errors"][0]["error"] and report["redriven"] == []
    [record] = chain.records.find({})
    assert record["stages"]["features"].get("redrives") == 0 and "redriven_at" not in record["stages"]["features"]


def test_two_overlapping_runs_invoke_each_piece_of_work_once(chain, tmp_path) -> None:
    """Both runs find the same stuck work before either claims it; each item is invoked once."""
    lost_uploads(chain, tmp_path, 4)
    both_found = threading.Barrier(2, timeout=30)

    class FoundTogether:
        def __init__(self, inner: redrive.Finder) -> None:
            self.name, self.inner = inner.name, inner

        def find(self, scan: redrive.Scan) -> Iterator[redrive.Stuck]:
            found = list(self.inner.find(scan))
            both_found.wait()
            yield from found

    services = functions.redrive.services()
    finders = [FoundTogether(f) for f in redrive.FINDERS]

    def run(_: int) -> dict:
        return redrive.redrive(services, token=TOKEN, finders=finders, invoke=invoke_async)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(run, range(2)))
    redriven = [i["recording_id"] for r in reports for i in r["redriven"]]
    assert len(redriven) == len(set(redriven)) == 4
    chain.settle()
    delivered = [d for d in chain.gateway.deliveries("extract-features") if not d.dropped]
    assert len(delivered) == 4 and all(d.status == 400 for d in delivered)  # not audio: refused, once each


def test_the_unrecorded_scan_waits_for_the_grace_period_and_resumes_where_it_stopped(
        chain, tmp_path, monkeypatch) -> None:
    lost_uploads(chain, tmp_path, 5)
    services = functions.redrive.services()
    sent: list[str] = []

    def run(**settings: float) -> list[str]:
        scoped = replace(services, settings=replace(services.settings, **settings))
        report = redrive.redrive(scoped, token=TOKEN, finders=[redrive.UnrecordedFinder()],
                                 invoke=lambda url, function, body, token: sent.append(body["Key"]))
        return [i["recording_id"] for i in report["redriven"]]

    assert run(redrive_unrecorded_after_s=3600) == []  # just uploaded: its notification may be on its way
    first = run(redrive_max_listed=2)
    second = run(redrive_max_listed=2)
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    assert len(run(redrive_max_listed=2)) == 1  # the end of the bucket
    assert sorted(sent) == [f"audio/{n}.wav" for n in range(5)]


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env({"REDRIVE_MAX_ATTEMPTS": "5", "REDRIVE_FEATURES_DEADLINE_S": "4000",
                                  "REDRIVE_SCORE_DEADLINE_S": "0", "REDRIVE_MAX_PER_RUN": "2"})
    assert (settings.redrive_max_attempts, settings.redrive_features_deadline_s, settings.redrive_score_deadline_s,
            settings.redrive_max_per_run, settings.redrive_unrecorded_after_s) == (5, 4000.0, 0.0, 2, 900.0)
    for name, value in (("REDRIVE_MAX_ATTEMPTS", "0"), ("REDRIVE_SCORE_DEADLINE_S", "-1"),
                        ("REDRIVE_UNRECORDED_AFTER_S", "soon")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


def test_the_per_run_bound(chain, tmp_path) -> None:
    lost_uploads(chain, tmp_path, 3)
    services = functions.redrive.services()
    bounded = replace(services, settings=replace(services.settings, redrive_max_per_run=2))
    now = dt.datetime.now(dt.UTC)
    sent: list[str] = []

    def invoke(url: str, function: str, body: dict, token: str) -> None:
        sent.append(body["Key"])

    assert len(redrive.redrive(bounded, token=TOKEN, now=now, invoke=invoke)["redriven"]) == 2
    assert len(redrive.redrive(bounded, token=TOKEN, now=now, invoke=invoke)["redriven"]) == 1
    assert len(set(sent)) == 3


def test_repeated_short_outages_of_the_store_and_the_database_lose_nothing(chain, tune) -> None:
    """Events delivered twice during a store outage, a re-drive whose invocations wait in the queue
    into a second store outage, another into a database outage, re-drive runs during both: every
    recording completes, and no outage counts as a failed attempt."""
    gateway = chain.gateway
    gateway.drop("extract-features", 2)  # the uploads' own notifications: sent below, during the outage
    events = [minio_event("audio", key, chain.upload(key, tune), tune.stat().st_size)
              for key in ("take 1.wav", "take 2.wav")]
    chain.settle()
    with chain.outage("store", 3):
        gateway.repeat("extract-features", len(events))
        for event in events:
            assert call(f"{gateway.url}/async-function/extract-features", body=event)[0] == 202
        chain.settle()
    assert 503 in [d.status for d in gateway.deliveries("extract-features")]

    for what in ("store", "records"):
        gateway.hold("extract-features")  # a backlog: the re-drive's invocations run inside the outage
        status, report = chain.redrive()
        assert status == 200 and len(report["redriven"]) == 2 and not report["gave_up"], report
        with chain.outage(what, 3):
            assert chain.redrive()[0] == 503  # a run during the outage finds nothing it can do
            gateway.release("extract-features")
            chain.settle()
    assert len([d for d in gateway.deliveries("extract-features") if not d.dropped]) == 8

    for _ in range(3):  # the outages are over: what is still undone is re-driven
        status, report = chain.redrive()
        assert status == 200 and not report["gave_up"], report
        chain.settle()
    for record in chain.records.find({}):
        assert_complete(chain, record["_id"])
        assert not record["stages"]["features"].get("failures")
    assert len(chain.records.find({})) == 2
