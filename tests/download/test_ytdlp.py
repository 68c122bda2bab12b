"""Tests for audioscore.download (urls, ytdlp): URL validation offline, downloads from a local HTTP server only.

Name resolution is stubbed for every test: loopback names resolve for real, anything else
fails (or gets an address the test chooses), so no test can reach the internet.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audioscore.download.urls import (
    DEFAULT_ALLOWED_HOSTS,
    MAX_URL_LENGTH,
    FetchPolicy,
    validate_url,
    youtube_video_id,
)
from audioscore.download.ytdlp import FetchedAudio, fetch_audio
from audioscore.errors import InputError, LimitExceeded, TransientError
from audioscore.infra.config import fetch_policy

TONE_S = 3.0
PUBLIC_V4 = "142.250.185.78"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_REAL_GETADDRINFO = socket.getaddrinfo

Resolver = Callable[..., list[tuple]]


def fake_resolver(*addresses: str) -> Resolver:
    """A ``getaddrinfo`` stand-in answering every name with the given addresses."""

    def getaddrinfo(host: str, port: int | str | None, *args: object, **kwargs: object):
        infos = []
        for address in addresses:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos

    return getaddrinfo


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback names resolve, and no proxy is used: nothing leaves the machine."""

    def getaddrinfo(host: object, *args: object, **kwargs: object):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in LOOPBACK_NAMES:
            return _REAL_GETADDRINFO(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test is offline)")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


# --- validate_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ftp://youtube.com/x", "scheme 'ftp' is not allowed"),
        ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
        ("data:text/html,hi", "scheme 'data' is not allowed"),
        ("youtube.com/watch?v=x", "URL has no scheme"),
        ("//www.youtube.com/watch?v=x", "URL has no scheme"),
        ("http://127.0.0.1/x", "host 127.0.0.1 is a loopback address"),
        ("http://localhost/", "host localhost is not allowed"),
        ("http://169.254.169.254/latest/meta-data", "host 169.254.169.254 is a link-local address"),
        ("http://10.1.2.3/", "host 10.1.2.3 is a private address"),
        ("http://0.0.0.0/", "host 0.0.0.0 is an unspecified address"),
        ("http://[::1]/", "host ::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "loopback address (it embeds 127.0.0.1)"),
        ("http://8.8.8.8/", "host 8.8.8.8 is an IP address"),
        ("http://127.1/", "is not a valid host name"),
        ("http://2130706433/", "is not a valid host name"),
        ("http://user:pass@youtube.com/", "must not contain credentials"),
        ("https://www.youtube.com\\@evil.example/", "must not contain credentials"),
        ("https://evil.example/watch?v=x", "host evil.example is not allowed"),
        ("https://youtube.com.evil.example/", "host youtube.com.evil.example is not allowed"),
        ("https://evilyoutube.com/", "host evilyoutube.com is not allowed"),
        ("https://gaming.youtube.com/", "host gaming.youtube.com is not allowed"),
        ("https://www.youtube.com:8443/watch?v=x", "port 8443 is not allowed"),
        ("https://www.youtube.com/watch?v=a b", "whitespace or control characters"),
        ("https://www.youtube.com/watch?v=" + "a" * MAX_URL_LENGTH, "above the 2048 limit"),
        ("https:///watch?v=x", "URL has no host"),
        ("", "URL is empty"),
    ],
)
def test_validate_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(InputError) as exc:
        validate_url(url, FetchPolicy())
    message = str(exc.value)
    assert reason in message
    assert "\n" not in message
    assert not isinstance(exc.value, LimitExceeded)


def test_validate_url_accepts_youtube_and_normalises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(PUBLIC_V4, "2a00:1450:4001::200e"))

    assert validate_url("https://www.youtube.com/watch?v=abc") == (
        "https://www.youtube.com/watch?v=abc"
    )
    assert validate_url("  HTTPS://WWW.YouTube.COM.:443/watch?v=abc#t=5 ") == (
        "https://www.youtube.com/watch?v=abc"
    )
    assert validate_url("https://youtu.be/abc") == "https://youtu.be/abc"
    assert validate_url("http://music.youtube.com") == "http://music.youtube.com/"


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (("10.0.0.5",), "resolves to 10.0.0.5, a private address"),
        (("127.0.0.1",), "resolves to 127.0.0.1, a loopback address"),
        (("169.254.169.254",), "resolves to 169.254.169.254, a link-local address"),
        (("::ffff:169.254.169.254",), "link-local address (it embeds 169.254.169.254)"),
        (("fd00::1",), "resolves to fd00::1, a private address"),
        (("224.0.0.1",), "a multicast address"),
        (("100.64.0.1",), "a non-public address"),
        # One bad address is enough: the client may connect to any of them.
        ((PUBLIC_V4, "192.168.1.1"), "resolves to 192.168.1.1, a private address"),
    ],
)
def test_validate_url_refuses_hosts_resolving_to_non_public(
    monkeypatch: pytest.MonkeyPatch, addresses: tuple[str, ...], reason: str
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(*addresses))
    with pytest.raises(InputError, match="host www.youtube.com") as exc:
        validate_url("https://www.youtube.com/watch?v=abc")
    assert reason in str(exc.value)


