"""Fixtures for the image tests: the images built once per session (a skip only
where podman cannot run at all), the S3 server of the in-process tests, the
test MongoDB server, and every function of stack.yml running in its container.
Build times, sizes and start-up times are printed at the end of the session."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / d) for d in ("support", "pipeline")] + [str(ROOT / "images")]

import builder
import test_functions
from function_containers import Running, run_function
from functions_harness import TOKEN, load_module, write_secrets
from mongo_wire import MongoWire

from audioscore.infra.config import Settings
from audioscore.infra.records import COLLECTION, RecordStore

# The in-process suite's fixtures, shared rather than copied: its S3 server and
# stores, the rendered melody and the local media server.
_shared = load_module(ROOT / "tests" / "conftest.py", "tests_conftest")
s3_server, store_config, object_store = _shared.s3_server, _shared.store_config, _shared.object_store
melody_wav, media_server = test_functions.melody_wav, test_functions.media_server
chords_wav = test_functions.chords_wav

REPORT = pytest.StashKey[list[str]]()
# The keys of tests/test_functions.py's `deployed` mapping.
DEPLOYED_KEYS = {"fetch-youtube": "fetch", "extract-features": "extract", "transcribe": "transcribe"}


def pytest_configure(config: pytest.Config) -> None:
    config.stash[REPORT] = []


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if config.stash[REPORT]:
        terminalreporter.section("function images")
        for line in config.stash[REPORT]:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> list[str]:
    """Lines for the summary at the end of the session."""
    return request.config.stash[REPORT]


def _podman_unusable() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed"
    done = builder.podman("info", check=False, capture=True)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["podman info failed"])[-1]


@pytest.fixture(scope="session")
def images(request: pytest.FixtureRequest, report: list[str]) -> dict[str, str]:
    """Every function's image, built or found up to date: function name -> image."""
    if why := _podman_unusable():
        pytest.skip(f"podman cannot run here: {why}")
    # The build takes minutes when cold: let its progress through.
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        base_seconds, built = builder.build_all()
    report.append(builder.report(base_seconds, built))
    return {b.function: b.image for b in built}


@pytest.fixture(scope="session")
def stack() -> dict[str, dict]:
    return builder.stack_functions()[0]


@pytest.fixture(scope="session")
def wire() -> Iterator[MongoWire]:
    with MongoWire() as server:
        yield server


@pytest.fixture(scope="session")
def secrets(tmp_path_factory: pytest.TempPathFactory, wire: MongoWire) -> Path:
    """The OpenFaaS secrets, readable by the containers' non-root user."""
    folder = tmp_path_factory.mktemp("secrets")
    write_secrets(folder, {"minio-access-key": _shared.S3_ACCESS_KEY, "minio-secret-key": _shared.S3_SECRET_KEY,
                           "mongo-url": wire.url, "webhook-token": TOKEN})
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="session")
def start(images: dict[str, str], stack: dict[str, dict], s3_server: str, secrets: Path):
    """Starts a function's container against the test servers (a context manager yielding `Running`).

    The fetch policy is the one the fetch tests use: the local media server only.
    """

    def start_function(function: str):
        spec = stack[function]
        # Links name the public endpoint: here the test server itself, which the tests open from outside.
        env = {"MINIO_ENDPOINT": s3_server, "MINIO_REGION": _shared.S3_REGION, "MINIO_PUBLIC_URL": f"http://{s3_server}"}
        if "FETCH_ALLOWED_HOSTS" in (spec.get("environment") or {}):
            env |= {"FETCH_ALLOWED_HOSTS": "127.0.0.1", "FETCH_ALLOW_PRIVATE": "true"}
        return run_function(function, images[function], spec, env, secrets)

    return start_function


@pytest.fixture(scope="session")
def functions(start, images: dict[str, str], report: list[str]) -> Iterator[dict[str, Running]]:
    """Every function running in its container for the session."""
    with ExitStack() as containers:
        running = {name: containers.enter_context(start(name)) for name in images}
        report.append("health answered after start: " + ", ".join(f"{n} {r.ready_s:.1f} s" for n, r in running.items()))
        yield running


@pytest.fixture
def records(wire: MongoWire, stack: dict[str, dict]) -> RecordStore:
    """The records the functions write, read straight from the test server's store (emptied)."""
    [database] = {(spec.get("environment") or {}).get("MONGO_DATABASE", Settings.mongo_database)
                  for spec in stack.values()}
    collection = wire.client[database][COLLECTION]
    collection.delete_many({})  # documents only: the indexes the functions made stay
    return RecordStore(collection)


@pytest.fixture
def deployed(functions: dict[str, Running], object_store, records: RecordStore) -> dict[str, str]:
    """The URLs by the names tests/test_functions.py uses, on emptied buckets and records."""
    return {key: functions[name].url for name, key in DEPLOYED_KEYS.items()}

