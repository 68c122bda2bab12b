"""Run a function as deployed, minus the cluster: the template's own app
(what of-watchdog proxies to) serving the real handler over loopback HTTP,
with MinIO played by moto's S3 server and MongoDB by mongomock (or a real
server when MONGO_URL is set)."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from audioscore.infra.events import object_created

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-webhook-token"
# The secrets OpenFaaS mounts for the functions (the records come from a fixture, not mongo-url).
SECRETS = {"minio-access-key": "testing", "minio-secret-key": "testing", "mongo-url": "mongodb://unused",
           "webhook-token": TOKEN}


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serve_function(function: str) -> Iterator[str]:
    """The function's handler behind the template's server on a free loopback port; yields its URL."""
    index = load_module(ROOT / "template" / "audioscore-python" / "index.py", "template_index")
    handler = load_module(ROOT / function / "handler.py", f"handler_{function.replace('-', '_')}")
    # A short loop timeout: the server notices it was closed within 0.1 s, not 1 s.
    connections: dict[int, Any] = {}  # the server's socket map: its listener and every open connection
    server = create_server(index.create_app(handler), map=connections, host="127.0.0.1", port=0, threads=4,
                           asyncore_loop_timeout=0.1)
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # closing the server under its select() loop: expected while stopping
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        server.close()
        # A browser's kept-alive connection would keep the loop, and the test, waiting for it.
        wasyncore.close_all(connections)
        thread.join(timeout=5)


def call(url: str, *, body: bytes | dict | None = None, method: str = "POST", token: str | None = TOKEN,
         query: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, dict[str, Any]]:
    """One HTTP request; returns (status, JSON body)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    if query:
        url += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def minio_event(bucket: str, key: str, etag: str, size: int, *, metadata: dict[str, str] | None = None,
                name: str = "s3:ObjectCreated:Put") -> bytes:
    """The notification MinIO sends for a new object (keys URL-encoded, as MinIO does)."""
    event = object_created(bucket, key, etag=etag, size=size, content_type="application/octet-stream",
                           metadata={f"X-Amz-Meta-{k.title()}": v for k, v in (metadata or {}).items()})
    event["EventName"] = event["Records"][0]["eventName"] = name
    return json.dumps(event).encode()


def write_secrets(directory: Path, values: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        (directory / name).write_text(value)


def function_environment(s3_endpoint: str, secrets_dir: Path, work_dir: Path) -> dict[str, str]:
    return {"MINIO_ENDPOINT": s3_endpoint, "MINIO_REGION": "us-east-1", "AUDIOSCORE_SECRETS_DIR": str(secrets_dir),
            "TMPDIR": str(work_dir), "MONGO_DATABASE": "audioscore_test_" + os.urandom(4).hex()}
