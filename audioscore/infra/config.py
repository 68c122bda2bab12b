"""Configuration: the one module that reads the environment and the secrets.

Every variable is parsed by one rule per kind, and a value that breaks it is a
`ConfigError` naming the variable (a deployment mistake: HTTP 500, exit code 3):

- text: surrounding whitespace stripped; empty means unset;
- booleans (`env_bool`): ``1/0``, ``true/false``, ``yes/no``, ``on/off``, any case;
- integers (`env_int`): decimal digits, positive;
- numbers and durations in seconds (`env_number`, `env_seconds`): finite, positive (or 0
  where the variable allows it);
- unset or empty variables keep their documented default.

Secrets come from files (OpenFaaS mounts them at ``/var/openfaas/secrets/<name>``), read by
`read_secret` only. The functions build `Settings` once per process (`settings`, cached);
the CLI reads the ``AUDIOSCORE_*`` limits through `audio_limits`. Domain modules receive
values and never read the environment themselves.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioscore.download.urls import FetchPolicy, normalise_host_rule
from audioscore.errors import ConfigError
from audioscore.infra import names

if TYPE_CHECKING:  # heavy (numpy, minio): imported where built
    from audioscore.analysis.audio import Limits
    from audioscore.infra.storage import StoreConfig

__all__ = [
    "DEPRECATED_ALIASES",
    "SECRETS_DIR",
    "Settings",
    "audio_limits",
    "env_bool",
    "env_int",
    "env_number",
    "env_seconds",
    "env_text",
    "fetch_policy",
    "read_secret",
    "read_token",
    "required_token",
    "settings",
    "store_config",
]

SECRETS_DIR = Path("/var/openfaas/secrets")
# Old name -> current name; the old one is read only when the current one is unset.
DEPRECATED_ALIASES = {"MAX_OBJECT_BYTES": "AUDIOSCORE_MAX_BYTES"}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
log = logging.getLogger("audioscore")

Env = Mapping[str, str]


def _raw(env: Env, name: str) -> str:
    raw = env.get(name, "").strip()
    old = next((o for o, new in DEPRECATED_ALIASES.items() if new == name), None)
    if not raw and old and env.get(old, "").strip():
        log.warning("%s is deprecated: set %s", old, name)
        return env[old].strip()
    return raw


def env_text(env: Env, name: str, default: str) -> str:
    """``env[name]`` stripped; ``default`` when unset or empty."""
    return _raw(env, name) or default


def env_bool(env: Env, name: str, default: bool) -> bool:
    """A boolean: 1/0, true/false, yes/no, on/off in any case; ``default`` when unset or empty.

    Raises:
        ConfigError: any other value (the message names the variable).
    """
    raw = _raw(env, name).lower()
    if not raw:
        return default
    if raw in _TRUE | _FALSE:
        return raw in _TRUE
    raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off), got {env.get(name)!r}")


def env_int(env: Env, name: str, default: int) -> int:
    """A positive integer (decimal digits); ``default`` when unset or empty.

    Raises:
        ConfigError: anything else (the message names the variable).
    """
    raw = _raw(env, name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def env_number(env: Env, name: str, default: float, *, zero: bool = False) -> float:
    """A finite number, positive (or also 0 with ``zero``); ``default`` when unset or empty.

    Raises:
        ConfigError: anything else (the message names the variable).
    """
    raw = _raw(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        bound = "0 or more" if zero else "positive"
        raise ConfigError(f"{name} must be a number, {bound}, got {raw!r}")
    return value


def env_seconds(env: Env, name: str, default: float, *, zero: bool = False) -> float:
    """A duration in seconds: the rule of `env_number`."""
    return env_number(env, name, default, zero=zero)


def read_secret(name: str, directory: Path | None = None) -> str | None:
    """A secret's value (surrounding whitespace stripped), or None when it is not mounted.

    The directory is ``$AUDIOSCORE_SECRETS_DIR`` when set (tests, local runs), else OpenFaaS's.

    Raises:
        ConfigError: ``name`` is not a plain file name, or the file is unreadable.
    """
    if not _SECRET_NAME.fullmatch(name or ""):
        raise ConfigError(f"bad secret name {name!r}")
    base = directory or Path(os.environ.get("AUDIOSCORE_SECRETS_DIR") or SECRETS_DIR)
    try:
        return (base / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"secret {name} is unreadable: {type(error).__name__}") from None


def read_token(name: str) -> str | None:
    """A bearer-token secret (``read_secret``), or None when it is not mounted.

    Raises:
        ConfigError: it is mounted but empty or only white space: taken as "no token", an optional
            token would let everyone in, and a required one would refuse everyone as if wrong.
    """
    token = read_secret(name)
    if token == "":
        raise ConfigError(f"secret {name!r} is empty")
    return token


def required_token(name: str) -> str:
    """A bearer-token secret that must be mounted (``read_token``).

    Raises:
        ConfigError: it is not mounted, or it is empty.
    """
    token = read_token(name)
    if token is None:
        raise ConfigError(f"secret {name!r} is not mounted")
    return token


def audio_limits(env: Env | None = None) -> Limits:
    """The limits on untrusted audio: ``AUDIOSCORE_MAX_DURATION_S``, ``AUDIOSCORE_MAX_BYTES``
    (old name ``MAX_OBJECT_BYTES``), ``AUDIOSCORE_DECODE_TIMEOUT_S``.

    Raises:
        ConfigError: a value breaks its rule.
    """
    from audioscore.analysis.audio import (
        DEFAULT_MAX_BYTES,
        DEFAULT_MAX_DURATION_S,
        DEFAULT_TIMEOUT_S,
        Limits,
    )

    env = os.environ if env is None else env
    return Limits(max_duration_s=env_seconds(env, "AUDIOSCORE_MAX_DURATION_S", DEFAULT_MAX_DURATION_S),
                  max_bytes=env_int(env, "AUDIOSCORE_MAX_BYTES", DEFAULT_MAX_BYTES),
                  timeout_s=env_seconds(env, "AUDIOSCORE_DECODE_TIMEOUT_S", DEFAULT_TIMEOUT_S))


def fetch_policy(env: Env | None = None) -> FetchPolicy:
    """fetch-youtube's URL policy from ``FETCH_*``: ``FETCH_ALLOWED_HOSTS`` (comma-separated),
    ``FETCH_ALLOW_PRIVATE`` (boolean), ``FETCH_MAX_DURATION_S``, ``FETCH_MAX_BYTES`` (integer),
    ``FETCH_TIMEOUT_S``, ``FETCH_COOKIES_FILE`` (a path).

    Raises:
        ConfigError: a value breaks its rule, or a host is not a host name, ``*.`` rule or IP.
    """
    env = os.environ if env is None else env
    default = FetchPolicy()
    hosts = tuple(h.strip() for h in env_text(env, "FETCH_ALLOWED_HOSTS", "").split(",") if h.strip())
    try:
        allowed = tuple(normalise_host_rule(h) for h in hosts) or default.allowed_hosts
    except ValueError as error:
        raise ConfigError(f"FETCH_ALLOWED_HOSTS: {error}") from None
    cookies = env_text(env, "FETCH_COOKIES_FILE", "")
    return FetchPolicy(
        allowed_hosts=allowed,
        allow_private=env_bool(env, "FETCH_ALLOW_PRIVATE", default.allow_private),
        max_duration_s=env_seconds(env, "FETCH_MAX_DURATION_S", default.max_duration_s),
        max_bytes=env_int(env, "FETCH_MAX_BYTES", default.max_bytes),
        timeout_s=env_seconds(env, "FETCH_TIMEOUT_S", default.timeout_s),
        cookies_file=Path(cookies) if cookies else None,
    )


def store_config(env: Env | None = None, secret: Callable[[str], str | None] | None = None) -> StoreConfig:
    """Where the object store is: ``MINIO_ENDPOINT`` (required), ``MINIO_SECURE``, ``MINIO_REGION``,
    ``MINIO_TIMEOUT_S``, ``MINIO_PUBLIC_URL``, ``SSL_CERT_FILE``; the secrets ``minio-access-key``
    and ``minio-secret-key``.

    Args:
        env: the environment; ``os.environ`` when None.
        secret: returns a secret's text by name (None or KeyError: not there); `read_secret` when None.

    Raises:
        ConfigError: a setting or secret is missing or malformed (never a secret's value in the message).
    """
    from audioscore.infra import storage

    env = os.environ if env is None else env
    secret = read_secret if secret is None else secret
    endpoint = env_text(env, storage.ENV_ENDPOINT, "")
    if not endpoint:
        raise ConfigError(f"{storage.ENV_ENDPOINT} is not set")

    def required(name: str) -> str:
        try:
            value = (secret(name) or "").strip()
        except (OSError, KeyError, ValueError):
            raise ConfigError(f"secret {name} is missing or unreadable") from None
        if not value:
            raise ConfigError(f"secret {name} is missing or empty")
        return value

    return storage.StoreConfig(
        endpoint=endpoint,
        access_key=required(storage.ACCESS_KEY_SECRET),
        secret_key=required(storage.SECRET_KEY_SECRET),
        secure=env_bool(env, storage.ENV_SECURE, False),
        region=env_text(env, storage.ENV_REGION, "") or None,
        timeout_s=env_seconds(env, storage.ENV_TIMEOUT_S, storage.DEFAULT_TIMEOUT_S),
        public_url=env_text(env, storage.ENV_PUBLIC_URL, "") or None,
        ca_file=env_text(env, "SSL_CERT_FILE", "") or None,
    )


@dataclass(frozen=True)
class Settings:
    """What the functions need to know; every field has an environment variable.

    Attributes:
        audio_bucket, features_bucket, scores_bucket: bucket names (AUDIO_BUCKET, FEATURES_BUCKET, SCORES_BUCKET).
        mongo_database: database name (MONGO_DATABASE).
        max_object_bytes: largest audio a function downloads or decodes, in bytes (AUDIOSCORE_MAX_BYTES,
            the CLI's variable; MAX_OBJECT_BYTES is its deprecated old name).
        max_duration_s: longest audio accepted, in seconds (AUDIOSCORE_MAX_DURATION_S).
        decode_timeout_s: longest one ffprobe or ffmpeg run, in seconds (AUDIOSCORE_DECODE_TIMEOUT_S).
        presign_expiry_s: lifetime of status links (PRESIGN_EXPIRY_S).
        work_dir: where temporary files go (TMPDIR; /tmp is the writable path in the images).
        gateway_url: the OpenFaaS gateway, for functions that invoke others (GATEWAY_URL).
        fanout_min_s: recordings longer than this (seconds) are analysed in segments (FANOUT_MIN_S).
        segment_s, segment_context_s: segment length and the context decoded on each side
            (SEGMENT_S, SEGMENT_CONTEXT_S).
        segment_max_attempts: tries of one segment before the recording fails (SEGMENT_MAX_ATTEMPTS).
        redrive_*: the re-drive function's rules (REDRIVE_MAX_ATTEMPTS, REDRIVE_MAX_AGE_S, REDRIVE_BACKOFF_S,
            REDRIVE_FEATURES_DEADLINE_S, REDRIVE_SCORE_DEADLINE_S, REDRIVE_UNRECORDED_AFTER_S,
            REDRIVE_MAX_PER_RUN, REDRIVE_MAX_LISTED);
            see `audioscore.pipeline.recovery`. The deadlines default to the functions' exec_timeout in
            stack.yml plus five minutes, so a worker still inside its time limit is never re-driven.
        fetch: fetch-youtube's URL policy (`fetch_policy`).
        recordings_public_url: where browsers reach the `recordings` function (RECORDINGS_PUBLIC_URL, http(s));
            the object store sends a browser there after an upload from its page.
    """

    audio_bucket: str = names.AUDIO_BUCKET
    features_bucket: str = names.FEATURES_BUCKET
    scores_bucket: str = names.SCORES_BUCKET
    mongo_database: str = "audioscore"
    max_object_bytes: int = 2 * 1024**3  # = analysis.audio.DEFAULT_MAX_BYTES (a test checks)
    max_duration_s: float = 4 * 3600.0  # = analysis.audio.DEFAULT_MAX_DURATION_S
    decode_timeout_s: float = 1800.0  # = analysis.audio.DEFAULT_TIMEOUT_S
    presign_expiry_s: int = 3600
    work_dir: Path = Path("/tmp")
    gateway_url: str = "http://gateway.openfaas.svc.cluster.local:8080"
    fanout_min_s: int = 1800
    segment_s: int = 600
    segment_context_s: int = 10
    segment_max_attempts: int = 3
    redrive_max_attempts: int = 3
    redrive_max_age_s: float = 86400.0
    redrive_backoff_s: float = 300.0
    redrive_features_deadline_s: float = 1200.0  # stack.yml: exec_timeout 900 s + 5 min
    redrive_score_deadline_s: float = 1200.0
    redrive_unrecorded_after_s: float = 900.0
    redrive_max_per_run: int = 10
    redrive_max_listed: int = 1000
    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    recordings_public_url: str = "http://127.0.0.1:8080/function/recordings"  # README's port-forward

    def limits(self) -> Limits:
        """The audio limits these settings give (`audioscore.analysis.audio.Limits`)."""
        from audioscore.analysis.audio import Limits

        return Limits(max_duration_s=self.max_duration_s, max_bytes=self.max_object_bytes,
                      timeout_s=self.decode_timeout_s)

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        """Settings from the environment; unset variables keep their defaults.

        Raises:
            ConfigError: a variable breaks its rule (the message names it).
        """
        env = os.environ if env is None else env
        d = cls
        values: dict[str, Any] = {
            "audio_bucket": env_text(env, "AUDIO_BUCKET", d.audio_bucket),
            "features_bucket": env_text(env, "FEATURES_BUCKET", d.features_bucket),
            "scores_bucket": env_text(env, "SCORES_BUCKET", d.scores_bucket),
            "mongo_database": env_text(env, "MONGO_DATABASE", d.mongo_database),
            "max_object_bytes": env_int(env, "AUDIOSCORE_MAX_BYTES", d.max_object_bytes),
            "max_duration_s": env_seconds(env, "AUDIOSCORE_MAX_DURATION_S", d.max_duration_s),
            "decode_timeout_s": env_seconds(env, "AUDIOSCORE_DECODE_TIMEOUT_S", d.decode_timeout_s),
            "presign_expiry_s": env_int(env, "PRESIGN_EXPIRY_S", d.presign_expiry_s),
            "work_dir": Path(env_text(env, "TMPDIR", str(d.work_dir))),
            "gateway_url": env_text(env, "GATEWAY_URL", "").rstrip("/") or d.gateway_url,
            "fanout_min_s": env_int(env, "FANOUT_MIN_S", d.fanout_min_s),
            "segment_s": env_int(env, "SEGMENT_S", d.segment_s),
            "segment_context_s": env_int(env, "SEGMENT_CONTEXT_S", d.segment_context_s),
            "segment_max_attempts": env_int(env, "SEGMENT_MAX_ATTEMPTS", d.segment_max_attempts),
            "redrive_max_attempts": env_int(env, "REDRIVE_MAX_ATTEMPTS", d.redrive_max_attempts),
            "redrive_max_per_run": env_int(env, "REDRIVE_MAX_PER_RUN", d.redrive_max_per_run),
            "redrive_max_listed": env_int(env, "REDRIVE_MAX_LISTED", d.redrive_max_listed),
            "fetch": fetch_policy(env),
            "recordings_public_url": _public_url(env, "RECORDINGS_PUBLIC_URL", d.recordings_public_url),
        }
        for name in ("redrive_max_age_s", "redrive_backoff_s", "redrive_features_deadline_s",
                     "redrive_score_deadline_s", "redrive_unrecorded_after_s"):
            values[name] = env_seconds(env, name.upper(), getattr(d, name), zero=True)
        return cls(**values)


def _public_url(env: Env, name: str, default: str) -> str:
    """An http(s) URL with a host and no credentials, query or fragment.

    Raises:
        ConfigError: anything else (the message names the variable).
    """
    import urllib.parse

    url = env_text(env, name, default)
    parts = urllib.parse.urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password
            or parts.query or parts.fragment):
        raise ConfigError(f"{name} must be an http(s) URL without credentials, query or fragment, got {url!r}")
    return url


@functools.cache
def settings() -> Settings:
    """The process's settings, read from the environment once (`Settings.from_env`).

    Tests that change the environment call ``settings.cache_clear()``.

    Raises:
        ConfigError: a variable breaks its rule.
    """
    return Settings.from_env()