def test_validate_url_allows_private_only_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver("10.0.0.5"))
    policy = FetchPolicy(allowed_hosts=("media.internal",), allow_private=True)
    assert validate_url("http://media.internal:8080/a.mp3", policy) == (
        "http://media.internal:8080/a.mp3"
    )
    with pytest.raises(InputError, match="private address"):
        validate_url("http://media.internal/a.mp3", FetchPolicy(allowed_hosts=("media.internal",)))


def test_validate_url_ip_literals_need_listing_and_allow_private() -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1", "[::1]"), allow_private=True)
    assert validate_url("http://127.0.0.1:8000/x", policy) == "http://127.0.0.1:8000/x"
    assert validate_url("http://[::1]/x", policy) == "http://[::1]/x"
    with pytest.raises(InputError, match="host 10.0.0.1 is not allowed"):
        validate_url("http://10.0.0.1/x", policy)
    with pytest.raises(InputError, match="host 127.0.0.1 is a loopback address"):
        validate_url("http://127.0.0.1/x", FetchPolicy(allowed_hosts=("127.0.0.1",)))


def test_validate_url_subdomain_rules_are_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(PUBLIC_V4))
    policy = FetchPolicy(allowed_hosts=("*.example.com",))
    assert validate_url("https://a.b.example.com/v", policy) == "https://a.b.example.com/v"
    for host in ("example.com", "badexample.com", "example.com.evil.example"):
        with pytest.raises(InputError, match=f"host {host} is not allowed"):
            validate_url(f"https://{host}/v", policy)


def test_validate_url_compares_punycode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(PUBLIC_V4))
    policy = FetchPolicy(allowed_hosts=("Bücher.Example",))
    assert policy.allowed_hosts == ("xn--bcher-kva.example",)
    assert validate_url("https://BÜCHER.example/x", policy) == "https://xn--bcher-kva.example/x"
    # A Cyrillic "о" makes a different host, whatever it looks like.
    with pytest.raises(InputError, match=r"host www\.xn--\S+ is not allowed"):
        validate_url("https://www.yоutube.com/watch?v=abc")


def test_validate_url_unresolvable_host_is_an_input_error() -> None:
    with pytest.raises(InputError, match="host www.youtube.com does not resolve"):
        validate_url("https://www.youtube.com/watch?v=abc")


@pytest.mark.parametrize(("query", "expected"), [
    ("x=1;v=BBBBBBBBBBB&v=AAAAAAAAAAA", None),  # yt-dlp splits at ";" too: it reads B
    ("%76=BBBBBBBBBBB&v=AAAAAAAAAAA", None),  # a name decoded to "v": yt-dlp reads A
    ("v=AAAAAAAAAAA%0A", None),  # a newline decoded after the id
    ("v=AAAAAAAAAAA&v=BBBBBBBBBBB", None),
    ("x=1;v=BBBBBBBBBBB", "BBBBBBBBBBB"),
    ("x=v=BBBBBBBBBBB&v=AAAAAAAAAAA", "AAAAAAAAAAA"),
])
def test_youtube_video_id_is_the_one_yt_dlp_downloads_or_none(query: str, expected: str | None) -> None:
    """The id decides which stored video answers a fetch at once: it must never name another
    video than the one yt-dlp would download (None: no shortcut, yt-dlp's id names the object)."""
    from yt_dlp.extractor.youtube import YoutubeIE

    url = f"https://www.youtube.com/watch?{query}"
    assert youtube_video_id(url) == expected
    assert expected in (None, YoutubeIE._match_id(url))


# --- FetchPolicy -------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = FetchPolicy()
    assert policy.allowed_hosts == DEFAULT_ALLOWED_HOSTS
    assert not policy.allow_private
    assert policy.max_duration_s == 3 * 3600
    assert policy.max_bytes == 500_000_000


