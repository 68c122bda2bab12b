"""The three functions over HTTP through the template's server, with the real
minio client against an S3 server on loopback and the records in mongomock
(or in a real MongoDB when MONGO_URL is set): the whole chain, idempotency,
auth, bad input and outages."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import corpus
import mongomock
import pytest
from functions_harness import (
    SECRETS,
    call,
    function_environment,
    minio_event,
    serve_function,
    write_secrets,
)

from audioscore.analysis.audio import ACCEPTED_CONTAINERS
from audioscore.infra.config import settings as settings_cache
from audioscore.infra.records import RecordStore, connect, recording_id_for_object
from audioscore.pipeline import functions
from audioscore.pipeline.common import CONTAINER_SUFFIXES

FUNCTIONS = (functions.fetch_youtube, functions.extract_features, functions.transcribe)
BACKENDS = ["mongomock"] + (["mongodb"] if os.environ.get("MONGO_URL") else [])


@pytest.fixture(params=BACKENDS)
def records(request, monkeypatch) -> Iterator[RecordStore]:
    """A fresh records database, handed to the functions instead of the secret's URL."""
    if request.param == "mongodb":
        store = connect(os.environ["MONGO_URL"], "audioscore_test_" + os.urandom(4).hex())
    else:
        store = RecordStore(mongomock.MongoClient()["audioscore"]["recordings"])
        store.ensure_indexes()
    monkeypatch.setattr(functions, "connect_records", lambda url, database: store)
    yield store
    if request.param == "mongodb":
        store.collection.database.client.drop_database(store.collection.database.name)


@pytest.fixture
def deployed(object_store, s3_server, records, tmp_path, monkeypatch) -> Iterator[dict[str, str]]:
    """Environment and secrets as OpenFaaS would give them; fresh clients per test."""
    secrets = tmp_path / "secrets"
    write_secrets(secrets, SECRETS)
    for name, value in function_environment(s3_server, secrets, tmp_path / "work").items():
        monkeypatch.setenv(name, value)
    for function in FUNCTIONS:
        monkeypatch.setattr(function, "_services", None)
        settings_cache.cache_clear()  # the next services() reads the environment again
    with serve_function("fetch-youtube") as fetch, serve_function("extract-features") as extract, \
            serve_function("transcribe") as score:
        yield {"fetch": fetch, "extract": extract, "transcribe": score}


@pytest.fixture(scope="module")
def melody_wav(tmp_path_factory) -> Path:
    melody = next(m for m in corpus.MELODIES if m.name == "folk_d_major")
    wav, _ = corpus.render(melody, corpus.PIANO, tmp_path_factory.mktemp("renders"))
    return wav


def upload(object_store, bucket: str, key: str, path: Path, /, **metadata: str) -> bytes:
    etag = object_store.upload_file(bucket, key, path, content_type="audio/wav", metadata=metadata or None)
    return minio_event(bucket, key, etag, path.stat().st_size, metadata=metadata)


def keys(object_store, bucket: str) -> set[str]:
    return {o.object_name for o in object_store.client.list_objects(bucket, recursive=True)}


def test_health_path_for_the_watchdog(deployed) -> None:
    with urllib.request.urlopen(deployed["extract"] + "/_/health", timeout=10) as response:
        assert response.status == 200 and response.read() == b"OK"


def test_probe_and_bearer_token(deployed) -> None:
    for url in (deployed["extract"], deployed["transcribe"]):
        assert call(url, body=b"") == (200, {"status": "ignored", "reason": "empty body"})
        assert call(url, body=b"", token=None)[0] == 401
        assert call(url, body=b"", token="wrong")[0] == 401


