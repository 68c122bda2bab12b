"""Many recordings at once: 40 events for 20 recordings, duplicated, shuffled, some
lost, sent concurrently through the gateway stand-in to the functions' apps. Afterwards
every recording has one complete record and one set of artifacts, nothing partial is
left, and what the queue lost the re-drive recovered. Loopback only; LilyPond is stood
in for (see gateway_harness), so it takes a few seconds of CPU per recording."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import corpus
from functions_harness import TOKEN, call, minio_event
from gateway_harness import MINIO_RULES, running_chain

from audioscore.analysis.export import write_features
from audioscore.analysis.features import Source, extract_file
from audioscore.infra.records import recording_id_for_object

RECORDINGS = 20
EVENTS = 40
SETTLE_S = 600  # the bound on the whole run: 3-5 min in one test process on 2 cores (see the closing note)
FEATURE_FILES = {"features.json", "features.png", "pitch.csv", "notes.csv", "mfcc.csv"}
SCORE_FILES = {"score.ly", "score.pdf", "score.png", "score-1.png", "score.mid", "score.musicxml", "score.json"}


def warm_up(tmp_path) -> None:
    """One extraction with its picture first, as a deployed replica has done before its queue fills:
    numba's JIT and the lazy imports of librosa and matplotlib, run cold by 8 threads at once,
    stall for minutes on their locks in this single test process."""
    path = corpus.write_tones(tmp_path / "warm-up.wav", [60, 64])
    write_features(extract_file(path), Source(key=path.name, sha256="-"), tmp_path / "warm-up")


def test_forty_events_for_twenty_recordings(object_store, s3_server, tmp_path, monkeypatch) -> None:
    warm_up(tmp_path)
    rng = random.Random(5)
    audio_events, ids = [], []
    for n in range(RECORDINGS):
        path = corpus.write_tones(tmp_path / f"take {n}.wav", rng.sample(range(57, 80), 4))
        etag = object_store.upload_file("audio", path.name, path, content_type="audio/wav")
        audio_events.append(minio_event("audio", path.name, etag, path.stat().st_size))
        ids.append(recording_id_for_object("audio", path.name, etag))
    # 14 recordings notified twice, 6 once; and what extract-features must acknowledge and ignore:
    # probes, deletions arriving after the upload's event, keys that are not audio.
    ignored = [b"", b"", minio_event("audio", "take 1.wav", "x", 0, name="s3:ObjectRemoved:Delete"),
               minio_event("audio", "take 2.wav", "x", 0, name="s3:ObjectRemoved:Delete"),
               minio_event("audio", "notes.txt", "x", 1), minio_event("audio", "cover.jpg", "x", 1)]
    events = audio_events + rng.sample(audio_events, 14) + ignored
    rng.shuffle(events)
    assert len(events) == EVENTS

    # Only the features rule: the test sends the audio events itself.
    with running_chain(monkeypatch, s3_server, object_store, tmp_path, rules=MINIO_RULES[1:]) as chain:
        gateway = chain.gateway
        gateway.repeat("extract-features", 6)
        gateway.repeat("transcribe", 6)
        gateway.drop("extract-features", 2)  # the first two taken: lost unless that recording was notified twice
        gateway.drop("transcribe", 2)  # two scores that never start
        started = time.monotonic()
        with ThreadPoolExecutor(8) as senders:
            answers = list(senders.map(
                lambda body: call(f"{gateway.url}/async-function/extract-features", body=body), events))
        assert {status for status, _ in answers} == {202}
        chain.settle(SETTLE_S)
        delivered = {json.loads(d.body)["Key"] for d in gateway.deliveries("extract-features")
                     if d.body and not d.dropped and b"ObjectCreated" in d.body}
        lost = {ids[n] for n in range(RECORDINGS) if f"audio/take {n}.wav" not in delivered}
        lost |= {json.loads(d.body)["Key"].split("/")[1] for d in gateway.deliveries("transcribe") if d.dropped}
        status, report = chain.redrive()
        assert status == 200 and {i["recording_id"] for i in report["redriven"]} == lost, report
        chain.settle(SETTLE_S - (time.monotonic() - started))
        elapsed = time.monotonic() - started
        print(f"load: {EVENTS} events, {RECORDINGS} recordings, {len(lost)} re-driven, {elapsed:.1f} s")

        assert all(d.status == 200 for d in gateway.deliveries() if not d.dropped), [
            (d.function, d.status, d.response) for d in gateway.deliveries() if d.status != 200 and not d.dropped]
        records = {r["_id"]: r for r in chain.records.find({})}
        assert sorted(records) == sorted(ids)
        for record in records.values():
            stages = record["stages"]
            # Done once each: duplicates were recognised, not redone.
            assert [(stages[s]["status"], stages[s]["attempts"]) for s in ("features", "score")] == [
                ("done", 1), ("done", 1)], record
            assert not record.get("errors") and record["summary"]["score"]["notes"] >= 2
        # One set of artifacts per recording, and nothing else: no partial or temporary objects.
        assert {o.key for o in object_store.list_objects("features", limit=1000)} == {
            f"{i}/{name}" for i in ids for name in FEATURE_FILES}
        assert {o.key for o in object_store.list_objects("scores", limit=1000)} == {
            f"{i}/{name}" for i in ids for name in SCORE_FILES}
        assert len(object_store.list_objects("audio", limit=1000)) == RECORDINGS
        assert list(chain.work_dir.iterdir()) == []  # every temporary directory removed
        assert chain.redrive(token=TOKEN)[1]["redriven"] == []
