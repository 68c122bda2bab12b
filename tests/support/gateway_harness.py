"""The OpenFaaS gateway and MinIO's webhook notifications, played on loopback for tests.

`Gateway` answers ``POST /async-function/<name>`` with 202 at once and queues the
request (body and Authorization header) for a thread pool that POSTs it to the
function's app, as the Community Edition queue worker does: once, no retry.
``POST /function/<name>`` is proxied synchronously. Tests can lose requests on
purpose (`drop`), have the queue deliver them twice (`repeat`), read every
delivery and its answer (`deliveries`), keep deliveries back as a backlog (`hold`,
`release`), and wait until nothing is queued or in flight (`wait_idle`).

`notify_puts` plays MinIO's bucket notifications: after each successful PUT
through `ObjectStore`, an event for the object goes to the gateway's async route
of every matching rule, with the webhook token, as MinIO's webhook targets do.

`SerialisedCollection` makes a mongomock collection safe to share between
threads the way MongoDB is: each call applies atomically.

`running_chain` puts it together: extract-features, transcribe and redrive behind
their apps and the gateway, MinIO's two notification rules, moto for S3 and one
mongomock record store shared by all functions (they run in this process).
`Chain.outage` makes the object store or the records unreachable for a few seconds
(every minio request fails to connect; every collection call raises AutoReconnect).
LilyPond is stood in for by `quick_engraving` there: these tests are about
delivery, an engraving costs seconds of CPU, and test_functions runs the real one.
"""

from __future__ import annotations

import http.server
import inspect
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import mongomock
import urllib3
from functions_harness import (
    SECRETS,
    TOKEN,
    call,
    function_environment,
    minio_event,
    serve_function,
    write_secrets,
)
from pymongo.errors import AutoReconnect

from audioscore.infra.config import settings as settings_cache
from audioscore.infra.files import write_atomic
from audioscore.infra.records import RecordStore
from audioscore.infra.storage import ObjectStore, encode_metadata_value
from audioscore.notation import transcription as transcribe_module
from audioscore.notation.lilypond import RenderedScore
from audioscore.pipeline import functions

__all__ = ["MINIO_RULES", "Chain", "Delivery", "Gateway", "Rule", "SerialisedCollection", "notify_puts",
           "quick_engraving", "running_chain"]

DELIVERY_TIMEOUT_S = 300.0


@dataclass
class Delivery:
    """One request the queue took: delivered (with the function's answer) or dropped.

    ``status`` is None while in flight, and for dropped requests and failed connections
    (then ``response`` holds the error).
    """

    function: str
    body: bytes
    authorization: str | None
    query: str = ""
    dropped: bool = False
    repeat: bool = False  # the second delivery of a request the queue delivered twice
    status: int | None = None
    response: Any = None