def test_upload_to_score_and_replays(deployed, object_store, records, melody_wav) -> None:
    event = upload(object_store, "audio", "my song (1).wav", melody_wav)
    status, body = call(deployed["extract"], body=event)
    assert status == 200, body
    recording_id = body["results"][0]["recording_id"]
    assert body["results"][0]["status"] == "done"
    features = keys(object_store, "features")
    assert {f"{recording_id}/{n}" for n in ("features.json", "features.png", "pitch.csv", "notes.csv", "mfcc.csv")} == features

    # At-least-once delivery: the same event again does nothing.
    assert call(deployed["extract"], body=event)[1]["results"][0]["status"] == "duplicate"
    assert keys(object_store, "features") == features

    info = object_store.stat("features", f"{recording_id}/features.json")
    features_event = minio_event("features", f"{recording_id}/features.json", info.etag, info.size)
    status, body = call(deployed["transcribe"], body=features_event)
    assert status == 200, body
    assert {f"{recording_id}/score{x}" for x in (".ly", ".pdf", ".png", "-1.png", ".mid", ".musicxml", ".json")} == keys(
        object_store, "scores")
    assert call(deployed["transcribe"], body=features_event)[1]["results"][0]["status"] == "duplicate"

    record = records.get(recording_id)
    assert record["source"]["key"] == "my song (1).wav" and record["source"]["title"] == "my song (1)"
    assert [record["stages"][s]["status"] for s in ("features", "score")] == ["done", "done"]
    assert record["summary"]["score"]["key"] == "D major" and record["summary"]["features"]["note_count"] == 20
    assert record["stages"]["features"]["result_etag"] == info.etag  # what transcribe accepts events for
    assert records.collection.count_documents({}) == 1

    status, view = call(deployed["fetch"], method="GET", query={"id": recording_id}, token=None)
    assert status == 200 and view["stages"]["score"]["status"] == "done"
    with urllib.request.urlopen(view["links"]["score"]["score_pdf"], timeout=10) as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_an_upload_in_any_accepted_container_is_analysed_whatever_its_name_ends_with(
        deployed, object_store, records, melody_wav, tmp_path) -> None:
    # An .aiff (as macOS and editors save it) was ignored: extract-features picked uploads by a
    # list of names narrower than the containers it reads, and the user waited for nothing.
    aiff = tmp_path / "take.aiff"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(melody_wav), str(aiff)], check=True)
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "Take 2.AIFF", aiff))
    assert status == 200 and "results" in body and body["results"][0]["status"] == "done", body
    assert set(CONTAINER_SUFFIXES) == set(ACCEPTED_CONTAINERS)  # a name for every container read


def test_events_for_other_objects_are_acknowledged_and_ignored(deployed, object_store, melody_wav) -> None:
    event = upload(object_store, "scores", "x.wav", melody_wav)
    assert call(deployed["extract"], body=event) == (200, {"status": "ignored", "reason": "no matching object"})
    delete = minio_event("audio", "y.wav", "abc", 1, name="s3:ObjectRemoved:Delete")
    assert call(deployed["extract"], body=delete)[1]["status"] == "ignored"
    assert call(deployed["extract"], body=minio_event("audio", "notes.txt", "abc", 1))[1]["status"] == "ignored"
    assert keys(object_store, "features") == set()


def test_bad_audio_is_400_and_recorded(deployed, object_store, records, tmp_path) -> None:
    bogus = tmp_path / "bogus.wav"
    bogus.write_text("this is not audio")
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "bogus.wav", bogus))
    assert status == 400 and "not a readable media file" in body["error"]
    [record] = records.collection.find()
    assert record["stages"]["features"]["status"] == "failed"
    assert record["errors"][-1]["retryable"] is False


