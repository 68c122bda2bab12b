"""Probe and decode audio files with ffprobe/ffmpeg, within size, duration and time limits.

Only the containers in ``ACCEPTED_CONTAINERS`` are read, whatever the file is named: formats
whose entries name other files or URLs (HLS, concat, DASH, image sequences, SDP...) are refused
as "unsupported container: NAME". Any codec ffmpeg decodes inside them is accepted (video files
give their first audio stream). Decoding yields mono float32 samples at a chosen rate. The input is untrusted: every limit is
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
import stat
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioscore.errors import InputError, LimitExceeded, ProcessingError
from audioscore.infra import tools

if TYPE_CHECKING:  # numpy is imported where samples are made: probing and FLAC conversion
    import numpy as np  # (the fetch-youtube function) need none

__all__ = [
    "ACCEPTED_CONTAINERS",
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
    "media_input_options",
    "probe",
    "raise_if_refused",
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
# What users send: audio files and the audio/video containers that phones, cameras, browsers,
# editors and downloaders write. ffmpeg's demuxer names ("mov" reads mp4/m4a/3gp, "matroska"
# reads webm, "ogg" reads opus/vorbis, "asf" reads wma/wmv). None of them reads other files.
# Left out: formats whose entries name other files or URLs (hls, concat, dash, image2, sdp,
# rtsp, ...), devices (lavfi, alsa, x11grab...), raw sample formats and rarities.
ACCEPTED_CONTAINERS = (
    "wav", "w64", "aiff", "caf", "au", "flac", "wv", "ape",  # PCM and lossless files
    "mp3", "aac", "ac3", "eac3", "amr", "ogg",  # compressed audio streams
    "mov", "matroska", "avi", "asf", "flv", "mpeg", "mpegts",  # audio/video containers
)
# Demuxer options that keep a container from reading other files, whatever ffmpeg's defaults.
_CONTAINER_OPTS = {"mov": ("-enable_drefs", "0")}
# Only local files: a protocol such as http, tcp, data, subfile or tee is refused.
_PROTOCOL_OPTS = ("-protocol_whitelist", "file")
# Samples per decoded chunk: 1.5 s at 44.1 kHz.
CHUNK_SAMPLES = 1 << 16
_BYTES_PER_SAMPLE = 4
# ffmpeg prefixes log lines with "[component @ 0x55d1...]": the address is noise.
_LOG_ADDRESS = re.compile(r"^\[(\w+) @ 0x[0-9a-f]+\] ")
# How avformat refuses a demuxer that is not on -format_whitelist ("[hls @ 0x...] Format not...").
_REFUSED_FORMAT = re.compile(rb"^\[([\w,]+) @ 0x[0-9a-f]+\] Format not on whitelist", re.MULTILINE)

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



@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about a file's first audio stream.

    Attributes:
        duration_s: duration in seconds: the stream's stated one, else the container's, else
            (a file written as a stream, e.g. piped matroska or FLAC) measured from the packets'
            timestamps. Encoder padding and estimates make it approximate.
        sample_rate: the stream's native rate, in Hz.
        channels: the stream's channel count.
        codec: ffmpeg's codec name, e.g. ``"mp3"``, ``"aac"``, ``"pcm_s16le"``.
        size_bytes: the file's size, in bytes.
        container: the demuxer that reads it, one of ``ACCEPTED_CONTAINERS`` (``""``: not
            known, for descriptions made before it was recorded).
    """

    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    size_bytes: int
    container: str = ""


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
        InputError: the file is missing, not a regular file, empty, in a container not in
            ``ACCEPTED_CONTAINERS`` ("unsupported container: hls"), unreadable by ffprobe, or
            has no audio stream.
        LimitExceeded: the file is larger than ``max_bytes`` (checked before running ffprobe),
            states or (stating none) measures a duration above ``max_duration_s``, or ffprobe
            outlasts ``timeout_s``.
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
        "ffprobe", "-v", "error", *_probe_options(None), "-print_format", "json",
        "-show_streams", "-show_format", _input_url(path),
    ]
    status, out, log = _run_tool(cmd, limits.timeout_s, f"probing {name}")
    try:
        report = json.loads(out) if status == 0 else {}
    except ValueError:
        report = {}
    if "format" not in report:
        raise_if_refused(log, name)
        reason = _last_log_line(log, path) or f"ffprobe exit status {status}"
        raise InputError(f"{name} is not a readable media file ({reason})")
    container = str(report["format"].get("format_name", "")).split(",")[0]
    if container not in ACCEPTED_CONTAINERS:  # the whitelist should have refused it already
        raise InputError(f"{name}: unsupported container: {container or 'unknown'}")

    stream = next((s for s in report.get("streams", []) if s.get("codec_type") == "audio"), None)
    if stream is None:
        raise InputError(f"{name} has no audio stream")
    duration_s = _duration(stream, report["format"])
    if math.isnan(duration_s):
        duration_s = _measure_duration(path, container, limits)
    info = AudioInfo(
        duration_s=duration_s,
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        codec=str(stream.get("codec_name", "unknown")),
        size_bytes=st.st_size,
        container=container,
    )
    if info.duration_s > limits.max_duration_s:
        raise LimitExceeded(
            f"{name} lasts {info.duration_s:.1f} s, above the {limits.max_duration_s:g} s limit"
        )
    return info


