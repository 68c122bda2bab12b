"""Running external tools (ffmpeg, ffprobe, lilypond, pdftoppm) so that none outlives its use.

Every tool starts in a process group of its own. The group, not just the tool, is killed with
SIGKILL when the caller gives up: on timeout, on any exception (including KeyboardInterrupt and
a generator's GeneratorExit) and when the interpreter exits (``atexit``), so a tool's children
(lilypond's Ghostscript) go too and a stopped server leaves nothing behind. Kills happen before
the tool is reaped, so a group id is never reused by an unrelated process when it is killed.
SIGTERM and SIGINT that arrive while a tool starts are handled once it is known, so that it is killed too.

Waiting is bounded by a budget in seconds (time spent by the caller between reads not counted).
POSIX only (``os.killpg``, ``selectors`` on pipes).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["PipeReader", "kill_all", "kill_group", "run", "started"]

_READ_CHUNK_BYTES = 1 << 20
_STDERR_TAIL_BYTES = 4096

_live: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()


@contextlib.contextmanager
def started(
    argv: Sequence[str], *, cwd: Path | None = None, stderr: int = subprocess.PIPE, stdin: int = subprocess.DEVNULL
) -> Iterator[subprocess.Popen[bytes]]:
    """Starts a tool in a new session (its own process group), stdin empty (or ``stdin``), stdout piped.

    On leaving the block with an exception the whole group is killed; on a normal exit the
    tool is waited for. Either way it is reaped and its pipes closed.

    Raises:
        FileNotFoundError: the tool is not on PATH.
    """
    held: list[tuple[int, Any]] = []
    try:
        with _signals_held(held):
            proc = subprocess.Popen(
                list(argv), cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr,
                bufsize=0, start_new_session=True,
            )
            with _live_lock:
                _live.add(proc)
    except BaseException:
        _deliver(held, None)
        raise
    try:
        with proc:  # closes the pipes and waits for the tool
            try:
                _deliver(held, proc)
                yield proc
            except BaseException:
                kill_group(proc)
                raise
    finally:
        with _live_lock:
            _live.discard(proc)


@contextlib.contextmanager
def _signals_held(held: list[tuple[int, Any]]) -> Iterator[None]:
    """SIGTERM and SIGINT arriving inside the block are appended to ``held`` with the handler
    they would have run, not handled: a handler that raised inside ``Popen`` (the tool started,
    not yet in _live) left the tool's group running. Only the main thread handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {int(signum): signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    if any(handler is None for handler in previous.values()):  # set outside Python: cannot be restored
        yield
        return
    for signum in previous:
        signal.signal(signum, lambda number, _frame: held.append((number, previous[number])))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _deliver(held: list[tuple[int, Any]], proc: subprocess.Popen[bytes] | None) -> None:
    """Runs the handlers of the signals held while ``proc`` started (None: it did not); see
    _signals_held. The default action ends this process, so the tool's group goes first."""
    for signum, handler in held:
        if callable(handler):
            handler(signum, None)
        elif handler == signal.SIG_DFL:
            if proc is not None:
                kill_group(proc)
            os.kill(os.getpid(), signum)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILLs the tool's process group, unless the tool has already been reaped."""
    if proc.returncode is None:  # not reaped: its pid, hence the group id, is still ours
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def kill_all() -> None:
    """Kills the process group of every tool still running (at exit, or from a signal handler)."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        kill_group(proc)


atexit.register(kill_all)


class PipeReader:
    """A started tool's stdout as it comes, its stderr's tail kept, within a waiting budget.

    Attributes:
        stderr_tail: the last 4096 bytes the tool wrote to stderr.
    """

    def __init__(self, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
        self.proc, self.timeout_s = proc, timeout_s
        self.stderr_tail = b""

    def __iter__(self) -> Iterator[bytes]:
        """Yields stdout data until both pipes close.

        Raises:
            subprocess.TimeoutExpired: the tool kept the reader waiting ``timeout_s`` in all.
        """
        waited = 0.0
        with selectors.DefaultSelector() as sel:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    sel.register(pipe, selectors.EVENT_READ)
            while sel.get_map():
                remaining = self.timeout_s - waited
                if remaining <= 0:
                    raise subprocess.TimeoutExpired(self.proc.args, self.timeout_s)
                began = time.monotonic()
                ready = sel.select(remaining)
                waited += time.monotonic() - began
                for key, _ in ready:
                    data = os.read(key.fd, _READ_CHUNK_BYTES)
                    if not data:
                        sel.unregister(key.fileobj)
                    elif key.fileobj is self.proc.stderr:
                        self.stderr_tail = (self.stderr_tail + data)[-_STDERR_TAIL_BYTES:]
                    else:
                        yield data


def run(
    argv: Sequence[str], *, timeout_s: float, cwd: Path | None = None, merge_stderr: bool = False
) -> tuple[int, bytes, bytes]:
    """Runs a tool to the end with its output captured, within ``timeout_s`` seconds.

    Args:
        argv: the command.
        timeout_s: longest the tool may keep us waiting, in seconds.
        cwd: its working directory.
        merge_stderr: stderr goes into stdout (the returned stderr is then empty).

    Returns:
        The exit status, stdout, and the last 4096 bytes of stderr.

    Raises:
        FileNotFoundError: the tool is not on PATH.
        subprocess.TimeoutExpired: it ran out of time (its process group is killed).
    """
    stderr = subprocess.STDOUT if merge_stderr else subprocess.PIPE
    with started(argv, cwd=cwd, stderr=stderr) as proc:
        reader = PipeReader(proc, timeout_s)
        output = b"".join(reader)
        status = proc.wait()
    return status, output, reader.stderr_tail