def test_hostile_key_and_malformed_json_are_400(deployed) -> None:
    assert call(deployed["extract"], body=minio_event("audio", "../../etc/passwd.wav", "e", 1))[0] == 400
    assert call(deployed["extract"], body=b"{not json")[0] == 400
    # Half a surrogate pair decodes to a str that no hash, database or tool argument can encode.
    lone = minio_event("audio", "a.wav", "e", 1).replace(b'"eTag": "e"', b'"eTag": "\\ud800"')
    assert call(deployed["extract"], body=lone)[0] == 400
    assert call(deployed["fetch"], method="GET", query={"id": "../x"}, token=None)[0] == 400
    assert call(deployed["fetch"], method="GET", query={"id": "0" * 24}, token=None)[0] == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
     (b'{"notes": [{"onset": 1e300, "offset": 1e301, "midi": 60}, {"onset": 0, "offset": 1, "midi": 60}]}',
      "notes[0].onset must be a number of seconds")],
    ids=["deep", "far-note"],
)
def test_a_hostile_features_upload_is_400(deployed, object_store, records, tmp_path, content: bytes,
                                         message: str) -> None:
    """The recorded features.json itself is hostile (its recording and version are known): 400 naming the problem."""
    recording_id, hostile = "1" * 24, tmp_path / "features.json"
    hostile.write_bytes(content)
    etag = object_store.upload_file("features", f"{recording_id}/features.json", hostile, content_type="application/json")
    records.upsert_source(recording_id, {"kind": "upload", "bucket": "audio", "key": "x.wav", "etag": "e"})
    assert records.begin_stage(recording_id, "features", etag="e")
    records.finish_stage(recording_id, "features", artifacts={}, result_etag=etag)
    status, body = call(deployed["transcribe"],
                        body=minio_event("features", f"{recording_id}/features.json", etag, len(content)))
    assert status == 400 and message in body["error"]


def test_a_missing_secret_is_named(deployed, tmp_path, monkeypatch) -> None:
    (Path(os.environ["AUDIOSCORE_SECRETS_DIR"]) / "mongo-url").unlink()
    monkeypatch.setattr(functions.transcribe, "_services", None)
    settings_cache.cache_clear()  # the next services() reads the environment again
    status, body = call(deployed["transcribe"], body=minio_event("features", "0" * 24 + "/features.json", "e", 1))
    assert status == 500 and body["error"] == "secret 'mongo-url' is not mounted"


def test_an_empty_token_secret_refuses_rather_than_opens(deployed) -> None:
    """A token secret mounted empty (kubectl takes one; faas-cli does not) is the deployment's
    mistake: named, 500, never "no token required" for fetch-youtube nor 401 for the webhook."""
    secrets = Path(os.environ["AUDIOSCORE_SECRETS_DIR"])
    (secrets / "fetch-token").write_text("\n")
    status, body = call(deployed["fetch"], body={"url": "https://evil.example/watch"}, token=None)
    assert (status, body["error"]) == (500, "secret 'fetch-token' is empty")
    (secrets / "webhook-token").write_text(" ")
    status, body = call(deployed["extract"], body=b"", token=None)
    assert (status, body["error"]) == (500, "secret 'webhook-token' is empty")
    (secrets / "webhook-token").unlink()
    status, body = call(deployed["transcribe"], body=b"", token=None)
    assert (status, body["error"]) == (500, "secret 'webhook-token' is not mounted")


def test_store_outage_is_503_so_the_queue_retries(deployed, monkeypatch, melody_wav, object_store) -> None:
    event = upload(object_store, "audio", "later.wav", melody_wav)
    monkeypatch.setenv("MINIO_ENDPOINT", "127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(functions.extract_features, "_services", None)
    settings_cache.cache_clear()  # the next services() reads the environment again
    status, body = call(deployed["extract"], body=event)
    assert status == 503 and body["kind"] == "TransientError"


@pytest.fixture
def media_server(tmp_path) -> Iterator[str]:
    """A web server on loopback with one short song, for yt-dlp's generic extractor."""
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a",
                    "libmp3lame", str(tmp_path / "song.mp3")], check=True)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_fetch_stores_audio_that_the_chain_picks_up(deployed, object_store, records, media_server, monkeypatch) -> None:
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    status, body = call(deployed["fetch"], body={"url": f"{media_server}/song.mp3", "title": "Ünïcode & more"},
                        token=None)
    assert status == 202, body
    info = object_store.stat("audio", body["key"])
    assert info is not None and info.metadata["title"] == "Ünïcode & more"
    event = minio_event("audio", body["key"], info.etag, info.size,
                        metadata={k.lower().removeprefix("x-amz-meta-"): v
                                  for k, v in object_store.client.stat_object("audio", body["key"]).metadata.items()
                                  if k.lower().startswith("x-amz-meta-")})
    status, result = call(deployed["extract"], body=event)
    assert status == 200 and result["results"][0]["recording_id"] == body["recording_id"]
    record = records.get(body["recording_id"])
    assert record["source"]["kind"] == "url" and record["source"]["title"] == "Ünïcode & more"
    assert record["stages"]["fetched"]["status"] == "done" and record["stages"]["features"]["status"] == "done"


