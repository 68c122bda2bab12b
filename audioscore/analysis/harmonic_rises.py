"""Notes that swell in under a long release (string sections, choir): found by their harmonics' rise.

A slow string or choir note rises over 100-250 ms while the previous note's release still
rings, so two or three notes sound at once; the new note's partials are faint and the
pitch track stays on the old note (or jumps an octave below) until long after the new
one began, and the note model misses it. Its harmonics' *rise* shows it, though: the
log spectrum of a long window (about 93 ms, which resolves the partials of notes a
semitone apart down to ~100 Hz) compared with the one 80 ms earlier grows at the new
note's harmonics only. A harmonic sum of that rise, less the rise between the harmonics
(so the octave above and the octave below, and broadband onsets, score low), named the
new note on tests/realistic.py.

No library gives a per-pitch spectral novelty (librosa's onset strength and SuperFlux
are broadband; multi-pitch salience measures level, not its rise), so it is written here
with numpy (not scipy, whose import costs seconds of start-up). :class:`HarmonicRises` is fed the audio as it arrives, like the pitch
tracker, and keeps about 2 KB per 10-ms frame (12 MB a minute), not the audio.

:func:`add_rising_notes` then changes the note list only where a rise is a *slow* attack
of a *different* pitch that holds: its harmonics keep rising for at least 100 ms and
stay up, while the note the tracker holds there has been sounding for a while and is
decaying (or there is no note). Fast attacks (piano, winds, voice), vibrato and scoops
fail those tests and are left to the plugin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["HarmonicRises", "Rises", "add_rising_notes"]

NoteTuple = tuple[float, float, float]

HOP_S = 0.01
WINDOW_S = 0.093  # 4096 samples at 44.1 kHz: partials ~10.8 Hz apart resolved
LAG = 8  # frames: the rise is measured over 80 ms
HARMONICS = 8
FLOOR_DBFS, RANGE_DB = -110.0, 80.0
# Candidate pitches (MIDI), on a 10-cent grid (float16 per frame and grid point: 2 KB a frame).
# A 20-cent grid read choir_ballad's vibrato notes a step off (slow_attack F1 0.764 against 0.791).
LOW_MIDI, HIGH_MIDI, GRID_STEPS = 36, 84, 10
# A rise is this many dB summed over the harmonics (scale-free: a sum of dB changes).
# Measured on tests/realistic.py: 50 adds cello_ballad's missed notes but loses two of
# slowstrings_folk's; 60 was the best all-28 mean.
MIN_RISE_DB = 60.0
PEAK_DISTANCE = 8
# The onset is where the rise at the candidate began: back from its peak while it stays
# above this share of the peak (at most MAX_BACK frames). 0.25 was 30-60 ms late.
FOOT_SHARE = 0.1
MAX_BACK = 20
# A slow attack: the candidate's harmonic level peaks at least SLOW_FRAMES after the
# onset (within LOOK_FRAMES), stays within HOLD_DROP_DB of that peak for HOLD_FRAMES
# after it, and does not fall KEEP_DB below its level at the rise's peak in those frames
# (a singer's scoop passes through a pitch and leaves it).
SLOW_FRAMES, LOOK_FRAMES, HOLD_FRAMES = 10, 40, 15
HOLD_DROP_DB, KEEP_DB = 6.0, 6.0
# A candidate this close (semitones) to the tracked note is that note (vibrato reads
# +-0.5 semitone beside it).
SAME_SEMITONES = 0.75
# The held note gives way only after sounding this long, and if its harmonics have
# fallen this far below their peak since its onset (it is the previous note's release).
OLD_NOTE_S = 0.12
DECAY_DB = 3.0
# A note found in a gap lasts until the next note, at most this long.
GAP_NOTE_MAX_S = 1.0
# The tracker's later note of the same pitch, this soon after, is the same note (moved back).
LATE_SAME_S = 0.3


class Rises:
    """What :class:`HarmonicRises` measured, per 10-ms frame (frame k at ``k * hop_s``)."""

    def __init__(self, hop_s: float, best: np.ndarray, pitch: np.ndarray, rise: np.ndarray, level: np.ndarray) -> None:
        self.hop_s = hop_s
        self.best = best  # strongest harmonic rise per frame (dB summed)
        self.pitch = pitch  # its pitch (MIDI, fractional)
        self.rise = rise  # frames x pitch grid (LOW_MIDI.., GRID_STEPS a semitone): harmonic rise
        self.level = level  # frames x pitch grid: mean harmonic level, dBFS

    def column(self, midi: float) -> int:
        return int(np.clip(round((midi - LOW_MIDI) * GRID_STEPS), 0, self.level.shape[1] - 1))


class HarmonicRises:
    """Streams audio into per-frame harmonic rises and levels (see the module docstring)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.hop = max(1, round(HOP_S * sample_rate))
        self.size = 1 << round(float(np.log2(WINDOW_S * sample_rate)))
        self._window = np.hanning(self.size).astype(np.float32)
        bin_hz = sample_rate / self.size
        midis = np.arange(LOW_MIDI * GRID_STEPS, HIGH_MIDI * GRID_STEPS + GRID_STEPS) / GRID_STEPS
        f0 = 440.0 * 2.0 ** ((midis - 69.0) / 12.0)
        bins = self.size // 2 + 1
        h = np.arange(1, HARMONICS + 1)[:, None]
        self._on = np.minimum(np.round(h * f0 / bin_hz).astype(int), bins - 1)  # harmonics x grid
        self._between = np.minimum(np.round((h - 0.5) * f0 / bin_hz).astype(int), bins - 1)
        self._valid = (h * f0 / bin_hz < bins - 1).astype(np.float32)
        self._bins = min(bins, int(self._on.max()) + 3)  # those above the highest harmonic are not needed
        self._midis = midis
        # Samples still needed: frame k's window starts at k * hop - size / 2.
        self._buffer = np.zeros(self.size // 2, np.float32)  # the zeros in front of frame 0
        self._consumed = -(self.size // 2)  # sample index of _buffer[0]
        self._frames = 0
        self.samples_in = 0
        self._loudest = FLOOR_DBFS
        self._reference: np.ndarray | None = None  # the last LAG frames' max-filtered log spectra
        self._best: list[np.ndarray] = []
        self._pitch: list[np.ndarray] = []
        self._rise: list[np.ndarray] = []
        self._level: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        """Analyse the next samples (mono float, any length)."""
        self.samples_in += len(samples)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float32)])
        self._run()

    def finish(self) -> Rises:
        """Analyse what is left (zeros behind) and return every frame's measures."""
        total = self.samples_in // self.hop + 1
        self._buffer = np.concatenate([self._buffer, np.zeros(self.size, np.float32)])
        self._run(limit=total)
        grid = len(self._midis)
        return Rises(self.hop / self.sample_rate, _joined(self._best, 0).ravel(), _joined(self._pitch, 0).ravel(),
                     _joined(self._rise, grid), _joined(self._level, grid))

    def _run(self, limit: int | None = None) -> None:
        start = self._frames * self.hop - self.size // 2 - self._consumed  # next frame's first sample here
        room = len(self._buffer) - self.size - start
        count = room // self.hop + 1 if room >= 0 else 0
        if limit is not None:
            count = min(count, limit - self._frames)
        if count <= 0:
            return
        index = start + self.hop * np.arange(count)[:, None] + np.arange(self.size)[None, :]
        spectrum = np.abs(np.fft.rfft(self._buffer[index] * self._window, axis=1)[:, : self._bins]).astype(np.float32)
        log_spectrum = 20.0 * np.log10(spectrum / (self.size / 4) + 1e-12)
        # Floor: RANGE_DB under the loudest partial so far (a rise out of the noise floor
        # or a reverb tail is no note), and never under FLOOR_DBFS.
        loudest = np.maximum.accumulate(np.maximum(log_spectrum.max(axis=1), self._loudest))
        self._loudest = float(loudest[-1])
        self._measure(np.maximum(log_spectrum, np.maximum(loudest - RANGE_DB, FLOOR_DBFS)[:, None]))
        self._frames += count
        drop = start + count * self.hop
        self._buffer = self._buffer[drop:]
        self._consumed += drop

    def _measure(self, log_spectrum: np.ndarray) -> None:
        # The reference is the spectrum LAG frames earlier, widened by +-2 bins so a
        # partial moving with vibrato does not read as a rise.
        widened = _widened(log_spectrum, 2)
        earlier = widened if self._reference is None else np.concatenate([self._reference, widened])
        if self._reference is None:
            earlier = np.concatenate([np.repeat(widened[:1], LAG, axis=0), widened])
        rise = np.maximum(0.0, log_spectrum - earlier[: len(log_spectrum)])
        self._reference = earlier[-LAG:]
        peaks = _widened(rise, 1)
        # Rise at the harmonics less the rise halfway between them.
        salience = np.einsum("fhg,hg->fg", peaks[:, self._on], self._valid)
        salience -= np.einsum("fhg,hg->fg", rise[:, self._between], self._valid)
        levels = np.einsum("fhg,hg->fg", _widened(log_spectrum, 1)[:, self._on], self._valid)
        levels /= np.maximum(self._valid.sum(axis=0), 1.0)
        best = salience.argmax(axis=1)
        self._best.append(salience[np.arange(len(best)), best])
        self._pitch.append(self._midis[best])
        self._rise.append(salience.astype(np.float16))
        self._level.append(levels.astype(np.float16))


