"""Probe and decode audio files with ffprobe/ffmpeg, within size, duration and time limits.

Any container or codec ffmpeg reads is accepted (video files give their first audio stream).
Decoding yields mono float32 samples at a chosen rate. The input is untrusted: every limit is
enforced while the tools run, and every problem with the input is an ``InputError`` (or its
``LimitExceeded``) whose message is one line naming the file's basename; a missing tool is a
``ProcessingError``.

Decoding reads ffmpeg's pipes with ``selectors``, so it needs a POSIX system.
"""

from __future__ import annotations

import json
import math
import os
import re
import selectors
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from audioscore.errors import InputError, LimitExceeded, ProcessingError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DURATION_S",
    "DEFAULT_MIN_PEAK_DBFS",
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_TIMEOUT_S",
    "ENV_MAX_BYTES",
    "ENV_MAX_DURATION_S",
    "ENV_TIMEOUT_S",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "Audio",
    "AudioInfo",
    "Limits",
    "load_audio",
    "probe",
]

DEFAULT_MAX_DURATION_S = 4 * 3600.0
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_TIMEOUT_S = 1800.0
DEFAULT_SAMPLE_RATE = 44100
DEFAULT_MIN_PEAK_DBFS = -70.0
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000

ENV_MAX_DURATION_S = "AUDIOSCORE_MAX_DURATION_S"
ENV_MAX_BYTES = "AUDIOSCORE_MAX_BYTES"
ENV_TIMEOUT_S = "AUDIOSCORE_DECODE_TIMEOUT_S"

_INSTALL_HINT = "install ffmpeg (e.g. apt-get install ffmpeg)"
# A hostile playlist (HLS, concat) must not make the tools fetch URLs.
_PROTOCOL_OPTS = ("-protocol_whitelist", "file")
# Headroom over the probed duration before the buffer grows: containers round durations.
_HEADROOM_S = 1.0
# Initial buffer when the container states no duration.
_UNKNOWN_DURATION_CAPACITY_S = 60.0
_READ_CHUNK_BYTES = 1 << 20
_STDERR_TAIL_BYTES = 4096
_BYTES_PER_SAMPLE = 4
# ffmpeg prefixes log lines with "[component @ 0x55d1...]": the address is noise.
_LOG_ADDRESS = re.compile(r"^\[(\w+) @ 0x[0-9a-f]+\] ")

_Number = TypeVar("_Number", int, float)