def test_fetch_refuses_a_title_that_is_not_unicode(deployed, object_store, media_server, monkeypatch) -> None:
    """Half a surrogate pair decodes to a str that ffmpeg's arguments and the database cannot encode."""
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    body = b'{"url": "%s/song.mp3", "title": "\\ud800"}' % media_server.encode()
    status, answer = call(deployed["fetch"], body=body, token=None)
    assert status == 400 and "lone surrogate" in answer["error"]
    assert keys(object_store, "audio") == set()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/",
                                 "http://127.0.0.1:8080/function/x", "http://10.0.0.7/", "https://evil.example/watch"])
def test_fetch_refuses_what_is_not_youtube(deployed, url: str) -> None:
    status, body = call(deployed["fetch"], body={"url": url}, token=None)
    assert status == 400 and body["error"], body


def test_fetch_of_a_stored_video_answers_at_once(deployed, object_store, monkeypatch, tmp_path) -> None:
    """Same video again: no download (the address is public: name resolution is faked, nothing leaves)."""
    public = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("142.250.0.1", 443))]
    resolve = socket.getaddrinfo
    # Only the YouTube name is faked: the store and everything else still resolve for real.
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *args, **kwargs: public if host == "www.youtube.com" else resolve(host, *args, **kwargs))
    stored = tmp_path / "x.flac"
    stored.write_bytes(b"fLaC placeholder")
    etag = object_store.upload_file("audio", "youtube/abcdefghijk.flac", stored, content_type="audio/flac",
                                    metadata={"title": "Known"})
    status, body = call(deployed["fetch"], body={"url": "https://www.youtube.com/watch?v=abcdefghijk"}, token=None)
    assert status == 200 and body["status"] == "exists" and body["title"] == "Known"
    assert body["recording_id"] == recording_id_for_object("audio", "youtube/abcdefghijk.flac", etag)
    # Options it was not fetched with would not apply: said, not ignored.
    for other in ({"key": "E major"}, {"mode": "piano"}, {"tempo": 92, "mode": "auto"}):  # fetched with none
        status, body = call(deployed["fetch"], body={"url": "https://www.youtube.com/watch?v=abcdefghijk", **other},
                            token=None)
        how = "audioscore transcribe` on its audio" if other.get("mode") == "piano" else "audioscore score` on its"
        assert status == 409 and "fetched before" in body["error"] and how in body["error"], body
    assert call(deployed["fetch"], body={"url": "https://www.youtube.com/watch?v=abcdefghijk", "mode": "auto"},
                token=None)[0] == 200
    # Asked again as it was fetched (its record not made yet): the same answer, with what it was fetched with.
    object_store.upload_file("audio", "youtube/bcdefghijkl.flac", stored, content_type="audio/flac",
                             metadata={"title": "Known", "mode": "piano", "key": "E major"})
    status, body = call(deployed["fetch"], body={"url": "https://www.youtube.com/watch?v=bcdefghijkl",
                                                 "mode": "Piano", "key": "e major"}, token=None)
    assert status == 200 and body["hints"] == {"key": "E major"}, body


def test_fetch_rejects_bad_bodies(deployed) -> None:
    assert call(deployed["fetch"], body=b"not json", token=None)[0] == 400
    assert call(deployed["fetch"], body={"title": "no url"}, token=None)[0] == 400


