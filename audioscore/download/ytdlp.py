"""Download the audio of one online video (YouTube by default) to FLAC, without becoming an SSRF.

The URL is untrusted. ``validate_url`` (`audioscore.download.urls`, the URL policy) accepts only
http(s) URLs without credentials whose host is on an allow-list and resolves to public
addresses. ``fetch_audio`` then lets yt-dlp extract
and download the audio, but through a guarded ``YoutubeDL`` that re-checks every request it
makes (and every redirect's final URL) against the same address rules, refuses a page that ends
up off the allow-list, bounds size, duration and wall-clock time, and finally converts the
download to FLAC with ffmpeg (`audioscore.analysis.convert`, local files only) and checks it
with ffprobe.

Every connection yt-dlp opens goes through ``_GuardedRH``, the only request handler the guarded
``YoutubeDL`` has: it resolves the host once, refuses the connection if any address is
non-public (or the port is not 80/443), and connects to exactly the addresses it checked, so a
DNS record that changes between check and connect (rebinding) cannot reach an internal address.
Redirects are checked hop by hop (scheme, allow-list for the page, address) before the next
connection is made. yt-dlp is kept on its native downloaders and cannot find ffmpeg, so ffmpeg
never receives a URL. Proxies are not used: a proxy would resolve and connect outside these
checks. A network policy denying egress to private ranges and the metadata address remains the
complete defence; this module is the layer that gives clear errors.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import os
import re
import shutil
import socket
import string
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yt_dlp
from yt_dlp.downloader import get_suitable_downloader
from yt_dlp.downloader.dash import DashSegmentsFD
from yt_dlp.downloader.hls import HlsFD
from yt_dlp.downloader.http import HttpFD
from yt_dlp.networking import RequestDirector, _urllib
from yt_dlp.networking._urllib import UrllibRH
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import (
    DownloadError,
    ExtractorError,
    UnsupportedError,
    extract_basic_auth,
    sanitize_url,
)
from yt_dlp.utils.networking import normalize_url

from audioscore.analysis.audio import Limits, probe
from audioscore.analysis.convert import convert_to_flac
from audioscore.download.urls import (
    _SCHEMES,
    FetchPolicy,
    _AddrInfo,
    _check_destination,
    _connectable,
    _host_allowed,
    _non_public_kind,
    _parse_url,
    validate_url,
)
from audioscore.errors import (
    AudioscoreError,
    InputError,
    LimitExceeded,
    ProcessingError,
    TransientError,
)
from audioscore.plain_text import UNWRITABLE, one_line

__all__ = ["FetchedAudio", "fetch_audio"]


_LOG = logging.getLogger(__name__)

# Requests yt-dlp makes on its own (media URLs are long signed URLs) get a looser length bound.
_MAX_INTERNAL_URL_LENGTH = 65536

# "^=http" keeps http, https and http_dash_segments, which yt-dlp downloads itself (through the
# guarded urlopen); HLS and others may be handed to ffmpeg, which would fetch unchecked URLs.
_FORMAT = "bestaudio[protocol^=http]/best[protocol^=http]"
_DOWNLOAD_TEMPLATE = "download.%(ext)s"
_RETRIES = 3
_LIVE_STATUSES = frozenset({"is_live", "is_upcoming"})
_MAX_ID_LENGTH = 64
_MAX_TITLE_LENGTH = 200
_MAX_REASON_LENGTH = 300
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")
_SAFE_EXT = re.compile(r"[A-Za-z0-9]{1,10}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# yt-dlp's messages: "ERROR: [generic] abc: Unable to ... (caused by <HTTPError 404: ...>)".
_REASON_PREFIXES = re.compile(r"^(?:ERROR:\s*)?(?:\[[\w:.-]+\]\s*)?(?:[\w.-]+:\s+)?")
_REASON_SUFFIXES = re.compile(r"\s*(?:\(caused by .*|;\s*please report this issue.*)$", re.DOTALL)
# Statuses that say nothing about the URL itself: retrying later can succeed.
_TRANSIENT_HTTP_STATUSES = frozenset({408, 429})
# yt-dlp reports YouTube's bot check as an "expected" error, but it is the server's IP or
# missing cookies that is refused, not the URL.
_BOT_CHECK = "not a bot"
# yt-dlp's words when a downloader falls back to ffmpeg (e.g. HLS it cannot decrypt natively).
_NEEDS_FFMPEG = re.compile(r"ffmpeg (?:could not be found|is not installed)", re.IGNORECASE)

# yt-dlp's own downloaders, which fetch through YoutubeDL.urlopen; external ones run programs.
_NATIVE_DOWNLOADERS = (HttpFD, HlsFD, DashSegmentsFD)
# Attribute on a urllib request: the URL its redirect chain started from.
_ORIGIN = "_audioscore_origin"

_T = TypeVar("_T")


@dataclass(frozen=True)
class FetchedAudio:
    """A downloaded and converted audio file.

    Attributes:
        path: the FLAC file (44.1 kHz, 16-bit, the source's channels), in the output folder.
        title: the caller's title if given, else the video's; one line, at most 200 chars.
        video_id: the extractor's id for the video (e.g. YouTube's 11-character id).
        source_url: the page the audio came from, after redirects.
        duration_s: the FLAC's duration, in seconds.
        extractor: the yt-dlp extractor used, e.g. ``"youtube"`` or ``"generic"``.
    """

    path: Path
    title: str
    video_id: str
    source_url: str
    duration_s: float
    extractor: str


def fetch_audio(
    url: str,
    out_dir: str | os.PathLike[str],
    policy: FetchPolicy | None = None,
    *,
    title: str | None = None,
) -> FetchedAudio:
    """Downloads a video's audio with yt-dlp and converts it to FLAC in ``out_dir``.

    yt-dlp runs in a worker thread so that ``policy.timeout_s`` bounds the call even when a
    server stalls; on timeout the worker is told to stop and gives up at its next request or
    progress tick (at most ``socket_timeout_s`` later).

    Args:
        url: the video page's URL; checked with ``validate_url`` first.
        out_dir: the folder for the FLAC file (created if missing); a private temporary folder
            inside it holds the intermediate files, and is removed.
        policy: the allow-list and limits; ``FetchPolicy()`` when None.
        title: the title to report and tag the FLAC with; the video's own title when None.

    Returns:
        The FLAC file and what is known about it.

    Raises:
        InputError: the URL is refused (see ``validate_url``), it or a redirect leaves the
            allow-list or reaches a non-public address, it is a playlist or live stream, the
            video is unavailable (HTTP 4xx, unsupported URL, removed, private), or the
            download is not audio ffmpeg can read.
        LimitExceeded: the download is larger than ``max_bytes``, the audio longer than
            ``max_duration_s``, or the whole fetch takes longer than ``timeout_s``.
        ProcessingError: a network error, an HTTP 5xx, an unexpected yt-dlp failure, or
            ffmpeg/ffprobe missing.
    """
    policy = FetchPolicy() if policy is None else policy
    page_url = validate_url(url, policy)
    deadline = time.monotonic() + policy.timeout_s
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProcessingError(f"cannot create output folder: {exc.strerror}") from None
    # ignore_cleanup_errors: a worker abandoned on timeout may still be writing in here.
    with tempfile.TemporaryDirectory(
        prefix=".fetch-", dir=out_dir, ignore_cleanup_errors=True
    ) as tmp_name:
        tmp = Path(tmp_name)
        guard = _Guard(page_url, policy, deadline)
        info, source = _run_with_deadline(
            lambda: _download_guarded(page_url, tmp, policy, guard), guard, policy
        )
        video_id = str(info.get("id") or "")
        safe_id = _safe_id(video_id)
        chosen_title = _clean_title(title) or _clean_title(info.get("title")) or safe_id
        # Messages from probe name the file: make that the video's id, not "download".
        named = source.with_name(f"{safe_id}{source.suffix}")
        source.rename(named)

        limits = Limits(policy.max_duration_s, policy.max_bytes, _remaining(deadline, policy))
        container = probe(named, limits).container
        flac = tmp / f"{safe_id}.flac"
        _convert_to_flac(named, container, flac, chosen_title, policy, deadline)
        named.unlink()
        # The FLAC is bounded by ffmpeg's -t, so only its duration needs checking.
        limits = Limits(policy.max_duration_s, 2**62, _remaining(deadline, policy))
        info_out = probe(flac, limits)
        dest = out_dir / flac.name
        os.replace(flac, dest)
    return FetchedAudio(
        path=dest,
        title=chosen_title,
        video_id=video_id,
        source_url=str(info.get("webpage_url") or page_url),
        duration_s=info_out.duration_s,
        extractor=str(info.get("extractor") or info.get("extractor_key") or "unknown"),
    )


class _Guard:
    """Checks yt-dlp's requests, progress and results against a policy; shared across threads.

    A check that fails raises, and records the error: yt-dlp wraps or swallows some exceptions,
    so the caller re-raises the recorded one afterwards.
    """

    def __init__(self, page_url: str, policy: FetchPolicy, deadline: float) -> None:
        self.page_url = page_url
        self.policy = policy
        self.deadline = deadline
        self.cancelled = threading.Event()
        self.error: AudioscoreError | None = None

    def fail(self, error: AudioscoreError) -> AudioscoreError:
        """Records the first failure; returns ``error`` for the caller to raise."""
        if self.error is None:
            self.error = error
        return error

    def check_time(self) -> None:
        """Raises once the caller has given up or the deadline has passed."""
        if self.cancelled.is_set() or time.monotonic() > self.deadline:
            raise self.fail(_timeout_error(self.policy))

    def check_request(self, url: str) -> None:
        """Refuses a request yt-dlp is about to make to a non-http(s) or non-public URL."""
        self.check_time()
        try:
            _check_destination(_parse_url(url, _MAX_INTERNAL_URL_LENGTH), self.policy)
        except AudioscoreError as exc:
            # Same class (a DNS outage stays a ProcessingError), with the context added.
            raise self.fail(
                type(exc)(f"refusing a request made while downloading: {exc}")
            ) from None

    def check_redirect(self, origin_url: str, target_url: str) -> None:
        """Refuses a redirect hop before it is followed: its scheme, its address and port, and,
        for a chain that started at the page, the allow-list.

        Args:
            origin_url: the first URL of the redirect chain (what yt-dlp asked for).
            target_url: the absolute URL the server redirects to.
        """
        self.check_time()
        try:
            target = _parse_url(target_url, _MAX_INTERNAL_URL_LENGTH)
            kind = _non_public_kind(target.ip) if target.ip is not None else None
            if kind and not self.policy.allow_private:
                # Named first, as in validate_url: the more useful reason for an SSRF attempt.
                raise InputError(f"host {target.host} is {kind}")
            # The page must not be redirected off the allow-list; media URLs (CDNs) may be.
            if _same_url(origin_url, self.page_url) and not _host_allowed(
                target, self.policy.allowed_hosts
            ):
                raise InputError(f"host {target.host} is not allowed")
            _check_destination(target, self.policy)
        except AudioscoreError as exc:
            raise self.fail(
                type(exc)(f"refusing a redirect to {_short(target_url)}: {exc}")
            ) from None

    def connectable(self, host: str, port: int) -> list[_AddrInfo]:
        """The checked addresses a connection to ``host`` may use (see ``_connectable``)."""
        self.check_time()
        try:
            return _connectable(host, port, self.policy)
        except AudioscoreError as exc:
            raise self.fail(
                type(exc)(f"refusing a connection made while downloading: {exc}")
            ) from None

    def check_response(self, request_url: str, response: Any) -> None:
        """Refuses a response whose redirects left the rules or that is too large."""
        final = str(getattr(response, "url", "") or request_url)
        if final != request_url:
            try:
                target = _parse_url(final, _MAX_INTERNAL_URL_LENGTH)
                _check_destination(target, self.policy)
                # The page itself must not be redirected off the allow-list.
                if _same_url(request_url, self.page_url) and not _host_allowed(
                    target, self.policy.allowed_hosts
                ):
                    raise InputError(f"host {target.host} is not allowed")
            except AudioscoreError as exc:
                raise self.fail(
                    type(exc)(f"refusing a redirect to {_short(final)}: {exc}")
                ) from None
        headers = getattr(response, "headers", {}) or {}
        size = _response_size(headers)
        if size is not None and size > self.policy.max_bytes:
            raise self.fail(
                LimitExceeded(
                    f"the download is {size} bytes, above the {self.policy.max_bytes} byte limit"
                )
            )

    def on_progress(self, status: Mapping[str, Any]) -> None:
        """yt-dlp progress hook: stops a download that outgrows the limits or the deadline."""
        self.check_time()
        sizes = (status.get(k) for k in ("downloaded_bytes", "total_bytes", "total_bytes_estimate"))
        size = max((s for s in sizes if isinstance(s, int | float)), default=0)
        if size > self.policy.max_bytes:
            raise self.fail(
                LimitExceeded(
                    f"the download exceeds the {self.policy.max_bytes} byte limit"
                    f" ({int(size)} bytes so far)"
                )
            )

    def match_filter(self, info: Mapping[str, Any], *, incomplete: bool = False) -> str | None:
        """yt-dlp match filter: refuses live streams and videos above the duration limit.

        Raising (rather than returning a reason, which yt-dlp treats as "skip quietly") makes
        the refusal an error with a message.
        """
        del incomplete  # the same rules hold for partial (playlist) information
        if info.get("is_live") or info.get("live_status") in _LIVE_STATUSES:
            raise self.fail(InputError("live streams and premieres cannot be fetched"))
        duration = info.get("duration")
        if isinstance(duration, int | float) and duration > self.policy.max_duration_s:
            raise self.fail(
                LimitExceeded(
                    f"the video lasts {duration:g} s, above the"
                    f" {self.policy.max_duration_s:g} s limit"
                )
            )
        return None


class _Refused(RequestError):
    """A request the guard refused; a RequestError so yt-dlp passes it on rather than retrying
    it or trying another handler (the guard has recorded the real error)."""


class _PinnedHTTPHandler(_urllib.HTTPHandler):
    """yt-dlp's urllib HTTP handler, connecting only to addresses the guard has just checked.

    http.client opens its socket through ``_create_connection((host, port), ...)``; replacing
    that per connection puts the check and the connect on the same resolved addresses, so DNS
    rebinding between the two is impossible. HTTPS still verifies the certificate (and sends
    SNI) for the host name.
    """

    def __init__(self, guard: _Guard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard

    def http_open(self, req: urllib.request.Request) -> Any:
        """Opens an http request over a checked connection."""
        return self.do_open(functools.partial(self._connection, http.client.HTTPConnection), req)

    def https_open(self, req: urllib.request.Request) -> Any:
        """Opens an https request over a checked connection."""
        return self.do_open(
            functools.partial(self._connection, http.client.HTTPSConnection),
            req,
            context=self._context,
        )

    def _connection(self, cls: type[http.client.HTTPConnection], *args: Any, **kwargs: Any) -> Any:
        connection = cls(*args, **kwargs)
        connection._create_connection = self._connect  # type: ignore[attr-defined]
        if self._source_address is not None:
            connection.source_address = (self._source_address, 0)  # type: ignore[attr-defined]
        return connection

    def _connect(
        self,
        address: tuple[str, int],
        timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        """Resolves and checks once, then connects to one of exactly those addresses."""
        infos = self._guard.connectable(*address)
        if source_address:
            family = socket.AF_INET6 if ":" in source_address[0] else socket.AF_INET
            infos = [info for info in infos if info.family == family]
        error: OSError = OSError(f"no usable address for {address[0]}")
        for info in infos:
            sock = socket.socket(info.family, info.type, info.proto)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(info.sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error


class _CheckedRedirectHandler(_urllib.RedirectHandler):
    """yt-dlp's redirect handler, checking each hop with the guard before following it."""

    def __init__(self, guard: _Guard) -> None:
        super().__init__()
        self._guard = guard

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        """Checks the hop's target, then lets urllib follow it (and detect loops)."""
        location = headers.get("location") or headers.get("uri")
        if location:
            # urllib quotes the location the same way before joining it.
            target = urllib.parse.urljoin(
                req.full_url, urllib.parse.quote(location, safe=string.punctuation)
            )
            try:
                self._guard.check_redirect(getattr(req, _ORIGIN, req.full_url), target)
            except AudioscoreError:
                fp.close()
                raise
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        """yt-dlp's next request, remembering where the chain started."""
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        setattr(new, _ORIGIN, getattr(req, _ORIGIN, req.full_url))
        return new


