"""The same audio uploaded again with other key/tempo/time-signature metadata is scored again
with them. The stages run directly, the transcribe requests they queue collected instead of sent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import corpus
import mongomock
import pytest
from test_fanout import Queue

from audioscore.errors import InputError, TransientError
from audioscore.infra.config import Settings
from audioscore.infra.events import object_created, parse_event
from audioscore.infra.records import RecordStore
from audioscore.pipeline.common import Services
from audioscore.pipeline.extract_stage import extract_stage
from audioscore.pipeline.transcribe_stage import transcribe_stage


@pytest.fixture(scope="module")
def melody_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    melody = next(m for m in corpus.MELODIES if m.name == "folk_d_major")
    return corpus.render(melody, corpus.PIANO, tmp_path_factory.mktemp("renders"))[0]


@pytest.fixture
def services(object_store, tmp_path: Path) -> Services:
    records = RecordStore(mongomock.MongoClient()["audioscore"]["recordings"])
    records.ensure_indexes()
    return Services(object_store, records, Settings(work_dir=tmp_path / "work"), Queue())


def _event(body: dict):
    (event,) = parse_event(json.dumps(body), buckets=("audio", "features"))
    return event


def _upload(services: Services, path: Path, **metadata: str):
    etag = services.store.upload_file("audio", "song.wav", path, content_type="audio/wav", metadata=metadata or None)
    return _event(object_created("audio", "song.wav", etag=etag, size=path.stat().st_size, metadata=metadata))


def _features_event(services: Services, recording_id: str):
    info = services.store.stat("features", f"{recording_id}/features.json")
    return _event(object_created("features", f"{recording_id}/features.json", etag=info.etag, size=info.size))


def _score(services: Services, recording_id: str) -> tuple[str, float, str]:
    score = services.records.get(recording_id)["summary"]["score"]
    return score["key"], score["tempo_bpm"], score["time_signature"]


def _queued_transcriptions(services: Services) -> list:
    queued = [_event(body) for function, body in services.invoke.messages if function == "transcribe"]
    services.invoke.messages.clear()
    return queued


def test_the_same_audio_with_new_hints_is_scored_again_with_them(services: Services, melody_wav: Path) -> None:
    first = extract_stage(_upload(services, melody_wav), services)
    recording_id = first["recording_id"]
    features_event = _features_event(services, recording_id)
    assert transcribe_stage(features_event, services)["status"] == "done"
    assert _score(services, recording_id) == ("D major", pytest.approx(100, rel=0.04), "4/4")

    # mc cp --attr "key=B minor;tempo=50;time-signature=2/4" of the same file: the same recording.
    again = extract_stage(_upload(services, melody_wav, key="B minor", tempo="50", **{"time-signature": "2/4"}),
                          services)
    assert again == {"status": "duplicate", "recording_id": recording_id, "hints": "rescoring"}
    (queued,) = _queued_transcriptions(services)
    assert transcribe_stage(queued, services)["status"] == "done"
    assert _score(services, recording_id) == ("B minor", 50.0, "2/4")
    # Delivered twice, as a queue may: nothing new.
    assert extract_stage(_upload(services, melody_wav, key="B minor", tempo="50", **{"time-signature": "2/4"}),
                         services) == {"status": "duplicate", "recording_id": recording_id}
    assert transcribe_stage(queued, services)["status"] == "duplicate" and not _queued_transcriptions(services)

    # Uploaded again without them: estimated again.
    assert extract_stage(_upload(services, melody_wav), services)["hints"] == "rescoring"
    (queued,) = _queued_transcriptions(services)
    transcribe_stage(queued, services)
    assert _score(services, recording_id) == ("D major", pytest.approx(100, rel=0.04), "4/4")

    with pytest.raises(InputError, match="tempo must be"):
        extract_stage(_upload(services, melody_wav, tempo="fast"), services)


def test_hints_changed_while_it_scored_queue_it_again(services: Services, melody_wav: Path) -> None:
    recording_id = extract_stage(_upload(services, melody_wav), services)["recording_id"]
    features_event = _features_event(services, recording_id)
    original = services.records.finish_stage

    def hints_arrive_meanwhile(*args, **kwargs):  # the re-upload lands while the score is engraved
        services.records.upsert_source(recording_id, {"hints": {"key": "B minor"}})
        return original(*args, **kwargs)

    services.records.finish_stage = hints_arrive_meanwhile  # type: ignore[method-assign]
    transcribe_stage(features_event, services)
    services.records.finish_stage = original  # type: ignore[method-assign]
    (queued,) = _queued_transcriptions(services)
    assert transcribe_stage(queued, services)["status"] == "done"
    assert _score(services, recording_id)[0] == "B minor"


def test_new_hints_whose_transcribe_is_lost_leave_the_score_due(services: Services, melody_wav: Path) -> None:
    recording_id = extract_stage(_upload(services, melody_wav), services)["recording_id"]
    transcribe_stage(_features_event(services, recording_id), services)

    def gateway_down(function: str, body: dict) -> None:
        raise TransientError("gateway: 503")

    services.invoke = gateway_down
    with pytest.raises(TransientError):  # a 503: the store delivers the event again
        extract_stage(_upload(services, melody_wav, key="B minor"), services)
    # Delivered again, the hints are those recorded: no new request; the re-drive's rule finds the score due.
    assert "hints" not in extract_stage(_upload(services, melody_wav, key="B minor"), services)
    later = services.records.now() + dt.timedelta(hours=1)
    assert [r["_id"] for r in services.records.stuck_stage("score", cutoff=later, now=later)] == [recording_id]