def test_fetch_redirect_to_loopback_is_400_and_stores_nothing(deployed, object_store, monkeypatch) -> None:
    """Production rules: the allowed host (a public address, routed to a local server) redirects to an internal
    service on loopback. The function answers 400 JSON naming the address kind; nothing is contacted or stored."""
    accepted = []

    class Internal(http.server.ThreadingHTTPServer):
        def get_request(self):
            accepted.append(1)
            return super().get_request()

    class Redirector(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{internal.server_port}/song.mp3")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    internal = Internal(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    allowed = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    for server in (internal, allowed):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    public = "142.250.0.1"
    resolve, connect = socket.getaddrinfo, socket.socket.connect
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (public, port))] if host == "media.example"
        else resolve(host, port, *a, **k))
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: connect(
        sock, allowed.server_address if tuple(address[:2]) == (public, 80) else address))
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "media.example")
    try:
        status, body = call(deployed["fetch"], body={"url": "http://media.example/song.mp3"}, token=None)
    finally:
        internal.shutdown()
        allowed.shutdown()
    assert status == 400, body
    assert "loopback address" in body["error"] and "\n" not in body["error"]
    assert accepted == []
    assert keys(object_store, "audio") == set()


def test_a_playlist_upload_is_400_and_not_retried(deployed, object_store, records, tmp_path) -> None:
    """HLS under an audio name that points at a worker's local file: refused, nothing stored."""
    secret = tmp_path / "secret.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", str(secret)],
                   check=True)
    evil = tmp_path / "evil.mp3"
    evil.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{secret}\n#EXT-X-ENDLIST\n")
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "evil.mp3", evil))
    assert status == 400 and body["error"].endswith("unsupported container: hls")
    [record] = records.collection.find()
    assert record["stages"]["features"]["status"] == "failed"
    assert record["errors"][-1]["retryable"] is False
    assert keys(object_store, "features") == set()


def test_a_body_over_the_limit_is_413_with_json(deployed) -> None:
    """The framework refuses it while the template reads the body: its status is kept, not made a 500."""
    status, body = call(deployed["extract"], body=b"x" * ((1 << 20) + 1))
    assert status == 413 and body == {"error": f"request body over {1 << 20} bytes"}


def test_framework_errors_keep_their_status_with_json(deployed) -> None:
    status, body = call(deployed["extract"], method="PROPFIND", body=b"")
    assert status == 405 and body["error"]


@pytest.mark.parametrize("function", ["extract", "transcribe", "fetch"])
def test_deeply_nested_json_is_400(deployed, function: str) -> None:
    status, body = call(deployed[function], body=b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and "nested too deeply" in body["error"], body


def test_audio_too_short_to_analyse_is_400_and_not_retryable(deployed, object_store, records, tmp_path) -> None:
    import soundfile as sf

    short = tmp_path / "click.wav"
    sf.write(short, [0.1, -0.1, 0.1], 44100)
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "click.wav", short))
    assert status == 400 and body["error"].startswith("audio is 0.000068 s long"), body
    [record] = records.collection.find()
    assert record["stages"]["features"]["status"] == "failed" and record["errors"][-1]["retryable"] is False


def test_an_event_for_an_overwritten_or_missing_object_is_stale_and_records_nothing(
        deployed, object_store, records, tmp_path) -> None:
    """The old event must not process the new object under the old object's recording id."""
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    first.write_bytes(b"RIFF first")
    second.write_bytes(b"RIFF second, the new object")
    old_event = upload(object_store, "audio", "take.wav", first)
    upload(object_store, "audio", "take.wav", second)  # overwritten before the first event arrives
    status, body = call(deployed["extract"], body=old_event)
    assert status == 200 and body["results"][0]["status"] == "stale", body
    assert "replaced after the event" in body["results"][0]["reason"]
    forged = minio_event("audio", "never-uploaded.wav", "0" * 32, 10)
    status, body = call(deployed["extract"], body=forged)
    assert status == 200 and body["results"][0]["status"] == "stale", body
    assert records.collection.count_documents({}) == 0 and keys(object_store, "features") == set()
    # Without an ETag, which version an event is about cannot be told.
    assert call(deployed["extract"], body=minio_event("audio", "take.wav", "", 10))[0] == 400


