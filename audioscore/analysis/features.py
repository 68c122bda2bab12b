"""Feature extraction: pitch track and notes (pYIN via Vamp) and MFCCs, and
the ``features.json`` document (schema ``audioscore.features/1``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audioscore.analysis.audio import (
    CHUNK_SAMPLES,
    DEFAULT_SAMPLE_RATE,
    Audio,
    AudioInfo,
    AudioStream,
    Limits,
)
from audioscore.analysis.engines import EngineChoice, choose, engine_for, polyphony
from audioscore.analysis.loudness import with_loudness
from audioscore.analysis.mfcc import N_MFCC, Mfcc, MfccStream
from audioscore.analysis.overview import ROWS, Spectrogram, SpectrogramSampler
from audioscore.analysis.pitch import PLUGIN_KEY, Note, PitchResult, PitchTracker
from audioscore.analysis.polyphonic import PolyNote, PolyProbe, PolyStream, model_name
from audioscore.errors import InputError

__all__ = ["SCHEMA", "DecodedAudio", "Features", "RoundedSeries", "Source", "extract", "extract_file", "note_document", "summarise", "to_document"]

SCHEMA = "audioscore.features/1"
# The f0 range is robust to stray frames: these percentiles of voiced f0.
F0_RANGE_PERCENTILES = (2.0, 98.0)


@dataclass(frozen=True)
class Source:
    """Where the audio came from: a bucket object, or a local file (bucket and etag None)."""

    key: str
    sha256: str
    bucket: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class DecodedAudio:
    """What was analysed: the source's description and how much audio it decoded to."""

    source: AudioInfo
    sample_rate: int
    n_samples: int

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate


@dataclass(frozen=True)
class Features:
    """Everything extracted from one recording. The pitch track (and the plugin's notes) are
    always there; ``notes`` are the chosen engine's (``engine``; None: the melody engine, as
    before engines were chosen)."""

    audio: DecodedAudio
    pitch: PitchResult
    mfcc: Mfcc
    spectrogram: Spectrogram
    engine: EngineChoice | None = None
    poly_notes: tuple[PolyNote, ...] = ()

    @property
    def notes(self) -> Sequence[Note | PolyNote]:
        """The notes of the engine that ran: they may overlap in time when it is "poly"."""
        if self.engine is not None and self.engine.name == "poly":
            return self.poly_notes
        return self.pitch.notes

    @property
    def engine_choice(self) -> EngineChoice:
        return self.engine or EngineChoice("melody", "melody", None, self.pitch.plugin, "requested")


class _Extractor:
    """Hands each piece of audio to every analysis in turn: pitch, MFCCs and the picture's spectrogram."""

    def __init__(self, sample_rate: int, plugin_key: str, plugin_parameters: dict[str, float] | None,
                 n_mfcc: int, engine: str = "auto", instrument: str | None = None, picture: bool = True) -> None:
        self.sample_rate = sample_rate
        self.engine, self.instrument = engine, instrument
        # auto measures how polyphonic the audio is on a sample of it; the polyphonic engine's full
        # pass then runs only if that is chosen (``poly_pass_needed``).
        decided = engine_for(engine, instrument)
        self.poly = PolyStream(sample_rate) if decided == "poly" else None
        self.probe = PolyProbe(sample_rate) if decided is None else None
        self.poly_pass_needed = False  # set by finish()
        self.pitch = PitchTracker(sample_rate, plugin_key=plugin_key, parameters=plugin_parameters)
        self.mfcc = MfccStream(sample_rate, n_mfcc=n_mfcc)
        # Sampled only for features.png: without the picture it is work nobody sees.
        self.spectrogram = SpectrogramSampler(sample_rate) if picture else None

    def feed(self, samples: np.ndarray) -> None:
        self.pitch.feed(samples)
        if self.poly is not None:
            self.poly.feed(samples)
        if self.probe is not None:
            self.probe.feed(samples)
        self.mfcc.feed(samples)
        if self.spectrogram is not None:
            self.spectrogram.feed(samples)

    def finish(self, source: AudioInfo) -> Features:
        """Raises:
            InputError: less audio than one MFCC hop (the shortest input every analysis can describe).
        """
        audio = DecodedAudio(source, self.sample_rate, self.pitch.samples_in)
        # Checked here, on what was decoded (a stated duration can be missing or wrong): too little
        # audio is the input's fault, not a failure of the analyses that would trip over it.
        if audio.n_samples < self.mfcc.hop:
            raise InputError(f"audio is {audio.duration_s:.6f} s long ({audio.n_samples} samples at "
                             f"{self.sample_rate} Hz); at least {self.mfcc.hop / self.sample_rate:.6f} s needed")
        pitch = self.pitch.finish()
        poly_notes = self.poly.finish() if self.poly is not None else None
        name, reason, measured = choose(self.engine, self.instrument,
                                        self.probe.finish() if self.probe is not None else None)
        self.poly_pass_needed = name == "poly" and self.poly is None
        choice = EngineChoice(name, self.engine, self.instrument, model_name() if name == "poly" else pitch.plugin,
                              reason, measured)
        spectrogram = (self.spectrogram.finish() if self.spectrogram is not None
                       else Spectrogram(np.zeros((ROWS, 0), np.float32), 0.0))
        mfcc = self.mfcc.finish()
        return Features(audio, with_loudness(pitch, mfcc), mfcc, spectrogram, choice, tuple(poly_notes or ()))

    def close(self) -> None:
        self.pitch.close()
        self.mfcc.close()
        if self.probe is not None:
            self.probe.close()


