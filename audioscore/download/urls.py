"""Which URLs may be downloaded, and at what cost: the policy for untrusted URLs.

``FetchPolicy`` holds the allow-list of hosts (``*.example.com`` for subdomains) and the limits
(duration, bytes, wall-clock time), from ``FETCH_*`` variables. ``validate_url`` accepts only
http(s) URLs without credentials whose host is on the allow-list and resolves to public
addresses; the helpers here (parsing, address classification, resolution) are what the guarded
yt-dlp driver (`audioscore.download.ytdlp`) re-checks every request and redirect with.
``youtube_video_id`` reads the video id from any form of YouTube URL.

Standard library only: importing this module does not load yt-dlp.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audioscore.errors import AudioscoreError, InputError, ProcessingError

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DURATION_S",
    "DEFAULT_SOCKET_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "ENV_ALLOWED_HOSTS",
    "ENV_ALLOW_PRIVATE",
    "ENV_COOKIES_FILE",
    "ENV_MAX_BYTES",
    "ENV_MAX_DURATION_S",
    "ENV_TIMEOUT_S",
    "MAX_URL_LENGTH",
    "FetchPolicy",
    "is_youtube_video_id",
    "normalise_host_rule",
    "validate_url",
    "youtube_video_id",
]

# Exact host names: subdomains are allowed only by an explicit "*.example.com" rule.
DEFAULT_ALLOWED_HOSTS = (
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "music.youtube.com",
    "youtu.be",
)
DEFAULT_MAX_DURATION_S = 3 * 3600.0
DEFAULT_MAX_BYTES = 500 * 1000**2
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_SOCKET_TIMEOUT_S = 30.0
MAX_URL_LENGTH = 2048

ENV_ALLOWED_HOSTS = "FETCH_ALLOWED_HOSTS"
ENV_ALLOW_PRIVATE = "FETCH_ALLOW_PRIVATE"
ENV_MAX_DURATION_S = "FETCH_MAX_DURATION_S"
ENV_MAX_BYTES = "FETCH_MAX_BYTES"
ENV_TIMEOUT_S = "FETCH_TIMEOUT_S"
ENV_COOKIES_FILE = "FETCH_COOKIES_FILE"

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SUBDOMAIN_PREFIX = "*."
_MAX_HOST_LENGTH = 253
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

# WHATWG URL parsing reads a host whose last label is a number as IPv4 ("127.1", "0x7f.1"):
# such names are refused rather than risk a resolver treating them as addresses.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)


class FetchPolicy:
    """What ``fetch_audio`` may download, from where, and at what cost.

    Attributes:
        allowed_hosts: host names (or, with ``allow_private``, IP literals) a URL may name;
            ``"*.example.com"`` allows every subdomain of example.com but not example.com.
            Entries are normalised to lower-case punycode.
        allow_private: accept hosts that are or resolve to private, loopback, link-local or
            otherwise non-public addresses, IP-literal hosts, and ports other than 80 and 443.
            For tests and trusted networks only.
        max_duration_s: longest accepted audio, in seconds.
        max_bytes: largest accepted download, in bytes.
        timeout_s: longest the whole fetch (download and conversion) may take, in seconds.
        socket_timeout_s: longest a single network operation may stall, in seconds.
        cookies_file: a Netscape cookies file for yt-dlp (e.g. to pass YouTube's bot check);
            it is copied, never written.
    """

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allow_private: bool = False
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float = DEFAULT_TIMEOUT_S
    socket_timeout_s: float = DEFAULT_SOCKET_TIMEOUT_S
    cookies_file: Path | None = None

    def __post_init__(self) -> None:
        """Normalises the allow-list and checks the limits.

        Raises:
            ValueError: an allow-list entry is not a host name, ``*.`` rule or IP literal, or
                a limit is not a positive finite number.
        """
        if isinstance(self.allowed_hosts, str):
            raise TypeError("allowed_hosts must be a sequence of hosts, not one string")
        hosts = tuple(dict.fromkeys(normalise_host_rule(h) for h in self.allowed_hosts))
        object.__setattr__(self, "allowed_hosts", hosts)
        for name in ("max_duration_s", "max_bytes", "timeout_s", "socket_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.cookies_file is not None:
            object.__setattr__(self, "cookies_file", Path(self.cookies_file))



@dataclass(frozen=True)


class _Target:
    """A parsed, normalised http(s) URL."""

    url: str
    scheme: str
    host: str  # lower-case punycode, or an IP address's canonical form
    port: int  # explicit or the scheme's default
    ip: _Address | None  # set when the host is an IP literal


def validate_url(url: str, policy: FetchPolicy | None = None) -> str:
    """Checks that an untrusted URL is safe to hand to yt-dlp, and normalises it.

    Args:
        url: the URL, e.g. ``"https://www.youtube.com/watch?v=dQw4w9WgXcQ"``.
        policy: the allow-list and address rules; ``FetchPolicy()`` when None.

    Returns:
        The URL with a lower-case scheme and host (punycode), no default port and no fragment.

    Raises:
        InputError: the URL is too long, not http(s), has credentials, an invalid host or
            port, a host off the allow-list, or a host that is or resolves to a non-public
            address; or its host does not resolve. The message is one line and says why.
        ProcessingError: the host cannot be resolved for a reason other than not existing.
    """
    policy = FetchPolicy() if policy is None else policy
    target = _parse_url(url, MAX_URL_LENGTH)
    if target.ip is not None and not policy.allow_private:
        # Name the address's kind first: it is the more useful reason for an SSRF attempt.
        kind = _non_public_kind(target.ip)
        if kind:
            raise InputError(f"host {target.host} is {kind}")
        raise InputError(f"host {target.host} is an IP address: use a host name")
    if not _host_allowed(target, policy.allowed_hosts):
        raise InputError(f"host {target.host} is not allowed")
    _check_destination(target, policy)
    return target.url


def _parse_url(url: str, max_length: int) -> _Target:
    """Parses and normalises an http(s) URL; checks its syntax only (no allow-list, no DNS)."""
    if not isinstance(url, str):
        raise InputError(f"URL must be a string, got {type(url).__name__}")
    url = url.strip()
    if not url:
        raise InputError("URL is empty")
    if len(url) > max_length:
        raise InputError(f"URL is {len(url)} characters long, above the {max_length} limit")
    if _URL_FORBIDDEN.search(url):
        raise InputError("URL contains whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InputError("URL has no scheme: it must start with https:// or http://")
    if scheme not in _SCHEMES:
        raise InputError(f"URL scheme {scheme!r} is not allowed (only http and https)")
    if "@" in parts.netloc:
        raise InputError("URL must not contain credentials (user:password@)")
    host = parts.hostname or ""
    host = host.removesuffix(".")  # "youtube.com." is the same host
    if not host:
        raise InputError("URL has no host")
    if port == 0:
        raise InputError("URL has an invalid port 0")
    ip = _ip_literal(host)
    if ip is None:
        try:
            host = _ascii_host(host)
        except ValueError as exc:
            raise InputError(f"host {_printable(host)} {exc}") from None
    else:
        host = ip.compressed
    port = _DEFAULT_PORTS[scheme] if port is None else port
    netloc = f"[{host}]" if ip is not None and ip.version == 6 else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    normalised = urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return _Target(url=normalised, scheme=scheme, host=host, port=port, ip=ip)


def _check_destination(target: _Target, policy: FetchPolicy) -> None:
    """Refuses non-public addresses and non-standard ports, unless the policy allows private."""
    if not policy.allow_private:
        _connectable(target.host, target.port, policy)


def _connectable(host: str, port: int, policy: FetchPolicy) -> list[_AddrInfo]:
    """Resolves ``host`` once and returns the addresses a connection may use.

    The address kind is checked before the port so that the message names what an SSRF attempt
    aimed at. Every address must pass: a client may connect to any of them.

    Raises:
        InputError: an address is non-public or the port is not 80/443 (unless the policy
            allows private), or the host does not resolve.
        ProcessingError: resolution failed for another reason.
    """
    bad_port = not policy.allow_private and port not in _DEFAULT_PORTS.values()
    try:
        infos = _resolve(host, port)
    except AudioscoreError:
        if bad_port:
            raise InputError(f"port {port} is not allowed (only 80 and 443)") from None
        raise
    if policy.allow_private:
        return infos
    literal = _ip_literal(host) is not None
    for info in infos:
        kind = _non_public_kind(info.address)
        if kind:
            where = f"host {host} is" if literal else f"host {host} resolves to {info.address},"
            raise InputError(f"{where} {kind}")
    if bad_port:
        raise InputError(f"port {port} is not allowed (only 80 and 443)")
    return infos


@dataclass(frozen=True)


class _AddrInfo:
    """One ``getaddrinfo`` answer: the parsed address, and what ``socket`` needs to connect."""

    address: _Address
    family: int
    type: int
    proto: int
    sockaddr: tuple[Any, ...]


def _resolve(host: str, port: int) -> list[_AddrInfo]:
    """The addresses ``host`` resolves to (an IP literal resolves to itself, without DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        missing = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
        if exc.errno in missing:
            raise InputError(f"host {host} does not resolve") from None
        raise ProcessingError(f"cannot resolve host {host}: {exc.strerror}") from None
    except (OSError, UnicodeError) as exc:
        raise ProcessingError(f"cannot resolve host {host}: {exc}") from None
    addresses: list[_AddrInfo] = []
    for family, type_, proto, _, sockaddr in infos:
        try:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        except ValueError:
            # Fail closed: an address we cannot classify is not known to be public.
            raise InputError(f"host {host} resolves to an unrecognised address") from None
        addresses.append(_AddrInfo(address, family, type_, proto, tuple(sockaddr)))
    if not addresses:
        raise InputError(f"host {host} does not resolve")
    return addresses


_KINDS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _non_public_kind(address: _Address) -> str | None:
    """What makes an address non-public ("a private address"...), or None if it is public."""
    candidates: list[_Address] = []
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 embedded in IPv6 (mapped, NAT64, 6to4) reaches the IPv4 host, so it is judged
        # first: ipaddress on Python < 3.13 calls "::ffff:127.0.0.1" private, not loopback.
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        candidates.extend(a for a in embedded if a is not None)
    candidates.append(address)
    for candidate in candidates:
        kind = next((k for attribute, k in _KINDS if getattr(candidate, attribute)), None)
        if kind is None and not candidate.is_global:
            kind = "a non-public address"
        if kind is not None:
            return kind if candidate is address else f"{kind} (it embeds {candidate})"
    return None


def _ip_literal(host: str) -> _Address | None:
    """The address if ``host`` is an IPv4 or IPv6 literal, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _ascii_host(name: str) -> str:
    """A host name in lower-case punycode.

    Raises:
        ValueError: the name is not a valid host name; the message completes "host X ...".
    """
    name = name.lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("is not a valid host name") from None
    labels = name.split(".")
    if len(name) > _MAX_HOST_LENGTH or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError("is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise ValueError("is not a valid host name (it ends in a number)")
    return name


def normalise_host_rule(rule: str) -> str:
    """An allow-list entry as lower-case punycode ("*.example.com") or a canonical IP."""
    if not isinstance(rule, str):
        raise TypeError(f"allowed host must be a string, got {rule!r}")
    body = rule.strip().lower().removesuffix(".")
    wildcard = body.startswith(_SUBDOMAIN_PREFIX)
    body = body.removeprefix(_SUBDOMAIN_PREFIX)
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    ip = _ip_literal(body)
    if ip is not None:
        if wildcard:
            raise ValueError(f"allowed host {rule!r}: a '*.' rule needs a host name")
        return ip.compressed
    try:
        name = _ascii_host(body)
    except ValueError:
        raise ValueError(
            f"allowed host {rule!r} is not a host name, '*.' rule or IP address"
        ) from None
    return f"{_SUBDOMAIN_PREFIX}{name}" if wildcard else name


def _host_allowed(target: _Target, rules: tuple[str, ...]) -> bool:
    """Whether the host is listed, or is a subdomain of a ``*.`` rule's domain."""
    for rule in rules:
        if rule.startswith(_SUBDOMAIN_PREFIX):
            if target.ip is None and target.host.endswith(rule[1:]):
                return True
        elif target.host == rule:
            return True
    return False


def _printable(text: str) -> str:
    """``text`` quoted so that odd characters cannot break a one-line message."""
    return repr(text) if not text.isprintable() or " " in text else text


_VIDEO_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}\Z")
_YOUTUBE_HOSTS = ("youtube.com", "youtube-nocookie.com", "youtu.be")


def is_youtube_video_id(text: str) -> bool:
    """Whether ``text`` is a bare 11-character YouTube video id."""
    return bool(_VIDEO_ID_RE.match(text))


def youtube_video_id(url: str) -> str | None:
    """The video id in a YouTube URL (watch, youtu.be, shorts, embed, live), or None."""
    parts = urllib.parse.urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not any(host == h or host.endswith("." + h) for h in _YOUTUBE_HOSTS):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if host.endswith("youtu.be"):
        candidate = segments[0] if segments else ""
    elif segments[:1] == ["watch"]:
        candidate = _query_video_id(parts.query)
    elif len(segments) >= 2 and segments[0] in ("shorts", "embed", "live", "v"):
        candidate = segments[1]
    else:
        return None
    return candidate if _VIDEO_ID_RE.match(candidate) else None


def _query_video_id(query: str) -> str:
    """A watch URL's one ``v`` parameter as sent, or "" when yt-dlp may read another video than we
    would (and a stored video would answer for the one it downloads): several ``v`` (fields split
    at ``&`` and ``;``, as yt-dlp splits them) or a percent-encoded name."""
    values = []
    for field in re.split(r"[&;]", query):
        name, _, value = field.partition("=")
        if urllib.parse.unquote_plus(name) == "v":
            values.append(value if name == "v" else "")
    return values[0] if len(values) == 1 else ""
