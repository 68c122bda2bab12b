"""Pitch track and notes from a pYIN Vamp plugin, through the Python Vamp host.

Conventions: times in seconds from the start of the recording (frame
centres), frequencies in Hz, 0 Hz where a frame is unvoiced.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ProcessingError

__all__ = ["PLUGIN_KEY", "Note", "PitchResult", "ensure_vamp_path", "track_pitch"]

PLUGIN_KEY = "audioscore_pyin:pyin"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugins"
DEBIAN_VAMP_DIR = Path("/usr/lib/x86_64-linux-gnu/vamp")
# Samples handed to the host per call; the host's buffering adapter cuts them
# into the plugin's own blocks, so Python never loops per analysis frame.
CHUNK_SAMPLES = 1 << 16
PITCH_OUTPUTS = ("voicedprob", "smoothedpitchtrack", "notes")


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
    """A note event: onset and offset in seconds, pitch in Hz."""

    onset: float
    offset: float
    pitch_hz: float

    @property
    def midi(self) -> float:
        """Pitch as a fractional MIDI number (69 = A4 = 440 Hz)."""
        return 69.0 + 12.0 * float(np.log2(self.pitch_hz / 440.0))


@dataclass(frozen=True)
class PitchResult:
    """Frame-wise pitch and note events.

    Attributes:
        times: frame centres in seconds, shape (n,).
        f0_hz: fundamental frequency per frame, 0 where unvoiced, shape (n,).
        voiced_prob: probability that each frame is voiced, shape (n,).
        hop_s: seconds between frames.
        notes: note events in time order.
        plugin: the Vamp plugin key used.
    """

    times: np.ndarray
    f0_hz: np.ndarray
    voiced_prob: np.ndarray
    hop_s: float
    notes: list[Note]
    plugin: str


def _plugin_frame_sizes(plugin_key: str, sample_rate: int) -> tuple[int, int]:
    probe = vampyhost.load_plugin(plugin_key, sample_rate, vampyhost.ADAPT_NONE)
    try:
        return probe.get_preferred_step_size(), probe.get_preferred_block_size()
    finally:
        probe.unload()


def track_pitch(
    samples: np.ndarray,
    sample_rate: int,
    *,
    plugin_key: str = PLUGIN_KEY,
    parameters: dict[str, float] | None = None,
    progress: Callable[[float], None] | None = None,
) -> PitchResult:
    """Run a pYIN plugin over mono audio.

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
    if plugin_key not in vampyhost.list_plugins():
        raise ProcessingError(
            f"Vamp plugin {plugin_key!r} not found on VAMP_PATH={os.environ['VAMP_PATH']} "
            "(run 'make plugin')"
        )
    step, block = _plugin_frame_sizes(plugin_key, sample_rate)
    # The plugin stamps each frame a quarter block after its start (the centre
    # of YIN's integration window): a quarter block of zeros in front puts
    # frame k at k * step; a block of zeros behind lets the last samples be analysed.
    pad = block // 4
    signal = np.concatenate(
        [np.zeros(pad, np.float32), np.asarray(samples, np.float32), np.zeros(block, np.float32)]
    )

    plugin = vampyhost.load_plugin(plugin_key, sample_rate, vampyhost.ADAPT_ALL)
    try:
        plugin.set_parameter_values({"outputunvoiced": 2, **(parameters or {})})
        if not plugin.initialise(1, CHUNK_SAMPLES, CHUNK_SAMPLES):
            raise ProcessingError(f"Vamp plugin {plugin_key!r} refused to initialise")
        indices = {name: plugin.get_output(name)["output_index"] for name in PITCH_OUTPUTS}
        collected: dict[str, list[dict]] = {name: [] for name in PITCH_OUTPUTS}

        def keep(features: dict) -> None:
            for name, index in indices.items():
                collected[name].extend(features.get(index, ()))

        chunk = np.zeros((1, CHUNK_SAMPLES), np.float32)
        for start in range(0, len(signal), CHUNK_SAMPLES):
            piece = signal[start : start + CHUNK_SAMPLES]
            chunk[0, : len(piece)] = piece
            chunk[0, len(piece) :] = 0.0
            keep(plugin.process_block(chunk, vampyhost.frame_to_realtime(start, sample_rate)))
            if progress is not None:
                progress(min(1.0, (start + CHUNK_SAMPLES) / len(signal)))
        keep(plugin.get_remaining_features())
    finally:
        plugin.unload()

    return _assemble(collected, step, sample_rate, pad, len(samples), plugin_key)


def _assemble(
    collected: dict[str, list[dict]], step: int, sample_rate: int, pad: int, n_samples: int, key: str
) -> PitchResult:
    hop_s = step / sample_rate
    offset_s = pad / sample_rate
    # Frames past the end of the real signal come from the zero padding of the last chunk.
    n_frames = n_samples // step + 1
    times = np.arange(n_frames) * hop_s
    voiced_prob = np.zeros(n_frames)
    f0_hz = np.zeros(n_frames)

    def frame_index(feature: dict) -> int:
        return round((feature["timestamp"].to_float() - offset_s) / hop_s)

    for feature in collected["voicedprob"]:
        i = frame_index(feature)
        if 0 <= i < n_frames:
            voiced_prob[i] = feature["values"][0]
    for feature in collected["smoothedpitchtrack"]:
        i = frame_index(feature)
        if 0 <= i < n_frames:
            f0_hz[i] = max(0.0, float(feature["values"][0]))

    end_s = n_samples / sample_rate
    notes = []
    for feature in collected["notes"]:
        onset = max(0.0, feature["timestamp"].to_float() - offset_s)
        offset = min(end_s, onset + feature["duration"].to_float())
        if offset > onset:
            notes.append(Note(onset, offset, float(feature["values"][0])))
    return PitchResult(times, f0_hz, voiced_prob, hop_s, notes, key)
