"""Presigned links for users outside the cluster: MINIO_PUBLIC_URL names the host in
links only; every request still goes to MINIO_ENDPOINT."""

from __future__ import annotations

import socket
import urllib.parse
import urllib.request
from dataclasses import replace

import pytest

from audioscore.errors import ProcessingError
from audioscore.infra.storage import ObjectStore, StoreConfig


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_links_name_the_public_url_and_work_through_it(object_store: ObjectStore, store_config: StoreConfig) -> None:
    object_store.upload_bytes("scores", "r1/score.pdf", b"%PDF-1.7 test", content_type="application/pdf")
    port = store_config.endpoint.rsplit(":", 1)[1]
    public = ObjectStore.connect(replace(store_config, public_url=f"http://localhost:{port}"))
    url = public.presigned_get("scores", "r1/score.pdf", expires_s=60)
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", f"localhost:{port}")
    assert "X-Amz-Signature=" in parts.query
    with urllib.request.urlopen(url, timeout=5) as response:  # the same server under its public name
        assert response.read() == b"%PDF-1.7 test"
    # Reads and writes still use the endpoint.
    assert public.stat("scores", "r1/score.pdf").size == len(b"%PDF-1.7 test")


def test_signing_for_an_unreachable_public_url_sends_nothing(store_config: StoreConfig) -> None:
    public_url = f"https://127.0.0.1:{_closed_port()}"
    store = ObjectStore.connect(replace(store_config, public_url=public_url, region=None))
    url = store.presigned_get("features", "r1/features.json", expires_s=60)
    assert url.startswith(public_url + "/features/r1/features.json?")


def test_without_a_public_url_links_name_the_endpoint(object_store: ObjectStore, store_config: StoreConfig) -> None:
    url = object_store.presigned_get("scores", "k.pdf", expires_s=60)
    assert urllib.parse.urlsplit(url).netloc == store_config.endpoint


def test_public_url_from_the_environment() -> None:
    secrets = {"minio-access-key": "a", "minio-secret-key": "b"}
    env = {"MINIO_ENDPOINT": "minio.audioscore.svc.cluster.local:9000", "MINIO_PUBLIC_URL": "https://s3.example.org"}
    assert StoreConfig.from_env_and_secrets(env, secrets.__getitem__).public_url == "https://s3.example.org"
    env["MINIO_PUBLIC_URL"] = " "
    assert StoreConfig.from_env_and_secrets(env, secrets.__getitem__).public_url is None


@pytest.mark.parametrize("url", ["s3.example.org", "ftp://s3.example.org", "https://s3.example.org/minio",
                                 "https://user:pw@s3.example.org", "https://s3.example.org?x=1", "http://"])
def test_malformed_public_urls_are_refused(url: str) -> None:
    with pytest.raises(ProcessingError, match="MINIO_PUBLIC_URL"):
        StoreConfig(endpoint="minio:9000", access_key="a", secret_key="b", public_url=url)
