"""MinIO webhook bodies → object events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from audioscore.errors import InputError
from audioscore.infra.events import MAX_KEY_BYTES, ObjectEvent, parse_event, validate_key

# The example of DESIGN.md, byte for byte.
DESIGN_BODY = b"""{"EventName": "s3:ObjectCreated:Put",
 "Key": "audio/my song (1).wav",
 "Records": [{"eventVersion": "2.0", "eventSource": "minio:s3",
   "eventName": "s3:ObjectCreated:Put",
   "s3": {"bucket": {"name": "audio"},
          "object": {"key": "my+song+%281%29.wav", "size": 1048576,
                     "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                     "contentType": "audio/wav", "userMetadata": {}}}}]}"""


def record(
    key: str,
    *,
    bucket: str = "audio",
    name: str = "s3:ObjectCreated:Put",
    etag: str = "abc",
    **obj: Any,
) -> dict[str, Any]:
    """One notification record as MinIO sends it (``key`` already URL-encoded)."""
    return {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag, **obj}},
    }


def body(*records: dict[str, Any]) -> bytes:
    return json.dumps({"EventName": "s3:ObjectCreated:Put", "Records": list(records)}).encode()


def test_design_example() -> None:
    assert parse_event(DESIGN_BODY, buckets={"audio"}) == [
        ObjectEvent(
            event_name="s3:ObjectCreated:Put",
            bucket="audio",
            key="my song (1).wav",
            etag="d41d8cd98f00b204e9800998ecf8427e",
            size=1048576,
            content_type="audio/wav",
            user_metadata={},
        )
    ]


def test_slash_is_decoded_and_quotes_stripped_from_etag() -> None:
    [event] = parse_event(body(record("dir%2Fsub%2Fa+b.mp3", etag='"e1"')), buckets=["audio"])
    assert event.key == "dir/sub/a b.mp3"
    assert event.etag == "e1"
    # Absent optional fields get neutral values.
    assert (event.size, event.content_type, event.user_metadata) == (0, "", {})


def test_plus_encoded_as_percent_2b_stays_plus() -> None:
    [event] = parse_event(body(record("c%2B%2B.wav")), buckets=["audio"])
    assert event.key == "c++.wav"


def test_user_metadata_is_kept_as_strings() -> None:
    rec = record("a.wav", userMetadata={"X-Amz-Meta-Recording-Id": "0" * 24, "n": 3})
    [event] = parse_event(body(rec), buckets=["audio"])
    assert event.user_metadata == {"X-Amz-Meta-Recording-Id": "0" * 24, "n": "3"}


@pytest.mark.parametrize("probe", [b"", b"  \n", "", b"\r\n\t"])
def test_probe_body_is_no_event(probe: bytes | str) -> None:
    assert parse_event(probe, buckets=["audio"]) == []


def test_other_event_names_are_skipped() -> None:
    removed = record("a.wav", name="s3:ObjectRemoved:Delete")
    accessed = record("b.wav", name="s3:ObjectAccessed:Get")
    assert parse_event(body(removed, accessed), buckets=["audio"]) == []
    # ... unless asked for.
    got = parse_event(body(removed), buckets=["audio"], event_prefix="s3:ObjectRemoved:")
    assert [e.key for e in got] == ["a.wav"]


def test_skipped_records_need_not_be_complete() -> None:
    assert parse_event(body({"eventName": "s3:ObjectRemoved:Delete"}), buckets=["audio"]) == []


def test_other_buckets_are_skipped() -> None:
    got = parse_event(
        body(record("a.wav", bucket="features"), record("b.wav")), buckets=frozenset({"audio"})
    )
    assert [(e.bucket, e.key) for e in got] == [("audio", "b.wav")]


def test_suffix_filter_is_case_insensitive() -> None:
    records = [record(k) for k in ("a.WAV", "b.mp3", "c.txt", "features.json", "d.wav.part")]
    got = parse_event(body(*records), buckets=["audio"], suffixes=[".wav", ".MP3"])
    assert [e.key for e in got] == ["a.WAV", "b.mp3"]
    # No suffixes: no filter.
    assert len(parse_event(body(*records), buckets=["audio"])) == len(records)


def test_suffix_applies_to_the_decoded_key() -> None:
    got = parse_event(
        body(record("x%2Ffeatures.json")), buckets=["audio"], suffixes=["features.json"]
    )
    assert [e.key for e in got] == ["x/features.json"]


def test_multiple_records_keep_their_order() -> None:
    records = [record(f"song{i}.wav", etag=f"e{i}", size=i) for i in range(5)]
    got = parse_event(body(*records), buckets=["audio"])
    assert [(e.key, e.etag, e.size) for e in got] == [
        (f"song{i}.wav", f"e{i}", i) for i in range(5)
    ]


def test_single_record_body_is_accepted() -> None:
    got = parse_event(json.dumps(record("a+b.wav")).encode(), buckets=["audio"])
    assert [e.key for e in got] == ["a b.wav"]


def test_str_body_is_accepted() -> None:
    assert len(parse_event(DESIGN_BODY.decode(), buckets=["audio"])) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b'{"EventName": "s3:ObjectCreated:Put"}', "no 'Records'"),
        (b'{"Records": {}}', "not a list"),
        (b'{"Records": [1]}', "not an object"),
        (b'{"Records": [{"s3": {}}]}', "eventName"),
        (b'{"Records": [{"eventName": "s3:ObjectCreated:Put"}]}', "'s3'"),
        (b'{"Records": [{"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {}}}]}', "'name'"),
    ],
)
def test_malformed_bodies_are_input_errors(raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_event(raw, buckets=["audio"])
    assert info.value.http_status == 400
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "fields",
    [{"key": 3}, {"size": -1}, {"size": "12"}, {"size": True}, {"userMetadata": []}, {"eTag": 5}],
)
def test_malformed_object_fields_are_input_errors(fields: dict[str, Any]) -> None:
    rec = record("a.wav")
    rec["s3"]["object"].update(fields)
    with pytest.raises(InputError):
        parse_event(body(rec), buckets=["audio"])


