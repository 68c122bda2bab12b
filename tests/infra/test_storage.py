"""Tests of ``audioscore.infra.storage`` against a real S3 HTTP server (moto) through ``minio``."""

from __future__ import annotations

import hashlib
import socket
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("minio")

from audioscore.errors import InputError, LimitExceeded, ProcessingError, StaleInput, TransientError
from audioscore.infra.storage import (
    ObjectStore,
    StoreConfig,
    decode_metadata_value,
    encode_metadata_value,
    local_file_name,
    safe_key,
)

UNSAFE_KEYS = [
    "",
    "../x",
    "/abs",
    "a/../b",
    "a/b/../../c",
    "./a",
    "a/./b",
    "a//b",
    "dir/",
    "a\\b",
    "a\nb",
    "a\x00b",
    "a\x7fb",
    "x" * 1025,
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_round_trip_with_metadata(object_store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    data = bytes(range(256)) * 100
    src.write_bytes(data)
    title = "Für Elise — 「エリーゼのために」 100% \x07done\r\n"
    etag = object_store.upload_file(
        "audio",
        "songs/für elise.wav",
        src,
        content_type="audio/wav",
        metadata={"title": title, "Source": "upload"},
    )
    assert etag == hashlib.md5(data).hexdigest()  # single-part PUT: the ETag is the MD5

    info = object_store.stat("audio", "songs/für elise.wav")
    assert info is not None
    assert info.etag == etag
    assert info.size == len(data)
    assert info.content_type == "audio/wav"
    # Control characters are dropped and whitespace trimmed; everything else round-trips.
    expected_title = "Für Elise — 「エリーゼのために」 100% done"
    assert info.metadata == {"title": expected_title, "source": "upload"}

    out = object_store.download(
        "audio", "songs/für elise.wav", tmp_path / "dl", max_bytes=len(data)
    )
    assert out.parent == tmp_path / "dl"
    assert out.name == "f_r_elise.wav"
    assert out.read_bytes() == data
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".download-")]


def test_upload_bytes_and_exists(object_store: ObjectStore) -> None:
    assert not object_store.exists("features", "x/features.json")
    etag = object_store.upload_bytes(
        "features", "x/features.json", b"{}", content_type="application/json"
    )
    assert object_store.exists("features", "x/features.json")
    info = object_store.stat("features", "x/features.json")
    assert info is not None and info.etag == etag and info.size == 2 and info.metadata == {}


def test_missing_object_and_bucket(object_store: ObjectStore, tmp_path: Path) -> None:
    assert object_store.stat("audio", "nope.wav") is None
    assert object_store.stat("no-such-bucket", "nope.wav") is None
    with pytest.raises(InputError, match="no such object audio/nope.wav"):
        object_store.download("audio", "nope.wav", tmp_path, max_bytes=10)
    with pytest.raises(InputError, match="no such object no-such-bucket/k"):
        object_store.upload_bytes("no-such-bucket", "k", b"x", content_type="text/plain")


