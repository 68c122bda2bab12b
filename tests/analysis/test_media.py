"""Hostile media: containers that name other files or URLs, durations a container hides, and
tools left running after a timeout, a signal or a server's exit.

Inputs are generated here with ffmpeg; fake ``ffmpeg`` scripts on PATH stand in for a decode
that never ends, and report their own pid and their child's so the test can check both died.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from audioscore.analysis.audio import AudioInfo, AudioStream, Limits, load_audio, probe
from audioscore.cli import main
from audioscore.download import ytdlp as fetch
from audioscore.download.urls import FetchPolicy
from audioscore.download.ytdlp import fetch_audio
from audioscore.errors import InputError, LimitExceeded

ROOT = Path(__file__).resolve().parents[2]


def ffmpeg(*args: str, stdout: Path | None = None) -> None:
    """Runs ffmpeg quietly; ``stdout``: write its output there through a pipe (no seeking)."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", *args]
    if stdout is None:
        subprocess.run(cmd, check=True)
    else:
        with stdout.open("wb") as out:
            subprocess.run([*cmd, "-"], stdout=out, check=True)


def tone(duration_s: float = 2.0) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={duration_s}"]


# --- containers that point at other files -------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    contacted: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.contacted.append(self.path)
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that records every request: (base URL, paths requested)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.contacted
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A worker's local media file that no upload may read."""
    path = tmp_path_factory.mktemp("worker") / "secret.mp3"
    ffmpeg(*tone(3), str(path))
    return path


def playlist(kind: str, secret: Path, base_url: str) -> tuple[str, str]:
    """The text of a playlist of ``kind`` and the demuxer that reads it."""
    if kind == "hls-file":
        return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{secret}\n#EXT-X-ENDLIST\n", "hls"
    if kind == "hls-url":
        return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{base_url}/seg.mp3\n#EXT-X-ENDLIST\n", "hls"
    if kind == "hls-live":  # no end marker: the demuxer would wait for more segments
        return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\n{secret}\n", "hls"
    if kind == "concat-file":  # a relative name in the same folder: "safe" for the concat demuxer
        return f"ffconcat version 1.0\nfile {secret.name}\n", "concat"
    return f"ffconcat version 1.0\nfile {base_url}/part.mp3\n", "concat"


KINDS = ["hls-file", "hls-url", "hls-live", "concat-file", "concat-url"]


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".flac"])
@pytest.mark.parametrize("kind", KINDS)
def test_playlists_are_refused_whatever_their_name(
        kind: str, suffix: str, secret: Path, loopback: tuple[str, list[str]]) -> None:
    base_url, contacted = loopback
    text, demuxer = playlist(kind, secret, base_url)
    evil = secret.parent / f"evil-{kind}{suffix}"
    evil.write_text(text)
    for attempt in (lambda: probe(evil), lambda: AudioStream(evil), lambda: load_audio(evil)):
        with pytest.raises(InputError, match=f"^'{evil.name}': unsupported container: {demuxer}$"):
            attempt()
    assert contacted == []


def test_decoding_without_a_probe_refuses_playlists_too(secret: Path) -> None:
    # A description made before containers were recorded ("" container): ffmpeg's own check.
    evil = secret.parent / "unprobed.wav"
    evil.write_text(playlist("hls-file", secret, "")[0])
    info = AudioInfo(duration_s=3.0, sample_rate=44100, channels=1, codec="mp3", size_bytes=100)
    stream = AudioStream(evil, info=info)
    with pytest.raises(InputError, match="^'unprobed.wav': unsupported container: hls$"):
        list(stream.chunks())