def _with_poly_notes(features: Features, chunks: Iterable[np.ndarray]) -> Features:
    """The features with the polyphonic engine's notes from a second pass over the audio (``chunks``):
    auto chose that engine after its probe."""
    stream = PolyStream(features.audio.sample_rate)
    for chunk in chunks:
        stream.feed(chunk)
    return dataclasses.replace(features, poly_notes=tuple(stream.finish()))


def extract(
    audio: Audio,
    *,
    plugin_key: str = PLUGIN_KEY,
    plugin_parameters: dict[str, float] | None = None,
    n_mfcc: int = N_MFCC,
    engine: str = "auto",
    instrument: str | None = None,
    picture: bool = True,
    progress: Callable[[str, float], None] | None = None,
) -> Features:
    """Extract the pitch track, notes and MFCCs of audio decoded into memory.

    Args:
        audio: decoded mono audio.
        plugin_key: Vamp plugin with pYIN's outputs.
        plugin_parameters: plugin parameters by identifier.
        n_mfcc: number of MFCCs.
        engine: "auto", "melody" or "poly" (``engines.ENGINES``).
        instrument: a hint from ``engines.INSTRUMENTS`` (decides the engine under auto), or None.
        picture: sample the spectrogram that features.png draws (else ``spectrogram`` is empty).
        progress: called with ("features", fraction done).

    Returns:
        The features.
    """
    extractor = _Extractor(audio.sample_rate, plugin_key, plugin_parameters, n_mfcc, engine, instrument, picture)
    try:
        samples = audio.samples
        for start in range(0, len(samples), CHUNK_SAMPLES):
            extractor.feed(samples[start : start + CHUNK_SAMPLES])
            if progress:
                progress("features", min(1.0, (start + CHUNK_SAMPLES) / len(samples)))
        features = extractor.finish(audio.source)
    finally:
        extractor.close()
    if not extractor.poly_pass_needed:
        return features
    return _with_poly_notes(features, (samples[start : start + CHUNK_SAMPLES]
                                       for start in range(0, len(samples), CHUNK_SAMPLES)))


def extract_file(
    path: str | os.PathLike[str],
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    limits: Limits | None = None,
    info: AudioInfo | None = None,
    plugin_key: str = PLUGIN_KEY,
    plugin_parameters: dict[str, float] | None = None,
    n_mfcc: int = N_MFCC,
    engine: str = "auto",
    instrument: str | None = None,
    picture: bool = True,
    progress: Callable[[str, float], None] | None = None,
) -> Features:
    """Decode a file and extract its features as the audio streams in: memory does not grow
    with the recording's length beyond a few bytes per analysis frame (and note).

    Args:
        path: the media file.
        sample_rate: analysis rate, in Hz.
        limits: size, duration and time bounds; ``Limits()`` when None.
        info: the file's ``audio.probe`` result, when the caller has probed it already.
        plugin_key, plugin_parameters, n_mfcc, engine, instrument, picture: as for ``extract``.
        progress: called with ("features", fraction done, from the probed duration).

    Raises:
        As ``audio.AudioStream``; ProcessingError: the plugin is missing.
    """
    stream = AudioStream(path, sample_rate=sample_rate, limits=limits, info=info)
    expected = stream.info.duration_s * sample_rate
    extractor = _Extractor(sample_rate, plugin_key, plugin_parameters, n_mfcc, engine, instrument, picture)
    try:
        for chunk in stream.chunks():
            extractor.feed(chunk)
            if progress and expected > 0:  # NaN (no stated duration) compares false
                progress("features", min(1.0, stream.samples_read / expected))
        features = extractor.finish(stream.info)
    finally:
        extractor.close()
    if not extractor.poly_pass_needed:
        return features
    return _with_poly_notes(features, AudioStream(path, sample_rate=sample_rate, limits=limits, info=stream.info).chunks())


