"""Redirects and every connection of a fetch are checked before connecting (issue 10, item 2).

The fetch runs with the production rules (``allow_private=False``): the allowed host
``media.example`` resolves to a public address, and a socket-level NAT routes that one address
(port 80) to a local server. An "internal" server on loopback counts the TCP connections it
accepts; every connection attempt of the process is also recorded, so a refused destination
that nothing listens on (169.254.169.254, 10.0.0.1) is proven not even attempted.
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from yt_dlp.utils import DownloadError

from audioscore.download import ytdlp as fetch
from audioscore.download.urls import FetchPolicy
from audioscore.download.ytdlp import fetch_audio
from audioscore.errors import AudioscoreError, InputError

PUBLIC_V4 = "142.250.185.78"
MEDIA = "media.example"
INTERNAL_NAME = "internal.media.example"  # on the allow-list, but resolves to loopback
POLICY = FetchPolicy(allowed_hosts=(MEDIA, f"*.{MEDIA}"), timeout_s=20)
_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect


class _CountingServer(http.server.ThreadingHTTPServer):
    """An HTTP server that counts the TCP connections it accepts (not just requests)."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.accepted = 0
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[socket.socket, Any]:
        request = super().get_request()
        self.accepted += 1
        return request


class _CountingServer6(_CountingServer):
    address_family = socket.AF_INET6


