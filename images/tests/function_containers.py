"""A function image run as OpenFaaS runs it, minus the watchdog: the template's
server (the process of-watchdog starts in http mode) on a loopback port, as the
image's non-root user, with a read-only root filesystem apart from /tmp, the
memory limit and environment from stack.yml, and the secrets mounted where
OpenFaaS mounts them."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from builder import podman

__all__ = ["SECRETS_MOUNT", "Running", "run_function"]

SECRETS_MOUNT = "/var/openfaas/secrets"
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Running:
    """A function's container: its name, URL, start time (monotonic) and seconds to its first health answer."""

    container: str
    url: str
    started: float
    ready_s: float

    def exec(self, script: str, *, user: str | None = None) -> subprocess.CompletedProcess:
        """Run a shell script inside the container (as the image's user unless told)."""
        return podman("exec", *(["--user", user] if user else []), self.container, "sh", "-c", script,
                      check=False, capture=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory(limit: str) -> str:
    """A Kubernetes quantity as podman takes it: 512Mi -> 512m, 3Gi -> 3g."""
    return limit.removesuffix("i").lower()


@contextmanager
def run_function(function: str, image: str, spec: dict, env: dict[str, str], secrets: Path) -> Iterator[Running]:
    """Start the function's container, wait until it answers its health path, remove it on the way out.

    Args:
        function: the function's name in stack.yml.
        image: its image.
        spec: its stack.yml entry (environment and memory limit are taken from it).
        env: variables set over the stack's environment.
        secrets: a folder of secret files, mounted read-only at `SECRETS_MOUNT`.
    """
    port = _free_port()
    container = f"audioscore-test-{function}-{os.urandom(3).hex()}"
    environment = {**{k: str(v) for k, v in (spec.get("environment") or {}).items()}, **env,
                   "FUNCTION_HOST": "127.0.0.1", "FUNCTION_PORT": str(port)}
    args = ["run", "-d", "--name", container, "--network=host", "--read-only", "--read-only-tmpfs=false",
            "--tmpfs", "/tmp:rw,mode=1777", "-v", f"{secrets}:{SECRETS_MOUNT}:ro"]
    if memory := (spec.get("limits") or {}).get("memory"):
        args += ["--memory", _memory(memory)]
    for name, value in environment.items():
        args += ["-e", f"{name}={value}"]
    started = time.monotonic()
    podman(*args, image, capture=True)
    try:
        url = f"http://127.0.0.1:{port}"
        yield Running(container, url, started, _wait_until_ready(container, url) - started)
    finally:
        logs = podman("logs", "--tail", "30", container, check=False, capture=True)
        print(f"--- {container}\n{logs.stdout}{logs.stderr}")  # shown by pytest when a test fails
        podman("rm", "--force", "--time", "5", container, check=False, capture=True)


def _wait_until_ready(container: str, url: str) -> float:
    """Poll the health path; the monotonic time of the first 200. Fails with the logs if the process ends."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        state = podman("inspect", "--format", "{{.State.Running}}", container, capture=True).stdout.strip()
        if state != "true":
            logs = podman("logs", container, check=False, capture=True)
            raise RuntimeError(f"{container} stopped before answering:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.1)
    raise TimeoutError(f"{container} did not answer {url}/_/health within {READY_TIMEOUT_S:.0f} s")
