"""Fan-out of a long recording: dispatch, segments in any order, redelivery, failures, exactly one merge.

The stages run directly here, with the segment messages they queue collected
instead of sent; tests/test_load.py drives the same path through the gateway.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import corpus
import mongomock
import numpy as np
import poly_corpus
import pytest
import soundfile as sf
from gateway_harness import running_chain

from audioscore.analysis.features import extract_file
from audioscore.errors import InputError, ProcessingError, TransientError
from audioscore.infra.config import Settings
from audioscore.infra.events import ObjectEvent
from audioscore.infra.records import RecordStore, recording_id_for_object
from audioscore.pipeline import fanout
from audioscore.pipeline.common import Services

SR = 44100
DURATION_S = 60.0


@pytest.fixture(scope="module")
def long_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fanout") / "long.flac"
    sf.write(path, corpus.random_melody(DURATION_S, seed=11, sr=SR), SR)
    return path


class Queue:
    """Stands in for the gateway: keeps what the stages ask to invoke."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict]] = []

    def __call__(self, function: str, body: dict) -> None:
        self.messages.append((function, body))


@pytest.fixture
def services(object_store, tmp_path: Path) -> Services:
    records = RecordStore(mongomock.MongoClient()["audioscore"]["recordings"])
    records.ensure_indexes()
    settings = Settings(fanout_min_s=30, segment_s=12, segment_context_s=3, segment_max_attempts=2,
                        work_dir=tmp_path / "work")
    return Services(object_store, records, settings, Queue())


@pytest.fixture
def uploaded(services: Services, long_audio: Path) -> ObjectEvent:
    etag = services.store.upload_file("audio", "concert.flac", long_audio, content_type="audio/flac")
    return ObjectEvent(event_name="s3:ObjectCreated:Put", bucket="audio", key="concert.flac", etag=etag,
                       size=long_audio.stat().st_size, content_type="audio/flac", user_metadata={})


def segment_bodies(services: Services) -> list[dict]:
    return [body[fanout.SEGMENT_FIELD] for function, body in services.invoke.messages
            if function == "extract-features"]


def count_uploads(services: Services, monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    uploaded: list[str] = []
    original = services.store.upload_file

    def counting(bucket: str, key: str, *args, **kwargs):
        if key.endswith(name):
            uploaded.append(key)
        return original(bucket, key, *args, **kwargs)

    monkeypatch.setattr(services.store, "upload_file", counting)
    return uploaded


def test_segments_in_any_order_merge_once_into_the_single_pass_result(
        services: Services, uploaded: ObjectEvent, long_audio: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    merges = count_uploads(services, monkeypatch, "features.json")
    answer = fanout.extract_features_stage(uploaded, services)
    assert answer["status"] == "dispatched"
    bodies = segment_bodies(services)
    assert len(bodies) == answer["segments"] == 5
    answers = [fanout.segment_stage(body, services) for body in reversed(bodies)]
    assert [a["merged"] for a in answers] == [False] * 4 + [True]
    # A redelivered segment after the merge changes nothing.
    assert fanout.segment_stage(bodies[2], services)["status"] == "duplicate"
    assert len(merges) == 1

    recording_id = recording_id_for_object("audio", "concert.flac", uploaded.etag)
    record = services.records.get(recording_id)
    assert record["stages"]["features"]["status"] == "done"
    assert record["summary"]["features"]["segments"] == 5
    keys = {o.object_name for o in services.store._client.list_objects("features", recursive=True)}
    assert keys == {f"{recording_id}/{n}" for n in
                    ("features.json", "features.png", "pitch.csv", "notes.csv", "mfcc.csv")}

    document = json.loads(services.store._client.get_object("features", f"{recording_id}/features.json").read())
    single = extract_file(long_audio)
    assert len(document["pitch"]["f0_hz"]) == single.pitch.f0_hz.size
    assert document["audio"]["duration_s"] == pytest.approx(DURATION_S, abs=0.01)
    np.testing.assert_allclose(document["mfcc"]["mean"], single.mfcc.mean, atol=1e-4)
    assert abs(len(document["notes"]) - len(single.pitch.notes)) <= 4


def test_a_recording_that_hides_its_duration_is_fanned_out(
        services: Services, long_audio: Path, tmp_path: Path) -> None:
    """Matroska written to a pipe states no duration: it is measured, not taken as short."""
    hidden = tmp_path / "live.mkv"
    with hidden.open("wb") as out:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(long_audio), "-c:a", "flac",
                        "-f", "matroska", "-"], stdout=out, check=True)
    etag = services.store.upload_file("audio", "live.mkv", hidden, content_type="audio/x-matroska")
    event = ObjectEvent(event_name="s3:ObjectCreated:Put", bucket="audio", key="live.mkv", etag=etag,
                        size=hidden.stat().st_size, content_type="audio/x-matroska", user_metadata={})
    answer = fanout.extract_features_stage(event, services)
    assert (answer["status"], answer["segments"]) == ("dispatched", 5)
    record = services.records.get(recording_id_for_object("audio", "live.mkv", etag))
    assert record["fanout"]["source"]["duration_s"] == pytest.approx(DURATION_S, abs=0.1)