def _joined(parts: list[np.ndarray], width: int) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, width))


def _widened(a: np.ndarray, half: int) -> np.ndarray:
    """Each bin's most over the bins within `half` of it (along the last axis)."""
    out = a.copy()
    for shift in range(1, half + 1):
        np.maximum(out[:, shift:], a[:, :-shift], out=out[:, shift:])
        np.maximum(out[:, :-shift], a[:, shift:], out=out[:, :-shift])
    return out


def _peaks(x: np.ndarray, height: float, distance: int) -> list[int]:
    """Local maxima of at least `height`, the highest first kept, at least `distance` apart."""
    inner = np.flatnonzero((x[1:-1] >= height) & (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1
    kept: list[int] = []
    for i in sorted(inner, key=lambda k: -x[k]):
        if all(abs(int(i) - k) >= distance for k in kept):
            kept.append(int(i))
    return sorted(kept)


def add_rising_notes(notes: Sequence[NoteTuple], rises: Rises) -> list[NoteTuple]:
    """The notes with those that swelled in under a release added (see the module docstring).

    A slow rise of another pitch inside a note that has sounded for a while and is
    decaying ends that note there and starts the new one (which runs to the old note's
    end, or takes over the tracker's later note of its pitch); one in a gap between notes
    starts a note there.
    """
    out = [list(n) for n in sorted(notes)]
    if rises.best.size == 0:
        return [tuple(n) for n in out]  # type: ignore[misc]
    peaks = _peaks(rises.best, MIN_RISE_DB, PEAK_DISTANCE)
    hop = rises.hop_s
    for i in peaks:
        found = _slow_attack(rises, int(i))
        if found is None:
            continue
        onset, midi = found
        at = i * hop
        hz = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
        out.sort()
        holding = next((n for n in out if n[0] <= at < n[1]), None)
        later = next((n for n in out if n[0] > at), None)
        if holding is not None:
            if abs(_midi(holding[2]) - midi) < SAME_SEMITONES or holding[0] >= onset - OLD_NOTE_S:
                continue
            old = rises.level[int(holding[0] / hop) : i + 1, rises.column(_midi(holding[2]))]
            if old[-1] > old.max() - DECAY_DB:
                continue
            end, holding[1] = holding[1], onset
            after = next((n for n in out if n[0] >= end - 1e-6), None)
            if after is not None and abs(_midi(after[2]) - midi) < SAME_SEMITONES and after[0] - end < 0.05:
                after[0] = onset
            else:
                out.append([onset, end, hz])
            continue
        before = next((n for n in reversed(out) if n[1] <= at), None)
        if before is not None and before[1] > onset:
            if before[0] >= onset - OLD_NOTE_S:
                continue
            before[1] = onset
        if later is not None and abs(_midi(later[2]) - midi) < SAME_SEMITONES and later[0] - at < LATE_SAME_S:
            later[0] = onset
        else:
            end = onset + GAP_NOTE_MAX_S if later is None else min(later[0], onset + GAP_NOTE_MAX_S)
            out.append([onset, end, hz])
    return [tuple(n) for n in sorted(out)]  # type: ignore[misc]


def _slow_attack(rises: Rises, peak: int) -> tuple[float, float] | None:
    """(onset seconds, pitch MIDI) of the rise peaking at frame `peak` if it is a slow attack that holds."""
    midi = float(rises.pitch[peak])
    if not LOW_MIDI + 0.5 <= midi <= HIGH_MIDI:
        return None  # at the grid's edge: the rise may peak beyond it (a harmonic's; choir_folk_scoops)
    column = rises.column(midi)
    rise = rises.rise[:, column]
    foot = peak
    while foot > 0 and rise[foot - 1] > FOOT_SHARE * rise[peak] and peak - foot < MAX_BACK:
        foot -= 1
    level = rises.level[:, column]
    ahead = level[foot : foot + LOOK_FRAMES]
    top = int(np.argmax(ahead))
    held = level[foot + top : foot + top + HOLD_FRAMES]
    if top < SLOW_FRAMES or held.min() < ahead[top] - HOLD_DROP_DB:
        return None
    if level[peak : peak + HOLD_FRAMES].min() < level[peak] - KEEP_DB:
        return None
    return foot * rises.hop_s, midi


def _midi(hz: float) -> float:
    return 69.0 + 12.0 * float(np.log2(hz / 440.0))
