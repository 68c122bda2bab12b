"""Polyphonic notes from Spotify's basic-pitch model (ICASSP 2022 "NMP"), run on onnxruntime.

Conventions: times in seconds from the start of the recording, MIDI note numbers
(the model's bins are equal-tempered semitones at A440), velocities 1..127 from the
model's mean frame activation.

Why not ``basic_pitch.inference.predict``: it loads audio with librosa (we decode with
ffmpeg and keep librosa's import cost out of the run), probes TensorFlow, CoreML and
TFLite when imported (a warning for each), holds the whole recording's activations,
and ``basic_pitch.note_creation`` imports librosa, resampy (numba) and mir_eval at its
top. So this module loads the ``.onnx`` file that ships in the basic-pitch wheel by
path (no import of the package), windows the audio as basic-pitch does (2 s windows,
30 frames of overlap), and decodes notes with a port of ``output_to_notes_polyphonic``
and ``get_infered_onsets`` (Apache-2.0, Copyright 2022 Spotify AB) in segments with
context, so memory stays bounded however long the recording is.
"""

from __future__ import annotations

import bisect
import importlib.util
import math
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audioscore.analysis.engines import overlap_totals
from audioscore.errors import ProcessingError

__all__ = ["MODEL_RATE", "PROBE_EVERY", "PolyNote", "PolyProbe", "PolyStream", "model_name", "model_path",
           "notes_from_activations", "without_subharmonic_ghosts"]

# The model's fixed framing (basic_pitch.constants).
MODEL_RATE = 22050
FFT_HOP = 256
WINDOW_SAMPLES = MODEL_RATE * 2 - FFT_HOP  # AUDIO_N_SAMPLES
WINDOW_FRAMES = 172  # ANNOT_N_FRAMES: frames the model returns per window
EDGE_FRAMES = 15  # half of basic-pitch's 30 overlapping frames, dropped at each side of a window
KEPT_FRAMES = 141  # frames kept per window: the hop is a whole number of frames, so frame k is at k * FRAME_S
HOP_SAMPLES = KEPT_FRAMES * FFT_HOP
FRAME_S = FFT_HOP / MODEL_RATE
MIDI_OFFSET = 21  # bin 0 is A0
N_PITCHES = 88
BATCH_WINDOWS = 8  # windows per onnxruntime call
# basic-pitch's predict() defaults are onset 0.5, frame 0.3, 127.7 ms minimum (11 frames): on our
# corpus (bench/poly_report.py) 0.6 and 0.4 find fewer false notes at no cost in recall. Notes must
# last over 6 frames (70 ms): the model's frame activation of a chord tone that is also an overtone
# of a lower chord tone (A4 over A3) fades within ~80 ms, and 8 frames lost them (piano F1 0.837 -> 0.858).
ONSET_THRESHOLD = 0.6
FRAME_THRESHOLD = 0.4
MIN_NOTE_FRAMES = 6
ENERGY_TOLERANCE = 11
# Sub-harmonic ghosts: a note an octave or a twelfth below a louder note that starts within this many
# frames (35 ms) is the model hearing that note's partials as a fundamental (A3 under an A2-E3-A4 chord).
GHOST_INTERVALS = (12, 19)
GHOST_FRAMES = 3
# Notes are decoded in segments of this many frames (~30 s) with context on both sides (~5 s):
# activations older than that are dropped, so memory does not grow with the recording.
SEGMENT_FRAMES = 2584
CONTEXT_FRAMES = 431
# auto measures polyphony on one model window in PROBE_EVERY, spread over the whole recording:
# a quarter of the model's cost, and the full pass runs only on audio that turns out polyphonic.
PROBE_EVERY = 4
_INPUT = "serving_default_input_2:0"
_NOTE_OUTPUT, _ONSET_OUTPUT = "StatefulPartitionedCall:1", "StatefulPartitionedCall:2"
_MODEL_FILE = ("saved_models", "icassp_2022", "nmp.onnx")


