"""A small development corpus, generated at test time and never committed.

Two kinds of material:

* Synthetic signals whose true f0 is known exactly: :func:`sine`, :func:`harmonic`,
  :func:`vibrato`, plus :func:`white_noise` and :func:`silence` for voicing checks.
  Each has 10 ms fades at both ends and a peak of 0.5 (silence stays 0).
* Short monophonic :class:`Melody` objects (original tunes), written to MIDI with
  pretty_midi and rendered to mono WAV with fluidsynth and the FluidR3 GM soundfont.
  The MIDI notes are the ground truth; nothing is trimmed, so audio time = MIDI time.

Conventions: times in seconds, f0 in Hz (0 = unvoiced), MIDI pitches as integers, evaluation
notes as ``(onset_s, offset_s, pitch_hz)``.

Rendered files are cached under a directory the caller passes in (e.g. from pytest's
``tmp_path_factory``); the file names carry a hash of everything that shapes the audio,
so an edited melody never reuses a stale rendering.

Timing of fluidsynth 2.3.1 renderings (measured on this setup at 44.1 kHz, isolated
notes MIDI 48-84, velocity 90): there is no fixed latency worth correcting.
fluidsynth starts MIDI events on 64-sample block boundaries, so the first non-zero
sample of a note comes 1.3-3.4 ms (mean ~2.3 ms) after its note-on, for every
program. When the note becomes *audible* (crosses -40 dBFS; reverb and chorus on or
off makes no difference) depends on the instrument's attack:

    piano (0)         4-7 ms
    violin (40)       3-24 ms
    Choir Aahs (52)   7-37 ms
    Voice Oohs (53)   5-17 ms
    flute (73)        18-22 ms from E4 up, 32 ms at C4, 48 ms at E3, 61 ms at C3

Note-onset scoring with a 50 ms tolerance absorbs all of it except the lowest flute
notes (below the real instrument's range anyway); expect a positive
``onset_bias_s`` on flute. Renderings run on past the last note-off until the release
and reverb tails end (2.4-3 s here), so the audio always covers the MIDI.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CHOIR",
    "CORPUS",
    "FLUTE",
    "MELODIES",
    "PIANO",
    "SOUNDFONT",
    "VIOLIN",
    "VOICE",
    "Melody",
    "harmonic",
    "midi_to_hz",
    "parse_beats",
    "render",
    "render_corpus",
    "silence",
    "sine",
    "vibrato",
    "white_noise",
    "write_midi",
    "write_tones",
]

# General MIDI programs (0-based).
PIANO = 0  # Acoustic Grand Piano
VIOLIN = 40
CHOIR = 52  # Choir Aahs: several detuned voices
VOICE = 53  # Voice Oohs: closer to one singer
FLUTE = 73
INSTRUMENT_NAMES = {PIANO: "piano", VIOLIN: "violin", CHOIR: "choir", VOICE: "voice", FLUTE: "flute"}

SOUNDFONT = Path(os.environ.get("AUDIOSCORE_SF2", "/usr/share/sounds/sf2/FluidR3_GM.sf2"))

FADE_S = 0.010
PEAK = 0.5
DEFAULT_SR = 44100


# --------------------------------------------------------------------------------------
# Synthetic signals


def _finish(x: np.ndarray, sr: int) -> np.ndarray:
    """Apply 10 ms linear fades at both ends, scale to a peak of 0.5, return float32."""
    x = np.asarray(x, dtype=np.float64).copy()
    n_fade = min(round(FADE_S * sr), len(x) // 2)
    if n_fade > 0:
        ramp = np.linspace(0.0, 1.0, n_fade, endpoint=False)
        x[:n_fade] *= ramp
        x[len(x) - n_fade :] *= ramp[::-1]
    peak = np.max(np.abs(x)) if len(x) else 0.0
    if peak > 0:
        x *= PEAK / peak
    return x.astype(np.float32)


def _n_samples(duration_s: float, sr: int) -> int:
    return round(duration_s * sr)


def sine(f0_hz: float, duration_s: float, sr: int = DEFAULT_SR) -> np.ndarray:
    """A pure tone.

    Args:
        f0_hz: Frequency, in Hz.
        duration_s: Length, in seconds.
        sr: Sample rate, in Hz.

    Returns:
        Mono float32 signal, peak 0.5, 10 ms fades.
    """
    t = np.arange(_n_samples(duration_s, sr)) / sr
    return _finish(np.sin(2 * np.pi * f0_hz * t), sr)


def harmonic(
    f0_hz: float,
    duration_s: float,
    sr: int = DEFAULT_SR,
    partials: int = 8,
    rolloff: float = 1.0,
) -> np.ndarray:
    """A steady harmonic tone: partial k (1-based) has amplitude ``1 / k**rolloff``.

    Partials at or above the Nyquist frequency are left out.

    Args:
        f0_hz: Fundamental frequency, in Hz.
        duration_s: Length, in seconds.
        sr: Sample rate, in Hz.
        partials: Number of harmonics, the fundamental included.
        rolloff: Spectral slope exponent; 1.0 gives amplitudes 1/k (sawtooth-like),
            2.0 a darker tone, 0.0 all equal.

    Returns:
        Mono float32 signal, peak 0.5, 10 ms fades.
    """
    t = np.arange(_n_samples(duration_s, sr)) / sr
    return _finish(_partials(2 * np.pi * f0_hz * t, f0_hz, sr, partials, rolloff), sr)


def vibrato(
    f0_hz: float,
    depth_cents: float,
    rate_hz: float,
    duration_s: float,
    sr: int = DEFAULT_SR,
    partials: int = 1,
    rolloff: float = 1.0,
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """A tone with sinusoidal vibrato, and its true f0 as a function of time.

    The instantaneous f0 is ``f0_hz * 2 ** (depth_cents / 1200 * sin(2 pi rate_hz t))``,
    i.e. it swings ``depth_cents`` above and below ``f0_hz``, starting at ``f0_hz`` and
    rising.

    Args:
        f0_hz: Centre frequency, in Hz.
        depth_cents: Peak deviation from the centre, in cents (e.g. 50 for +-half a
            semitone; singers use roughly 30-100).
        rate_hz: Vibrato rate, in Hz (singers: roughly 5-7).
        duration_s: Length, in seconds.
        sr: Sample rate, in Hz.
        partials: Number of harmonics (1 = a pure sine), amplitudes ``1 / k**rolloff``.
        rolloff: See :func:`harmonic`.

    Returns:
        ``(signal, true_f0)``: the mono float32 signal (peak 0.5, 10 ms fades) and a
        vectorised function mapping times in seconds to the true f0 in Hz (0 outside
        ``[0, duration_s)``).
    """

    def true_f0(times: np.ndarray) -> np.ndarray:
        t = np.asarray(times, dtype=float)
        f = f0_hz * 2.0 ** (depth_cents / 1200.0 * np.sin(2 * np.pi * rate_hz * t))
        return np.where((t >= 0) & (t < duration_s), f, 0.0)

    t = np.arange(_n_samples(duration_s, sr)) / sr
    # Phase = 2 pi * integral of f0: rectangle rule, so phase[0] = 0.
    inst = true_f0(t)
    phase = 2 * np.pi * np.concatenate(([0.0], np.cumsum(inst[:-1]) / sr))
    max_f0 = f0_hz * 2.0 ** (abs(depth_cents) / 1200.0)
    return _finish(_partials(phase, max_f0, sr, partials, rolloff), sr), true_f0


def _partials(
    phase: np.ndarray, max_f0_hz: float, sr: int, partials: int, rolloff: float
) -> np.ndarray:
    out = np.zeros_like(phase)
    for k in range(1, partials + 1):
        if k * max_f0_hz >= sr / 2:
            break
        out += np.sin(k * phase) / k**rolloff
    return out


def white_noise(duration_s: float, sr: int = DEFAULT_SR, seed: int = 0) -> np.ndarray:
    """Gaussian white noise (reproducible for a given seed); peak 0.5, 10 ms fades."""
    rng = np.random.default_rng(seed)
    return _finish(rng.standard_normal(_n_samples(duration_s, sr)), sr)


def silence(duration_s: float, sr: int = DEFAULT_SR) -> np.ndarray:
    """Digital silence (all zeros), float32."""
    return np.zeros(_n_samples(duration_s, sr), dtype=np.float32)


# --------------------------------------------------------------------------------------
# Melodies

_NOTE_RE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")
_PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def random_melody(seconds: float, seed: int, sr: int = DEFAULT_SR) -> np.ndarray:
    """Harmonic notes of 0.2-0.8 s between A2 and A5, about one in seven a rest (seeded)."""
    rng = np.random.default_rng(seed)
    pieces, total = [], 0.0
    while total < seconds:
        length = float(rng.uniform(0.2, 0.8))
        if rng.random() < 0.15:
            pieces.append(silence(length, sr))
        else:
            pieces.append(harmonic(midi_to_hz(int(rng.integers(45, 82))), length, sr))
        total += length
    return np.concatenate(pieces)[: int(seconds * sr)]


def midi_to_hz(pitch: float) -> float:
    """Equal-tempered frequency of a MIDI pitch, in Hz (A4 = MIDI 69 = 440 Hz)."""
    return float(440.0 * 2.0 ** ((pitch - 69) / 12.0))


def _note_number(name: str) -> int:
    match = _NOTE_RE.match(name)
    if not match:
        raise ValueError(f"not a note name: {name!r} (expected e.g. C4, F#3, Bb5)")
    letter, accidental, octave = match.groups()
    offset = {"#": 1, "b": -1, "": 0}[accidental]
    return 12 * (int(octave) + 1) + _PITCH_CLASS[letter.lower()] + offset


def parse_beats(text: str) -> list[tuple[int | None, float]]:
    """Parse a compact beat description into ``(midi_pitch or None, beats)`` pairs.

    Tokens are ``NAME:BEATS`` separated by spaces, ``|`` bar lines are ignored, and
    ``r`` is a rest: ``"D4:1 F#4:.5 r:.5 | A4:2"``. Middle C is C4 (MIDI 60).
    """
    events: list[tuple[int | None, float]] = []
    for token in text.replace("|", " ").split():
        name, _, beats = token.partition(":")
        if not beats:
            raise ValueError(f"missing duration in {token!r}")
        pitch = None if name.lower() == "r" else _note_number(name)
        events.append((pitch, float(beats)))
    return events


@dataclass(frozen=True)
class Melody:
    """A monophonic melody with absolute timing.

    Attributes:
        name: Identifier, used in file names.
        notes: ``(onset_s, offset_s, midi_pitch)``, sorted, non-overlapping.
        tempo_bpm: Tempo, in quarter-note beats per minute (also written to the MIDI).
        program: The General MIDI program it suits best (0-based); rendering may use
            any other.
    """

    name: str
    notes: tuple[tuple[float, float, int], ...]
    tempo_bpm: float
    program: int = PIANO

    @classmethod
    def from_beats(
        cls,
        name: str,
        events: Sequence[tuple[int | None, float]] | str,
        tempo_bpm: float,
        program: int = PIANO,
        *,
        lead_in_beats: float = 1.0,
        articulation: float = 0.9,
    ) -> Melody:
        """Build a melody from ``(midi_pitch or None for a rest, duration_in_beats)``.

        Args:
            name: Identifier.
            events: The pairs, or a string for :func:`parse_beats`.
            tempo_bpm: Quarter-note beats per minute.
            program: Preferred General MIDI program.
            lead_in_beats: Silence before the first event, in beats (a whole number of
                beats keeps every onset on an exact MIDI tick).
            articulation: Sounding fraction of each note's slot; below 1 leaves a gap so
                repeated notes are re-attacked (0.9 of a sixteenth at 140 bpm is 96 ms
                sounding plus an 11 ms gap).
        """
        if isinstance(events, str):
            events = parse_beats(events)
        beat_s = 60.0 / tempo_bpm
        t = lead_in_beats * beat_s
        notes = []
        for pitch, beats in events:
            if beats <= 0:
                raise ValueError(f"{name}: non-positive duration {beats}")
            if pitch is not None:
                notes.append((t, t + articulation * beats * beat_s, int(pitch)))
            t += beats * beat_s
        return cls(name=name, notes=tuple(notes), tempo_bpm=float(tempo_bpm), program=program)

    @property
    def duration_s(self) -> float:
        """Time of the last note-off, in seconds."""
        return max((offset for _, offset, _ in self.notes), default=0.0)

    @property
    def pitch_range(self) -> tuple[int, int]:
        """Lowest and highest MIDI pitch."""
        pitches = [p for _, _, p in self.notes]
        return min(pitches), max(pitches)

    @property
    def notes_hz(self) -> list[tuple[float, float, float]]:
        """The notes as ``(onset_s, offset_s, pitch_hz)``, for evaluation."""
        return [(on, off, midi_to_hz(p)) for on, off, p in self.notes]


def _m(name: str, tempo: float, program: int, text: str) -> Melody:
    return Melody.from_beats(name, text, tempo, program)


# Original, folk-like tunes (written for this corpus). 8-15 s each, MIDI 48-84.
# fmt: off
MELODIES: tuple[Melody, ...] = (
    # D major, quarters and eighths, D4-D5.
    _m("folk_d_major", 100, PIANO,
       "D4:1 F#4:.5 G4:.5 A4:1 A4:1 | B4:.5 A4:.5 G4:.5 F#4:.5 E4:2 |"
       " F#4:1 A4:.5 D5:.5 C#5:1 B4:1 | A4:.5 G4:.5 F#4:.5 E4:.5 D4:2"),
    # F major waltz, dotted halves, E4-F5.
    _m("waltz_f_major", 132, VIOLIN,
       "F4:1 A4:1 C5:1 | F5:2 E5:1 | D5:1 C5:1 Bb4:1 | A4:3 |"
       " G4:1 Bb4:1 D5:1 | C5:2 A4:1 | G4:1 E4:1 G4:1 | F4:3"),
    # C minor, low register C3-C4, halves and a rest.
    _m("low_ballad_c_minor", 76, VOICE,
       "C3:1 Eb3:1 G3:2 | F3:1 Eb3:.5 D3:.5 C3:2 | r:1 G3:1 Ab3:1 C4:1 |"
       " Bb3:1 G3:.5 F3:.5 D3:1 C3:1"),
    # G major reel in running sixteenths, F#4-A5.
    _m("reel_g_sixteenths", 84, FLUTE,
       "G4:.25 B4:.25 D5:.25 B4:.25 G4:.25 B4:.25 D5:.25 G5:.25"
       " F#5:.25 D5:.25 A4:.25 D5:.25 F#5:.5 E5:.5 |"
       " E5:.25 G5:.25 E5:.25 C5:.25 A4:.25 C5:.25 E5:.25 A4:.25 B4:.5 G4:.5 A4:1 |"
       " D5:.25 C5:.25 B4:.25 A4:.25 G4:.25 A4:.25 B4:.25 C5:.25"
       " D5:.25 E5:.25 F#5:.25 G5:.25 A5:.5 F#5:.5 |"
       " G5:.25 F#5:.25 E5:.25 D5:.25 B4:.25 G4:.25 A4:.25 F#4:.25 G4:2"),
    # A minor with many repeated notes (re-attacks), E4-E5.
    _m("repeated_a_minor", 120, VOICE,
       "A4:.5 A4:.5 A4:.5 C5:.5 E5:1 E5:1 | D5:.5 D5:.5 D5:.5 C5:.5 B4:2 |"
       " C5:.5 C5:.5 B4:.5 B4:.5 A4:.5 A4:.5 G#4:1 | E5:.5 E5:.5 D5:.5 D5:.5 C5:.5 C5:.5 B4:1 |"
       " A4:.25 A4:.25 A4:.5 E4:.5 E4:.5 A4:2"),
    # Eb major lullaby, slow, high register Eb5-C6.
    _m("lullaby_eb_high", 70, FLUTE,
       "Eb5:1 G5:1 Bb5:2 | Ab5:1 G5:.5 F5:.5 Eb5:2 | C6:1 Bb5:1 Ab5:1 G5:1 |"
       " F5:1 G5:.5 F5:.5 Eb5:2"),
    # E minor pentatonic, fast, with many rests, E4-G5.
    _m("pentatonic_rests", 140, PIANO,
       "E4:.5 G4:.5 A4:1 r:1 B4:1 | D5:.5 B4:.5 r:.5 A4:.5 G4:1 r:1 |"
       " E5:1 r:.5 D5:.5 B4:1 A4:1 | G4:.5 r:.5 E4:.5 r:.5 G4:2 |"
       " r:1 B4:.5 D5:.5 E5:1 G5:1 | E5:.5 D5:.5 r:1 B4:1 A4:1 | G4:1 A4:.5 B4:.5 E4:2"),
    # Bb major with octave leaps (bait for octave errors), F3-Bb5.
    _m("leaps_bb_major", 108, PIANO,
       "Bb3:1 Bb4:1 F4:.5 D4:.5 Bb3:1 | F3:1 F4:1 Eb4:.5 D4:.5 C4:1 |"
       " D4:.5 F4:.5 Bb4:.5 D5:.5 F5:1 Bb5:1 | A5:1 F5:1 C5:1 A4:1 |"
       " Bb4:1 Bb3:1 D5:1 D4:1 | Bb4:2 Bb3:2"),
)
# fmt: on

_BY_NAME = {melody.name: melody for melody in MELODIES}

# (melody, program): every melody on piano and flute, some on violin and voice.
CORPUS: tuple[tuple[Melody, int], ...] = (
    *((melody, PIANO) for melody in MELODIES),
    *((melody, FLUTE) for melody in MELODIES),
    *((_BY_NAME[name], VIOLIN) for name in ("folk_d_major", "waltz_f_major", "reel_g_sixteenths")),
    *(
        (_BY_NAME[name], VOICE)
        for name in ("low_ballad_c_minor", "repeated_a_minor", "lullaby_eb_high")
    ),
)


# --------------------------------------------------------------------------------------
# MIDI and rendering


def write_midi(
    melody: Melody, path: str | os.PathLike[str], program: int | None = None, velocity: int = 90
) -> Path:
    """Write a melody as a one-track Standard MIDI File.

    Args:
        melody: The melody.
        path: Output file.
        program: General MIDI program (0-based); ``melody.program`` when None.
        velocity: Note-on velocity, 1-127.

    Returns:
        The path written. The file has 960 ticks per beat at the melody's tempo, so
        notes built by :meth:`Melody.from_beats` land exactly on ticks.
    """
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=melody.tempo_bpm)
    instrument = pretty_midi.Instrument(
        program=melody.program if program is None else program, name=melody.name
    )
    for onset, offset, pitch in melody.notes:
        instrument.notes.append(
            pretty_midi.Note(velocity=velocity, pitch=pitch, start=onset, end=offset)
        )
    midi.instruments.append(instrument)
    path = Path(path)
    midi.write(str(path))
    return path


def _cache_key(melody: Melody, program: int, sr: int, effects: bool) -> str:
    text = repr((melody.notes, melody.tempo_bpm, program, sr, effects, SOUNDFONT.name))
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def render(
    melody: Melody,
    program: int,
    out_dir: str | os.PathLike[str],
    sr: int = DEFAULT_SR,
    *,
    effects: bool = True,
) -> tuple[Path, Path]:
    """Render a melody to a mono WAV file with fluidsynth (cached).

    Runs ``fluidsynth -ni -q -g 0.8 -r <sr> -F <wav> <soundfont> <mid>`` and averages
    the stereo output to mono (16-bit PCM). Nothing is trimmed: sample 0 is MIDI time 0,
    and the file runs on past the last note-off until the tails die out. See the module
    docstring for the measured onset delays.

    Args:
        melody: The melody.
        program: General MIDI program (0-based), e.g. :data:`PIANO`, :data:`FLUTE`.
        out_dir: Cache directory; created if missing.
        sr: Sample rate, in Hz.
        effects: Keep fluidsynth's default reverb and chorus; False renders dry
            (``-R 0 -C 0``).

    Returns:
        ``(wav_path, midi_path)``. An existing file of the same name (which includes a
        hash of the melody, program, rate and effects) is reused without rendering.

    Raises:
        FileNotFoundError: If fluidsynth or the soundfont is missing.
        subprocess.CalledProcessError: If fluidsynth fails.
    """
    import soundfile as sf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{melody.name}-p{program:03d}-{sr}{'' if effects else '-dry'}"
    stem += f"-{_cache_key(melody, program, sr, effects)}"
    wav_path, midi_path = out / f"{stem}.wav", out / f"{stem}.mid"
    if wav_path.exists() and midi_path.exists():
        return wav_path, midi_path

    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None:
        raise FileNotFoundError("fluidsynth is not installed (apt-get install fluidsynth)")
    if not SOUNDFONT.exists():
        raise FileNotFoundError(
            f"soundfont {SOUNDFONT} missing (apt-get install fluid-soundfont-gm)"
        )

    # Write to temporary names, then rename: a cache hit is always a complete file,
    # also when several test processes render at once.
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmp_mid = write_midi(melody, Path(tmp) / "in.mid", program)
        stereo = Path(tmp) / "stereo.wav"
        cmd = [fluidsynth, "-ni", "-q", "-g", "0.8", "-r", str(sr)]
        if not effects:
            cmd += ["-R", "0", "-C", "0"]
        cmd += ["-F", str(stereo), str(SOUNDFONT), str(tmp_mid)]
        subprocess.run(cmd, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        audio, file_sr = sf.read(stereo, dtype="float64", always_2d=True)
        if file_sr != sr:
            raise RuntimeError(f"fluidsynth wrote {file_sr} Hz, asked for {sr} Hz")
        mono = Path(tmp) / "mono.wav"
        sf.write(mono, audio.mean(axis=1), sr, subtype="PCM_16")
        os.replace(tmp_mid, midi_path)
        os.replace(mono, wav_path)
    return wav_path, midi_path


def render_corpus(
    out_dir: str | os.PathLike[str], sr: int = DEFAULT_SR, *, effects: bool = True
) -> list[tuple[Melody, int, Path, Path]]:
    """Render every :data:`CORPUS` entry (cached); returns ``(melody, program, wav, mid)``."""
    return [
        (melody, program, *render(melody, program, out_dir, sr, effects=effects))
        for melody, program in CORPUS
    ]


def write_tones(path: Path, midi_notes: Sequence[int], note_s: float = 0.5, sr: int = DEFAULT_SR) -> Path:
    """A WAV of harmonic tones one after another: a tiny tune for pipeline tests."""
    import soundfile as sf

    sf.write(path, np.concatenate([harmonic(midi_to_hz(m), note_s, sr) for m in midi_notes]), sr, subtype="PCM_16")
    return path