def test_max_bytes(object_store: ObjectStore, tmp_path: Path) -> None:
    object_store.upload_bytes("audio", "big.wav", b"x" * 1000, content_type="audio/wav")
    with pytest.raises(LimitExceeded, match="1000 bytes"):
        object_store.download("audio", "big.wav", tmp_path, max_bytes=999)
    assert list(tmp_path.iterdir()) == []
    out = object_store.download("audio", "big.wav", tmp_path, max_bytes=1000)
    assert out.stat().st_size == 1000


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_rejected(object_store: ObjectStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(InputError):
        safe_key(key)
    with pytest.raises(InputError):
        object_store.upload_bytes("audio", key, b"x", content_type="text/plain")
    with pytest.raises(InputError):
        object_store.download("audio", key, tmp_path, max_bytes=10)
    with pytest.raises(InputError):
        object_store.stat("audio", key)
    with pytest.raises(InputError):
        object_store.presigned_get("audio", key)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bucket", ["", "A", "ab", "a_b", "../audio", "audio/x"])
def test_bad_bucket_rejected(object_store: ObjectStore, bucket: str) -> None:
    with pytest.raises(InputError):
        object_store.stat(bucket, "k")


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("my song (1).wav", "my_song_1_.wav"),
        ("dir/name with spaces.wav", "name_with_spaces.wav"),
        ("a/-rf.wav", "rf.wav"),
        ("a/.hidden", "hidden"),
        ("a/...", "object"),
        ("日本語", "object"),
    ],
)
def test_keys_with_odd_characters_work(
    object_store: ObjectStore, tmp_path: Path, key: str, name: str
) -> None:
    etag = object_store.upload_bytes("audio", key, b"abc", content_type="audio/wav")
    info = object_store.stat("audio", key)
    assert info is not None and info.etag == etag
    dest = tmp_path / "dest"
    out = object_store.download("audio", key, dest, max_bytes=100)
    assert out == dest / name
    assert out.resolve().parent == dest.resolve()
    assert out.read_bytes() == b"abc"


def test_local_file_name_is_bounded() -> None:
    name = local_file_name("a/" + "x" * 500 + ".flac")
    assert len(name) <= 120 and name.endswith(".flac")
    for key in ["a/b", "../../etc/passwd", "..", "/", "a\\..\\b"]:
        assert "/" not in local_file_name(key) and local_file_name(key) not in {"", ".", ".."}


def test_metadata_encoding_round_trips() -> None:
    for text in ["plain", "100%25 literal", "é", "中文", "a+b=c;d", "emoji 🎵"]:
        encoded = encode_metadata_value(text)
        assert encoded.isascii() and encoded.isprintable()
        assert decode_metadata_value(encoded) == text


def test_bad_metadata_key(object_store: ObjectStore) -> None:
    with pytest.raises(ValueError):
        object_store.upload_bytes(
            "audio", "k", b"x", content_type="text/plain", metadata={"bad key": "v"}
        )


def test_presigned_url_is_fetchable(object_store: ObjectStore) -> None:
    data = b"score bytes \x00\xff"
    object_store.upload_bytes("scores", "x/score (1).pdf", data, content_type="application/pdf")
    url = object_store.presigned_get("scores", "x/score (1).pdf", expires_s=60)
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == data
    with pytest.raises(ValueError):
        object_store.presigned_get("scores", "x/score (1).pdf", expires_s=0)


def test_ensure_buckets_is_idempotent(object_store: ObjectStore) -> None:
    object_store.ensure_buckets(["audio", "extra"])
    object_store.ensure_buckets(["extra"])
    assert object_store.client.bucket_exists("extra")


def test_unreachable_store_is_transient(tmp_path: Path) -> None:
    config = StoreConfig(
        endpoint=f"127.0.0.1:{_free_port()}",
        access_key="testing",
        secret_key="very-secret-value",
        region="us-east-1",
        timeout_s=2,
        connect_timeout_s=1,
    )
    store = ObjectStore.connect(config)
    start = time.monotonic()
    with pytest.raises(TransientError) as info:
        store.download("audio", "a.wav", tmp_path, max_bytes=10)
    with pytest.raises(TransientError):
        store.upload_bytes("audio", "a.wav", b"x", content_type="audio/wav")
    with pytest.raises(TransientError):
        store.ensure_buckets(["audio"])
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "\n" not in message and "very-secret-value" not in message
    assert config.endpoint in message
    assert "very-secret-value" not in repr(config)


def test_endpoint_with_scheme_is_a_deployment_error(s3_server: str) -> None:
    with pytest.raises(ProcessingError):
        StoreConfig(endpoint=f"http://{s3_server}", access_key="a", secret_key="b")