class _GuardedRH(UrllibRH):
    """The only request handler of a guarded ``YoutubeDL``: http(s) only, no proxy, every
    connection pinned to checked addresses and every redirect checked before it is followed.

    Built on yt-dlp's urllib handler rather than on requests/urllib3 (preferred by yt-dlp when
    installed) because urllib is always present and exposes both hooks needed: the socket
    creation per connection and the redirect decision per hop.
    """

    RH_NAME = "audioscore-guarded"
    _SUPPORTED_URL_SCHEMES = _SCHEMES
    _SUPPORTED_PROXY_SCHEMES = ()

    def __init__(self, *, guard: _Guard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard
        # Whatever the params say: no file: URLs.
        self.enable_file_urls = False
        self._SUPPORTED_URL_SCHEMES = _SCHEMES

    def _create_instance(
        self, proxies: Any, cookiejar: Any, legacy_ssl_support: bool | None = None
    ) -> urllib.request.OpenerDirector:
        del proxies  # direct connections only: a proxy would resolve and connect unchecked
        opener = urllib.request.OpenerDirector()
        handlers = (
            _PinnedHTTPHandler(
                self._guard,
                context=self._make_sslcontext(legacy_ssl_support=legacy_ssl_support),
                source_address=self.source_address,
            ),
            urllib.request.HTTPCookieProcessor(cookiejar),
            urllib.request.UnknownHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
            _CheckedRedirectHandler(self._guard),
        )
        for handler in handlers:
            opener.add_handler(handler)
        opener.addheaders = []
        return opener

    def _send(self, request: Any) -> Any:
        try:
            return super()._send(request)
        except AudioscoreError as exc:
            raise _Refused(str(exc)) from exc


class _GuardedYoutubeDL(yt_dlp.YoutubeDL):
    """A ``YoutubeDL`` whose every HTTP request and connection passes through a ``_Guard``.

    All of yt-dlp's own traffic (extractor pages and APIs, media, manifests and fragments) goes
    through ``urlopen`` to ``_GuardedRH``; ``dl`` refuses any downloader but the native ones,
    and yt-dlp cannot find ffmpeg (see ``_ydl_params``), so no URL reaches another program.
    """

    def __init__(self, params: dict[str, Any], guard: _Guard) -> None:
        self._fetch_guard = guard
        self._fetch_responses: list[Any] = []
        super().__init__(params)

    @functools.cached_property
    def _request_director(self) -> RequestDirector:
        """Only ``_GuardedRH``: never requests, curl_cffi or websockets, which connect unchecked."""
        return self.build_request_director([functools.partial(_GuardedRH, guard=self._fetch_guard)])

    def dl(self, name: str, info: dict[str, Any], subtitle: bool = False, test: bool = False) -> Any:
        """Downloads with a native downloader only; external ones (ffmpeg) are refused."""
        downloader = get_suitable_downloader(info, self.params, to_stdout=(name == "-"))
        if downloader not in _NATIVE_DOWNLOADERS:
            used = getattr(downloader, "__name__", "no downloader")
            raise self._fetch_guard.fail(
                InputError(f"the media needs an external downloader ({used}), which is not used")
            )
        return super().dl(name, info, subtitle=subtitle, test=test)

    def urlopen(self, req: Any) -> Any:
        """Checks the request's URL, sends it, then checks the final URL and size."""
        raw = req if isinstance(req, str) else getattr(req, "url", None) or req.full_url
        # The URL yt-dlp will actually request: it moves credentials to a header and fixes
        # scheme-relative URLs before sending.
        url = sanitize_url(extract_basic_auth(raw)[0])
        self._fetch_guard.check_request(url)
        try:
            response = super().urlopen(req)
        except HTTPError as exc:
            self._fetch_responses.append(exc.response)
            raise
        self._fetch_responses.append(response)
        try:
            self._fetch_guard.check_response(url, response)
        except BaseException:
            response.close()
            raise
        return response

    def close(self) -> None:
        """Closes yt-dlp's sessions, and the responses it left open.

        yt-dlp does not close an error response, nor the one a progress hook interrupted.
        """
        try:
            super().close()
        finally:
            for response in self._fetch_responses:
                with contextlib.suppress(Exception):
                    response.close()
            self._fetch_responses.clear()


class _YtdlLogger:
    """Sends yt-dlp's output to ``logging`` instead of stdout/stderr."""

    def debug(self, msg: str) -> None:
        """Logs yt-dlp's debug and informational lines."""
        _LOG.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        """Logs yt-dlp's informational lines."""
        _LOG.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        """Logs yt-dlp's warnings."""
        _LOG.warning("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        """Logs yt-dlp's errors (they also reach the caller as exceptions)."""
        _LOG.info("yt-dlp: %s", msg)


def _ydl_params(dl_dir: Path, policy: FetchPolicy, guard: _Guard) -> dict[str, Any]:
    """yt-dlp options: one file, no side effects outside ``dl_dir``, bounded cost."""
    no_ffmpeg = dl_dir / "no-ffmpeg"
    no_ffmpeg.mkdir(exist_ok=True)
    params: dict[str, Any] = {
        "format": _FORMAT,
        "paths": {"home": str(dl_dir), "temp": str(dl_dir)},
        "outtmpl": {"default": _DOWNLOAD_TEMPLATE},
        "restrictfilenames": True,
        "noplaylist": True,
        # A playlist URL yields its entries unresolved: it is refused, not expanded.
        "extract_flat": "in_playlist",
        "max_filesize": policy.max_bytes,
        "match_filter": guard.match_filter,
        "progress_hooks": [guard.on_progress],
        "socket_timeout": policy.socket_timeout_s,
        "retries": _RETRIES,
        "fragment_retries": _RETRIES,
        "extractor_retries": _RETRIES,
        # yt-dlp's own downloaders fetch through the guard; never hand a URL to ffmpeg or
        # another program (HLS included), and give yt-dlp no ffmpeg to fall back on: an empty
        # folder as its location makes every ffmpeg use inside yt-dlp fail closed.
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "ffmpeg_location": str(no_ffmpeg),
        # No proxy from the environment: it would resolve and connect outside the checks.
        "proxy": "",
        "continuedl": False,
        "updatetime": False,
        # Fixups run ffmpeg on the download without a protocol whitelist; we convert anyway.
        "fixup": "never",
        "postprocessors": [],
        # The cache (player JS) would be written under $HOME, outside out_dir.
        "cachedir": False,
        "quiet": True,
        "noprogress": True,
        "no_warnings": False,
        "color": "never",
        "logger": _YtdlLogger(),
    }
    if policy.cookies_file is not None:
        # yt-dlp writes the jar back to cookiefile on close: give it a private copy, so a
        # read-only mount works and parallel fetches do not clobber one another.
        copy = dl_dir / "cookies.txt"
        try:
            shutil.copyfile(policy.cookies_file, copy)
        except OSError as exc:
            raise ProcessingError(f"cannot read the cookies file: {exc.strerror}") from None
        params["cookiefile"] = str(copy)
    return params


def _download(
    page_url: str, tmp: Path, policy: FetchPolicy, guard: _Guard
) -> tuple[dict[str, Any], Path]:
    """Extracts, checks, then downloads; returns the info and the downloaded file."""
    dl_dir = tmp / "download"
    dl_dir.mkdir()
    params = _ydl_params(dl_dir, policy, guard)
    try:
        with _GuardedYoutubeDL(params, guard) as ydl:
            info = ydl.extract_info(page_url, download=False)
            if guard.error is not None:
                raise guard.error
            if not isinstance(info, dict):
                raise InputError(f"cannot download {_short(page_url)}: no video found")
            _check_info(info, page_url, policy, guard)
            info = ydl.process_ie_result(info, download=True)
    except DownloadError as exc:
        raise guard.error or _download_error(exc, page_url) from None
    except AudioscoreError as exc:
        raise (guard.error or exc) from None
    if guard.error is not None:
        raise guard.error
    return info, _downloaded_file(info, dl_dir, page_url)


def _check_info(info: Mapping[str, Any], page_url: str, policy: FetchPolicy, guard: _Guard) -> None:
    """Refuses what extraction found before anything is downloaded."""
    if info.get("_type") in ("playlist", "multi_video") or "entries" in info:
        raise guard.fail(InputError(f"{_short(page_url)} is a playlist: give one video's URL"))
    final = str(info.get("webpage_url") or page_url)
    if final != page_url:
        # yt-dlp followed a redirect or a link to another page: it must obey the same policy.
        try:
            validate_url(final, policy)
        except InputError as exc:
            raise guard.fail(
                InputError(f"refusing {_short(page_url)}: it leads to {_short(final)} ({exc})")
            ) from None
    guard.match_filter(info)
    for fmt in info.get("requested_formats") or [info]:
        protocol = str(fmt.get("protocol") or "")
        if not protocol.startswith("http"):
            raise guard.fail(
                InputError(
                    f"cannot download {_short(page_url)}: the audio is only offered over"
                    f" {protocol or 'an unknown protocol'}"
                )
            )
        size = fmt.get("filesize") or fmt.get("filesize_approx")
        if isinstance(size, int | float) and size > policy.max_bytes:
            raise guard.fail(
                LimitExceeded(
                    f"the download is about {int(size)} bytes, above the"
                    f" {policy.max_bytes} byte limit"
                )
            )


def _downloaded_file(info: Mapping[str, Any], dl_dir: Path, page_url: str) -> Path:
    """The file yt-dlp wrote, which must be a regular file directly in ``dl_dir``."""
    for download in info.get("requested_downloads") or []:
        name = download.get("filepath")
        if not name:
            continue
        path = Path(name)
        if path.resolve().parent != dl_dir.resolve() or not path.is_file():
            raise ProcessingError(f"yt-dlp wrote an unexpected file: {path.name!r}")
        ext = path.suffix.removeprefix(".")
        if _SAFE_EXT.fullmatch(ext):
            return path
        # An extractor chose the extension: keep it out of later file names and messages.
        return path.rename(path.with_suffix(".media"))
    raise ProcessingError(f"cannot download {_short(page_url)}: yt-dlp produced no file")


def _run_with_deadline(work: Callable[[], _T], guard: _Guard, policy: FetchPolicy) -> _T:
    """Runs ``work`` in a daemon thread; gives up (and tells it to stop) at the deadline."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001  (handed to the caller's thread)
            box["error"] = exc

    worker = threading.Thread(target=target, name="fetch-audio", daemon=True)
    worker.start()
    try:
        worker.join(max(0.0, guard.deadline - time.monotonic()))
    finally:
        # Also on KeyboardInterrupt: the worker stops at its next request or progress tick.
        if worker.is_alive():
            guard.cancelled.set()
    if worker.is_alive():
        raise _timeout_error(policy)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _download_guarded(
    page_url: str, tmp: Path, policy: FetchPolicy, guard: _Guard
) -> tuple[dict[str, Any], Path]:
    """``_download``, with failures yt-dlp did not anticipate reported as ProcessingError."""
    try:
        return _download(page_url, tmp, policy, guard)
    except AudioscoreError:
        raise
    except Exception as exc:
        if guard.error is not None:
            raise guard.error from None
        reason = _reason(exc) if str(exc) else type(exc).__name__
        raise ProcessingError(f"cannot download {_short(page_url)}: {reason}") from exc


def _download_error(exc: DownloadError, page_url: str) -> AudioscoreError:
    """Maps yt-dlp's error to ours: the URL's fault is an InputError; network trouble and
    5xx/408/429 a TransientError (503: the queue may retry); anything else ProcessingError."""
    original = exc.exc_info[1] if exc.exc_info else None
    chain = list(_causes(original if original is not None else exc))
    explained = original if isinstance(original, ExtractorError) else exc
    message = f"cannot download {_short(page_url)}: {_reason(explained)}"
    status = next((e.status for e in chain if isinstance(e, HTTPError)), None)
    if status is not None:
        # A 3xx that reaches us is a redirect loop or chain too long to follow: the URL's fault.
        client_error = 300 <= status < 500 and status not in _TRANSIENT_HTTP_STATUSES
        return InputError(message) if client_error else TransientError(message)
    if _NEEDS_FFMPEG.search(message):
        # yt-dlp wanted to hand the media's URL to ffmpeg, which it is not given (see _ydl_params).
        return InputError(
            f"cannot download {_short(page_url)}: the media can only be downloaded by ffmpeg,"
            " which is not used for URLs"
        )
    if any(isinstance(e, TransportError) for e in chain):
        return TransientError(message)
    if any(isinstance(e, UnsupportedError) for e in chain):
        return InputError(message)
    extractor_error = next((e for e in chain if isinstance(e, ExtractorError)), None)
    if extractor_error is not None and extractor_error.expected and _BOT_CHECK not in message:
        return InputError(message)
    return ProcessingError(message)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, through yt-dlp's ``cause``/``exc_info`` and Python's chain."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        linked = (
            getattr(current, "cause", None),
            exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None,
            current.__cause__,
            current.__context__,
        )
        pending.extend(e for e in linked if isinstance(e, BaseException))


def _reason(exc: BaseException) -> str:
    """A one-line, bounded reason from a yt-dlp error, without its prefixes and bug-report text."""
    text = exc.orig_msg if isinstance(exc, ExtractorError) else str(exc)
    text = _ANSI.sub("", text)
    text = _REASON_SUFFIXES.sub("", text)
    text = _REASON_PREFIXES.sub("", text, count=1)
    text = one_line(text)
    if len(text) > _MAX_REASON_LENGTH:
        text = text[: _MAX_REASON_LENGTH - 3] + "..."
    return text or type(exc).__name__


def _convert_to_flac(
    source: Path, container: str, dest: Path, title: str, policy: FetchPolicy, deadline: float
) -> None:
    """``convert_to_flac`` within the fetch's duration limit and what is left of its time."""
    try:
        convert_to_flac(
            source,
            container,
            dest,
            title=title,
            max_duration_s=policy.max_duration_s,
            timeout_s=_remaining(deadline, policy),
        )
    except subprocess.TimeoutExpired:
        raise _timeout_error(policy) from None


def _response_size(headers: Any) -> int | None:
    """The size a response announces: the whole resource's for a range, else its length."""
    sizes: list[int] = []
    content_range = str(headers.get("Content-Range") or "")
    match = re.fullmatch(r"\s*bytes\s+\d+-\d+/(\d+)\s*", content_range)
    if match:
        sizes.append(int(match.group(1)))
    length = str(headers.get("Content-Length") or "").strip()
    if length.isdigit():
        sizes.append(int(length))
    return max(sizes, default=None)


def _safe_id(video_id: str) -> str:
    """The id reduced to [A-Za-z0-9_-] for file names, never empty or starting with "-"."""
    safe = _SAFE_ID.sub("_", video_id).lstrip("-_")[:_MAX_ID_LENGTH]
    return safe or "audio"


def _clean_title(title: object) -> str:
    """The title on one line, trimmed to 200 characters; "" if absent."""
    if not isinstance(title, str):
        return ""
    return one_line(title)[:_MAX_TITLE_LENGTH]


def _same_url(a: str, b: str) -> bool:
    """Whether two URLs are the same once percent-encoded as yt-dlp sends them."""
    return a == b or normalize_url(a) == normalize_url(b)


def _short(url: str) -> str:
    """A URL bounded for messages."""
    url = UNWRITABLE.sub("", url)
    return url if len(url) <= 120 else url[:117] + "..."


def _remaining(deadline: float, policy: FetchPolicy) -> float:
    """Seconds until the deadline; raises LimitExceeded if it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timeout_error(policy)
    return remaining


def _timeout_error(policy: FetchPolicy) -> LimitExceeded:
    return LimitExceeded(f"fetching took longer than the {policy.timeout_s:g} s limit")
