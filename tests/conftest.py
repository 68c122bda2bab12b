"""Shared fixtures: a real S3 HTTP server on loopback (moto's server mode) and stores on it.

Imports of ``moto`` and ``minio`` happen inside the fixtures, so test modules that do not
use them still run where only the core dependencies are installed.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from audioscore.infra.storage import ObjectStore, StoreConfig

__all__ = [
    "S3_ACCESS_KEY",
    "S3_REGION",
    "S3_SECRET_KEY",
    "TEST_BUCKETS",
    "object_store",
    "s3_server",
    "store_config",
]

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"
TEST_BUCKETS = ("audio", "features", "scores")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Run moto's S3 server on a free loopback port for the whole session.

    Yields:
        The endpoint as ``"127.0.0.1:PORT"`` (what ``minio.Minio`` and ``MINIO_ENDPOINT`` take).
    """
    server_mod = pytest.importorskip("moto.server")
    # Port 0: the OS picks a free port, so parallel sessions never collide.
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def store_config(s3_server: str) -> StoreConfig:
    """A ``StoreConfig`` for the session's moto server, with short timeouts.

    Returns:
        The configuration (credentials ``testing``/``testing``, region ``us-east-1``).
    """
    storage = pytest.importorskip("audioscore.infra.storage")
    return storage.StoreConfig(
        endpoint=s3_server,
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        region=S3_REGION,
        timeout_s=10.0,
        connect_timeout_s=2.0,
    )


@pytest.fixture
def object_store(s3_server: str, store_config: StoreConfig) -> ObjectStore:
    """An ``ObjectStore`` on an emptied moto server with fresh ``audio``, ``features``, ``scores``.

    Returns:
        The store.
    """
    storage = pytest.importorskip("audioscore.infra.storage")
    # moto keeps all state in process-wide backends; its reset endpoint empties them, which
    # is much faster than a server per test.
    request = urllib.request.Request(f"http://{s3_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    store = storage.ObjectStore.connect(store_config)
    # Under load moto's threaded server now and then answers a bucket's creation with a
    # stray byte before its status line ("xHTTP/1.1 200 OK"), between two tests whose
    # browser still polls the last test's page (1 run in 6 of test_recordings_page here);
    # a second try succeeds. The tests' own requests are not retried.
    try:
        store.ensure_buckets(TEST_BUCKETS)
    except storage.TransientError:
        store.ensure_buckets(TEST_BUCKETS)
    return store