def test_policy_from_env() -> None:
    policy = fetch_policy(
        {
            "FETCH_ALLOWED_HOSTS": " Example.com , *.Media.Example ,127.0.0.1,",
            "FETCH_ALLOW_PRIVATE": "True",
            "FETCH_MAX_DURATION_S": "60.5",
            "FETCH_MAX_BYTES": "1000",
            "FETCH_TIMEOUT_S": "9",
        }
    )
    assert policy.allowed_hosts == ("example.com", "*.media.example", "127.0.0.1")
    assert policy.allow_private
    assert (policy.max_duration_s, policy.max_bytes, policy.timeout_s) == (60.5, 1000, 9.0)
    assert fetch_policy({"FETCH_ALLOWED_HOSTS": " ", "FETCH_TIMEOUT_S": ""}) == (
        FetchPolicy()
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FETCH_ALLOWED_HOSTS", "youtube.com,http://x"),
        ("FETCH_ALLOWED_HOSTS", "*.*.example"),
        ("FETCH_ALLOW_PRIVATE", "maybe"),
        ("FETCH_MAX_DURATION_S", "-1"),
        ("FETCH_MAX_DURATION_S", "nan"),
        ("FETCH_MAX_BYTES", "1.5"),
        ("FETCH_MAX_BYTES", "0"),
        ("FETCH_TIMEOUT_S", "soon"),
    ],
)
def test_policy_from_env_names_the_bad_variable(name: str, value: str) -> None:
    from audioscore.errors import ConfigError

    with pytest.raises(ConfigError, match=name):
        fetch_policy({name: value})


# --- fetch_audio, against a local server -------------------------------------------------


# Pages yt-dlp's generic extractor understands: JSON-LD metadata, and several media elements.
PAGES = {
    "/long": (
        '<html><head><title>Page</title><script type="application/ld+json">'
        '{{"@context": "https://schema.org", "@type": "VideoObject", "name": "Long tone",'
        ' "duration": "PT1H", "contentUrl": "{base}/tone.mp3"}}</script></head></html>'
    ),
    "/two": '<html><body><audio src="/tone.mp3"></audio><audio src="/notes.txt"></audio></html>',
    # A title JSON escapes into half a surrogate pair, which no UTF-8 text (a tag, a record) holds.
    "/half-pair": (
        '<html><head><script type="application/ld+json">'
        '{{"@context": "https://schema.org", "@type": "VideoObject", "name": "Half \\ud800 pair\\uffff",'
        ' "contentUrl": "{base}/tone.mp3"}}</script></head></html>'
    ),
}


class _MediaHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the media folder, plus a redirect off the allow-list, a stream of unknown
    length and a trickle that never finishes in time."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        try:
            if self.path == "/redirect-away":
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{port}/tone.mp3")
                self.end_headers()
            elif self.path == "/stream/tone.mp3":
                # No Content-Length: the size is only known while downloading.
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.end_headers()
                self.wfile.write((Path(self.directory) / "tone.mp3").read_bytes())
                self.close_connection = True
            elif self.path in PAGES:
                body = PAGES[self.path].format(base=f"http://127.0.0.1:{port}").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/slow.mp3":
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b"\0" * 64)
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=44100:duration={TONE_S}",
            "-ac",
            "2",
            "-c:a",
            "libmp3lame",
            str(folder / "tone.mp3"),
        ],
        check=True,
    )
    (folder / "notes.txt").write_text("not audio\n" * 50)
    return folder


