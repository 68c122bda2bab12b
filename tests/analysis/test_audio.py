"""Tests for audioscore.analysis.audio: inputs are generated with ffmpeg's lavfi sources at test time."""

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

from audioscore.analysis import audio
from audioscore.analysis.audio import Limits, load_audio, probe
from audioscore.errors import InputError, LimitExceeded, ProcessingError
from audioscore.infra.config import audio_limits

FREQ_HZ = 440.0
DURATION_S = 2.0


def make_media(path: Path, *sources: str, codec_args: tuple[str, ...] = ()) -> Path:
    """Writes a file from lavfi sources (e.g. "sine=frequency=440:duration=2") with ffmpeg."""
    inputs = [arg for src in sources for arg in ("-f", "lavfi", "-i", src)]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *codec_args, str(path)],
        check=True,
    )
    return path


def sine(freq_hz: float = FREQ_HZ, duration_s: float = DURATION_S, rate: int = 44100) -> str:
    return f"sine=frequency={freq_hz}:sample_rate={rate}:duration={duration_s}"


def spectrum(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and magnitudes of a Hann-windowed FFT."""
    mags = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return np.fft.rfftfreq(samples.size, 1 / rate), mags


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    freqs, mags = spectrum(samples, rate)
    return float(freqs[np.argmax(mags)])


def assert_one_line_naming(exc: pytest.ExceptionInfo[BaseException], path: Path) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert path.name in message
    assert str(path.parent) not in message


@pytest.mark.parametrize(
    ("name", "codec_args"),
    [
        ("a.wav", ()),
        ("a.flac", ()),
        ("a.mp3", ()),
        ("a.ogg", ("-c:a", "libvorbis")),
        ("a.opus", ("-c:a", "libopus")),
        ("a.m4a", ("-c:a", "aac")),
        ("a.webm", ("-c:a", "libopus")),
    ],
)
def test_decodes_audio_formats(tmp_path: Path, name: str, codec_args: tuple[str, ...]) -> None:
    path = make_media(tmp_path / name, sine(), codec_args=codec_args)
    result = load_audio(path)
    assert result.samples.dtype == np.float32
    assert result.samples.ndim == 1
    assert result.sample_rate == 44100
    assert result.duration_s == pytest.approx(DURATION_S, abs=0.05)
    assert result.source.channels == 1
    assert result.source.size_bytes == path.stat().st_size
    assert dominant_hz(result.samples, result.sample_rate) == pytest.approx(FREQ_HZ, rel=0.01)


def test_takes_the_audio_stream_of_a_video(tmp_path: Path) -> None:
    path = make_media(
        tmp_path / "clip.mp4",
        "testsrc=size=64x48:rate=10:duration=2",
        sine(),
        codec_args=("-c:v", "mpeg4", "-c:a", "aac", "-shortest"),
    )
    result = load_audio(path)
    assert result.source.codec == "aac"
    assert result.duration_s == pytest.approx(DURATION_S, abs=0.05)
    assert dominant_hz(result.samples, result.sample_rate) == pytest.approx(FREQ_HZ, rel=0.01)


def test_downmixes_stereo(tmp_path: Path) -> None:
    # Left and right carry different tones: a mono mix holds both, one channel only one.
    path = tmp_path / "stereo.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-filter_complex",
            f"{sine(440)}[l];{sine(660)}[r];[l][r]amerge=inputs=2",
            str(path),
        ],
        check=True,
    )
    result = load_audio(path)
    assert result.source.channels == 2
    assert result.samples.ndim == 1
    freqs, mags = spectrum(result.samples, result.sample_rate)
    top_two = sorted(freqs[np.argsort(mags)[-2:]])
    assert top_two == [pytest.approx(440, rel=0.01), pytest.approx(660, rel=0.01)]


def test_resamples(tmp_path: Path) -> None:
    path = make_media(tmp_path / "a48k.flac", sine(rate=48000))
    result = load_audio(path, sample_rate=22050)
    assert result.sample_rate == 22050
    assert result.source.sample_rate == 48000
    assert result.samples.size == pytest.approx(DURATION_S * 22050, abs=0.05 * 22050)
    assert dominant_hz(result.samples, 22050) == pytest.approx(FREQ_HZ, rel=0.01)


@pytest.mark.parametrize("rate", [7999, 192001])
def test_rejects_unsupported_sample_rate(tmp_path: Path, rate: int) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(tmp_path / "unused.wav", sample_rate=rate)


def test_probe_describes_the_stream(tmp_path: Path) -> None:
    path = make_media(tmp_path / "a.flac", sine(rate=32000))
    assert probe(path) == audio.AudioInfo(
        duration_s=pytest.approx(DURATION_S),
        sample_rate=32000,
        channels=1,
        codec="flac",
        size_bytes=path.stat().st_size,
        container="flac",
    )


def test_path_starting_with_dash_is_not_an_option(tmp_path: Path, monkeypatch) -> None:
    make_media(tmp_path / "-y.wav", sine())
    monkeypatch.chdir(tmp_path)
    assert load_audio("-y.wav").duration_s == pytest.approx(DURATION_S, abs=0.05)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(InputError, match=r"'nope\.wav': no such file") as exc:
        load_audio(path)
    assert_one_line_naming(exc, path)


def test_directory_is_not_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "dir.wav"
    path.mkdir()
    with pytest.raises(InputError, match="not a regular file") as exc:
        probe(path)
    assert_one_line_naming(exc, path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(InputError, match=r"empty \(0 bytes\)") as exc:
        load_audio(path)
    assert_one_line_naming(exc, path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("text.wav", b"this is not audio\n"),
        ("noise.mp3", np.random.default_rng(0).bytes(4096)),
    ],
)
def test_unreadable_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable media file") as exc:
        load_audio(path)
    assert type(exc.value) is InputError
    assert_one_line_naming(exc, path)


def test_video_without_audio(tmp_path: Path) -> None:
    path = make_media(
        tmp_path / "mute.mp4", "testsrc=size=64x48:rate=10:duration=1", codec_args=("-c:v", "mpeg4")
    )
    with pytest.raises(InputError, match="has no audio stream") as exc:
        load_audio(path)
    assert_one_line_naming(exc, path)


def test_silent_file(tmp_path: Path) -> None:
    path = make_media(
        tmp_path / "silence.wav",
        "anullsrc=sample_rate=44100:channel_layout=mono",
        codec_args=("-t", "1"),
    )
    with pytest.raises(InputError, match=r"is silent \(peak -inf dBFS") as exc:
        load_audio(path)
    assert_one_line_naming(exc, path)


def test_quiet_file_against_threshold(tmp_path: Path) -> None:
    # lavfi's sine peaks at 1/8 (-18 dBFS): -22 dB more gives a -40 dBFS tone.
    path = make_media(tmp_path / "quiet.wav", sine(), codec_args=("-af", "volume=-22dB"))
    assert load_audio(path).samples.size > 0
    with pytest.raises(InputError, match=r"is silent \(peak -4\d\.\d dBFS"):
        load_audio(path, min_peak_dbfs=-30)


def test_non_finite_samples(tmp_path: Path) -> None:
    raw = tmp_path / "nan.raw"
    samples = np.sin(np.arange(8000, dtype=np.float32))
    samples[100] = np.nan
    samples.astype("<f4").tofile(raw)
    path = tmp_path / "nan.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            "8000",
            "-ac",
            "1",
            "-i",
            str(raw),
            "-c:a",
            "pcm_f32le",
            str(path),
        ],
        check=True,
    )
    with pytest.raises(InputError, match="non-finite") as exc:
        load_audio(path, sample_rate=8000)
    assert_one_line_naming(exc, path)


def test_duration_limit_from_probe(tmp_path: Path) -> None:
    path = make_media(tmp_path / "long.wav", sine(duration_s=3))
    with pytest.raises(LimitExceeded, match=r"lasts 3\.0 s, above the 1 s limit") as exc:
        load_audio(path, limits=Limits(max_duration_s=1))
    assert_one_line_naming(exc, path)


def test_duration_limit_while_decoding(tmp_path: Path, monkeypatch) -> None:
    # A container can understate its duration: the decoded length is checked too.
    path = make_media(tmp_path / "liar.wav", sine(duration_s=3))
    info = probe(path)
    monkeypatch.setattr(audio, "probe", lambda *_: dataclasses.replace(info, duration_s=0.5))
    with pytest.raises(LimitExceeded, match="lasts more than the 1 s limit") as exc:
        load_audio(path, limits=Limits(max_duration_s=1))
    assert_one_line_naming(exc, path)
    # The decode buffer grows past a stated duration that is too short.
    assert load_audio(path).duration_s == pytest.approx(3, abs=0.05)


def test_decode_timeout(tmp_path: Path, monkeypatch) -> None:
    path = make_media(tmp_path / "slow.wav", sine())
    info = probe(path)
    monkeypatch.setattr(audio, "probe", lambda *_: info)
    with pytest.raises(LimitExceeded, match=r"decoding 'slow\.wav' took longer than 1e-06 s"):
        load_audio(path, limits=Limits(timeout_s=1e-6))


def test_byte_limit_is_checked_before_ffprobe(tmp_path: Path, monkeypatch) -> None:
    path = make_media(tmp_path / "big.wav", sine())
    monkeypatch.setenv("PATH", str(tmp_path))  # ffprobe would now be missing
    with pytest.raises(LimitExceeded, match=r"above the 1000 byte limit") as exc:
        load_audio(path, limits=Limits(max_bytes=1000))
    assert_one_line_naming(exc, path)


def test_missing_ffmpeg(tmp_path: Path, monkeypatch) -> None:
    path = make_media(tmp_path / "a.wav", sine())
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ProcessingError, match="install ffmpeg"):
        load_audio(path)


def test_limits_from_env() -> None:
    assert audio_limits({}) == Limits()
    env = {
        "AUDIOSCORE_MAX_DURATION_S": "60",
        "AUDIOSCORE_MAX_BYTES": "1000",
        "AUDIOSCORE_DECODE_TIMEOUT_S": "2.5",
    }
    assert audio_limits(env) == Limits(max_duration_s=60, max_bytes=1000, timeout_s=2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUDIOSCORE_MAX_DURATION_S", "soon"),
        ("AUDIOSCORE_MAX_DURATION_S", "nan"),
        ("AUDIOSCORE_MAX_BYTES", "1.5"),
        ("AUDIOSCORE_DECODE_TIMEOUT_S", "-1"),
    ],
)
def test_limits_from_env_rejects_bad_values(name: str, value: str) -> None:
    from audioscore.errors import ConfigError

    with pytest.raises(ConfigError, match=name):
        audio_limits({name: value})


def test_decoder_failure_reports_ffmpeg_reason(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "garbage.mp3"
    path.write_bytes(b"not audio at all\n" * 10)
    # Pretend the probe passed, as it can for files damaged beyond their headers.
    info = audio.AudioInfo(1.0, 44100, 1, "mp3", path.stat().st_size)
    monkeypatch.setattr(audio, "probe", lambda *_: info)
    with pytest.raises(InputError, match=r"cannot decode 'garbage\.mp3': Invalid ") as exc:
        load_audio(path)
    assert type(exc.value) is InputError
    assert_one_line_naming(exc, path)


def test_stream_chunks_equal_whole_decode(tmp_path: Path) -> None:
    path = make_media(tmp_path / "a.flac", sine(duration_s=3, rate=48000))
    whole = load_audio(path).samples
    stream = audio.AudioStream(path)
    chunks = list(stream.chunks(10000))
    assert {len(c) for c in chunks[:-1]} == {10000}
    np.testing.assert_array_equal(np.concatenate(chunks), whole)
    assert stream.duration_s == pytest.approx(3.0, abs=0.01)


def test_stream_segment_equals_the_same_span_of_the_whole_file(tmp_path: Path) -> None:
    # Resampled from 48 kHz: the cut happens after the resampler, so the samples match exactly.
    path = make_media(tmp_path / "a.wav", sine(duration_s=4, rate=48000), "anoisesrc=d=4:a=0.1:r=48000",
                      codec_args=("-filter_complex", "amix=inputs=2"))
    whole = load_audio(path).samples
    start, length = 44100 + 123, 2 * 44100
    segment = np.concatenate(list(audio.AudioStream(path, start_sample=start, max_samples=length).chunks()))
    np.testing.assert_array_equal(segment, whole[start : start + length])
    tail = np.concatenate(list(audio.AudioStream(path, start_sample=len(whole) - 500).chunks()))
    np.testing.assert_array_equal(tail, whole[-500:])


def test_stream_reports_silence_after_the_last_chunk(tmp_path: Path) -> None:
    path = make_media(tmp_path / "quiet.wav", "anullsrc=r=44100:cl=mono:d=1")
    stream = audio.AudioStream(path)
    chunks = stream.chunks(4096)
    assert len(next(chunks)) == 4096
    with pytest.raises(InputError, match="is silent"):
        list(chunks)
