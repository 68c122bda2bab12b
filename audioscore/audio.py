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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from audioscore.errors import InputError, LimitExceeded, ProcessingError

__all__ = [
    "CHUNK_SAMPLES",
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
    "AudioStream",
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
# Samples per decoded chunk: 1.5 s at 44.1 kHz.
CHUNK_SAMPLES = 1 << 16
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


class AudioStream:
    """A file's first audio stream decoded to mono float32, chunk by chunk, through an ffmpeg pipe.

    Memory does not grow with the file's length. Construction probes the file (``info``);
    ``chunks()`` decodes. The checks that need every sample (silence, non-finite samples,
    decoder errors at the end) raise when the stream ends, after the last chunk.

    A segment (``start_sample``, ``max_samples``) is cut after resampling, so its samples equal
    the same span of the whole file's. ``min_peak_dbfs=None`` skips the silence and emptiness
    checks (for segments of a recording already accepted).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        limits: Limits | None = None,
        min_peak_dbfs: float | None = DEFAULT_MIN_PEAK_DBFS,
        start_sample: int = 0,
        max_samples: int | None = None,
        info: AudioInfo | None = None,
    ) -> None:
        """Probes the file, unless the caller has: ``info`` is ``probe``'s result for it.

        Raises:
            ValueError: ``sample_rate`` is out of range, or a negative segment.
            InputError, LimitExceeded, ProcessingError: as for ``probe``.
        """
        if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
            raise ValueError(
                f"sample_rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz, got {sample_rate}"
            )
        if start_sample < 0 or (max_samples is not None and max_samples <= 0):
            raise ValueError(f"bad segment: start {start_sample}, length {max_samples}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.limits = Limits() if limits is None else limits
        self.min_peak_dbfs = min_peak_dbfs
        self.start_sample = start_sample
        self.max_samples = max_samples
        self.name = _display_name(self.path)
        self.info = probe(self.path, self.limits) if info is None else info
        self.samples_read = 0

    @property
    def duration_s(self) -> float:
        """Seconds decoded so far (all of them once ``chunks()`` is exhausted)."""
        return self.samples_read / self.sample_rate

    def _command(self) -> list[str]:
        # Resampling inside the filter graph, before the cut: a segment's samples equal the
        # whole file's, whatever the source rate.
        filters = f"aresample={self.sample_rate}"
        if self.start_sample or self.max_samples is not None:
            end = f":end_sample={self.start_sample + self.max_samples}" if self.max_samples else ""
            filters += f",atrim=start_sample={self.start_sample}{end}"
        return [
            "ffmpeg", "-nostdin", "-v", "error", *_PROTOCOL_OPTS, "-i", _input_url(self.path),
            "-vn", "-sn", "-dn", "-af", filters, "-ac", "1", "-f", "f32le", "-",
        ]

    def chunks(self, chunk_samples: int = CHUNK_SAMPLES) -> Iterator[np.ndarray]:
        """Yields the samples in order, ``chunk_samples`` at a time (the last chunk may be shorter).

        Raises:
            InputError: ffmpeg cannot decode the file, it yields no samples, non-finite samples,
                or its peak is below ``min_peak_dbfs``.
            LimitExceeded: the decoded audio lasts more than ``max_duration_s``, or ffmpeg keeps
                the reader waiting longer than ``timeout_s`` in all (time spent by the caller
                between chunks does not count).
            ProcessingError: ffmpeg is not installed.
        """
        try:
            proc = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, bufsize=0,
            )
        except FileNotFoundError:
            raise ProcessingError(f"ffmpeg not found on PATH: {_INSTALL_HINT}") from None
        peak = 0.0
        with proc:
            try:
                reader = _PipeReader(proc, self.limits.timeout_s, self.name)
                too_long = f"{self.name} lasts more than the {self.limits.max_duration_s:g} s limit"
                for chunk in reader.chunks(chunk_samples, self._max_decoded_samples(), too_long):
                    if not np.isfinite(chunk).all():
                        raise InputError(f"{self.name} decodes to non-finite samples")
                    # max/min rather than abs(): no temporary copy.
                    peak = max(peak, float(chunk.max()), -float(chunk.min()))
                    self.samples_read += chunk.size
                    yield chunk
                returncode = proc.wait()
            except BaseException:
                proc.kill()
                raise
        if returncode != 0:
            reason = _last_log_line(reader.stderr_tail, self.path) or f"ffmpeg exit status {returncode}"
            raise InputError(f"cannot decode {self.name}: {reason}")
        if self.min_peak_dbfs is None:  # a segment: a quiet or empty stretch is no error
            return
        if self.samples_read == 0:
            raise InputError(f"{self.name} has no audio samples")
        peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
        if peak_dbfs < self.min_peak_dbfs:
            raise InputError(
                f"{self.name} is silent (peak {peak_dbfs:.1f} dBFS, below {self.min_peak_dbfs:g} dBFS)"
            )

    def _max_decoded_samples(self) -> int:
        limit = int(self.limits.max_duration_s * self.sample_rate)
        if self.max_samples is not None:
            limit = min(limit, self.max_samples)
        return limit


class _PipeReader:
    """ffmpeg's stdout in fixed-size chunks, its stderr's tail kept, within a waiting-time budget."""

    def __init__(self, proc: subprocess.Popen[bytes], timeout_s: float, name: str) -> None:
        self.proc, self.timeout_s, self.name = proc, timeout_s, name
        self.stderr_tail = b""

    def chunks(self, chunk_samples: int, max_samples: int, too_long: str) -> Iterator[np.ndarray]:
        chunk_bytes = chunk_samples * _BYTES_PER_SAMPLE
        pending = bytearray()
        total = 0
        waited = 0.0
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            sel.register(self.proc.stderr, selectors.EVENT_READ)
            while sel.get_map():
                remaining = self.timeout_s - waited
                if remaining <= 0:
                    raise LimitExceeded(f"decoding {self.name} took longer than {self.timeout_s:g} s")
                started = time.monotonic()
                ready = sel.select(remaining)
                waited += time.monotonic() - started
                for key, _ in ready:
                    data = os.read(key.fd, _READ_CHUNK_BYTES)
                    if key.fileobj is self.proc.stderr:
                        self.stderr_tail = (self.stderr_tail + data)[-_STDERR_TAIL_BYTES:]
                    else:
                        pending += data
                        total += len(data)
                        # One sample beyond the limit is enough to know it is exceeded.
                        if total > max_samples * _BYTES_PER_SAMPLE:
                            raise LimitExceeded(too_long)
                    if not data:
                        sel.unregister(key.fileobj)
                while len(pending) >= chunk_bytes:
                    yield np.frombuffer(pending[:chunk_bytes], "<f4").astype(np.float32)
                    del pending[:chunk_bytes]
        usable = len(pending) - len(pending) % _BYTES_PER_SAMPLE
        if usable:
            yield np.frombuffer(pending[:usable], "<f4").astype(np.float32)


def load_audio(
    path: str | os.PathLike[str],
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    limits: Limits | None = None,
    min_peak_dbfs: float = DEFAULT_MIN_PEAK_DBFS,
) -> Audio:
    """Probes a file, then decodes its first audio stream to mono float32, all in memory.

    For long files prefer ``AudioStream``, whose memory does not grow with the length.

    Args:
        path: the media file.
        sample_rate: output rate, in Hz, from 8000 to 192000.
        limits: size, duration and time bounds; ``Limits()`` when None.
        min_peak_dbfs: the quietest accepted peak, in dBFS; quieter input counts as silent.

    Returns:
        The decoded audio.

    Raises:
        As ``AudioStream`` and its ``chunks()``.
    """
    stream = AudioStream(path, sample_rate=sample_rate, limits=limits, min_peak_dbfs=min_peak_dbfs)
    pieces = list(stream.chunks())
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Audio(samples=samples, sample_rate=sample_rate, source=stream.info)


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
