"""A small, safe wrapper over the ``minio`` client for the buckets the functions share.

The wrapper adds what every handler needs and ``minio.Minio`` leaves to its caller:

- keys and bucket names from events are untrusted, so they are checked (``safe_key``,
  ``safe_bucket``) and never joined into a local path;
- downloads are bounded (``max_bytes``) and land under a sanitised local file name;
- user metadata is made header-safe (percent-encoded, control characters dropped) and
  decoded again by ``stat``;
- errors become the project's own: a missing object or bucket is an ``InputError``
  (a replayed event for a deleted object cannot succeed), anything else from the store or
  the network is a ``TransientError`` (the OpenFaaS queue worker retries those), and no
  message carries credentials or more than one line.

The client is built without urllib3 retries and with short connect timeouts: the queue
worker already retries the whole invocation, so retrying inside the function only holds a
replica for minutes before failing anyway.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import tempfile
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, NoReturn

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from audioscore.errors import (
    ConfigError,
    InputError,
    LimitExceeded,
    StaleInput,
    TransientError,
)

__all__ = [
    "ACCESS_KEY_SECRET",
    "CHUNK_BYTES",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_PRESIGN_EXPIRES_S",
    "DEFAULT_TIMEOUT_S",
    "ENV_ENDPOINT",
    "ENV_REGION",
    "ENV_SECURE",
    "ENV_TIMEOUT_S",
    "MAX_KEY_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_VALUE_CHARS",
    "OPENFAAS_SECRETS_DIR",
    "SECRET_KEY_SECRET",
    "ObjectInfo",
    "ObjectStore",
    "StoreConfig",
    "decode_metadata_value",
    "encode_metadata_value",
    "local_file_name",
    "openfaas_secret_reader",
    "safe_bucket",
    "safe_key",
    "stale_reason",
]

ENV_ENDPOINT = "MINIO_ENDPOINT"
ENV_SECURE = "MINIO_SECURE"
ENV_REGION = "MINIO_REGION"
ENV_TIMEOUT_S = "MINIO_TIMEOUT_S"
ENV_PUBLIC_URL = "MINIO_PUBLIC_URL"
# MinIO's region when none is configured; presigning for the public URL must not ask the
# store for it (that host may not resolve inside the cluster).
DEFAULT_REGION = "us-east-1"
ACCESS_KEY_SECRET = "minio-access-key"
SECRET_KEY_SECRET = "minio-secret-key"
OPENFAAS_SECRETS_DIR = Path("/var/openfaas/secrets")

DEFAULT_TIMEOUT_S = 30.0
"""Read timeout: the longest a single socket read may stall, not a whole transfer."""
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_PRESIGN_EXPIRES_S = 3600
MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600  # the SigV4 maximum
CHUNK_BYTES = 1 << 20

MAX_KEY_BYTES = 1024  # S3's limit on the UTF-8 length of a key
MAX_METADATA_BYTES = 2048  # S3's limit on all user metadata keys plus values
MAX_METADATA_VALUE_CHARS = 512  # a long title is cut rather than failing the upload
MAX_LOCAL_NAME_CHARS = 120
META_PREFIX = "x-amz-meta-"

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_META_KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# Only these survive into a local file name: a name that cannot be an option (leading "-"),
# hidden (leading "."), a path, or need quoting in a tool's command line or log.
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject"})
# A conditional request (If-Match) failed: the object is no longer the version asked for.
_CHANGED_CODES = frozenset({"PreconditionFailed"})
_BUCKET_EXISTS_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


# --------------------------------------------------------------------------- configuration


def openfaas_secret_reader(base_dir: Path = OPENFAAS_SECRETS_DIR) -> Callable[[str], str | None]:
    """Return a reader of the secrets mounted in ``base_dir`` (`audioscore.infra.config.read_secret`).

    Args:
        base_dir: the directory the secrets are mounted in.

    Returns:
        A callable taking a secret name and returning its text, or None when it is not mounted.
    """
    from audioscore.infra.config import read_secret

    return lambda name: read_secret(name, base_dir)


@dataclass(frozen=True)
class StoreConfig:
    """Where the object store is and how to talk to it.

    Attributes:
        endpoint: ``host:port`` without a scheme (``minio.minio.svc:9000``).
        access_key: the access key (kept out of ``repr``).
        secret_key: the secret key (kept out of ``repr``).
        secure: use HTTPS.
        region: the region; setting it saves a bucket-location request per bucket.
        timeout_s: how long one socket read may stall before the call fails.
        connect_timeout_s: how long connecting may take before the call fails.
        public_url: ``http(s)://host[:port]`` that users reach the store at; when set,
            presigned links name it instead of ``endpoint`` (an in-cluster name that a
            user's browser cannot resolve). Only links use it: no request goes there.
        ca_file: the CA bundle for HTTPS (``SSL_CERT_FILE``); certifi's when None.
    """

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    secure: bool = False
    region: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    public_url: str | None = None
    ca_file: str | None = None

    def __post_init__(self) -> None:
        # minio.Minio takes "host:port" only; a URL here is the commonest misconfiguration.
        if not self.endpoint or "://" in self.endpoint or "/" in self.endpoint:
            raise ConfigError(f"object store endpoint must be host:port, got {self.endpoint!r}")
        if self.public_url is not None:
            _split_public_url(self.public_url)
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ConfigError("object store timeouts must be positive")

    @classmethod
    def from_env_and_secrets(
        cls,
        env: Mapping[str, str] | None = None,
        read_secret: Callable[[str], str | None] | None = None,
    ) -> StoreConfig:
        """The configuration from the environment and secrets: `audioscore.infra.config.store_config`.

        Args:
            env: the environment; ``os.environ`` when omitted.
            read_secret: returns a secret's text by name; the OpenFaaS secrets when omitted.

        Raises:
            ConfigError: a setting or secret is missing or malformed (a deployment
                problem, so the message names the setting but never a secret's value).
        """
        from audioscore.infra.config import store_config

        return store_config(env, read_secret)


def _split_public_url(url: str) -> tuple[str, bool]:
    """``MINIO_PUBLIC_URL`` as (host:port, secure); a path, query or credentials are refused."""
    parts = urllib.parse.urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment or parts.username or parts.password):
        raise ConfigError(f"{ENV_PUBLIC_URL} must be http(s)://host[:port], got {url!r}")
    return parts.netloc, parts.scheme == "https"


# --------------------------------------------------------------------------- validation


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def safe_key(key: str) -> str:
    """Check that an object key is safe to use, and return it unchanged.

    S3 accepts almost any key, but a key may end up in a log line, a record or a derived
    key, so the ones that look like paths escaping somewhere are refused.

    Args:
        key: the object key (already URL-decoded).

    Returns:
        The key.

    Raises:
        InputError: the key is empty, too long, starts with ``/``, contains a backslash or
            a control character, or has an empty, ``.`` or ``..`` segment.
    """
    if not isinstance(key, str) or not key:
        raise InputError("object key is empty")
    shown = repr(key[:80])
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InputError(f"object key is longer than {MAX_KEY_BYTES} bytes: {shown}")
    if key.startswith("/"):
        raise InputError(f"object key must not start with '/': {shown}")
    if "\\" in key:
        raise InputError(f"object key must not contain a backslash: {shown}")
    if _has_control(key):
        raise InputError(f"object key must not contain control characters: {shown}")
    # Surrogates cannot be sent as UTF-8; they only appear from a bad decode upstream.
    if any("\ud800" <= ch <= "\udfff" for ch in key):
        raise InputError(f"object key is not valid Unicode: {shown}")
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise InputError(f"object key must not have empty, '.' or '..' segments: {shown}")
    return key


def safe_bucket(bucket: str) -> str:
    """Check a bucket name against S3's naming rules, and return it unchanged.

    Args:
        bucket: the bucket name.

    Returns:
        The bucket name.

    Raises:
        InputError: the name is not a valid bucket name.
    """
    if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise InputError(f"invalid bucket name {str(bucket)[:80]!r}")
    return bucket


def local_file_name(key: str) -> str:
    """Derive a local file name from a key's last segment that is safe on any POSIX system.

    Only ASCII letters, digits, ``.``, ``_`` and ``-`` are kept (runs of anything else become
    one ``_``); leading dots, dashes and underscores are dropped so the name is neither hidden
    nor mistaken for a command-line option; long names are cut keeping the extension.

    Args:
        key: an object key.

    Returns:
        A non-empty file name without a directory part.
    """
    name = _UNSAFE_NAME_CHARS.sub("_", key.rsplit("/", 1)[-1]).lstrip("._-")
    if len(name) > MAX_LOCAL_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_LOCAL_NAME_CHARS - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_LOCAL_NAME_CHARS]
    return name or "object"


def encode_metadata_value(value: str) -> str:
    """Make a metadata value safe as an HTTP header value.

    Control characters are dropped, surrounding whitespace is trimmed (HTTP would do it
    anyway), the value is cut to ``MAX_METADATA_VALUE_CHARS`` characters, and every
    character outside printable ASCII, and ``%`` itself, is percent-encoded as UTF-8.
    Encoding ``%`` too makes ``decode_metadata_value`` the exact inverse.

    Args:
        value: any text.

    Returns:
        Printable ASCII.
    """
    text = "".join(ch for ch in str(value) if unicodedata.category(ch) != "Cc").strip()
    text = text[:MAX_METADATA_VALUE_CHARS]
    out: list[str] = []
    for ch in text:
        if " " <= ch <= "~" and ch != "%":
            out.append(ch)
        else:
            out.append(urllib.parse.quote(ch.encode("utf-8", "replace"), safe=""))
    return "".join(out)


def decode_metadata_value(value: str) -> str:
    """Invert ``encode_metadata_value``.

    A value written by another tool that contains a literal ``%`` followed by two hex
    digits is decoded too; the project's own values round-trip exactly.

    Args:
        value: a header value as stored.

    Returns:
        The text.
    """
    return urllib.parse.unquote(value, errors="replace")


# minio's annotation for header values; ours are always str.
_Headers = dict[str, str | list[str] | tuple[str]]


def _encode_metadata(metadata: Mapping[str, str] | None) -> _Headers:
    headers: _Headers = {}
    for key, value in (metadata or {}).items():
        name = key.lower().removeprefix(META_PREFIX)
        # Keys come from code, not from users: a bad one is a bug, hence ValueError.
        if not _META_KEY_RE.fullmatch(name):
            raise ValueError(f"metadata key must be lowercase letters, digits and '-': {key!r}")
        headers[META_PREFIX + name] = encode_metadata_value(value)
    size = sum(len(k) - len(META_PREFIX) + len(v) for k, v in headers.items())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"user metadata is {size} bytes; S3 allows {MAX_METADATA_BYTES}")
    return headers


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class ObjectInfo:
    """What ``stat`` tells about an object.

    Attributes:
        bucket: the bucket.
        key: the key.
        etag: the ETag without quotes (an MD5 for single-part uploads).
        size: the size in bytes.
        content_type: the stored content type, if any.
        metadata: user metadata, keys lowercased without ``x-amz-meta-``, values decoded.
        last_modified: when the object was stored (aware datetime), if the store said.
    """

    bucket: str
    key: str
    etag: str
    size: int
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None


def stale_reason(info: ObjectInfo | None, bucket: str, key: str, etag: str) -> str | None:
    """Why the object as stat'ed is not the version ``etag`` (an event's), or None when it is."""
    if info is None:
        return f"{bucket}/{key} no longer exists"
    if info.etag.strip('"') != etag.strip('"'):
        return f"{bucket}/{key} was replaced after the event (ETag {info.etag}, the event's {etag or 'none'})"
    return None


def _one_line(text: object, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


class ObjectStore:
    """Bucket operations the functions need, with the project's checks and errors.

    Args:
        client: a configured ``minio.Minio``; ``connect`` builds one with short timeouts.
        endpoint: how to name the store in error messages (never includes credentials).
    """

    def __init__(self, client: Minio, *, endpoint: str = "object store", links: Minio | None = None,
                 links_url: str | None = None) -> None:
        self._client = client
        self._endpoint = endpoint
        self._links = links or client  # the client that signs presigned links
        self._links_url = links_url  # http(s)://host[:port] that those links name (for POST forms)

    @classmethod
    def connect(cls, config: StoreConfig) -> ObjectStore:
        """Build a store from a configuration; no request is made until the first call.

        Args:
            config: where the store is and the credentials.

        Returns:
            The store.
        """
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.connect_timeout_s, read=config.timeout_s),
            # No retries here: the OpenFaaS queue worker retries the whole invocation.
            retries=False,
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=config.ca_file or certifi.where(),
        )
        client = Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
            http_client=http,
        )
        links = None
        links_url = config.public_url.rstrip("/") if config.public_url else (
            f"{'https' if config.secure else 'http'}://{config.endpoint}")
        if config.public_url:
            host, secure = _split_public_url(config.public_url)
            # Signing is local when the region is known; this client never sends a request.
            links = Minio(host, access_key=config.access_key, secret_key=config.secret_key, secure=secure,
                          region=config.region or DEFAULT_REGION, http_client=http)
        return cls(client, endpoint=config.endpoint, links=links, links_url=links_url)

    @property
    def client(self) -> Minio:
        """The underlying ``minio.Minio`` client, for what this wrapper does not cover."""
        return self._client

    # ----------------------------------------------------------------------- errors

    def _raise(self, exc: Exception, action: str, bucket: str, key: str | None) -> NoReturn:
        where = f"{bucket}/{key}" if key is not None else bucket
        if isinstance(exc, S3Error):
            if exc.code in _MISSING_CODES:
                what = "object" if key is not None else "bucket"
                raise InputError(f"no such {what} {where}") from None
            if exc.code in _CHANGED_CODES:
                raise StaleInput(f"object {where} changed while it was read") from None
            raise TransientError(
                f"object store {action} {where} failed: {exc.code}: {_one_line(exc.message)}"
            ) from exc
        if isinstance(exc, MinioException):
            raise TransientError(
                f"object store {action} {where} failed: {_one_line(exc)}"
            ) from exc
        # urllib3's messages include pool and connection reprs; the type name is enough.
        raise TransientError(
            f"object store at {self._endpoint} unreachable during {action} {where}: "
            f"{type(exc).__name__}"
        ) from exc

    @contextlib.contextmanager
    def _errors(self, action: str, bucket: str, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except (MinioException, urllib3.exceptions.HTTPError, ConnectionError) as exc:
            self._raise(exc, action, bucket, key)

    # ----------------------------------------------------------------------- reads

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        """Describe an object.

        Args:
            bucket: the bucket.
            key: the key.

        Returns:
            The object's description, or ``None`` if the object (or its bucket) is missing.

        Raises:
            InputError: the bucket name or key is unsafe.
            TransientError: the store failed or could not be reached.
        """
        safe_bucket(bucket)
        safe_key(key)
        try:
            with self._errors("stat", bucket, key):
                obj = self._client.stat_object(bucket, key)
        except InputError:
            # HEAD responses have no body, so minio reports a missing bucket as NoSuchKey
            # too; either way the object is not there.
            return None
        metadata: dict[str, str] = {}
        for name, value in (obj.metadata or {}).items():
            lowered = name.lower()
            if lowered.startswith(META_PREFIX):
                metadata[lowered[len(META_PREFIX) :]] = decode_metadata_value(value)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            etag=obj.etag or "",
            size=int(obj.size or 0),
            content_type=obj.content_type,
            metadata=metadata,
            last_modified=obj.last_modified,
        )

    def list_objects(self, bucket: str, *, start_after: str = "", limit: int) -> list[ObjectInfo]:
        """Up to ``limit`` objects of a bucket, in key order, after the key ``start_after``.

        Listings carry key, ETag, size and time; not content type or metadata (``stat`` has those).

        Raises:
            InputError: the bucket name is invalid, or the bucket does not exist.
            TransientError: the store failed or could not be reached.
        """
        safe_bucket(bucket)
        with self._errors("list", bucket):
            listed = self._client.list_objects(bucket, recursive=True, start_after=start_after or None)
            return [ObjectInfo(bucket=bucket, key=o.object_name, etag=(o.etag or "").strip('"'), size=int(o.size or 0),
                               last_modified=o.last_modified) for o in itertools.islice(listed, limit)]

    def exists(self, bucket: str, key: str) -> bool:
        """Tell whether an object exists.

        Args:
            bucket: the bucket.
            key: the key.

        Returns:
            True if it exists.

        Raises:
            InputError: the bucket name or key is unsafe.
            TransientError: the store failed or could not be reached.
        """
        return self.stat(bucket, key) is not None

    def download(self, bucket: str, key: str, dest_dir: Path, *, max_bytes: int, etag: str | None = None) -> Path:
        """Download an object into a directory under a sanitised name.

        The size is checked before any byte is fetched and again while streaming; the GET
        is conditional on the ETag seen by the size check, so the file is the object that
        was measured. Data goes to a hidden temporary file first and is renamed into place
        only when complete, so a crash never leaves a truncated file under the final name.

        Args:
            bucket: the bucket.
            key: the key.
            dest_dir: the directory to write into (created if missing).
            max_bytes: the largest object accepted.
            etag: the version wanted (an event's ETag): any other one is refused.

        Returns:
            The path of the file, ``dest_dir / local_file_name(key)`` (replaced if present).

        Raises:
            InputError: the bucket name or key is unsafe, or the object does not exist.
            StaleInput: the object is not (or no longer) the version ``etag``, or is gone while
                ``etag`` was asked for, or changed during the download.
            LimitExceeded: the object is larger than ``max_bytes``.
            TransientError: the store failed, could not be reached, or (no ``etag`` given) the
                object changed while it was being downloaded.
        """
        info = self.stat(bucket, key)
        if etag is not None:
            stale = stale_reason(info, bucket, key, etag)
            if stale:
                raise StaleInput(stale)
        if info is None:
            raise InputError(f"no such object {bucket}/{key}")
        if info.size > max_bytes:
            raise LimitExceeded(
                f"object {bucket}/{key} is {info.size} bytes; the limit is {max_bytes}"
            )
        dest_dir = Path(dest_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / local_file_name(key)
        # local_file_name cannot produce a separator or "..", so this holds by construction;
        # checked anyway because a path escaping dest_dir would be a security bug.
        if target.parent != dest_dir or target.name in {"", ".", ".."}:
            raise InputError(f"unsafe local name for object {bucket}/{key}")

        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    written = self._stream(bucket, key, info, out, max_bytes)
                except StaleInput as error:
                    if etag is not None:  # that version, or nothing
                        raise
                    # Any version will do: another try reads the new one.
                    raise TransientError(f"{error} (PreconditionFailed)") from None
            if written != info.size:
                raise TransientError(
                    f"object {bucket}/{key} was {written} bytes, expected {info.size}"
                )
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    def _stream(
        self, bucket: str, key: str, info: ObjectInfo, out: IO[bytes], max_bytes: int
    ) -> int:
        headers: _Headers | None = {"If-Match": f'"{info.etag}"'} if info.etag else None
        written = 0
        with self._errors("download", bucket, key):
            response = self._client.get_object(bucket, key, request_headers=headers)
            try:
                for chunk in response.stream(CHUNK_BYTES):
                    written += len(chunk)
                    if written > max_bytes:
                        raise LimitExceeded(
                            f"object {bucket}/{key} grew past the limit of {max_bytes} bytes"
                        )
                    out.write(chunk)
            finally:
                response.close()
                response.release_conn()
        return written

    def presigned_get(
        self, bucket: str, key: str, *, expires_s: int = DEFAULT_PRESIGN_EXPIRES_S
    ) -> str:
        """Return a URL that lets anyone holding it GET the object until it expires.

        The URL names the store's public URL when one is configured (``MINIO_PUBLIC_URL``),
        otherwise the endpoint, which only resolves where the functions run.

        Args:
            bucket: the bucket.
            key: the key.
            expires_s: the validity in seconds, 1 to 7 days' worth.

        Returns:
            The URL.

        Raises:
            InputError: the bucket name or key is unsafe.
            ValueError: ``expires_s`` is out of range.
            TransientError: the region had to be looked up and the store failed.
        """
        safe_bucket(bucket)
        safe_key(key)
        if not 1 <= expires_s <= MAX_PRESIGN_EXPIRES_S:
            raise ValueError(f"expires_s must be 1..{MAX_PRESIGN_EXPIRES_S}, got {expires_s}")
        with self._errors("presign", bucket, key):
            return self._links.presigned_get_object(
                bucket, key, expires=timedelta(seconds=expires_s)
            )

    def presigned_post(
        self, bucket: str, key_prefix: str, *, max_bytes: int, content_type_prefix: str, redirect: str,
        expires_s: int = DEFAULT_PRESIGN_EXPIRES_S, metadata: Sequence[str] = (),
    ) -> tuple[str, list[tuple[str, str]]]:
        """A browser form's upload: where to POST and the form fields of a signed POST policy.

        The policy admits one object under ``key_prefix`` (the form's ``key`` is
        ``key_prefix + "${filename}"``, which the store replaces by the uploaded file's name),
        of 1 to ``max_bytes`` bytes, with a ``Content-Type`` starting with ``content_type_prefix``,
        and sends the browser on to ``redirect`` (the store adds ``bucket``, ``key`` and ``etag``).
        The form may carry the user metadata named in ``metadata``, any value (an empty one too):
        whoever reads the object checks them. Signed locally for the public URL, like `presigned_get`.

        Returns:
            The form's action URL and its fields in order (the file field goes after them and
            after the ``x-amz-meta-<name>`` fields of ``metadata``, which the caller's form holds).

        Raises:
            InputError: the bucket name or prefix is unsafe.
            ValueError: ``expires_s`` or ``max_bytes`` is out of range, or no public URL is known.
            TransientError: the region had to be looked up and the store failed.
        """
        from minio.datatypes import PostPolicy

        safe_bucket(bucket)
        safe_key(key_prefix + "x")
        if not 1 <= expires_s <= MAX_PRESIGN_EXPIRES_S:
            raise ValueError(f"expires_s must be 1..{MAX_PRESIGN_EXPIRES_S}, got {expires_s}")
        if max_bytes < 1 or self._links_url is None:
            raise ValueError("presigned_post needs max_bytes >= 1 and a store made by ObjectStore.connect")
        policy = PostPolicy(bucket, datetime.now(UTC) + timedelta(seconds=expires_s))
        policy.add_starts_with_condition("key", key_prefix)
        policy.add_starts_with_condition("Content-Type", content_type_prefix)
        policy.add_starts_with_condition("success_action_redirect", redirect)
        policy.add_content_length_range_condition(1, max_bytes)
        for name in metadata:
            policy.add_starts_with_condition(META_PREFIX + name, "")
        with self._errors("presign", bucket, key_prefix):
            signed = self._links.presigned_post_policy(policy)
        fields = [("key", key_prefix + "${filename}"), ("Content-Type", content_type_prefix + "octet-stream"),
                  ("success_action_redirect", redirect), *signed.items()]
        return f"{self._links_url}/{bucket}", fields

    # ----------------------------------------------------------------------- writes
    # An S3 PUT (and a multipart upload's completion) is atomic: readers see the old object
    # or the whole new one, never a partial one. So uploads go straight to the final key.

    def upload_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Upload a local file (multipart above minio's part size).

        Args:
            bucket: the bucket.
            key: the key.
            path: the file.
            content_type: the content type to store.
            metadata: user metadata; keys lowercase ``[a-z0-9-]``, values any text (made
                header-safe by ``encode_metadata_value``).

        Returns:
            The ETag of the new object, without quotes.

        Raises:
            InputError: the bucket name or key is unsafe, or the bucket does not exist.
            TransientError: the store failed or could not be reached.
            OSError: the local file cannot be read.
        """
        safe_bucket(bucket)
        safe_key(key)
        headers = _encode_metadata(metadata)
        with self._errors("upload", bucket, key):
            result = self._client.fput_object(
                bucket, key, str(path), content_type=content_type, metadata=headers
            )
        return result.etag or ""  # minio always returns one; typed Optional

    def upload_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Upload bytes held in memory.

        Args:
            bucket: the bucket.
            key: the key.
            data: the content.
            content_type: the content type to store.
            metadata: user metadata, as for ``upload_file``.

        Returns:
            The ETag of the new object, without quotes.

        Raises:
            InputError: the bucket name or key is unsafe, or the bucket does not exist.
            TransientError: the store failed or could not be reached.
        """
        safe_bucket(bucket)
        safe_key(key)
        headers = _encode_metadata(metadata)
        with self._errors("upload", bucket, key):
            result = self._client.put_object(
                bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata=headers,
            )
        return result.etag or ""  # minio always returns one; typed Optional

    def remove(self, bucket: str, key: str) -> None:
        """Delete an object; deleting one that is not there is no error (S3 semantics).

        Raises:
            InputError: the bucket name or key is unsafe.
            TransientError: the store failed or could not be reached.
        """
        safe_bucket(bucket)
        safe_key(key)
        with self._errors("delete", bucket, key):
            self._client.remove_object(bucket, key)

    def ensure_buckets(self, names: Iterable[str]) -> None:
        """Create the buckets that do not exist yet; safe to run concurrently and repeatedly.

        Args:
            names: bucket names.

        Raises:
            InputError: a bucket name is invalid.
            TransientError: the store failed or could not be reached.
        """
        for name in names:
            safe_bucket(name)
            with self._errors("create bucket", name):
                if self._client.bucket_exists(name):
                    continue
                try:
                    self._client.make_bucket(name)
                except S3Error as exc:
                    # Another replica won the race: that is the outcome we wanted.
                    if exc.code not in _BUCKET_EXISTS_CODES:
                        raise