def test_a_transcribe_event_for_an_unknown_recording_creates_nothing(deployed, object_store, records,
                                                                     tmp_path) -> None:
    forged = tmp_path / "features.json"
    forged.write_text('{"notes": []}')
    key = "0123456789abcdef01234567/features.json"
    etag = object_store.upload_file("features", key, forged, content_type="application/json")
    status, body = call(deployed["transcribe"], body=minio_event("features", key, etag, forged.stat().st_size))
    assert status == 404 and "no recording 0123456789abcdef01234567" in body["error"], body
    assert records.collection.count_documents({}) == 0 and keys(object_store, "scores") == set()


def test_a_transcribe_event_that_is_not_the_recorded_features_is_stale(deployed, object_store, records,
                                                                      tmp_path) -> None:
    recording_id = "0123456789abcdef01234567"
    key = f"{recording_id}/features.json"
    features = tmp_path / "features.json"
    features.write_text('{"notes": [], "version": 1}')
    recorded = object_store.upload_file("features", key, features, content_type="application/json")
    records.upsert_source(recording_id, {"kind": "upload", "bucket": "audio", "key": "x.wav", "etag": "e"})
    assert records.begin_stage(recording_id, "features", etag="e")
    records.finish_stage(recording_id, "features", artifacts={}, result_etag=recorded)
    before = records.get(recording_id)

    features.write_text('{"notes": [], "version": 2, "forged": true}')
    other = object_store.upload_file("features", key, features, content_type="application/json")
    for etag in (other, recorded):  # not the recorded features; the recorded ones, but replaced since
        status, body = call(deployed["transcribe"], body=minio_event("features", key, etag, 10))
        assert status == 200 and body["results"][0]["status"] == "stale", body
    assert records.get(recording_id) == before and keys(object_store, "scores") == set()


@pytest.fixture(scope="module")
def chords_wav(tmp_path_factory) -> Path:
    import poly_corpus

    return poly_corpus.render_piece(poly_corpus.small_piece(), poly_corpus.PIANO, tmp_path_factory.mktemp("poly"))[0]


def test_upload_mode_metadata_runs_the_polyphonic_engine_and_the_record_says_so(deployed, object_store, records,
                                                                                chords_wav) -> None:
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "chords.wav", chords_wav, mode="piano"))
    assert status == 200, body
    recording_id = body["results"][0]["recording_id"]
    engine = records.get(recording_id)["summary"]["features"]["engine"]
    assert engine["name"] == "poly" and engine["instrument"] == "piano" and engine["requested_by"] == "metadata"
    info = object_store.stat("features", f"{recording_id}/features.json")
    status, body = call(deployed["transcribe"], body=minio_event("features", f"{recording_id}/features.json",
                                                                 info.etag, info.size))
    assert status == 200, body
    assert records.get(recording_id)["stages"]["score"]["status"] == "done"


def test_a_key_prefix_chooses_the_engine(deployed, object_store, records, chords_wav) -> None:
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "melody/chords.wav", chords_wav))
    assert status == 200, body
    engine = records.get(body["results"][0]["recording_id"])["summary"]["features"]["engine"]
    assert engine["name"] == "melody" and engine["requested_by"] == "key prefix" and engine["reason"] == "requested"


def test_blank_mode_metadata_is_auto(deployed, object_store, records, melody_wav) -> None:
    """The start page's upload form sends ``x-amz-meta-mode`` empty when the instrument is left on detect."""
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "x.wav", melody_wav, mode=""))
    assert status == 200, body
    engine = records.get(body["results"][0]["recording_id"])["summary"]["features"]["engine"]
    assert engine["requested"] == "auto" and engine["requested_by"] == "default"


def test_hostile_mode_metadata_is_400_and_recorded(deployed, object_store, records, chords_wav) -> None:
    event = upload(object_store, "audio", "x.wav", chords_wav, mode="piano'; db.drop()")
    status, body = call(deployed["extract"], body=event)
    assert status == 400 and "mode must be an engine" in body["error"], body
    [record] = records.collection.find({})
    assert record["stages"]["features"]["status"] == "failed" and not record["stages"]["features"]["retryable"]