def media_input_options(container: str | None = None) -> list[str]:
    """ffmpeg options to put before ``-i`` for untrusted media: local files, accepted containers.

    Every ffmpeg and ffprobe run on user media takes these, so that no file can make the tools
    read other files or URLs.

    Args:
        container: the demuxer ``probe`` found (``AudioInfo.container``): ffmpeg is then held to
            it (``-f``) with its safety options. Without it ffmpeg detects the format again,
            within ``ACCEPTED_CONTAINERS``.

    Raises:
        InputError: ``container`` is not accepted.
    """
    options = [*_PROTOCOL_OPTS, "-format_whitelist", ",".join(ACCEPTED_CONTAINERS)]
    if container:
        if container not in ACCEPTED_CONTAINERS:
            raise InputError(f"unsupported container: {container}")
        options += ["-f", container, *_CONTAINER_OPTS.get(container, ())]
    return options


def _probe_options(container: str | None) -> list[str]:
    """``media_input_options`` for ffprobe, with every container's safety options.

    ffprobe, unlike ffmpeg, ignores options meant for a demuxer other than the one it uses.
    """
    extra = [opt for opts in _CONTAINER_OPTS.values() for opt in opts] if not container else []
    return [*media_input_options(container), *extra]


def _run_tool(cmd: list[str], timeout_s: float, doing: str) -> tuple[int, bytes, bytes]:
    """Runs ffprobe to the end: (exit status, stdout, stderr's tail); errors as the project's."""
    try:
        return tools.run(cmd, timeout_s=timeout_s)
    except FileNotFoundError:
        raise ProcessingError(f"{cmd[0]} not found on PATH: {_INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise LimitExceeded(f"{doing} took longer than {timeout_s:g} s") from None


def raise_if_refused(log: bytes, name: str) -> None:
    """Raises the one-line InputError if ffmpeg's log says it refused the file's container.

    Args:
        log: ffmpeg's or ffprobe's stderr (its tail is enough).
        name: the file's name as messages show it.

    Raises:
        InputError: "NAME: unsupported container: DEMUXER".
    """
    refused = _REFUSED_FORMAT.search(log)
    if refused:
        demuxer = refused.group(1).decode("ascii").split(",")[0]
        raise InputError(f"{name}: unsupported container: {demuxer}")


def _measure_duration(path: Path, container: str, limits: Limits) -> float:
    """Seconds of the first audio stream, from its packets' timestamps: demuxing, no decoding.

    For containers that do not state a duration. Stops as soon as the packets pass
    ``max_duration_s``, so a long file costs a read of its packets up to the limit.

    Raises:
        InputError: the stream has no timed packets.
        LimitExceeded: the packets last more than ``max_duration_s``, or ffprobe outlasts
            ``timeout_s``.
    """
    name = _display_name(path)
    cmd = [
        "ffprobe", "-v", "error", *_probe_options(container), "-select_streams", "a:0",
        "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", _input_url(path),
    ]
    span = _PacketSpan()
    try:
        with tools.started(cmd) as proc:
            for data in tools.PipeReader(proc, limits.timeout_s):
                if span.feed(data) > limits.max_duration_s:
                    raise LimitExceeded(
                        f"{name} lasts more than the {limits.max_duration_s:g} s limit"
                    )
    except FileNotFoundError:
        raise ProcessingError(f"ffprobe not found on PATH: {_INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise LimitExceeded(f"measuring {name} took longer than {limits.timeout_s:g} s") from None
    duration = span.feed(b"\n")
    if not duration > 0:
        raise InputError(f"{name} has no timed audio packets")
    return duration


class _PacketSpan:
    """The time a stream's packets span, from ffprobe's ``pts_time,duration_time`` CSV lines."""

    def __init__(self) -> None:
        self.first = math.inf
        self.end = 0.0
        self.untimed = 0.0  # durations of packets without a timestamp
        self.partial = b""

    def feed(self, data: bytes) -> float:
        """Takes more CSV output; returns the span so far, in seconds."""
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            pts, _, duration = line.strip().partition(b",")
            length = max(0.0, _seconds(duration))  # NaN (N/A) and negative count as 0
            start = _seconds(pts)
            if math.isnan(start):
                self.untimed += length
            else:
                self.first = min(self.first, start)
                self.end = max(self.end, start + length)
        timed = self.end - self.first if self.end > self.first else 0.0
        return timed + self.untimed


def _seconds(text: bytes) -> float:
    """A CSV time value in seconds; NaN for N/A and anything not finite."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


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
            "ffmpeg", "-nostdin", "-v", "error", *media_input_options(self.info.container),
            "-i", _input_url(self.path),
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
        import numpy as np

        too_long = f"{self.name} lasts more than the {self.limits.max_duration_s:g} s limit"
        max_bytes = self._max_decoded_samples() * _BYTES_PER_SAMPLE
        peak = 0.0
        try:
            with tools.started(self._command()) as proc:
                reader = tools.PipeReader(proc, self.limits.timeout_s)
                decoded = 0
                for chunk in _chunked(reader, chunk_samples * _BYTES_PER_SAMPLE):
                    decoded += chunk.nbytes
                    # One sample beyond the limit is enough to know it is exceeded.
                    if decoded > max_bytes:
                        raise LimitExceeded(too_long)
                    if not np.isfinite(chunk).all():
                        raise InputError(f"{self.name} decodes to non-finite samples")
                    # max/min rather than abs(): no temporary copy.
                    peak = max(peak, float(chunk.max()), -float(chunk.min()))
                    self.samples_read += chunk.size
                    yield chunk
                returncode = proc.wait()
        except FileNotFoundError:
            raise ProcessingError(f"ffmpeg not found on PATH: {_INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            raise LimitExceeded(
                f"decoding {self.name} took longer than {self.limits.timeout_s:g} s"
            ) from None
        if returncode != 0:
            raise_if_refused(reader.stderr_tail, self.name)
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


def _chunked(pieces: Iterable[bytes], chunk_bytes: int) -> Iterator[np.ndarray]:
    """Regroups a byte stream into float32 arrays of ``chunk_bytes`` (the last may be shorter)."""
    import numpy as np

    pending = bytearray()
    for data in pieces:
        pending += data
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
    import numpy as np

    stream = AudioStream(path, sample_rate=sample_rate, limits=limits, min_peak_dbfs=min_peak_dbfs)
    pieces = list(stream.chunks())
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Audio(samples=samples, sample_rate=sample_rate, source=stream.info)


def _duration(stream: Mapping[str, Any], fmt: Mapping[str, Any]) -> float:
    """The stream's stated duration, else the container's, else NaN (seconds)."""
    for source in (stream, fmt):
        try:
            duration = float(source["duration"])
        except (KeyError, TypeError, ValueError):
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