def test_cli_refuses_a_playlist_in_one_line(secret: Path, tmp_path: Path, capsys) -> None:
    evil = secret.parent / "evil.mp3"
    evil.write_text(playlist("hls-file", secret, "")[0])
    assert main(["extract", str(evil), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == "audioscore: error: 'evil.mp3': unsupported container: hls\n"
    assert not (tmp_path / "out" / "features.json").exists()


def test_fetch_refuses_a_download_that_is_a_playlist(
        secret: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """yt-dlp's download replaced by a playlist: probe and conversion both refuse it."""
    text = playlist("hls-file", secret, "")[0]

    def download(page_url, tmp, policy, guard):
        path = tmp / "download.mp3"
        path.write_text(text)
        return {"id": "evil", "title": "evil"}, path

    monkeypatch.setattr(fetch, "_download_guarded", download)
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), allow_private=True)
    with pytest.raises(InputError, match="'evil.mp3': unsupported container: hls"):
        fetch_audio("http://127.0.0.1:9/evil.mp3", tmp_path / "out", policy)
    assert not list((tmp_path / "out").glob("*.flac"))

    # The conversion on its own, given no container: ffmpeg's whitelist refuses it.
    evil = tmp_path / "evil.mp3"
    evil.write_text(text)
    with pytest.raises(InputError, match="'evil.mp3': unsupported container: hls"):
        fetch._convert_to_flac(evil, "", tmp_path / "x.flac", "t", policy, time.monotonic() + 60)
    assert not (tmp_path / "x.flac").exists()


@pytest.mark.parametrize(("name", "args", "container"), [
    ("a.wav", (), "wav"),
    ("a.flac", (), "flac"),
    ("a.mp3", (), "mp3"),
    ("a.ogg", ("-c:a", "libvorbis"), "ogg"),
    ("a.opus", ("-c:a", "libopus"), "ogg"),
    ("a.m4a", ("-c:a", "aac"), "mov"),
    ("a.webm", ("-c:a", "libopus"), "matroska"),
    ("a.mkv", ("-c:a", "flac"), "matroska"),
    ("a.aac", ("-c:a", "aac"), "aac"),
    ("a.aiff", (), "aiff"),
    ("a.wma", ("-c:a", "wmav2"), "asf"),
    ("a.ts", ("-c:a", "mp2"), "mpegts"),
    ("a.wv", (), "wv"),
])
def test_genuine_audio_still_decodes(tmp_path: Path, name: str, args: tuple[str, ...], container: str) -> None:
    path = tmp_path / name
    ffmpeg(*tone(1), *args, str(path))
    assert probe(path).container == container
    assert load_audio(path).duration_s == pytest.approx(1.0, abs=0.1)


def test_genuine_video_still_decodes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", *tone(1),
           "-c:v", "mpeg4", "-c:a", "aac", "-shortest", str(path))
    assert probe(path).container == "mov"
    assert load_audio(path).duration_s == pytest.approx(1.0, abs=0.1)


# --- durations the container hides ---------------------------------------------------------


@pytest.mark.parametrize(("name", "args"), [
    ("piped.mkv", ("-c:a", "flac", "-f", "matroska")),
    ("piped.webm", ("-c:a", "libopus", "-f", "webm")),
    ("piped.flac", ("-f", "flac")),
])
def test_hidden_duration_is_measured(tmp_path: Path, name: str, args: tuple[str, ...]) -> None:
    path = tmp_path / name
    ffmpeg(*tone(20), *args, stdout=path)
    assert probe(path).duration_s == pytest.approx(20.0, abs=0.1)
    with pytest.raises(LimitExceeded, match=f"^'{name}' lasts more than the 5 s limit$"):
        probe(path, Limits(max_duration_s=5))


# --- process groups killed on timeout, signal, close and exit ------------------------------

FAKE_FFMPEG = """#!/bin/sh
# Stands in for a decode that never ends: a child in the same group, then waits (or streams).
sleep 300 &
echo $$ $! > "$FAKE_FFMPEG_PIDS"
{tail}
"""


def fake_ffmpeg(folder: Path, tail: str = "wait") -> Path:
    """A folder holding an ``ffmpeg`` script; ffprobe is still the real one."""
    folder.mkdir(exist_ok=True)
    script = folder / "ffmpeg"
    script.write_text(FAKE_FFMPEG.format(tail=tail))
    script.chmod(0o755)
    return folder


