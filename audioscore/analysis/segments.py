"""Long recordings in segments: plan them, analyse one, merge the results.

Each segment owns a core span of the recording and decodes some context on
either side, so the pitch and note decoders see a join as ordinary audio.
Segment starts are multiples of an alignment unit: whole pitch frames and
whole MFCC blocks, so the merged MFCC frames equal a single pass's bit for
bit. The merged pitch track agrees except near the joins; a note that the two
sides of a join both report is kept once.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audioscore.analysis.audio import DEFAULT_SAMPLE_RATE, AudioInfo, AudioStream, Limits
from audioscore.analysis.features import DecodedAudio, Features
from audioscore.analysis.loudness import with_loudness
from audioscore.analysis.mfcc import (
    FRAMES_PER_BLOCK,
    MEL_BANDS,
    N_MFCC,
    MfccStream,
    mfcc_frame_sizes,
    mfcc_from_log_mel,
)
from audioscore.analysis.overview import (
    MAX_COLUMNS,
    SpectrogramSampler,
    spectrogram_from_magnitudes,
)
from audioscore.analysis.pitch import (
    PLUGIN_KEY,
    Note,
    PitchResult,
    PitchTracker,
    plugin_frame_sizes,
)
from audioscore.analysis.polyphonic import PolyNote, PolyStream
from audioscore.errors import InputError

__all__ = ["SegmentPlan", "SegmentResult", "analyse_segment", "merge_segments", "plan_segments"]

# Notes from two sides of a join closer than this in pitch (semitones) are one note.
SAME_NOTE_SEMITONES = 0.5


@dataclass(frozen=True)
class SegmentPlan:
    """How a recording is cut: cores of ``segment_samples`` (the last runs to the end),
    ``context_samples`` decoded on each side, all at ``sample_rate``."""

    sample_rate: int
    segment_samples: int
    context_samples: int
    count: int
    spectrogram_hop: int

    def core(self, index: int) -> tuple[int, int | None]:
        """(first sample, end sample or None for the last segment)."""
        start = index * self.segment_samples
        return start, None if index == self.count - 1 else start + self.segment_samples

    def to_dict(self) -> dict[str, int]:
        return {"sample_rate": self.sample_rate, "segment_samples": self.segment_samples,
                "context_samples": self.context_samples, "count": self.count,
                "spectrogram_hop": self.spectrogram_hop}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> SegmentPlan:
        return cls(**{k: int(data[k]) for k in
                      ("sample_rate", "segment_samples", "context_samples", "count", "spectrogram_hop")})


def plan_segments(
    duration_s: float,
    *,
    segment_s: float,
    context_s: float,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    plugin_key: str = PLUGIN_KEY,
) -> SegmentPlan:
    """Cut ``duration_s`` seconds into segments of about ``segment_s`` with ``context_s`` each side."""
    step, _ = plugin_frame_sizes(plugin_key, sample_rate)
    n_fft, hop = mfcc_frame_sizes(sample_rate)
    unit = math.lcm(step, hop * FRAMES_PER_BLOCK)
    segment_samples = max(1, round(segment_s * sample_rate / unit)) * unit
    # The last segment runs to the end: it takes a remainder under half a segment too.
    count = max(1, round(duration_s * sample_rate / segment_samples))
    context_unit = math.lcm(step, hop)
    context_samples = max(math.ceil(context_s * sample_rate / context_unit) * context_unit, n_fft)
    columns = math.ceil(MAX_COLUMNS / count)
    return SegmentPlan(sample_rate, segment_samples, context_samples, count,
                       max(n_fft // 4, segment_samples // columns))


@dataclass(frozen=True)
class SegmentResult:
    """What one segment contributes, for its core span only.

    ``notes`` rows are (onset s, offset s, Hz) in recording time; ``poly_notes`` rows are
    (onset s, offset s, MIDI, velocity), the polyphonic engine's, when it ran; ``log_mel`` is
    (frames, bands) unclipped; ``spectrogram`` is (rows, columns) magnitudes.
    """

    index: int
    start_sample: int
    n_samples: int
    f0_hz: np.ndarray
    voiced_prob: np.ndarray
    notes: np.ndarray
    log_mel: np.ndarray
    max_db: float
    spectrogram: np.ndarray
    poly_notes: np.ndarray

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, index=self.index, start_sample=self.start_sample, n_samples=self.n_samples,
                 f0_hz=self.f0_hz, voiced_prob=self.voiced_prob, notes=self.notes, log_mel=self.log_mel,
                 max_db=self.max_db, spectrogram=self.spectrogram, poly_notes=self.poly_notes)
        return buffer.getvalue()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SegmentResult:
        with np.load(path, allow_pickle=False) as data:
            return cls(int(data["index"]), int(data["start_sample"]), int(data["n_samples"]),
                       data["f0_hz"], data["voiced_prob"], data["notes"].reshape(-1, 3),
                       data["log_mel"].reshape(-1, MEL_BANDS), float(data["max_db"]), data["spectrogram"],
                       # Results stored before segments ran the polyphonic engine have none.
                       data["poly_notes"].reshape(-1, 4) if "poly_notes" in data.files else np.zeros((0, 4)))


def analyse_segment(
    path: str | os.PathLike[str],
    plan: SegmentPlan,
    index: int,
    *,
    limits: Limits | None = None,
    plugin_key: str = PLUGIN_KEY,
    plugin_parameters: dict[str, float] | None = None,
    n_mfcc: int = N_MFCC,
    poly: bool = False,
) -> SegmentResult:
    """Decode one segment with its context and analyse it; ``poly``: run the polyphonic engine too
    (its notes, like the plugin's, are those starting in the segment's core).

    Raises:
        As ``audio.AudioStream``; ProcessingError: the plugin is missing; InputError: the audio
        ends before the segment's core starts (the container overstates its duration).
    """
    if not 0 <= index < plan.count:
        raise ValueError(f"segment {index} of {plan.count}")
    rate = plan.sample_rate
    start, end = plan.core(index)
    decode_start = max(0, start - plan.context_samples)
    decode_length = None if end is None else end + plan.context_samples - decode_start
    n_fft, hop = mfcc_frame_sizes(rate)
    mfcc_from = 0 if index == 0 else start - n_fft // 2  # whole-file frames are centred
    stream = AudioStream(path, sample_rate=rate, limits=limits, min_peak_dbfs=None,
                         start_sample=decode_start, max_samples=decode_length)
    tracker = PitchTracker(rate, plugin_key=plugin_key, parameters=plugin_parameters)
    mfcc = MfccStream(rate, n_mfcc=n_mfcc, pad_start=index == 0)
    sampler = SpectrogramSampler(rate, hop=plan.spectrogram_hop)
    poly_stream = PolyStream(rate) if poly else None
    try:
        position = decode_start
        for chunk in stream.chunks():
            tracker.feed(chunk)
            if poly_stream is not None:
                poly_stream.feed(chunk)
            chunk_end = position + len(chunk)
            mfcc.feed(chunk[max(0, mfcc_from - position) :])
            core_end = chunk_end if end is None else min(end, chunk_end)
            sampler.feed(chunk[max(0, start - position) : max(0, core_end - position)])
            position = chunk_end
        core_end = position if end is None else min(end, position)
        n_samples = max(0, core_end - start)
        if n_samples == 0:
            # The plan followed the container's stated duration, which the audio falls short of
            # by more than half a segment: the file's fault, and no retry will change it.
            raise InputError(f"{stream.name} has no audio from {start / rate:.1f} s on, though it states "
                             f"{stream.info.duration_s:.1f} s")
        pitch = tracker.finish()
        step = tracker.step
        first = (start - decode_start) // step
        # The last segment keeps the final frame (whole-file frames: n // step + 1).
        n_frames = (core_end // step + 1 if end is None else end // step) - start // step
        f0, voiced = (_frames(a, first, n_frames) for a in (pitch.f0_hz, pitch.voiced_prob))
        offset_s, start_s, end_s = decode_start / rate, start / rate, core_end / rate
        core_end_s = end_s if end is not None else math.inf
        notes = np.array([(offset_s + n.onset, offset_s + n.offset, n.pitch_hz) for n in pitch.notes
                          if start_s <= offset_s + n.onset < core_end_s])
        poly_notes = np.array([(offset_s + n.onset, offset_s + n.offset, n.midi, n.velocity)
                               for n in (poly_stream.finish() if poly_stream is not None else [])
                               if start_s <= offset_s + n.onset < core_end_s])
        mfcc_frames = (1 + core_end // hop if end is None else end // hop) - start // hop
        log_mel, max_db = mfcc.finish_log_mel(max(0, mfcc_frames))
        return SegmentResult(index, start, n_samples, f0.astype(np.float32), voiced.astype(np.float32),
                             notes.reshape(-1, 3), log_mel, float(max_db), sampler.finish_magnitudes(),
                             poly_notes.reshape(-1, 4))
    finally:
        tracker.close()
        mfcc.close()


def _frames(values: np.ndarray, first: int, count: int) -> np.ndarray:
    out = np.zeros(max(0, count))
    kept = values[first : first + count]
    out[: kept.size] = kept
    return out


def merge_segments(
    paths: list[Path], plan: SegmentPlan, source: AudioInfo, *, plugin_key: str = PLUGIN_KEY,
    n_mfcc: int = N_MFCC,
) -> Features:
    """Join segment results (files from ``SegmentResult.to_bytes``, in segment order) into the
    recording's features, reading one segment at a time (the caller says which engine's notes
    they are: ``Features.engine``).

    Raises:
        ValueError: the files are not exactly the plan's segments.
    """
    step, _ = plugin_frame_sizes(plugin_key, plan.sample_rate)
    f0: list[np.ndarray] = []
    voiced: list[np.ndarray] = []
    notes: list[Any] = []  # rows (onset s, offset s, pitch Hz)
    poly_notes: list[PolyNote] = []
    columns: list[np.ndarray] = []
    max_db = -math.inf
    total = 0
    n_mel_frames = 0
    if len(paths) != plan.count:
        raise ValueError(f"{len(paths)} segment results for {plan.count} segments")
    with tempfile.TemporaryFile() as spill:
        for expected, path in enumerate(paths):
            result = SegmentResult.load(path)
            if result.index != expected or result.start_sample != plan.core(expected)[0]:
                raise ValueError(f"segment results do not match the plan (found {result.index}, want {expected})")
            f0.append(result.f0_hz)
            voiced.append(result.voiced_prob)
            notes.extend(tuple(row) for row in result.notes)
            poly_notes.extend(PolyNote(float(on), float(off), int(midi), int(velocity))
                              for on, off, midi, velocity in result.poly_notes)
            columns.append(result.spectrogram)
            spill.write(np.ascontiguousarray(result.log_mel, np.float32).tobytes())
            n_mel_frames += result.log_mel.shape[0]
            max_db = max(max_db, result.max_db)
            total = result.start_sample + result.n_samples
        mfcc = mfcc_from_log_mel(spill, n_mel_frames, np.float32(max_db), plan.sample_rate, n_mfcc)
    f0_hz = np.concatenate(f0).astype(np.float64)
    hop_s = step / plan.sample_rate
    pitch = with_loudness(PitchResult(np.arange(f0_hz.size) * hop_s, f0_hz, np.concatenate(voiced).astype(np.float64),
                                        hop_s, _join_notes(notes), plugin_key), mfcc)
    spectrogram = spectrogram_from_magnitudes(np.concatenate(columns, axis=1), plan.spectrogram_hop / plan.sample_rate)
    return Features(DecodedAudio(source, plan.sample_rate, total), pitch, mfcc, spectrogram,
                    poly_notes=tuple(sorted(poly_notes, key=lambda n: (n.onset, n.midi))))


def _join_notes(rows: list[tuple[float, float, float]]) -> list[Note]:
    """Notes in time order; where a note overlaps the one before (only near a join), the
    same pitch is one note and a new pitch cuts the earlier note short."""
    joined: list[Note] = []
    for onset, offset, hz in sorted(rows):
        if joined and onset < joined[-1].offset:
            previous = joined[-1]
            if abs(12 * math.log2(hz / previous.pitch_hz)) < SAME_NOTE_SEMITONES:
                joined[-1] = Note(previous.onset, max(previous.offset, offset), previous.pitch_hz)
                continue
            joined[-1] = Note(previous.onset, onset, previous.pitch_hz)
        joined.append(Note(onset, offset, hz))
    return joined