@dataclass(frozen=True)
class PolyNote:
    """A note the model found: onset and offset in seconds, MIDI number, velocity 1..127."""

    onset: float
    offset: float
    midi: int
    velocity: int

    @property
    def pitch_hz(self) -> float:
        return 440.0 * 2.0 ** ((self.midi - 69) / 12)


def model_path() -> Path:
    """The ONNX model inside the installed basic-pitch package (found without importing it).

    Raises:
        ProcessingError: basic-pitch is not installed, or its wheel lacks the ONNX model.
    """
    spec = importlib.util.find_spec("basic_pitch")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location).joinpath(*_MODEL_FILE)
        if path.is_file():
            return path
    raise ProcessingError("the polyphonic engine needs basic-pitch's ONNX model: "
                          "pip install --no-deps basic-pitch==0.4.0 onnxruntime (see README)")


def model_name() -> str:
    """E.g. ``basic-pitch 0.4.0 (ONNX)``."""
    import importlib.metadata  # ~20 ms of imports, needed only to name the model that ran

    try:
        version = importlib.metadata.version("basic-pitch")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return f"basic-pitch {version} (ONNX)"


_SESSION: Any = None


def _session() -> Any:
    """One onnxruntime session per process (loading takes ~0.1 s; the model is 230 kB)."""
    global _SESSION
    if _SESSION is None:
        path = model_path()
        try:
            import onnxruntime
        except ImportError:
            raise ProcessingError("the polyphonic engine needs onnxruntime: pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # no warnings on stderr
        # Idle pool threads sleep instead of spinning: the same wall time, a fifth less CPU
        # (0.99 s instead of 1.22 s for 30 s of audio), which the plugin and ffmpeg can use.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        _SESSION = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return _SESSION


class PolyStream:
    """Feeds the model audio as it arrives and decodes notes a segment at a time.

    Memory holds a window of audio, at most ``SEGMENT_FRAMES + 2 * CONTEXT_FRAMES`` frames of
    activations and the notes found, not the recording.
    """

    def __init__(self, sample_rate: int, *, segment_frames: int = SEGMENT_FRAMES,
                 context_frames: int = CONTEXT_FRAMES) -> None:
        """Raises:
            ProcessingError: basic-pitch's model or onnxruntime is missing.
        """
        _session()
        self._to_model_rate = _ToModelRate(sample_rate)
        # basic-pitch pads half its overlap in front, so the first window's kept frames start at 0 s.
        self._audio = np.zeros(EDGE_FRAMES * FFT_HOP, np.float32)
        self._samples = 0  # model-rate samples of real audio
        # Open notes are continued from where the last span saw them end: the context must reach back there.
        self._segment, self._context = segment_frames, max(context_frames, ENERGY_TOLERANCE + 1)
        self._first = 0  # global index of the first frame held in _frames/_onsets
        self._frames = np.zeros((0, N_PITCHES), np.float32)
        self._onsets = np.zeros((0, N_PITCHES), np.float32)
        self._decoded = 0  # frames before this have had their onsets decoded
        self._open: list[list[float]] = []  # notes reaching the end of the last decoded span: [start, end, pitch, amp]
        self._notes: list[tuple[int, int, int, float]] = []

    def feed(self, samples: np.ndarray) -> None:
        """Analyse the next samples (mono, at the stream's rate)."""
        self._push(self._to_model_rate(samples), last=False)

    def finish(self) -> list[PolyNote]:
        """The notes of the whole stream, in onset order."""
        self._push(self._to_model_rate(np.zeros(0, np.float32), last=True), last=True)
        total = math.floor(self._samples / FFT_HOP)  # as basic-pitch trims: whole frames of real audio
        self._drop_after(total)
        self._decode(final=True)
        notes = without_subharmonic_ghosts(sorted(self._notes))
        return [PolyNote(start * FRAME_S, end * FRAME_S, pitch, min(127, max(1, round(127 * amp))))
                for start, end, pitch, amp in notes]

    def _push(self, samples: np.ndarray, *, last: bool) -> None:
        self._samples += len(samples)
        self._audio, ready = _windows_ready(np.concatenate([self._audio, samples]), last=last)
        for first in range(0, ready, BATCH_WINDOWS):
            count = min(BATCH_WINDOWS, ready - first)
            note, onset = _run_model([self._audio[(first + i) * HOP_SAMPLES:][:WINDOW_SAMPLES] for i in range(count)])
            self._frames = np.concatenate([self._frames, note.reshape(-1, N_PITCHES)])
            self._onsets = np.concatenate([self._onsets, onset.reshape(-1, N_PITCHES)])
        self._audio = self._audio[ready * HOP_SAMPLES:]
        if not last:
            self._decode(final=False)

    def _drop_after(self, total: int) -> None:
        keep = max(0, total - self._first)
        self._frames, self._onsets = self._frames[:keep], self._onsets[:keep]

    def _decode(self, *, final: bool) -> None:
        """Decode every segment whose right context has arrived (all that is left when final)."""
        while True:
            held_end = self._first + len(self._frames)
            core_end = self._decoded + self._segment
            if final:
                core_end = min(core_end, held_end)
            elif core_end + self._context > held_end:
                return
            if core_end <= self._decoded and not (final and self._open):
                return
            self._decode_span(self._decoded, core_end, last=final and core_end >= held_end)
            self._decoded = core_end
            # Keep the left context of the next segment only.
            drop = max(0, self._decoded - self._context - self._first)
            self._frames, self._onsets = self._frames[drop:], self._onsets[drop:]
            self._first += drop
            if final and core_end >= held_end:
                self._notes.extend((int(s), int(e), int(p), a) for s, e, p, a in self._open)
                self._open = []
                return

    def _decode_span(self, core_start: int, core_end: int, *, last: bool) -> None:
        span_start = max(self._first, core_start - self._context)
        span_end = self._first + len(self._frames) if last else core_end + self._context
        a, b = span_start - self._first, span_end - self._first
        found = notes_from_activations(self._frames[a:b], self._onsets[a:b])
        previously_open, self._open = self._open, []
        for start, end, pitch, amp in found:
            start, end = start + span_start, end + span_start
            if not core_start <= start < core_end:
                continue  # its onset belongs to another segment
            self._keep(start, end, pitch, amp, span_end, last)
        # A note left open at the last join goes on while its pitch stays on (the rule the decoder
        # follows), up to a new onset of the same pitch: one note, as a single pass finds it.
        for start_f, end_f, pitch_f, amp in previously_open:
            start, end, pitch = int(start_f), int(end_f), int(pitch_f)
            again = min((s + span_start for s, _, p, _ in found if p == pitch and s + span_start >= end - ENERGY_TOLERANCE),
                        default=span_end)
            i, k = end, 0
            while i < min(again, span_end - 1) and k < ENERGY_TOLERANCE:
                k = k + 1 if self._frames[i - self._first, pitch - MIDI_OFFSET] < FRAME_THRESHOLD else 0
                i += 1
            self._keep(start, max(end, i - k), pitch, amp, span_end, last or i >= again)

    def _keep(self, start: int, end: int, pitch: int, amp: float, span_end: int, last: bool) -> None:
        """A note that runs to the span's end may go on: the next segment decides where it ends."""
        if not last and end >= span_end - ENERGY_TOLERANCE - 1:
            self._open.append([start, end, pitch, amp])
        else:
            self._notes.append((start, end, pitch, amp))


class _ToModelRate:
    """Streamed audio resampled to the model's rate (as it is at that rate) with soxr's "HQ",
    librosa's own default resampler, as basic-pitch loads audio."""

    def __init__(self, sample_rate: int) -> None:
        import soxr

        self._stream = None if sample_rate == MODEL_RATE else soxr.ResampleStream(
            sample_rate, MODEL_RATE, 1, dtype="float32", quality="HQ")

    def __call__(self, samples: np.ndarray, *, last: bool = False) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        return samples if self._stream is None else self._stream.resample_chunk(samples, last=last)


def _windows_ready(audio: np.ndarray, *, last: bool) -> tuple[np.ndarray, int]:
    """The audio (zero-padded at the end when ``last``) and how many model windows, ``HOP_SAMPLES``
    apart, can run on it now: at the end, every window that holds some audio."""
    ready = (len(audio) - WINDOW_SAMPLES) // HOP_SAMPLES + 1 if len(audio) >= WINDOW_SAMPLES else 0
    if last:
        ready = max(ready, math.ceil(len(audio) / HOP_SAMPLES))
        audio = np.concatenate([audio, np.zeros(WINDOW_SAMPLES, np.float32)])
    return audio, ready


def _run_model(windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Note and onset activations of each window's kept frames: shape (windows, KEPT_FRAMES, 88) each."""
    note, onset = _session().run([_NOTE_OUTPUT, _ONSET_OUTPUT], {_INPUT: np.stack(windows)[:, :, None]})
    kept = slice(EDGE_FRAMES, EDGE_FRAMES + KEPT_FRAMES)
    return note[:, kept], onset[:, kept]


class PolyProbe:
    """How polyphonic the audio is (mean notes sounding at once, ``engines.polyphony``), measured on
    basic-pitch's notes in one model window of every ``every`` as the audio streams in.

    The model runs in a worker thread (onnxruntime releases the GIL), so on two cores it costs
    little wall time next to the pitch tracker. At most ``_PENDING`` batches wait for it: memory
    stays bounded if it falls behind.
    """

    _PENDING = 2

    def __init__(self, sample_rate: int, *, every: int = PROBE_EVERY) -> None:
        """Raises:
            ProcessingError: basic-pitch's model or onnxruntime is missing.
        """
        from concurrent.futures import ThreadPoolExecutor

        model_path()  # missing: said now, not when the first window is measured
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poly-probe")
        self._starting = self._worker.submit(_session)  # onnxruntime loads while the audio starts
        self._to_model_rate = _ToModelRate(sample_rate)
        self._audio = np.zeros(EDGE_FRAMES * FFT_HOP, np.float32)  # aligned with PolyStream's windows
        self._every = every
        self._window = 0  # index of the window that starts at _audio[0]
        self._pending: list[Future[tuple[float, float]]] = []
        self._weighted = self._sounding = 0.0

    def feed(self, samples: np.ndarray) -> None:
        """Analyse the next samples (mono, at the stream's rate)."""
        self._push(self._to_model_rate(samples), last=False)

    def finish(self) -> float:
        """The measured polyphony (0.0 when no window had a note)."""
        self._push(self._to_model_rate(np.zeros(0, np.float32), last=True), last=True)
        self._starting.result()  # onnxruntime missing: ProcessingError
        while self._pending:
            self._collect()
        self._worker.shutdown()
        return self._weighted / self._sounding if self._sounding > 0 else 0.0

    def close(self) -> None:
        """Stop the worker (after an error: ``finish`` does it otherwise)."""
        self._worker.shutdown(cancel_futures=True)

    def _push(self, samples: np.ndarray, *, last: bool) -> None:
        self._audio, ready = _windows_ready(np.concatenate([self._audio, samples]), last=last)
        sampled = [self._audio[i * HOP_SAMPLES:][:WINDOW_SAMPLES].copy() for i in range(ready)
                   if (self._window + i) % self._every == 0]
        self._window += ready
        self._audio = self._audio[ready * HOP_SAMPLES:]
        if sampled:  # sent as they arrive: the worker keeps pace with the audio
            if len(self._pending) >= self._PENDING:
                self._collect()
            self._pending.append(self._worker.submit(_overlap_in, sampled))

    def _collect(self) -> None:
        weighted, sounding = self._pending.pop(0).result()
        self._weighted += weighted
        self._sounding += sounding


def _overlap_in(windows: list[np.ndarray]) -> tuple[float, float]:
    """``engines.overlap_totals`` of the notes basic-pitch finds in each window, summed."""
    weighted = sounding = 0.0
    for note, onset in zip(*_run_model(windows)):
        spans = [(start * FRAME_S, end * FRAME_S) for start, end, _, _ in notes_from_activations(note, onset)]
        w, s = overlap_totals(spans)
        weighted, sounding = weighted + w, sounding + s
    return weighted, sounding


def notes_from_activations(
    frames: np.ndarray,
    onsets: np.ndarray,
    *,
    onset_threshold: float = ONSET_THRESHOLD,
    frame_threshold: float = FRAME_THRESHOLD,
    min_note_frames: int = MIN_NOTE_FRAMES,
    energy_tolerance: int = ENERGY_TOLERANCE,
) -> list[tuple[int, int, int, float]]:
    """Note events from the model's note and onset activations: basic-pitch's
    ``output_to_notes_polyphonic`` with inferred onsets, without its "melodia trick" (notes grown
    from leftover energy with no onset): on our corpus it added more false notes than it found
    (note F1 piano 0.84 with it off, 0.79 on; guitar 0.77 and 0.74).

    Args:
        frames: note activations, shape (n_frames, 88), in [0, 1].
        onsets: onset activations, same shape.

    Returns:
        (start frame, end frame, MIDI number, mean activation) per note.
    """
    n_frames = frames.shape[0]
    if n_frames < 3:
        return []
    onsets = _inferred_onsets(onsets, frames)
    peaks = np.zeros(onsets.shape)
    # Local maxima in time, as scipy.signal.argrelmax, but a two-frame plateau counts once (its first
    # frame): inferred onsets are scaled to the onsets' maximum, so the two can tie next to each other
    # and a strict maximum loses the note (steady synthetic tones did).
    rising = (onsets[1:-1] > onsets[:-2]) & (onsets[1:-1] >= onsets[2:])
    peaks[1:-1][rising] = onsets[1:-1][rising]
    onset_t, onset_f = np.where(peaks >= onset_threshold)
    remaining = frames.astype(np.float64, copy=True)
    notes: list[tuple[int, int, int, float]] = []
    for start, pitch in zip(onset_t[::-1], onset_f[::-1]):  # backwards in time
        if start >= n_frames - 1:
            continue
        i, k = start + 1, 0  # k: frames since the energy dropped below the threshold
        while i < n_frames - 1 and k < energy_tolerance:
            k = k + 1 if remaining[i, pitch] < frame_threshold else 0
            i += 1
        i -= k
        if i - start <= min_note_frames:
            continue
        remaining[start:i, max(0, pitch - 1) : pitch + 2] = 0
        notes.append((int(start), int(i), int(pitch) + MIDI_OFFSET, float(np.mean(frames[start:i, pitch]))))
    return notes


def without_subharmonic_ghosts(
    notes: list[tuple[int, int, int, float]],
    *,
    intervals: tuple[int, ...] = GHOST_INTERVALS,
    window_frames: int = GHOST_FRAMES,
) -> list[tuple[int, int, int, float]]:
    """The notes less those an octave or a twelfth (``intervals``, semitones) below a note of higher
    mean activation that starts within ``window_frames``: basic-pitch reports such sub-harmonics
    under piano chords (on our corpus 73 of 88 such notes were false). A real doubled bass sounds
    at least as strongly as its upper octave, so it stays. Written here: basic-pitch has no such rule.

    Args:
        notes: (start frame, end frame, MIDI number, mean activation), sorted by start frame.

    Returns:
        The kept notes, in the same order.
    """
    starts = [start for start, _, _, _ in notes]
    kept = []
    for start, end, pitch, amp in notes:
        lo, hi = bisect.bisect_left(starts, start - window_frames), bisect.bisect_right(starts, start + window_frames)
        if not any(notes[j][2] - pitch in intervals and notes[j][3] > amp for j in range(lo, hi)):
            kept.append((start, end, pitch, amp))
    return kept


def _inferred_onsets(onsets: np.ndarray, frames: np.ndarray, n_diff: int = 2) -> np.ndarray:
    """basic-pitch's ``get_infered_onsets``: onsets where frame activations jump, scaled to the
    onsets' maximum, and the larger of the two."""
    diffs = []
    for n in range(1, n_diff + 1):
        padded = np.concatenate([np.zeros((n, frames.shape[1])), frames])
        diffs.append(padded[n:] - padded[:-n])
    jump = np.maximum(np.min(diffs, axis=0), 0)
    jump[:n_diff] = 0
    top = float(np.max(jump))
    if top > 0:
        jump = float(np.max(onsets)) * jump / top
    return np.maximum(onsets, jump)