class _Handler(http.server.SimpleHTTPRequestHandler):
    """``/redirect?code=302&to=URL``, ``/loop``, ``/hls.m3u8?seg=URL&key=METHOD``, ``/page?media=URL``,
    else files from the media folder."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        try:
            if parts.path == "/redirect":
                self.send_response(int(query.get("code", "302")))
                self.send_header("Location", query["to"])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/hls.m3u8":
                lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:3"]
                if "key" in query:
                    lines.append(f'#EXT-X-KEY:METHOD={query["key"]},URI="{query["seg"]}"')
                lines += ["#EXTINF:3.0,", query["seg"], "#EXT-X-ENDLIST", ""]
                self._send(200, "application/vnd.apple.mpegurl", "\n".join(lines))
            elif parts.path == "/page":
                self._send(200, "text/html", f'<html><audio src="{query["media"]}"></audio></html>')
            else:
                super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, content_type: str, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=44100:duration=1", "-c:a", "libmp3lame",
         str(folder / "tone.mp3")],
        check=True,
    )
    return folder


def _serve(server_class: type[_CountingServer], host: str, media_dir: Path) -> Iterator[Any]:
    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(media_dir), **kwargs)

    server = server_class((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def allowed(media_dir: Path) -> Iterator[_CountingServer]:
    """What ``media.example`` (public address, port 80) reaches through the NAT below."""
    yield from _serve(_CountingServer, "127.0.0.1", media_dir)


@pytest.fixture
def internal(media_dir: Path) -> Iterator[_CountingServer]:
    """An internal service on 127.0.0.1 that must never be contacted."""
    yield from _serve(_CountingServer, "127.0.0.1", media_dir)


@pytest.fixture
def internal6(media_dir: Path) -> Iterator[_CountingServer]:
    """The same on ::1, when the machine has IPv6 loopback."""
    try:
        yield from _serve(_CountingServer6, "::1", media_dir)
    except OSError:
        pytest.skip("no IPv6 loopback")


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch, allowed: _CountingServer) -> list[tuple]:
    """Fake DNS and a NAT for the public address; records every connection attempt.

    Attempts to addresses nothing here serves (169.254.169.254, 10/8...) are refused at once
    instead of waiting for a timeout; they are still recorded.
    """
    made: list[tuple] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name == MEDIA:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, port))]
        if name == INTERNAL_NAME:
            return _REAL_GETADDRINFO("127.0.0.1", port, *args, **kwargs)
        if name == "localhost" or all(c in "0123456789abcdefx.:[]" for c in name.lower()):
            # Literals (also 2130706433 and 0177.0.0.1) resolve as libc does, without DNS.
            return _REAL_GETADDRINFO(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test is offline)")

    def connect(sock: socket.socket, address: Any) -> None:
        made.append(tuple(address[:2]))
        if tuple(address[:2]) == (PUBLIC_V4, 80):
            address = allowed.server_address
        elif address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(111, "test network: unreachable")
        return _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return made


def redirect(to: str, code: int = 302) -> str:
    """A URL on the allowed host that answers ``code`` with ``Location: to``."""
    return f"http://{MEDIA}/redirect?" + urllib.parse.urlencode({"code": code, "to": to})


def only_public(made: list[tuple]) -> bool:
    return all(address == (PUBLIC_V4, 80) for address in made)


def test_the_allowed_host_is_reached_through_checked_addresses(
    attempts: list[tuple], tmp_path: Path
) -> None:
    """The harness works: production rules, a public address, and a successful fetch."""
    got = fetch_audio(f"http://{MEDIA}/tone.mp3", tmp_path, POLICY)
    assert got.duration_s == pytest.approx(1.0, abs=0.1)
    assert attempts and only_public(attempts)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/tone.mp3", "host 127.0.0.1 is a loopback address"),
        (f"http://{INTERNAL_NAME}:{{port}}/tone.mp3", "resolves to 127.0.0.1, a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/tone.mp3", "loopback address (it embeds 127.0.0.1)"),
    ],
)
def test_redirect_to_loopback_is_refused_before_connecting(
    attempts: list[tuple],
    internal: _CountingServer,
    tmp_path: Path,
    code: int,
    target: str,
    reason: str,
) -> None:
    url = redirect(target.format(port=internal.server_address[1]), code)
    with pytest.raises(InputError, match="refusing a redirect to") as exc:
        fetch_audio(url, tmp_path, POLICY)
    assert internal.accepted == 0
    assert only_public(attempts)
    assert reason in str(exc.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [302, 307])
def test_redirect_to_ipv6_loopback_is_refused(
    attempts: list[tuple], internal6: _CountingServer, tmp_path: Path, code: int
) -> None:
    url = redirect(f"http://[::1]:{internal6.server_address[1]}/tone.mp3", code)
    with pytest.raises(InputError, match="host ::1 is a loopback address"):
        fetch_audio(url, tmp_path, POLICY)
    assert internal6.accepted == 0
    assert only_public(attempts)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.0.0.1/", "a private address"),
        ("http://[fd00::1]/", "a private address"),
        ("http://0.0.0.0/", "an unspecified address"),
        ("http://2130706433/", "is not a valid host name"),
        ("http://0177.0.0.1/", "is not a valid host name"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ftp://127.0.0.1/x", "scheme 'ftp' is not allowed"),
        ("data:audio/mpeg;base64,AAAA", "scheme 'data' is not allowed"),
        ("http://evil.example/tone.mp3", "host evil.example is not allowed"),
    ],
)
def test_redirect_to_other_refused_targets(
    attempts: list[tuple], tmp_path: Path, target: str, reason: str
) -> None:
    """Refused as the URL's fault (400, not a retryable 503), with nothing attempted."""
    with pytest.raises(InputError, match="refusing a redirect to") as exc:
        fetch_audio(redirect(target), tmp_path, POLICY)
    assert type(exc.value) is InputError
    assert reason in str(exc.value)
    assert only_public(attempts)


def test_redirect_chain_is_checked_at_every_hop(
    attempts: list[tuple], internal: _CountingServer, tmp_path: Path
) -> None:
    last = f"http://127.0.0.1:{internal.server_address[1]}/tone.mp3"
    url = redirect(redirect(redirect(last, 301), 307), 302)
    with pytest.raises(InputError, match="host 127.0.0.1 is a loopback address"):
        fetch_audio(url, tmp_path, POLICY)
    assert internal.accepted == 0
    assert only_public(attempts)


def test_redirect_loop_is_an_input_error(attempts: list[tuple], tmp_path: Path) -> None:
    """A page that redirects to itself is the URL's fault (400), not a retryable outage."""
    with pytest.raises(InputError, match="redirect") as exc:
        fetch_audio(redirect("/loop"), tmp_path, POLICY)
    assert type(exc.value) is InputError
    assert "\n" not in str(exc.value)
    assert only_public(attempts)