def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tail: str = "wait") -> Path:
    pids = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{fake_ffmpeg(tmp_path / 'bin', tail)}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_FFMPEG_PIDS", str(pids))
    return pids


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def assert_all_gone(pids_file: Path) -> None:
    pids = [int(p) for p in pids_file.read_text().split()]
    deadline = time.monotonic() + 3
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in pids if running(p)] == []


def wait_for(path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "in.wav"
    ffmpeg(*tone(2), str(path))
    return path


@pytest.mark.parametrize(("signum", "code", "message"), [
    (signal.SIGTERM, 143, "audioscore: terminated\n"),
    (signal.SIGINT, 130, "audioscore: interrupted\n"),
])
def test_cli_signal_kills_the_decoder_group(
        wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int, message: str) -> None:
    pids = fake_env(monkeypatch, tmp_path)
    cli = subprocess.Popen(
        [sys.executable, "-c", "import sys; from audioscore.cli import main; sys.exit(main())",
         "extract", str(wav), "-o", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # As from a terminal: a shell's background job (CI under nohup, `&`) ignores SIGINT, and so would its child.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(pids)
        cli.send_signal(signum)
        _, err = cli.communicate(timeout=10)
    finally:
        cli.kill()
    assert (cli.returncode, err) == (code, message)
    assert_all_gone(pids)


class _Stopped(BaseException):
    """What the CLI's SIGTERM handler raises (as KeyboardInterrupt does for SIGINT)."""


def test_a_signal_while_the_decoder_starts_kills_its_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CI machine, loaded, once ran the fake decoder (and its child) before Popen returned:
    # SIGTERM's handler raised there, before the decoder was known, and both survived.
    from audioscore.infra import tools

    pids = fake_env(monkeypatch, tmp_path)
    real_popen = subprocess.Popen

    def popen_then_signalled(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        proc = real_popen(*args, **kwargs)
        wait_for(pids)
        os.kill(os.getpid(), signal.SIGTERM)
        return proc

    def stop(signum: int, frame: object) -> None:
        raise _Stopped

    monkeypatch.setattr(tools.subprocess, "Popen", popen_then_signalled)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(_Stopped), tools.started(["ffmpeg"]):
            pytest.fail("the held signal is delivered before the block runs")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert_all_gone(pids)


def test_cli_timeout_kills_the_decoder_group(
        wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    pids = fake_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AUDIOSCORE_DECODE_TIMEOUT_S", "1")
    began = time.monotonic()
    assert main(["extract", str(wav), "-o", str(tmp_path / "out")]) == 2
    assert time.monotonic() - began < 10
    assert capsys.readouterr().err == "audioscore: error: decoding 'in.wav' took longer than 1 s\n"
    assert_all_gone(pids)


def test_closing_a_stream_kills_the_decoder_group(
        wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = probe(wav)
    pids = fake_env(monkeypatch, tmp_path, tail="exec cat /dev/zero")
    chunks = AudioStream(wav, info=info, min_peak_dbfs=None).chunks()
    assert next(chunks).size > 0
    chunks.close()
    assert_all_gone(pids)


HANDLER = """
from audioscore.analysis.audio import load_audio

def handle(event, context):
    load_audio(event.body.decode())
    return {"statusCode": 200, "body": "decoded"}
"""


def test_function_server_exit_kills_running_decoders(
        wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's server, as of-watchdog runs it, gets SIGTERM while a request decodes."""
    pids = fake_env(monkeypatch, tmp_path)
    function = tmp_path / "function"
    function.mkdir()
    (function / "__init__.py").write_text("")
    (function / "handler.py").write_text(HANDLER)
    port = free_port()
    monkeypatch.setenv("FUNCTION_PORT", str(port))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT / "template" / "audioscore-python"), str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    server = subprocess.Popen([sys.executable, "-c", "import index; index.main()"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        request = threading.Thread(target=post_until_served, args=(port, str(wav)), daemon=True)
        request.start()
        wait_for(pids)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()
    assert_all_gone(pids)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_until_served(port: int, body: str) -> None:
    """POSTs once the server listens; the answer does not matter (the server is stopped)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", data=body.encode(), timeout=60)
            return
        except OSError as error:
            if "refused" not in str(error):
                return
            time.sleep(0.1)