def test_bad_percent_encoding_is_an_input_error() -> None:
    with pytest.raises(InputError, match="percent-encoded"):
        parse_event(body(record("%ff.wav")), buckets=["audio"])


@pytest.mark.parametrize(
    "key",
    [
        "a/../b",
        "../x",
        "..",
        "./a",
        "a/./b",
        "a/..",
        "/etc/passwd",
        "a\\b",
        "x\x00y",
        "a\nb",
        "\x7f",
        "\x85",
    ],
)
def test_unsafe_keys_are_rejected(key: str) -> None:
    with pytest.raises(InputError, match="unsafe object key"):
        validate_key(key)


@pytest.mark.parametrize(
    "encoded", ["a%2F..%2Fb", "..%2Fx", "%2Fetc%2Fpasswd", "a%5Cb", "x%00y", "a/../b"]
)
def test_unsafe_keys_in_events_are_rejected(encoded: str) -> None:
    with pytest.raises(InputError, match="unsafe object key"):
        parse_event(body(record(encoded)), buckets=["audio"])


def test_unsafe_keys_filtered_out_are_not_errors() -> None:
    assert parse_event(body(record("..%2Fx")), buckets=["other"]) == []
    assert parse_event(body(record("..%2Fx")), buckets=["audio"], suffixes=[".wav"]) == []


def test_key_length_limit_is_in_utf8_bytes() -> None:
    assert validate_key("a" * MAX_KEY_BYTES) == "a" * MAX_KEY_BYTES
    with pytest.raises(InputError, match="longer than"):
        validate_key("a" * (MAX_KEY_BYTES + 1))
    with pytest.raises(InputError, match="longer than"):
        validate_key("é" * (MAX_KEY_BYTES // 2 + 1))


def test_empty_key_is_rejected() -> None:
    with pytest.raises(InputError, match="empty"):
        validate_key("")


@pytest.mark.parametrize(
    "key",
    [
        "song.wav",
        "my song (1).wav",
        "a/b/c.mp3",
        "..hidden.wav",
        "a..b",
        "日本語/歌.flac",
        "a.../b",
    ],
)
def test_safe_keys_pass(key: str) -> None:
    assert validate_key(key) == key


def test_long_unsafe_key_is_quoted_short() -> None:
    with pytest.raises(InputError) as info:
        validate_key("/" + "a" * 500)
    assert len(str(info.value)) < 150