def test_media_url_redirecting_to_loopback_is_refused(
    attempts: list[tuple], internal: _CountingServer, tmp_path: Path
) -> None:
    """The page is fine; its media URL (no allow-list there) redirects to an internal host."""
    media = redirect(f"http://127.0.0.1:{internal.server_address[1]}/tone.mp3")
    page = f"http://{MEDIA}/page?" + urllib.parse.urlencode({"media": media})
    with pytest.raises(InputError, match="host 127.0.0.1 is a loopback address"):
        fetch_audio(page, tmp_path, POLICY)
    assert internal.accepted == 0
    assert only_public(attempts)


# --- HLS through yt-dlp's downloaders ------------------------------------------------------
# The format filter keeps HLS away from the downloaders today; these drive the guarded YoutubeDL
# directly with an HLS format, to prove the connection checks hold there too.


def download_format(url: str, protocol: str, policy: FetchPolicy, tmp: Path) -> None:
    """Downloads one format with the guarded ``YoutubeDL``, as ``fetch_audio`` would."""
    page = f"http://{MEDIA}/page"
    guard = fetch._Guard(page, policy, time.monotonic() + 20)
    (tmp / "download").mkdir()
    params = fetch._ydl_params(tmp / "download", policy, guard)
    params["format"] = "best"  # the protocol filter would refuse HLS before any download
    info = {"id": "x", "title": "x", "url": url, "protocol": protocol, "ext": "mp4",
            "webpage_url": page, "extractor": "generic", "extractor_key": "Generic"}
    try:
        with fetch._GuardedYoutubeDL(params, guard) as ydl:
            ydl.process_ie_result(info, download=True)
    except DownloadError as exc:
        raise guard.error or fetch._download_error(exc, page) from None
    except Exception:
        # As _download_guarded: the guard's record is the real error.
        if guard.error is not None:
            raise guard.error from None
        raise
    if guard.error is not None:
        raise guard.error


def hls(segment: str, **extra: str) -> str:
    return f"http://{MEDIA}/hls.m3u8?" + urllib.parse.urlencode({"seg": segment, **extra})


@pytest.mark.parametrize("via", ["direct", "redirect"])
def test_hls_segments_pointing_at_loopback_are_refused(
    attempts: list[tuple], internal: _CountingServer, tmp_path: Path, via: str
) -> None:
    segment = f"http://127.0.0.1:{internal.server_address[1]}/tone.mp3"
    if via == "redirect":
        segment = redirect(segment)
    with pytest.raises(InputError, match="host 127.0.0.1 is a loopback address"):
        download_format(hls(segment), "m3u8_native", POLICY, tmp_path)
    assert internal.accepted == 0
    assert only_public(attempts)


def test_hls_that_needs_ffmpeg_is_refused_and_ffmpeg_gets_no_url(
    allowed: _CountingServer, internal: _CountingServer, tmp_path: Path
) -> None:
    """An encryption method yt-dlp cannot handle natively makes it delegate to ffmpeg, which
    would fetch the manifest and segments itself, unchecked. Even with loopback allowed (so
    that only the ffmpeg hand-off is under test), ffmpeg must never receive the URL."""
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), allow_private=True, timeout_s=20)
    base = f"http://127.0.0.1:{allowed.server_address[1]}"
    segment = f"http://127.0.0.1:{internal.server_address[1]}/tone.mp3"
    manifest = f"{base}/hls.m3u8?" + urllib.parse.urlencode({"seg": segment, "key": "AES-256"})
    with pytest.raises(InputError, match="only be downloaded by ffmpeg"):
        download_format(manifest, "m3u8_native", policy, tmp_path)
    assert internal.accepted == 0


@pytest.mark.parametrize("protocol", ["rtmp", "rtmp_ffmpeg"])
def test_external_downloaders_are_refused(
    attempts: list[tuple], tmp_path: Path, protocol: str
) -> None:
    with pytest.raises(AudioscoreError) as exc:
        download_format(hls("/tone.mp3"), protocol, POLICY, tmp_path)
    assert isinstance(exc.value, InputError)
    assert only_public(attempts)


def test_data_url_media_is_refused(attempts: list[tuple], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="scheme 'data' is not allowed"):
        download_format("data:audio/mpeg;base64,AAAA", "https", POLICY, tmp_path)
    assert attempts == []