def test_a_recording_shorter_than_its_container_states_fails_as_bad_input(
        services: Services, tmp_path: Path) -> None:
    """A FLAC header stating 60 s over 5 s of audio: segments past the end are the file's fault
    (not retryable, the reason recorded), not an internal error re-driven again and again."""
    liar = tmp_path / "liar.flac"
    sf.write(liar, corpus.random_melody(5.0, seed=3, sr=SR), SR, format="FLAC", subtype="PCM_16")
    data = bytearray(liar.read_bytes())
    # STREAMINFO's 36-bit sample count ends the 8 bytes at offset 18; a zero MD5 means "unknown".
    fields = int.from_bytes(data[18:26], "big")
    data[18:26] = (fields >> 36 << 36 | int(DURATION_S * SR)).to_bytes(8, "big")
    data[26:42] = bytes(16)
    liar.write_bytes(bytes(data))
    etag = services.store.upload_file("audio", "liar.flac", liar, content_type="audio/flac")
    event = ObjectEvent(event_name="s3:ObjectCreated:Put", bucket="audio", key="liar.flac", etag=etag,
                        size=liar.stat().st_size, content_type="audio/flac", user_metadata={})
    assert fanout.extract_features_stage(event, services)["segments"] == 5
    bodies = segment_bodies(services)
    assert fanout.segment_stage(bodies[0], services)["status"] == "done"
    with pytest.raises(InputError, match=r"'liar\.flac' has no audio from 11\.9 s on, though it states 60\.0 s"):
        fanout.segment_stage(bodies[1], services)
    stage = services.records.get(recording_id_for_object("audio", "liar.flac", etag))["stages"]["features"]
    assert stage["status"] == "failed" and stage["retryable"] is False
    assert stage["error"].startswith("segment 1 failed after 1 attempt(s): 'liar.flac' has no audio")


