"""The template's server (template/audioscore-python/index.py): it listens before the
handler is imported and reports ready (its /_/health, of-watchdog's ready_path) only
once the handler can answer; requests that arrive earlier wait for the import."""

from __future__ import annotations

import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from functions_harness import load_module

ROOT = Path(__file__).resolve().parents[2]
index = load_module(ROOT / "template" / "audioscore-python" / "index.py", "template_index_startup")


def test_ready_only_after_the_handler_is_imported() -> None:
    release = threading.Event()
    module = types.SimpleNamespace(handle=lambda event, context: {"statusCode": 200, "body": {"path": event.path}})

    def slow_import() -> types.SimpleNamespace:
        release.wait(10)
        return module

    handler = index.LoadingHandler(slow_import)
    client = index.create_app(handler).test_client()
    handler.start()
    assert client.get("/_/health").status_code == 503
    with ThreadPoolExecutor(1) as pool:
        early = pool.submit(client.post, "/work", data=b"{}")  # arrives while importing
        assert not early.done()
        release.set()
        answer = early.result(timeout=10)
    assert answer.status_code == 200 and answer.get_json() == {"path": "/work"}
    health = client.get("/_/health")
    assert (health.status_code, health.data) == (200, b"OK")


def test_a_module_is_ready_at_once() -> None:
    module = types.SimpleNamespace(handle=lambda event, context: {"statusCode": 204, "body": ""})
    client = index.create_app(module).test_client()
    assert client.get("/_/health").status_code == 200
    assert client.get("/anything").status_code == 204


def test_the_template_sets_a_path_for_the_watchdogs_readiness() -> None:
    # of-watchdog puts ready_path into the URL's Path (pkg/readiness.go): a full URL breaks /_/ready.
    dockerfile = (ROOT / "template" / "audioscore-python" / "Dockerfile").read_text()
    [line] = [part for part in dockerfile.split() if part.startswith("ready_path=")]
    assert line == 'ready_path="/_/health"'
