"""Pitch track and notes from a pYIN Vamp plugin, through the Python Vamp host.

Conventions: times in seconds from the start of the recording (frame
centres), frequencies in Hz, 0 Hz where a frame is unvoiced.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from audioscore.analysis.note_cleaning import clean_notes, estimate_tuning, tuned_midi
from audioscore.errors import InputError, ProcessingError

__all__ = ["PLUGIN_KEY", "Note", "PitchResult", "PitchTracker", "check_plugin", "ensure_vamp_path", "plugin_frame_sizes",
           "track_pitch"]

PLUGIN_KEY = "audioscore_pyin:pyin"
PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins"
DEBIAN_VAMP_DIR = Path("/usr/lib/x86_64-linux-gnu/vamp")
# Samples handed to the host per call; the host's buffering adapter cuts them
# into the plugin's own blocks, so Python never loops per analysis frame.
CHUNK_SAMPLES = 1 << 16
FRAME_OUTPUTS = ("voicedprob", "smoothedpitchtrack")
NEEDED_OUTPUTS = (*FRAME_OUTPUTS, "notes")
# Set by the tracker (frames are counted, so unvoiced frames must be output as 0 Hz): not the user's.
FIXED_PARAMETERS = {"outputunvoiced": 2.0}


def ensure_vamp_path() -> None:
    """Put the project's plugin directory (and Debian's) on ``VAMP_PATH``.

    Set before the host first scans for plugins; existing entries are kept
    after ours so a user's own path still works.
    """
    current = [p for p in os.environ.get("VAMP_PATH", "").split(os.pathsep) if p]
    wanted = [str(PLUGIN_DIR), str(DEBIAN_VAMP_DIR)]
    os.environ["VAMP_PATH"] = os.pathsep.join(wanted + [p for p in current if p not in wanted])


ensure_vamp_path()
import vampyhost


@dataclass(frozen=True)
class Note:
    """A note event: onset and offset in seconds, raw pitch in Hz, the recording's
    tuning offset from A440 in cents (``PitchResult.tuning_cents``) and, once measured
    (``loudness.with_loudness``), its attack's loudness as a MIDI velocity and how many dB
    the level rises into the attack from the dip before it, and falls into that dip below the
    level the note before was held at."""

    onset: float
    offset: float
    pitch_hz: float
    tuning_cents: float = 0.0
    velocity: int | None = None
    rise_db: float | None = None
    dip_db: float | None = None

    @property
    def midi(self) -> float:
        """Pitch as a fractional MIDI number, the recording's tuning taken off
        (69 = A4 = 440 Hz in a recording tuned to A440)."""
        return tuned_midi(self.pitch_hz, self.tuning_cents)


@dataclass(frozen=True)
class PitchResult:
    """Frame-wise pitch and note events.

    Attributes:
        times: frame centres in seconds, shape (n,).
        f0_hz: fundamental frequency per frame, 0 where unvoiced, shape (n,).
        voiced_prob: probability that each frame is voiced, shape (n,).
        hop_s: seconds between frames.
        notes: note events in time order (scoops, falls and slow attacks cleaned: see
            ``note_cleaning``).
        plugin: the Vamp plugin key used.
        tuning_cents: the recording's offset from A440 tuning, cents in [-50, 50).
    """

    times: np.ndarray
    f0_hz: np.ndarray
    voiced_prob: np.ndarray
    hop_s: float
    notes: list[Note]
    plugin: str
    tuning_cents: float = 0.0


def _plugins_with_pyin_outputs() -> list[str]:
    found = []
    for key in vampyhost.list_plugins():
        try:
            outputs = vampyhost.get_outputs_of(key)
        except TypeError:  # vampyhost's "failed to load": a broken library must not hide the others
            outputs = []
        if set(NEEDED_OUTPUTS) <= set(outputs):
            found.append(key)
    return found


def _check_parameter(plugin_key: str, name: str, value: float, descriptors: Mapping[str, Mapping]) -> None:
    if name in FIXED_PARAMETERS:
        raise InputError(f"parameter {name!r} of {plugin_key} is set by audioscore and cannot be changed")
    if name not in descriptors:
        valid = ", ".join(sorted(set(descriptors) - set(FIXED_PARAMETERS)))
        raise InputError(f"{plugin_key} has no parameter {name[:40]!r}; valid names: {valid}")
    d = descriptors[name]
    low, high = d["minValue"], d["maxValue"]
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(f"parameter {name} of {plugin_key} must be in {low:g}..{high:g}, got {value:g}")
    step = d.get("quantizeStep") if d.get("isQuantized") else None
    if step and abs((value - low) / step - round((value - low) / step)) > 1e-6:
        raise InputError(f"parameter {name} of {plugin_key} takes steps of {step:g} from {low:g}, got {value:g}")


def check_plugin(plugin_key: str, parameters: Mapping[str, float] | None = None) -> None:
    """Check, before any audio is read, that a plugin is installed, has pYIN's outputs
    (voicedprob, smoothedpitchtrack, notes) and accepts the parameters (names and ranges
    from the plugin's own descriptors).

    Raises:
        ProcessingError: the project's own plugin is not installed (a deployment problem).
        InputError: another plugin key that is not installed or lacks the outputs, or a
            parameter the plugin does not have or a value outside its range (user mistakes).
    """
    if plugin_key not in vampyhost.list_plugins():
        where = f"on VAMP_PATH={os.environ['VAMP_PATH']}"
        if plugin_key == PLUGIN_KEY:
            raise ProcessingError(f"Vamp plugin {plugin_key!r} not found {where} (run 'make plugin')")
        usable = ", ".join(_plugins_with_pyin_outputs()) or "none"
        raise InputError(f"Vamp plugin {plugin_key[:60]!r} not found {where}; plugins with pYIN's outputs: {usable}")
    missing = [name for name in NEEDED_OUTPUTS if name not in vampyhost.get_outputs_of(plugin_key)]
    if missing:
        raise InputError(f"Vamp plugin {plugin_key!r} lacks the outputs {', '.join(missing)} "
                         "(a pYIN plugin is needed)")
    if parameters:
        plugin = vampyhost.load_plugin(plugin_key, 44100, vampyhost.ADAPT_NONE)
        try:
            descriptors = {d["identifier"]: d for d in plugin.parameters}
        finally:
            plugin.unload()
        for name, value in parameters.items():
            _check_parameter(plugin_key, name, value, descriptors)


def plugin_frame_sizes(plugin_key: str, sample_rate: int) -> tuple[int, int]:
    """(step, block) in samples that the plugin prefers at this rate."""
    probe = vampyhost.load_plugin(plugin_key, sample_rate, vampyhost.ADAPT_NONE)
    try:
        return probe.get_preferred_step_size(), probe.get_preferred_block_size()
    finally:
        probe.unload()


class PitchTracker:
    """Feeds a pYIN plugin audio as it arrives and gathers its frames and notes.

    Memory holds the per-frame results (a few bytes per frame) and the plugin's own
    state, not the audio. Use as a context manager, or call ``finish`` (or ``close``).
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        plugin_key: str = PLUGIN_KEY,
        parameters: dict[str, float] | None = None,
    ) -> None:
        """Loads and initialises the plugin.

        Raises:
            ProcessingError: the project's plugin is not installed, or the plugin refuses to initialise.
            InputError: another plugin that is missing or lacks pYIN's outputs, or a bad parameter.
        """
        check_plugin(plugin_key, parameters)
        self.sample_rate, self.plugin_key = sample_rate, plugin_key
        self.step, self.block = plugin_frame_sizes(plugin_key, sample_rate)
        self._plugin = vampyhost.load_plugin(plugin_key, sample_rate, vampyhost.ADAPT_ALL)
        try:
            self._plugin.set_parameter_values({**(parameters or {}), **FIXED_PARAMETERS})
            if not self._plugin.initialise(1, CHUNK_SAMPLES, CHUNK_SAMPLES):
                raise ProcessingError(f"Vamp plugin {plugin_key!r} refused to initialise")
            self._indices = {
                self._plugin.get_output(name)["output_index"]: name for name in FRAME_OUTPUTS + ("notes",)
            }
        except BaseException:
            self.close()
            raise
        self._chunk = np.zeros((1, CHUNK_SAMPLES), np.float32)
        self._filled = 0
        self._fed = 0  # samples handed to the plugin, padding included
        self.samples_in = 0  # real samples
        self._frames = {name: _FrameSeries() for name in FRAME_OUTPUTS}
        self._notes: list[tuple[float, float, float]] = []
        # The plugin stamps each frame a quarter block after its start (the centre of
        # YIN's integration window): a quarter block of zeros in front puts frame k at k * step.
        self._pad = self.block // 4
        self._push(np.zeros(self._pad, np.float32))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feed(self, samples: np.ndarray) -> None:
        """Analyse the next samples (mono, any length)."""
        self.samples_in += len(samples)
        self._push(np.asarray(samples, np.float32))

    def finish(self) -> PitchResult:
        """Flush the plugin and return everything it found; the plugin is unloaded."""
        # A block of zeros behind lets the last samples be analysed.
        self._push(np.zeros(self.block, np.float32))
        if self._filled:
            self._chunk[0, self._filled :] = 0.0
            self._process()
        self._keep(self._plugin.get_remaining_features())
        self.close()
        return self._assemble()

    def close(self) -> None:
        """Unload the plugin (idempotent)."""
        if self._plugin is not None:
            self._plugin.unload()
            self._plugin = None

    def _push(self, samples: np.ndarray) -> None:
        start = 0
        while start < len(samples):
            take = min(CHUNK_SAMPLES - self._filled, len(samples) - start)
            self._chunk[0, self._filled : self._filled + take] = samples[start : start + take]
            self._filled += take
            start += take
            if self._filled == CHUNK_SAMPLES:
                self._process()

    def _process(self) -> None:
        timestamp = vampyhost.frame_to_realtime(self._fed, self.sample_rate)
        self._keep(self._plugin.process_block(self._chunk, timestamp))
        self._fed += CHUNK_SAMPLES
        self._filled = 0

    def _keep(self, features: dict) -> None:
        # Frame outputs come once per frame, in order (outputunvoiced=2 keeps unvoiced frames),
        # so they are counted, not timed: each RealTime method call of vampyhost 1.1 leaks ~40 bytes.
        for index, name in self._indices.items():
            got = features.get(index, ())
            if name == "notes":
                offset_s = self._pad / self.sample_rate
                self._notes.extend((f["timestamp"].to_float() - offset_s, f["duration"].to_float(),
                                    float(f["values"][0])) for f in got)
            else:
                self._frames[name].extend([f["values"][0] for f in got])

    def _assemble(self) -> PitchResult:
        hop_s = self.step / self.sample_rate
        # Frames past the end of the real signal come from the zero padding.
        n_frames = self.samples_in // self.step + 1
        f0_hz = np.maximum(self._frames["smoothedpitchtrack"].values(n_frames), 0.0)
        end_s = self.samples_in / self.sample_rate
        raw = []
        for start, duration, hz in self._notes:
            onset = max(0.0, start)
            offset = min(end_s, start + duration)
            if offset > onset:
                raw.append((onset, offset, hz))
        times, voiced_prob = np.arange(n_frames) * hop_s, self._frames["voicedprob"].values(n_frames)
        cleaned = clean_notes(times, f0_hz, raw)
        tuning = estimate_tuning(np.array([hz for _, _, hz in cleaned]), np.array([off - on for on, off, _ in cleaned]))
        notes = [Note(on, off, hz, tuning) for on, off, hz in cleaned]
        return PitchResult(times, f0_hz, voiced_prob, hop_s, notes, self.plugin_key, tuning)