class Gateway:
    """A loopback stand-in for the OpenFaaS gateway and its async queue worker.

    Args:
        functions: function name -> base URL of its app (from ``serve_function``).
        workers: deliveries in flight at once (the queue worker's concurrency).
    """

    def __init__(self, functions: Mapping[str, str], *, workers: int = 8) -> None:
        self.functions = dict(functions)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="queue-worker")
        self._lock = threading.Condition()
        self._pending = 0
        self._drops: dict[str, int] = {}
        self._repeats: dict[str, int] = {}
        self._held: dict[str, list[Delivery]] = {}
        self._log: list[Delivery] = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                gateway._serve(self)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ test controls

    def drop(self, function: str, count: int = 1) -> None:
        """Accept the next ``count`` async requests for ``function`` with 202 but never deliver them."""
        with self._lock:
            self._drops[function] = self._drops.get(function, 0) + count

    def repeat(self, function: str, count: int = 1) -> None:
        """Deliver each of the next ``count`` async requests for ``function`` twice, concurrently."""
        with self._lock:
            self._repeats[function] = self._repeats.get(function, 0) + count

    def hold(self, function: str) -> None:
        """Queue requests for ``function`` without delivering them until `release` (a backlog)."""
        with self._lock:
            self._held.setdefault(function, [])

    def release(self, function: str) -> None:
        """Deliver what `hold` kept back, and deliver at once from now on."""
        with self._lock:
            held = self._held.pop(function, [])
        for delivery in held:
            self._pool.submit(self._deliver, delivery)

    def deliveries(self, function: str | None = None) -> list[Delivery]:
        """What the queue took so far, in order of acceptance (repeats right after their first)."""
        with self._lock:
            return [d for d in self._log if function is None or d.function == function]

    def wait_idle(self, timeout: float) -> None:
        """Return once nothing is queued or in flight.

        Raises:
            TimeoutError: still busy after ``timeout`` seconds.
        """
        with self._lock:
            if not self._lock.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"gateway still busy after {timeout} s: {self._pending} deliveries pending")

    # ------------------------------------------------------------------ the server

    def _serve(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        route, _, name = path.strip("/").partition("/")
        name = name.split(".", 1)[0]  # "<name>.<namespace>", as the cron-connector calls it
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        authorization = request.headers.get("Authorization")
        if name not in self.functions or route not in ("function", "async-function"):
            _answer(request, 404, json.dumps({"error": f"no function {name!r}"}).encode())
        elif route == "async-function":
            self._enqueue(Delivery(name, body, authorization, query))
            _answer(request, 202, b"", {"X-Call-Id": str(uuid.uuid4())})
        else:
            status, answer = _post(self.functions[name], body, authorization, query)
            _answer(request, status or 502, answer if isinstance(answer, bytes) else str(answer).encode())

    def _enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            function = delivery.function
            if self._drops.get(function, 0) > 0:
                self._drops[function] -= 1
                delivery.dropped = True
                self._log.append(delivery)
                return
            copies = [delivery]
            if self._repeats.get(function, 0) > 0:
                self._repeats[function] -= 1
                copies.append(replace(delivery, repeat=True))
            self._log.extend(copies)
            self._pending += len(copies)
            if function in self._held:
                self._held[function].extend(copies)
                return
        for copy in copies:
            self._pool.submit(self._deliver, copy)

    def _deliver(self, delivery: Delivery) -> None:
        try:
            status, answer = _post(self.functions[delivery.function], delivery.body, delivery.authorization,
                                   delivery.query)
            try:
                decoded = json.loads(answer) if isinstance(answer, bytes) else answer
            except ValueError:
                decoded = answer
            with self._lock:
                delivery.status, delivery.response = status, decoded
        finally:
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()


def _post(url: str, body: bytes, authorization: str | None, query: str = "") -> tuple[int | None, bytes | str]:
    """POST to a function; (status, body), or (None, the error) when it could not be reached."""
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url + (f"?{query}" if query else ""), data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError as error:
        return None, f"{type(error).__name__}: {error}"


def _answer(request: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
            headers: Mapping[str, str] | None = None) -> None:
    request.send_response(status)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@dataclass(frozen=True)
class Rule:
    """A bucket notification rule: PUTs in ``bucket`` with a key ending in ``suffix`` notify ``function``."""

    bucket: str
    function: str
    suffix: str = ""


def notify_puts(monkeypatch: Any, gateway: Gateway, rules: Sequence[Rule], *, token: str = TOKEN) -> None:
    """Have every successful `ObjectStore` upload notify the gateway as MinIO would (see the module doc)."""

    def notify(bucket: str, key: str, etag: str, size: int, metadata: Mapping[str, str] | None) -> None:
        for rule in rules:
            if rule.bucket == bucket and key.endswith(rule.suffix):
                # MinIO reports user metadata as stored: percent-encoded by ObjectStore.
                stored = {k: encode_metadata_value(v) for k, v in (metadata or {}).items()}
                status, answer = _post(f"{gateway.url}/async-function/{rule.function}",
                                       minio_event(bucket, key, etag, size, metadata=stored), f"Bearer {token}")
                assert status == 202, (status, answer)

    upload_file, upload_bytes = ObjectStore.upload_file, ObjectStore.upload_bytes

    def notifying_upload_file(self: ObjectStore, bucket: str, key: str, path: Path, **kwargs: Any) -> str:
        etag = upload_file(self, bucket, key, path, **kwargs)
        notify(bucket, key, etag, Path(path).stat().st_size, kwargs.get("metadata"))
        return etag

    def notifying_upload_bytes(self: ObjectStore, bucket: str, key: str, data: bytes, **kwargs: Any) -> str:
        etag = upload_bytes(self, bucket, key, data, **kwargs)
        notify(bucket, key, etag, len(data), kwargs.get("metadata"))
        return etag

    monkeypatch.setattr(ObjectStore, "upload_file", notifying_upload_file)
    monkeypatch.setattr(ObjectStore, "upload_bytes", notifying_upload_bytes)


class SerialisedCollection:
    """A mongomock collection whose calls run one at a time.

    MongoDB applies each single-document write atomically, which the functions'
    claims (``begin_stage``, the re-drive's) rely on; mongomock matches and then
    modifies in Python, so two threads can both match. Cursors from ``find`` are
    read inside the lock and returned as lists.
    """

    def __init__(self, collection: Any, down: threading.Event | None = None) -> None:
        """``down``: while set, every call fails as when MongoDB cannot be reached."""
        self._collection = collection
        self._lock = threading.RLock()
        self._down = down or threading.Event()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if not inspect.ismethod(attribute):  # e.g. .database, .name
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._down.is_set():
                raise AutoReconnect("connection refused (outage played by the test)")
            with self._lock:
                result = attribute(*args, **kwargs)
                return list(result) if name in ("find", "aggregate") else result

        return call


# The event rules deploy/setup-job.yaml sets on MinIO.
MINIO_RULES = (Rule("audio", "extract-features"), Rule("features", "transcribe", "features.json"))
# Re-drive at once in tests: nothing is in flight when a test runs it (after wait_idle).
REDRIVE_TEST_ENV = {"REDRIVE_FEATURES_DEADLINE_S": "0", "REDRIVE_SCORE_DEADLINE_S": "0",
                    "REDRIVE_UNRECORDED_AFTER_S": "0", "REDRIVE_BACKOFF_S": "0"}


@dataclass
class Chain:
    """The functions behind the gateway, and what a test drives them with."""

    gateway: Gateway
    urls: dict[str, str]
    records: RecordStore
    store: ObjectStore
    work_dir: Path
    down: dict[str, threading.Event]  # "store" and "records": set while that one is out (see outage)

    @contextmanager
    def outage(self, what: str, seconds: float) -> Iterator[None]:
        """``what`` ("store" or "records") is unreachable from now until ``seconds`` have passed,
        and for at least as long as the block runs."""
        ends = time.monotonic() + seconds
        self.down[what].set()
        try:
            yield
            time.sleep(max(0.0, ends - time.monotonic()))
        finally:
            self.down[what].clear()

    def upload(self, key: str, path: Path) -> str:
        """Put an audio file into the audio bucket (MinIO's rule notifies extract-features); its ETag."""
        return self.store.upload_file("audio", key, path, content_type="audio/wav")

    def redrive(self, *, token: str | None = TOKEN, query: dict[str, str] | None = None) -> tuple[int, dict]:
        """One re-drive run, through the gateway's synchronous route as the cron-connector calls it."""
        return call(f"{self.gateway.url}/function/redrive", body=b"", token=token, query=query)

    def settle(self, timeout: float = 120) -> None:
        self.gateway.wait_idle(timeout)


def quick_engraving(source: str, out_dir: Path, *, basename: str = "score", timeout_s: float = 0,
                    started: None = None) -> RenderedScore:
    """Stands in for `render_lilypond` (no LilyPond is started for it: `started` is None): the LilyPond
    source as it would be, a placeholder PDF and one-page PNGs."""
    paths = [Path(out_dir) / f"{basename}.{suffix}" for suffix in ("ly", "pdf", "png")]
    page = Path(out_dir) / f"{basename}-1.png"
    for path, data in zip([*paths, page], (source.encode(), b"%PDF-1.4 stand-in", b"\x89PNG stand-in",
                                            b"\x89PNG stand-in"), strict=True):
        write_atomic(path, data)
    return RenderedScore(*paths, log="", pages=(page,))


def _switchable_store(monkeypatch: Any, down: threading.Event) -> None:
    """While ``down`` is set, every request of the minio client fails to connect (MinIO restarting)."""
    urlopen = urllib3.PoolManager.urlopen

    def switchable(self: urllib3.PoolManager, *args: Any, **kwargs: Any) -> Any:
        if down.is_set():
            raise urllib3.exceptions.NewConnectionError(None, "connection refused (outage played by the test)")
        return urlopen(self, *args, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", switchable)


@contextmanager
def running_chain(monkeypatch: Any, s3_server: str, store: ObjectStore, tmp_path: Path, *,
                  env: Mapping[str, str] | None = None, rules: Sequence[Rule] = MINIO_RULES) -> Iterator[Chain]:
    """The chain on loopback (see the module doc); ``env`` adds to or overrides the functions' environment."""
    down = {"store": threading.Event(), "records": threading.Event()}
    records = RecordStore(SerialisedCollection(mongomock.MongoClient()["audioscore"]["recordings"], down["records"]))
    records.ensure_indexes()
    _switchable_store(monkeypatch, down["store"])
    monkeypatch.setattr(functions, "connect_records", lambda url, database: records)
    secrets = tmp_path / "secrets"
    write_secrets(secrets, SECRETS)
    work_dir = tmp_path / "work"
    for name, value in {**function_environment(s3_server, secrets, work_dir), **REDRIVE_TEST_ENV,
                        **(env or {})}.items():
        monkeypatch.setenv(name, value)
    for function in (functions.extract_features, functions.transcribe, functions.redrive):
        monkeypatch.setattr(function, "_services", None)
        settings_cache.cache_clear()  # the next services() reads the environment again
    monkeypatch.setattr(transcribe_module, "render_lilypond", quick_engraving)
    monkeypatch.setattr(transcribe_module, "lilypond_started", lambda basename: nullcontext())
    with serve_function("extract-features") as extract, serve_function("transcribe") as transcribe, \
            serve_function("redrive") as redrive:
        urls = {"extract-features": extract, "transcribe": transcribe, "redrive": redrive}
        with Gateway(urls) as gateway:
            monkeypatch.setenv("GATEWAY_URL", gateway.url)
            notify_puts(monkeypatch, gateway, rules)
            yield Chain(gateway, urls, records, store, work_dir, down)