def summarise(features: Features) -> dict[str, Any]:
    """Summary statistics: voiced ratio, median f0 and f0 range (Hz), note count, polyphony (mean
    notes sounding at once while any sounds), and the recording's tuning offset from A440 in cents
    (``tuning_cents``; the melody engine's ``midi`` take it off)."""
    f0 = features.pitch.f0_hz
    voiced = f0[f0 > 0]
    summary: dict[str, Any] = {
        "voiced_ratio": round(float(voiced.size / f0.size), 4) if f0.size else 0.0,
        "median_f0_hz": None,
        "f0_range_hz": None,
        "note_count": len(features.notes),
        "polyphony": round(polyphony(features.notes), 3),
        "tuning_cents": round(float(features.pitch.tuning_cents), 1),
    }
    if voiced.size:
        low, high = np.percentile(voiced, F0_RANGE_PERCENTILES)
        summary["median_f0_hz"] = round(float(np.median(voiced)), 2)
        summary["f0_range_hz"] = [round(float(low), 2), round(float(high), 2)]
    return summary


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    return np.round(np.asarray(values, np.float64), digits).tolist()


@dataclass(frozen=True)
class RoundedSeries:
    """A per-frame series to be written as a JSON list of values rounded to ``digits``.

    Kept as the array itself: series can be millions long, and export rounds and
    writes them a block at a time rather than copying them whole.
    """

    values: np.ndarray
    digits: int

    def rounded(self, start: int, stop: int) -> list[float]:
        return np.round(np.asarray(self.values[start:stop], np.float64), self.digits).tolist()


def note_document(note: Note | PolyNote) -> dict[str, Any]:
    """A note as features.json carries it."""
    out: dict[str, Any] = {"onset": round(note.onset, 4), "offset": round(note.offset, 4),
                           "pitch_hz": round(note.pitch_hz, 3), "midi": round(note.midi, 3)}
    if note.velocity is not None:
        out["velocity"] = note.velocity
    if isinstance(note, Note) and note.rise_db is not None:
        out["rise_db"] = note.rise_db
    if isinstance(note, Note) and note.dip_db is not None:
        out["dip_db"] = note.dip_db
    return out


def to_document(features: Features, source: Source, *, mfcc_frames: str = "mfcc.csv") -> dict[str, Any]:
    """The ``features.json`` document (see DESIGN.md, "features.json"); the per-frame pitch
    series are ``RoundedSeries`` (``export.write_json`` writes them as JSON lists)."""
    pitch, mfcc, info = features.pitch, features.mfcc, features.audio.source
    return {
        "schema": SCHEMA,
        "source": {"bucket": source.bucket, "key": source.key, "etag": source.etag, "sha256": source.sha256},
        "audio": {
            "duration_s": round(features.audio.duration_s, 4),
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "analysis_sample_rate": features.audio.sample_rate,
        },
        "pitch": {
            "plugin": pitch.plugin,
            "hop_s": round(pitch.hop_s, 7),
            "times": RoundedSeries(pitch.times, 5),
            "f0_hz": RoundedSeries(pitch.f0_hz, 3),
            "voiced_prob": RoundedSeries(pitch.voiced_prob, 4),
        },
        "engine": features.engine_choice.to_dict(),
        "notes": [note_document(n) for n in features.notes],
        "mfcc": {
            "n_mfcc": int(mfcc.coefficients.shape[0]),
            "hop_s": round(mfcc.hop_s, 7),
            "mean": _rounded(mfcc.mean, 5),
            "std": _rounded(mfcc.std, 5),
            "frames": mfcc_frames,
        },
        "summary": summarise(features),
    }