@pytest.fixture(scope="module")
def server(media_dir: Path) -> Iterator[str]:
    """The base URL of a media server on 127.0.0.1, on a free port."""

    def handler(*args: object, **kwargs: object) -> _MediaHandler:
        return _MediaHandler(*args, directory=str(media_dir), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def local_policy(**overrides: object) -> FetchPolicy:
    return FetchPolicy(allowed_hosts=("127.0.0.1",), allow_private=True, **overrides)


def ffprobe(path: Path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
        + [str(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_fetch_audio_converts_to_flac(server: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    got = fetch_audio(f"{server}/tone.mp3", out, local_policy())

    assert isinstance(got, FetchedAudio)
    assert got.path == out / "tone.flac"
    assert got.title == "tone"
    assert got.video_id == "tone"
    assert got.extractor == "generic"
    assert got.source_url == f"{server}/tone.mp3"
    assert got.duration_s == pytest.approx(TONE_S, abs=0.1)
    stream = ffprobe(got.path)["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("flac", "44100", 2)
    # The temporary folder and the intermediate file are gone.
    assert list(out.iterdir()) == [got.path]


def test_fetch_audio_uses_given_title(server: str, tmp_path: Path) -> None:
    got = fetch_audio(f"{server}/tone.mp3", tmp_path, local_policy(), title=" My\nSong\t")
    assert got.title == "My Song"
    tags = {key.lower(): value for key, value in ffprobe(got.path)["format"]["tags"].items()}
    assert tags["title"] == "My Song"


def test_fetch_audio_duration_limit(server: str, tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded, match="above the 1 s limit"):
        fetch_audio(f"{server}/tone.mp3", tmp_path, local_policy(max_duration_s=1))
    assert list(tmp_path.iterdir()) == []


def test_fetch_audio_duration_limit_from_metadata(server: str, tmp_path: Path) -> None:
    """A stated duration is refused before the media is downloaded; else the title is used."""
    with pytest.raises(LimitExceeded, match="the video lasts 3600 s, above the 60 s limit"):
        fetch_audio(f"{server}/long", tmp_path, local_policy(max_duration_s=60))
    assert list(tmp_path.iterdir()) == []
    got = fetch_audio(f"{server}/long", tmp_path, local_policy())
    assert (got.title, got.video_id, got.source_url) == ("Long tone", "long", f"{server}/long")


def test_a_title_with_half_a_surrogate_pair_is_stored_without_it(server: str, tmp_path: Path) -> None:
    got = fetch_audio(f"{server}/half-pair", tmp_path, local_policy())
    assert got.title == "Half pair"
    got.title.encode("utf-8")  # what the record and the FLAC tag need
    tags = {key.lower(): value for key, value in ffprobe(got.path)["format"]["tags"].items()}
    assert tags["title"] == "Half pair"


def test_fetch_audio_refuses_playlists(server: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a playlist"):
        fetch_audio(f"{server}/two", tmp_path, local_policy())


@pytest.mark.parametrize("path", ["/tone.mp3", "/stream/tone.mp3"])
def test_fetch_audio_byte_limit(server: str, tmp_path: Path, path: str) -> None:
    with pytest.raises(LimitExceeded, match="1000 byte limit"):
        fetch_audio(f"{server}{path}", tmp_path, local_policy(max_bytes=1000))
    assert list(tmp_path.iterdir()) == []


def test_fetch_audio_404_is_an_input_error(server: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="404") as exc:
        fetch_audio(f"{server}/missing.mp3", tmp_path, local_policy())
    assert type(exc.value) is InputError
    assert "\n" not in str(exc.value)


def test_fetch_audio_refuses_redirect_off_the_allow_list(server: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="host localhost is not allowed"):
        fetch_audio(f"{server}/redirect-away", tmp_path, local_policy())
    assert list(tmp_path.iterdir()) == []


def test_fetch_audio_not_audio_is_an_input_error(server: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        fetch_audio(f"{server}/notes.txt", tmp_path, local_policy())
    assert type(exc.value) is InputError


def test_fetch_audio_timeout(server: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="longer than the 1 s limit"):
        fetch_audio(f"{server}/slow.mp3", tmp_path, local_policy(timeout_s=1))
    assert time.monotonic() - started < 3


def test_fetch_audio_connection_refused_is_transient(tmp_path: Path) -> None:
    """Network trouble is a 503: the queue may retry; it is not the URL's fault."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    with pytest.raises(TransientError, match="cannot download"):
        fetch_audio(f"http://127.0.0.1:{port}/tone.mp3", tmp_path, local_policy(timeout_s=10))


def test_fetch_audio_rechecks_every_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DNS rebinding: public when validated, loopback when yt-dlp connects; refused first."""
    answers = iter([fake_resolver(PUBLIC_V4), fake_resolver("127.0.0.1")])
    calls: list[str] = []

    def getaddrinfo(host: str, *args: object, **kwargs: object):
        calls.append(host)
        resolver = next(answers, fake_resolver("127.0.0.1"))
        return resolver(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    policy = FetchPolicy(allowed_hosts=("media.example",))
    with pytest.raises(InputError, match="media.example resolves to 127.0.0.1, a loopback"):
        fetch_audio("http://media.example/tone.mp3", tmp_path, policy)
    # Validation, then the guard before yt-dlp's first request: never a connection.
    assert calls == ["media.example", "media.example"]


def test_fetch_audio_does_not_write_the_cookies_file(server: str, tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    before = cookies.read_bytes()
    fetch_audio(f"{server}/tone.mp3", tmp_path / "out", local_policy(cookies_file=cookies))
    assert cookies.read_bytes() == before


def test_fetch_audio_validates_before_anything(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="scheme 'file' is not allowed"):
        fetch_audio("file:///etc/passwd", tmp_path / "out")
    assert not (tmp_path / "out").exists()