@dataclass(frozen=True)
class Limits:
    """Bounds on what an untrusted input may cost.

    Attributes:
        max_duration_s: longest accepted audio, in seconds.
        max_bytes: largest accepted file, in bytes.
        timeout_s: longest a single ffprobe or ffmpeg run may take, in seconds.
    """

    max_duration_s: float = DEFAULT_MAX_DURATION_S
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Builds limits from ``AUDIOSCORE_*`` variables; unset or empty ones keep the default.

        Args:
            environ: the variables to read; ``os.environ`` when None.

        Returns:
            The limits.

        Raises:
            ValueError: a variable is not a positive number (an integer for the byte limit);
                the message names the variable.
        """
        env = os.environ if environ is None else environ
        return cls(
            max_duration_s=_env_number(env, ENV_MAX_DURATION_S, DEFAULT_MAX_DURATION_S),
            max_bytes=_env_number(env, ENV_MAX_BYTES, DEFAULT_MAX_BYTES),
            timeout_s=_env_number(env, ENV_TIMEOUT_S, DEFAULT_TIMEOUT_S),
        )


def _env_number(env: Mapping[str, str], name: str, default: _Number) -> _Number:
    """The positive number in ``env[name]``, of the default's type; the default if unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        noun = "integer" if kind is int else "number"
        raise ValueError(f"{name} must be a positive {noun}, got {raw!r}")
    return value


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about a file's first audio stream.

    Attributes:
        duration_s: stated duration in seconds (the stream's, else the container's); NaN when
            neither states one. Encoder padding and estimates make it approximate.
        sample_rate: the stream's native rate, in Hz.
        channels: the stream's channel count.
        codec: ffmpeg's codec name, e.g. ``"mp3"``, ``"aac"``, ``"pcm_s16le"``.
        size_bytes: the file's size, in bytes.
    """

    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    size_bytes: int


@dataclass(frozen=True)
class Audio:
    """Decoded mono audio.

    Attributes:
        samples: float32 samples of shape (n,), nominally in [-1, 1].
        sample_rate: samples per second, in Hz.
        source: what the file was before decoding.
    """

    samples: np.ndarray
    sample_rate: int
    source: AudioInfo

    @property
    def duration_s(self) -> float:
        """Decoded duration, in seconds."""
        return self.samples.shape[0] / self.sample_rate


def probe(path: str | os.PathLike[str], limits: Limits | None = None) -> AudioInfo:
    """Checks a file and describes its first audio stream, without decoding it.

    Args:
        path: the media file.
        limits: size, duration and time bounds; ``Limits()`` when None.

    Returns:
        The first audio stream's description.

    Raises:
        InputError: the file is missing, not a regular file, empty, unreadable by ffprobe, or
            has no audio stream.
        LimitExceeded: the file is larger than ``max_bytes`` (checked before running ffprobe),
            states a duration above ``max_duration_s``, or ffprobe outlasts ``timeout_s``.
        ProcessingError: ffprobe is not installed.
    """
    limits = Limits() if limits is None else limits
    path = Path(path)
    name = _display_name(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{name} is not a regular file")
    if st.st_size == 0:
        raise InputError(f"{name} is empty (0 bytes)")
    if st.st_size > limits.max_bytes:
        raise LimitExceeded(
            f"{name} is {st.st_size} bytes, above the {limits.max_bytes} byte limit"
        )

    cmd = [
        "ffprobe",
        "-v",
        "error",
        *_PROTOCOL_OPTS,
        "-print_format",
        "json",
        "-show_streams",
        "-show_format",
        _input_url(path),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=limits.timeout_s, check=False)
    except FileNotFoundError:
        raise ProcessingError(f"ffprobe not found on PATH: {_INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise LimitExceeded(f"probing {name} took longer than {limits.timeout_s:g} s") from None
    try:
        report = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        report = {}
    if "format" not in report:
        reason = _last_log_line(done.stderr, path) or f"ffprobe exit status {done.returncode}"
        raise InputError(f"{name} is not a readable media file ({reason})")

    stream = next((s for s in report.get("streams", []) if s.get("codec_type") == "audio"), None)
    if stream is None:
        raise InputError(f"{name} has no audio stream")
    info = AudioInfo(
        duration_s=_duration(stream, report["format"]),
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        codec=str(stream.get("codec_name", "unknown")),
        size_bytes=st.st_size,
    )
    if info.duration_s > limits.max_duration_s:
        raise LimitExceeded(
            f"{name} lasts {info.duration_s:.1f} s, above the {limits.max_duration_s:g} s limit"
        )
    return info


def load_audio(
    path: str | os.PathLike[str],
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    limits: Limits | None = None,
    min_peak_dbfs: float = DEFAULT_MIN_PEAK_DBFS,
) -> Audio:
    """Probes a file, then decodes its first audio stream to mono float32.

    Channels are downmixed by ffmpeg and the stream is resampled to ``sample_rate``. Limits are
    enforced while decoding too, since a container's stated duration can be wrong.

    Args:
        path: the media file.
        sample_rate: output rate, in Hz, from 8000 to 192000.
        limits: size, duration and time bounds; ``Limits()`` when None.
        min_peak_dbfs: the quietest accepted peak, in dBFS; quieter input counts as silent.

    Returns:
        The decoded audio.

    Raises:
        ValueError: ``sample_rate`` is out of range.
        InputError: as for ``probe``; or ffmpeg cannot decode the file, it yields no samples,
            non-finite samples, or its peak is below ``min_peak_dbfs``.
        LimitExceeded: as for ``probe``; or the decoded audio lasts more than
            ``max_duration_s``, or decoding outlasts ``timeout_s``.
        ProcessingError: ffprobe or ffmpeg is not installed.
    """
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"sample_rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz, got {sample_rate}"
        )
    limits = Limits() if limits is None else limits
    path = Path(path)
    name = _display_name(path)
    info = probe(path, limits)

    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        *_PROTOCOL_OPTS,
        "-i",
        _input_url(path),
        "-vn",
        "-sn",
        "-dn",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-f",
        "f32le",
        "-",
    ]
    deadline = time.monotonic() + limits.timeout_s
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
    except FileNotFoundError:
        raise ProcessingError(f"ffmpeg not found on PATH: {_INSTALL_HINT}") from None
    with proc:
        try:
            samples, stderr_tail = _read_samples(proc, info, sample_rate, limits, deadline, name)
            returncode = proc.wait()
        except BaseException:
            proc.kill()
            raise

    if returncode != 0:
        reason = _last_log_line(stderr_tail, path) or f"ffmpeg exit status {returncode}"
        raise InputError(f"cannot decode {name}: {reason}")
    if samples.size == 0:
        raise InputError(f"{name} has no audio samples")
    # max/min rather than abs(): no temporary copy of the whole signal.
    peak = max(float(samples.max()), -float(samples.min()))
    if not math.isfinite(peak):
        raise InputError(f"{name} decodes to non-finite samples")
    peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_dbfs < min_peak_dbfs:
        raise InputError(
            f"{name} is silent (peak {peak_dbfs:.1f} dBFS, below {min_peak_dbfs:g} dBFS)"
        )
    return Audio(samples=samples, sample_rate=sample_rate, source=info)


def _read_samples(
    proc: subprocess.Popen[bytes],
    info: AudioInfo,
    sample_rate: int,
    limits: Limits,
    deadline: float,
    name: str,
) -> tuple[np.ndarray, bytes]:
    """Drains ffmpeg's stdout into one growing buffer and keeps the tail of its stderr.

    Args:
        proc: the running ffmpeg, writing f32le samples to stdout.
        info: the probe result, whose duration sizes the buffer.
        sample_rate: the output rate, in Hz.
        limits: the duration limit to enforce.
        deadline: the ``time.monotonic()`` value, in seconds, after which decoding is abandoned.
        name: the file's display name, for messages.

    Returns:
        The samples (a view of the buffer) and the last bytes ffmpeg logged.
    """
    max_samples = int(limits.max_duration_s * sample_rate)
    stated_s = info.duration_s if math.isfinite(info.duration_s) else _UNKNOWN_DURATION_CAPACITY_S
    # One sample beyond the limit is room enough to detect that it is exceeded.
    capacity = min(int((stated_s + _HEADROOM_S) * sample_rate), max_samples + 1)
    buf = np.empty(capacity, dtype="<f4")
    filled = 0  # bytes, since a read can end mid-sample
    stderr_tail = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LimitExceeded(f"decoding {name} took longer than {limits.timeout_s:g} s")
            for key, _ in sel.select(remaining):
                if key.fileobj is proc.stderr:
                    chunk = os.read(key.fd, _STDERR_TAIL_BYTES)
                    stderr_tail = (stderr_tail + chunk)[-_STDERR_TAIL_BYTES:]
                    if not chunk:
                        sel.unregister(key.fileobj)
                    continue
                if filled == buf.nbytes:
                    grown = np.empty(min(2 * buf.size, max_samples + 1), dtype=buf.dtype)
                    grown[: buf.size] = buf
                    buf = grown
                free = memoryview(buf).cast("B")[filled : filled + _READ_CHUNK_BYTES]
                got = proc.stdout.readinto(free)  # unbuffered: one read(2), never blocks here
                if not got:
                    sel.unregister(key.fileobj)
                filled += got
                if filled > max_samples * _BYTES_PER_SAMPLE:
                    raise LimitExceeded(
                        f"{name} lasts more than the {limits.max_duration_s:g} s limit"
                    )
    return buf[: filled // _BYTES_PER_SAMPLE].astype(np.float32, copy=False), stderr_tail


def _duration(stream: Mapping[str, Any], fmt: Mapping[str, Any]) -> float:
    """The stream's stated duration, else the container's, else NaN (seconds)."""
    for source in (stream, fmt):
        try:
            duration = float(source.get("duration"))
        except (TypeError, ValueError):
            continue
        if math.isfinite(duration) and duration >= 0:
            return duration
    return math.nan


def _display_name(path: Path) -> str:
    """The basename, quoted and escaped so an odd name cannot break a one-line message."""
    return repr(path.name)


def _input_url(path: Path) -> str:
    """An ffmpeg input URL that cannot be read as an option ("-x") or a protocol ("http:")."""
    return f"file:{path.absolute()}"


def _last_log_line(log: bytes, path: Path) -> str:
    """ffmpeg's last log line, without the input URL (the caller names the file) or addresses."""
    lines = log.decode("utf-8", errors="replace").strip().splitlines()
    if not lines:
        return ""
    url = _input_url(path)
    line = lines[-1].strip().removeprefix(f"{url}: ").replace(url, _display_name(path))
    return _LOG_ADDRESS.sub(r"[\1] ", line)
