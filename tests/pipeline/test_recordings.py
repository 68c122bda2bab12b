"""The `recordings` function: status lookups over HTTP through the template's server,
with links that name MINIO_PUBLIC_URL when it is set."""

from __future__ import annotations

import urllib.parse

from functions_harness import SECRETS, call, function_environment, serve_function, write_secrets
from test_functions import records  # noqa: F401  (the fixture)

from audioscore.infra.config import settings as settings_cache
from audioscore.infra.records import recording_id_for_object
from audioscore.pipeline import functions


def test_status_lookups_with_public_links(object_store, s3_server, records, tmp_path, monkeypatch) -> None:  # noqa: F811
    secrets = tmp_path / "secrets"
    write_secrets(secrets, SECRETS)
    for name, value in function_environment(s3_server, secrets, tmp_path / "work").items():
        monkeypatch.setenv(name, value)
    port = s3_server.rsplit(":", 1)[1]
    monkeypatch.setenv("MINIO_PUBLIC_URL", f"http://localhost:{port}")
    monkeypatch.setattr(functions.recordings, "_services", None)
    settings_cache.cache_clear()  # the next services() reads the environment again

    etag = object_store.upload_bytes("audio", "song.wav", b"RIFF", content_type="audio/wav")
    recording = recording_id_for_object("audio", "song.wav", etag)
    records.upsert_source(recording, {"kind": "upload", "bucket": "audio", "key": "song.wav", "etag": etag})
    object_store.upload_bytes("features", f"{recording}/features.json", b"{}", content_type="application/json")
    assert records.begin_stage(recording, "features", etag=etag)
    records.finish_stage(recording, "features", artifacts={"features": f"features/{recording}/features.json"})

    with serve_function("recordings") as url:
        status, body = call(f"{url}?id={recording}", method="GET", token=None)
        assert status == 200, body
        link = urllib.parse.urlsplit(body["links"]["features"]["features"])
        assert link.netloc == f"localhost:{port}" and link.path == f"/features/{recording}/features.json"
        assert call(f"{url}?id={'0' * 24}", method="GET", token=None)[0] == 404
        assert call(f"{url}?id=nope", method="GET", token=None)[0] == 400
        assert call(url, body={"id": recording}, token=None)[0] == 405  # it only reads
