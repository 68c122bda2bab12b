"""From a container's start to its first real answer: fresh containers of the
three functions each do a first piece of work, then a second one on warm caches.
The times go to the session's summary."""

from __future__ import annotations

import time

from functions_harness import call, minio_event
from test_functions import upload


def first_and_second(start, function: str, requests: list[bytes | dict]) -> tuple[list[tuple[int, dict]], str]:
    """The answers of a fresh container to two requests, and a line saying how long they took."""
    with start(function) as running:
        answers, ends = [], []
        for body in requests:
            answers.append(call(running.url, body=body))
            ends.append(time.monotonic() - running.started)
    return answers, (f"{function}: health {running.ready_s:.1f} s after start, first answer {ends[0]:.1f} s "
                     f"after start ({ends[0] - running.ready_s:.1f} s of work), the same work again "
                     f"{ends[1] - ends[0]:.1f} s")


def test_first_answers_after_start(start, object_store, records, melody_wav, media_server, report) -> None:
    answers, line = first_and_second(start, "fetch-youtube", [{"url": f"{media_server}/song.mp3"},
                                                               {"url": f"{media_server}/song.mp3?again"}])
    assert [status for status, _ in answers] == [202, 202], answers
    report.append(line)

    events = [upload(object_store, "audio", f"{name}.wav", melody_wav) for name in ("first", "second")]
    answers, line = first_and_second(start, "extract-features", events)
    assert [status for status, _ in answers] == [200, 200], answers
    assert [body["results"][0]["status"] for _, body in answers] == ["done", "done"]
    report.append(line)

    features = [f"{body['results'][0]['recording_id']}/features.json" for _, body in answers]
    infos = [object_store.stat("features", key) for key in features]
    answers, line = first_and_second(start, "transcribe", [minio_event("features", key, info.etag, info.size)
                                                           for key, info in zip(features, infos)])
    assert [status for status, _ in answers] == [200, 200], answers
    assert [body["results"][0]["status"] for _, body in answers] == ["done", "done"]
    report.append(line)
