"""Configuration: one rule per kind of value, errors that name the variable, settings read once."""

from __future__ import annotations

from pathlib import Path

import pytest

from audioscore.errors import ConfigError, ProcessingError
from audioscore.infra import config
from audioscore.infra.config import (
    Settings,
    audio_limits,
    env_bool,
    env_int,
    env_seconds,
    read_secret,
)


@pytest.mark.parametrize(("raw", "value"), [
    ("1", True), ("0", False), ("true", True), ("FALSE", False), ("Yes", True), ("no", False),
    (" on ", True), ("off", False), ("", None), ("  ", None),
])
def test_booleans_one_rule(raw: str, value: bool | None) -> None:
    for default in (True, False):
        assert env_bool({"X_FLAG": raw}, "X_FLAG", default) is (default if value is None else value)


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "y"])
def test_a_bad_boolean_is_a_config_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=f"X_FLAG must be true or false.*{raw!r}"):
        env_bool({"X_FLAG": raw}, "X_FLAG", False)


def test_every_boolean_variable_follows_the_rule() -> None:
    """Before, FETCH_ALLOW_PRIVATE, MINIO_SECURE each had a parser of their own (and MINIO_SECURE took "")."""
    assert Settings.from_env({"FETCH_ALLOW_PRIVATE": "YES"}).fetch.allow_private
    with pytest.raises(ConfigError, match="FETCH_ALLOW_PRIVATE"):
        Settings.from_env({"FETCH_ALLOW_PRIVATE": "sometimes"})
    secrets = {"minio-access-key": "a", "minio-secret-key": "b"}.get
    assert config.store_config({"MINIO_ENDPOINT": "m:9000", "MINIO_SECURE": "1"}, secrets).secure
    with pytest.raises(ConfigError, match="MINIO_SECURE"):
        config.store_config({"MINIO_ENDPOINT": "m:9000", "MINIO_SECURE": "https"}, secrets)


@pytest.mark.parametrize("raw", ["0", "-3", "1.5", "1e3", "ten"])
def test_integers_are_positive_digits(raw: str) -> None:
    with pytest.raises(ConfigError, match="SEGMENT_S must be a positive integer"):
        env_int({"SEGMENT_S": raw}, "SEGMENT_S", 600)
    assert env_int({"SEGMENT_S": " 12 "}, "SEGMENT_S", 600) == 12


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "soon"])
def test_durations_are_finite(raw: str) -> None:
    with pytest.raises(ConfigError, match="T_S must be a number"):
        env_seconds({"T_S": raw}, "T_S", 1.0, zero=True)
    with pytest.raises(ConfigError, match="positive"):
        env_seconds({"T_S": "0"}, "T_S", 1.0)
    assert env_seconds({"T_S": "0"}, "T_S", 1.0, zero=True) == 0.0


def test_audio_limits_are_config_errors_and_one_variable_for_bytes() -> None:
    """AUDIOSCORE_MAX_BYTES bounds the functions' downloads too; MAX_OBJECT_BYTES is its deprecated alias."""
    with pytest.raises(ConfigError, match="AUDIOSCORE_MAX_DURATION_S"):
        audio_limits({"AUDIOSCORE_MAX_DURATION_S": "long"})
    settings = Settings.from_env({"AUDIOSCORE_MAX_BYTES": "1000", "AUDIOSCORE_MAX_DURATION_S": "60"})
    assert settings.max_object_bytes == settings.limits().max_bytes == 1000
    assert settings.limits() == audio_limits({"AUDIOSCORE_MAX_BYTES": "1000", "AUDIOSCORE_MAX_DURATION_S": "60"})
    assert Settings.from_env({"MAX_OBJECT_BYTES": "2000"}).max_object_bytes == 2000
    both = {"MAX_OBJECT_BYTES": "2000", "AUDIOSCORE_MAX_BYTES": "3000"}
    assert Settings.from_env(both).max_object_bytes == 3000


def test_settings_defaults_match_the_audio_defaults() -> None:
    from audioscore.analysis.audio import Limits

    assert Settings().limits() == Limits() == audio_limits({})


def test_config_error_is_a_500_and_exit_code_3() -> None:
    from audioscore.infra.http import respond

    assert issubclass(ConfigError, ProcessingError)
    assert (ConfigError.http_status, ConfigError.exit_code) == (500, 3)

    def misconfigured():
        raise ConfigError("SEGMENT_S must be a positive integer, got 'x'")

    answer = respond(misconfigured)
    assert answer["statusCode"] == 500 and "SEGMENT_S" in answer["body"]


def test_settings_are_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    config.settings.cache_clear()
    monkeypatch.setenv("SEGMENT_S", "42")
    first = config.settings()
    monkeypatch.setenv("SEGMENT_S", "43")
    assert config.settings() is first and first.segment_s == 42
    config.settings.cache_clear()
    assert config.settings().segment_s == 43
    config.settings.cache_clear()


def test_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mongo-url").write_text(" mongodb://x \n")
    assert read_secret("mongo-url", tmp_path) == "mongodb://x"
    assert read_secret("absent", tmp_path) is None
    monkeypatch.setenv("AUDIOSCORE_SECRETS_DIR", str(tmp_path))
    assert read_secret("mongo-url") == "mongodb://x"
    for bad in ("../etc/passwd", "", ".hidden", "a/b"):
        with pytest.raises(ConfigError, match="bad secret name"):
            read_secret(bad, tmp_path)


def test_the_cli_maps_a_config_error_to_exit_code_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from audioscore import cli

    monkeypatch.setenv("AUDIOSCORE_MAX_BYTES", "lots")
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    assert cli.main(["extract", str(audio), "-o", str(tmp_path / "out")]) == 3
    assert "AUDIOSCORE_MAX_BYTES" in capsys.readouterr().err
