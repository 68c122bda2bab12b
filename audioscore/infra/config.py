"""Function configuration: environment variables with documented defaults, and
secrets from files (OpenFaaS mounts them at /var/openfaas/secrets/<name>)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SECRETS_DIR", "Settings", "read_secret"]

SECRETS_DIR = Path("/var/openfaas/secrets")


def read_secret(name: str, directory: Path | None = None) -> str | None:
    """A secret's value (surrounding whitespace stripped), or None when it is not mounted.

    The directory is ``$AUDIOSCORE_SECRETS_DIR`` when set (tests, local runs), else OpenFaaS's.
    """
    base = directory or Path(os.environ.get("AUDIOSCORE_SECRETS_DIR", SECRETS_DIR))
    path = base / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Settings:
    """What the functions need to know; every field has an environment variable.

    Attributes:
        audio_bucket, features_bucket, scores_bucket: bucket names (AUDIO_BUCKET, FEATURES_BUCKET, SCORES_BUCKET).
        mongo_database: database name (MONGO_DATABASE).
        max_object_bytes: largest object a function downloads (MAX_OBJECT_BYTES).
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
    """

    audio_bucket: str = "audio"
    features_bucket: str = "features"
    scores_bucket: str = "scores"
    mongo_database: str = "audioscore"
    max_object_bytes: int = 2 * 1024**3
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment; unset variables keep their defaults.

        Raises:
            ValueError: a numeric variable is not a positive integer (the message names it).
        """
        env = os.environ if env is None else env

        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {raw!r}")
            return int(raw)

        def seconds(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not 0 <= value < float("inf"):
                raise ValueError(f"{name} must be a number of seconds, 0 or more, got {raw!r}")
            return value

        return cls(
            audio_bucket=env.get("AUDIO_BUCKET", cls.audio_bucket),
            features_bucket=env.get("FEATURES_BUCKET", cls.features_bucket),
            scores_bucket=env.get("SCORES_BUCKET", cls.scores_bucket),
            mongo_database=env.get("MONGO_DATABASE", cls.mongo_database),
            max_object_bytes=number("MAX_OBJECT_BYTES", cls.max_object_bytes),
            presign_expiry_s=number("PRESIGN_EXPIRY_S", cls.presign_expiry_s),
            work_dir=Path(env.get("TMPDIR", str(cls.work_dir))),
            gateway_url=env.get("GATEWAY_URL", "").strip().rstrip("/") or cls.gateway_url,
            fanout_min_s=number("FANOUT_MIN_S", cls.fanout_min_s),
            segment_s=number("SEGMENT_S", cls.segment_s),
            segment_context_s=number("SEGMENT_CONTEXT_S", cls.segment_context_s),
            segment_max_attempts=number("SEGMENT_MAX_ATTEMPTS", cls.segment_max_attempts),
            redrive_max_attempts=number("REDRIVE_MAX_ATTEMPTS", cls.redrive_max_attempts),
            redrive_max_age_s=seconds("REDRIVE_MAX_AGE_S", cls.redrive_max_age_s),
            redrive_backoff_s=seconds("REDRIVE_BACKOFF_S", cls.redrive_backoff_s),
            redrive_features_deadline_s=seconds("REDRIVE_FEATURES_DEADLINE_S", cls.redrive_features_deadline_s),
            redrive_score_deadline_s=seconds("REDRIVE_SCORE_DEADLINE_S", cls.redrive_score_deadline_s),
            redrive_unrecorded_after_s=seconds("REDRIVE_UNRECORDED_AFTER_S", cls.redrive_unrecorded_after_s),
            redrive_max_per_run=number("REDRIVE_MAX_PER_RUN", cls.redrive_max_per_run),
            redrive_max_listed=number("REDRIVE_MAX_LISTED", cls.redrive_max_listed),
        )