class _FrameSeries:
    """One value per frame, appended in frame order; grows by doubling."""

    def __init__(self) -> None:
        self._values = np.zeros(1 << 14, np.float32)
        self._size = 0

    def extend(self, values: list[float]) -> None:
        end = self._size + len(values)
        if end > self._values.size:
            grown = np.zeros(max(2 * self._values.size, end), np.float32)
            grown[: self._size] = self._values[: self._size]
            self._values = grown
        self._values[self._size : end] = values
        self._size = end

    def values(self, n_frames: int) -> np.ndarray:
        out = np.zeros(n_frames)
        kept = min(n_frames, self._size)
        out[:kept] = self._values[:kept]
        return out


def track_pitch(
    samples: np.ndarray,
    sample_rate: int,
    *,
    plugin_key: str = PLUGIN_KEY,
    parameters: dict[str, float] | None = None,
    progress: Callable[[float], None] | None = None,
) -> PitchResult:
    """Run a pYIN plugin over mono audio held in memory (see ``PitchTracker`` for a stream).

    Args:
        samples: mono signal, shape (n,), float.
        sample_rate: Hz.
        plugin_key: any plugin with pYIN's outputs (ours, or the official ``pyin:pyin``).
        parameters: plugin parameters by identifier, over our defaults.
        progress: called with the fraction done after each chunk.

    Returns:
        The pitch track with one frame per plugin step, centred at ``k * hop_s``.

    Raises:
        ProcessingError: the plugin is not installed or refuses to initialise.
    """
    with PitchTracker(sample_rate, plugin_key=plugin_key, parameters=parameters) as tracker:
        for start in range(0, len(samples), CHUNK_SAMPLES):
            tracker.feed(samples[start : start + CHUNK_SAMPLES])
            if progress is not None:
                progress(min(1.0, (start + CHUNK_SAMPLES) / max(1, len(samples))))
        return tracker.finish()