def test_fetch_takes_a_mode_that_goes_with_the_audio(deployed, object_store, media_server, monkeypatch) -> None:
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    assert call(deployed["fetch"], body={"url": f"{media_server}/song.mp3", "mode": {"$ne": 1}}, token=None)[0] == 400
    assert call(deployed["fetch"], body={"url": f"{media_server}/song.mp3", "mode": "kazoo"}, token=None)[0] == 400
    status, body = call(deployed["fetch"], body={"url": f"{media_server}/song.mp3", "mode": ""}, token=None)
    assert status == 202 and "mode" not in object_store.stat("audio", body["key"]).metadata, body  # blank: auto
    status, body = call(deployed["fetch"], body={"url": f"{media_server}/song.mp3", "mode": "Guitar"}, token=None)
    assert status == 202, body
    assert object_store.stat("audio", body["key"]).metadata["mode"] == "guitar"


def test_an_uploads_key_tempo_and_meter_metadata_reach_its_score(deployed, object_store, records,
                                                                 melody_wav) -> None:
    """``mc cp --attr "key=B minor;tempo=50;time-signature=2/4"``: what the CLI's flags do, on the cluster."""
    event = upload(object_store, "audio", "folk.wav", melody_wav, **{"key": "B minor", "tempo": "50",
                                                                     "time-signature": "2/4"})
    status, body = call(deployed["extract"], body=event)
    assert status == 200, body
    recording_id = body["results"][0]["recording_id"]
    assert records.get(recording_id)["source"]["hints"] == {"key": "B minor", "tempo": 50.0, "time-signature": "2/4"}
    info = object_store.stat("features", f"{recording_id}/features.json")
    status, body = call(deployed["transcribe"], body=minio_event("features", f"{recording_id}/features.json",
                                                                 info.etag, info.size))
    assert status == 200, body
    summary = records.get(recording_id)["summary"]["score"]
    # Estimated, this take is D major, 4/4, quarter = 100 (test_upload_to_score_and_replays).
    assert (summary["key"], summary["tempo_bpm"], summary["time_signature"]) == ("B minor", 50.0, "2/4")


@pytest.mark.parametrize(("metadata", "error"), [
    ({"key": "H major"}, "'H major' is not a key"),
    ({"tempo": "1e9"}, "tempo must be quarter notes per minute in 20..400; got '1e9'"),
    ({"tempo": "nan"}, "got 'nan'"),
    ({"time-signature": "5/4"}, "time signature must be one of 2/4, 3/4, 4/4, 6/8; got '5/4'"),
])
def test_a_bad_hint_in_an_uploads_metadata_is_400_recorded_before_any_work(
        deployed, object_store, records, melody_wav, metadata: dict[str, str], error: str) -> None:
    status, body = call(deployed["extract"], body=upload(object_store, "audio", "x.wav", melody_wav, **metadata))
    assert status == 400 and error in body["error"], body
    [record] = records.collection.find({})
    assert record["stages"]["features"]["status"] == "failed" and not record["stages"]["features"]["retryable"]
    assert keys(object_store, "features") == set()


def test_fetch_takes_key_tempo_and_meter_that_go_with_the_audio(deployed, object_store, media_server,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("FETCH_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    url = f"{media_server}/song.mp3"
    for bad, error in (({"tempo": True}, "tempo must be"), ({"key": ["E major"]}, "key must be text"),
                       ({"tempo": 10**400}, "tempo must be"), ({"tempo": "9_2"}, "tempo must be"),
                       ({"time_signature": "3/4"}, "unknown field 'time_signature'")):
        status, body = call(deployed["fetch"], body={"url": url, **bad}, token=None)
        assert status == 400 and error in body["error"], body
    assert keys(object_store, "audio") == set()
    status, body = call(deployed["fetch"], body={"url": url, "key": "E major", "tempo": 92, "time-signature": "3/4"},
                        token=None)
    assert status == 202 and body["hints"] == {"key": "E major", "tempo": 92.0, "time-signature": "3/4"}, body
    metadata = object_store.stat("audio", body["key"]).metadata
    assert (metadata["key"], metadata["tempo"], metadata["time-signature"]) == ("E major", "92.0", "3/4")