def test_config_from_env_and_secrets() -> None:
    secrets = {"minio-access-key": "ak\n", "minio-secret-key": " sk \n"}
    config = StoreConfig.from_env_and_secrets(
        {"MINIO_ENDPOINT": "minio.minio.svc:9000", "MINIO_SECURE": "true"}, secrets.__getitem__
    )
    assert config == StoreConfig("minio.minio.svc:9000", "ak", "sk", secure=True)

    with pytest.raises(ProcessingError, match="MINIO_ENDPOINT"):
        StoreConfig.from_env_and_secrets({}, secrets.__getitem__)
    with pytest.raises(ProcessingError, match="minio-secret-key"):
        StoreConfig.from_env_and_secrets(
            {"MINIO_ENDPOINT": "m:9000"}, {"minio-access-key": "ak"}.__getitem__
        )
    with pytest.raises(ProcessingError, match="MINIO_SECURE"):
        StoreConfig.from_env_and_secrets(
            {"MINIO_ENDPOINT": "m:9000", "MINIO_SECURE": "maybe"}, secrets.__getitem__
        )


def test_config_reads_openfaas_secret_files(tmp_path: Path) -> None:
    from audioscore.infra.storage import openfaas_secret_reader

    (tmp_path / "minio-access-key").write_text("ak\n")
    (tmp_path / "minio-secret-key").write_text("sk\n")
    config = StoreConfig.from_env_and_secrets(
        {"MINIO_ENDPOINT": "m:9000", "MINIO_REGION": "eu-1", "MINIO_TIMEOUT_S": "7"},
        openfaas_secret_reader(tmp_path),
    )
    assert (config.access_key, config.secret_key, config.region, config.timeout_s) == (
        "ak",
        "sk",
        "eu-1",
        7.0,
    )


def test_download_is_the_object_that_was_measured(
    object_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    object_store.upload_bytes("audio", "a.wav", b"x" * 100, content_type="audio/wav")
    real = object_store.stat("audio", "a.wav")
    assert real is not None

    # The object was replaced between the size check and the GET: the conditional GET fails.
    stale = replace(real, etag="0" * 32)
    monkeypatch.setattr(object_store, "stat", lambda bucket, key: stale)
    with pytest.raises(TransientError, match="PreconditionFailed"):
        object_store.download("audio", "a.wav", tmp_path, max_bytes=1000)
    assert list(tmp_path.iterdir()) == []

    # The size check saw fewer bytes than arrive: the stream is cut at the limit.
    small = replace(real, size=10)
    monkeypatch.setattr(object_store, "stat", lambda bucket, key: small)
    with pytest.raises(LimitExceeded, match="grew past"):
        object_store.download("audio", "a.wav", tmp_path, max_bytes=50)
    assert list(tmp_path.iterdir()) == []


def test_download_of_one_version(object_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With an event's ETag, any other version (or none) is refused as stale, not retried."""
    first = object_store.upload_bytes("audio", "a.wav", b"first", content_type="audio/wav")
    second = object_store.upload_bytes("audio", "a.wav", b"second", content_type="audio/wav")
    with pytest.raises(StaleInput, match="replaced after the event"):
        object_store.download("audio", "a.wav", tmp_path, max_bytes=1000, etag=first)
    assert object_store.download("audio", "a.wav", tmp_path, max_bytes=1000, etag=second).read_bytes() == b"second"
    with pytest.raises(StaleInput, match="no longer exists"):
        object_store.download("audio", "gone.wav", tmp_path, max_bytes=1000, etag=first)

    # Replaced between the check and the GET: the conditional GET fails, and that is final too.
    seen = object_store.stat("audio", "a.wav")
    assert seen is not None
    object_store.upload_bytes("audio", "a.wav", b"third", content_type="audio/wav")
    monkeypatch.setattr(object_store, "stat", lambda bucket, key: seen)
    with pytest.raises(StaleInput, match="changed while it was read"):
        object_store.download("audio", "a.wav", tmp_path / "x", max_bytes=1000, etag=second)
    assert list((tmp_path / "x").iterdir()) == []
