"""Converting downloaded media to FLAC with ffmpeg (what fetch-youtube stores).

The input was already probed (`audioscore.analysis.audio.probe`): ffmpeg reads it with the
demuxer the probe found and no other, and never sees a URL.
"""

from __future__ import annotations

import re
from pathlib import Path

from audioscore.analysis.audio import DEFAULT_SAMPLE_RATE, media_input_options, raise_if_refused
from audioscore.errors import InputError, ProcessingError
from audioscore.infra import tools

__all__ = ["FLAC_SAMPLE_RATE", "convert_to_flac"]

FLAC_SAMPLE_RATE = DEFAULT_SAMPLE_RATE
_LOG_ADDRESS = re.compile(r"\[(\w+) @ 0x[0-9a-f]+\] ")


def convert_to_flac(
    source: Path, container: str, dest: Path, *, title: str, max_duration_s: float, timeout_s: float
) -> None:
    """Converts the first audio stream to 44.1 kHz 16-bit FLAC, keeping the channels.

    ``container`` is the demuxer ``probe`` found: ffmpeg reads the file with it and no other.
    ``-t`` caps the output just past the duration limit, so a container that understates its
    duration still yields a bounded file whose probe then fails the limit.

    Args:
        source: the downloaded file.
        container: the demuxer name ``probe`` reported for it.
        dest: the FLAC to write (must not exist).
        title: the title tag to write.
        max_duration_s: the duration limit, in seconds.
        timeout_s: the longest ffmpeg may run, in seconds.

    Raises:
        InputError: ffmpeg refused or could not convert the file.
        ProcessingError: ffmpeg is not installed.
        subprocess.TimeoutExpired: ffmpeg ran past ``timeout_s``; the caller says whose limit.
    """
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-n",
        "-v",
        "error",
        *media_input_options(container),
        "-i",
        f"file:{source.absolute()}",
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-metadata",
        f"title={title}",
        "-t",
        f"{max_duration_s + 1:g}",
        "-ar",
        str(FLAC_SAMPLE_RATE),
        "-sample_fmt",
        "s16",
        "-c:a",
        "flac",
        "-f",
        "flac",
        f"file:{dest.absolute()}",
    ]
    try:
        status, _, stderr = tools.run(cmd, timeout_s=timeout_s)
    except FileNotFoundError:
        raise ProcessingError("ffmpeg not found on PATH: install ffmpeg") from None
    if status != 0:
        raise_if_refused(stderr, repr(source.name))
        log = stderr.decode("utf-8", errors="replace")
        lines = [line.strip() for line in log.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"ffmpeg exit status {status}"
        reason = _LOG_ADDRESS.sub(r"[\1] ", reason.replace(f"file:{source.absolute()}", ""))
        raise InputError(f"cannot convert {source.name!r} to FLAC: {reason.strip(': ')}")