def test_a_segment_that_fails_once_is_retried(
        services: Services, uploaded: ObjectEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    fanout.extract_features_stage(uploaded, services)
    bodies = segment_bodies(services)
    real = fanout.analyse_segment
    failures = {1}

    def flaky(path, plan, index, **kwargs):
        if index in failures:
            failures.discard(index)
            raise TransientError("object store went away")
        return real(path, plan, index, **kwargs)

    monkeypatch.setattr(fanout, "analyse_segment", flaky)
    with pytest.raises(TransientError):
        fanout.segment_stage(bodies[1], services)
    recording_id = recording_id_for_object("audio", "concert.flac", uploaded.etag)
    assert services.records.get(recording_id)["stages"]["features"]["status"] == "running"
    results = [fanout.segment_stage(body, services) for body in bodies]  # the queue delivers all again
    assert sum(r.get("merged", False) for r in results) == 1
    record = services.records.get(recording_id)
    assert record["stages"]["features"]["status"] == "done"
    assert record["fanout"]["segments"]["1"]["attempts"] == 2


def test_a_segment_that_keeps_failing_fails_the_recording_with_the_reason(
        services: Services, uploaded: ObjectEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    fanout.extract_features_stage(uploaded, services)
    bodies = segment_bodies(services)

    def outage(path, plan, index, **kwargs):
        raise TransientError("store unreachable")

    def broken(path, plan, index, **kwargs):
        raise ProcessingError("decoder crashed")

    recording_id = recording_id_for_object("audio", "concert.flac", uploaded.etag)
    monkeypatch.setattr(fanout, "analyse_segment", outage)
    for _ in range(3):  # outages spend no attempt (the re-drive bounds them by age)
        with pytest.raises(TransientError):
            fanout.segment_stage(bodies[3], services)
    assert services.records.get(recording_id)["stages"]["features"]["status"] == "running"
    monkeypatch.setattr(fanout, "analyse_segment", broken)
    for _ in range(2):
        with pytest.raises(ProcessingError):
            fanout.segment_stage(bodies[3], services)
    stage = services.records.get(recording_id)["stages"]["features"]
    assert stage["status"] == "failed"
    assert stage["error"] == "segment 3 failed after 5 attempt(s): decoder crashed"


def test_a_redelivered_dispatch_requeues_only_unfinished_segments(
        services: Services, uploaded: ObjectEvent) -> None:
    fanout.extract_features_stage(uploaded, services)
    bodies = segment_bodies(services)
    for body in bodies[:3]:
        fanout.segment_stage(body, services)
    recording_id = recording_id_for_object("audio", "concert.flac", uploaded.etag)
    # The dispatcher's claim went stale (a lost queue item): the same event arrives again.
    services.records.collection.update_one({"_id": recording_id}, {"$set": {"stages.features.status": "failed"}})
    services.invoke.messages.clear()
    assert fanout.extract_features_stage(uploaded, services)["queued"] == 2
    assert [b["index"] for b in segment_bodies(services)] == [3, 4]


def test_a_database_error_during_a_segment_claim_is_a_retryable_503(
        services: Services, uploaded: ObjectEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim goes through the records' error mapping like every other database call."""
    from pymongo.errors import AutoReconnect

    from audioscore.infra.http import json_response, respond

    fanout.extract_features_stage(uploaded, services)
    body = segment_bodies(services)[0]

    def unreachable(*args, **kwargs):
        raise AutoReconnect("connection refused (outage played by the test)")

    monkeypatch.setattr(services.records.collection, "update_one", unreachable)
    with pytest.raises(TransientError, match="MongoDB .* failed: AutoReconnect"):
        fanout.segment_stage(body, services)
    answer = respond(lambda: json_response(200, fanout.segment_stage(body, services)))
    assert answer["statusCode"] == 503 and json.loads(answer["body"])["kind"] == "TransientError"


def test_fan_out_without_a_way_to_invoke_is_a_configuration_error(
        services: Services, uploaded: ObjectEvent) -> None:
    from audioscore.errors import ConfigError

    services = Services(services.store, services.records, services.settings, None)
    with pytest.raises(ConfigError, match="invoke"):
        fanout.extract_features_stage(uploaded, services)


@pytest.mark.parametrize("body", [
    {"bucket": "audio", "key": "../etc/passwd", "etag": "x", "index": 0},
    {"bucket": "scores", "key": "a.flac", "etag": "x", "index": 0},
    {"bucket": "audio", "key": "a.flac", "etag": "x", "index": -1},
    {"bucket": "audio", "key": "a.flac"},
    ["not", "an", "object"],
])
def test_bad_segment_messages_are_input_errors(services: Services, body) -> None:
    from audioscore.errors import InputError

    with pytest.raises(InputError):
        fanout.segment_stage(body, services)


def test_fan_out_through_the_gateway_with_duplicates_and_a_lost_message(
        object_store, s3_server, tmp_path: Path, long_audio: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"FANOUT_MIN_S": "30", "SEGMENT_S": "12", "SEGMENT_CONTEXT_S": "3"}
    with running_chain(monkeypatch, s3_server, object_store, tmp_path, env=env) as chain:
        gateway = chain.gateway
        gateway.repeat("extract-features", 3)  # delivered twice, concurrently
        gateway.drop("extract-features", 1)  # lost: the re-drive must find it
        etag = chain.upload("concert.flac", long_audio)
        recording_id = recording_id_for_object("audio", "concert.flac", etag)
        chain.settle(240)
        for _ in range(4):  # a cron tick, until nothing is stuck
            record = chain.records.get(recording_id) or {}
            if (record.get("stages") or {}).get("score", {}).get("status") == "done":
                break
            status, report = chain.redrive()
            assert status == 200, report
            chain.settle(240)
        record = chain.records.get(recording_id)
        assert record["stages"]["features"]["status"] == "done", record
        assert record["stages"]["score"]["status"] == "done", record
        assert record["summary"]["features"]["segments"] == 5
        merges = [d for d in gateway.deliveries("extract-features") if merged(d.response)]
        assert len(merges) == 1
        keys = {o.object_name for o in object_store._client.list_objects("features", recursive=True)}
        assert keys == {f"{recording_id}/{n}" for n in
                        ("features.json", "features.png", "pitch.csv", "notes.csv", "mfcc.csv")}


def merged(response: object) -> bool:
    """Whether an answer of extract-features says it ran the merge (itself or in its results)."""
    if not isinstance(response, dict):
        return False
    return bool(response.get("merged")) or any(merged(r) for r in response.get("results", []))


def test_a_long_piano_recording_in_segments_gets_the_polyphonic_engine(services: Services, tmp_path: Path) -> None:
    """The mode asks for the polyphonic engine (key prefix piano/): every segment runs it, and the
    merged notes are the single pass's, chords and all."""
    chords, _ = poly_corpus.render_piece(poly_corpus.small_piece(), poly_corpus.PIANO, tmp_path)
    samples, rate = sf.read(chords, dtype="float32")
    long_piano = tmp_path / "long_piano.flac"
    sf.write(long_piano, np.tile(samples, 8), rate)  # 8 x 4.5 s: over fanout_min_s, in 3 segments
    etag = services.store.upload_file("audio", "piano/concert.flac", long_piano, content_type="audio/flac")
    event = ObjectEvent(event_name="s3:ObjectCreated:Put", bucket="audio", key="piano/concert.flac", etag=etag,
                        size=long_piano.stat().st_size, content_type="audio/flac", user_metadata={})
    assert fanout.extract_features_stage(event, services)["status"] == "dispatched"
    answers = [fanout.segment_stage(body, services) for body in segment_bodies(services)]
    assert answers[-1]["merged"] and len(answers) >= 3

    recording_id = recording_id_for_object("audio", "piano/concert.flac", etag)
    engine = services.records.get(recording_id)["summary"]["features"]["engine"]
    assert (engine["name"], engine["instrument"], engine["requested_by"]) == ("poly", "piano", "key prefix")
    document = json.loads(services.store._client.get_object("features", f"{recording_id}/features.json").read())
    merged = {(round(n["onset"], 1), n["midi"]) for n in document["notes"]}
    single = {(round(n.onset, 1), n.midi) for n in extract_file(long_piano, engine="poly").poly_notes}
    assert len(single) >= 8 * 12 and len(merged ^ single) <= 0.05 * len(single)
    assert document["engine"]["model"].startswith("basic-pitch") and document["summary"]["polyphony"] > 2
