"""Polyphonic pieces written in code (original material), as MIDI with exact ground truth.

Textures: a four-part chorale, a melody over broken chords, block chords, a two-hand piano
piece with the sustain pedal, guitar strumming and fingerpicking; held out from tuning, a
waltz and a hymn (``HELD_OUT``). Each piece renders with
fluidsynth and the FluidR3 GM soundfont (piano, nylon or steel guitar), dry or with
fluidsynth's reverb (large room, high level).

Conventions: times in seconds; notes ``(onset_s, offset_s, midi, velocity)``; the ground truth
is what sounds: with the pedal down, a released key sounds on until the pedal lifts, so
``truth`` extends offsets to the pedal's release (the MIDI carries CC64, not the extension).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["GUITAR_NYLON", "GUITAR_STEEL", "HELD_OUT", "PIANO", "PIECES", "Piece", "render_piece", "small_piece", "truth",
           "write_piece_midi"]

PIANO, GUITAR_NYLON, GUITAR_STEEL = 0, 24, 25
SOUNDFONT = Path(os.environ.get("AUDIOSCORE_SF2", "/usr/share/sounds/sf2/FluidR3_GM.sf2"))
NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
REVERB = ("-R", "1", "-o", "synth.reverb.room-size=0.9", "-o", "synth.reverb.level=0.9",
          "-o", "synth.reverb.damp=0.2", "-o", "synth.reverb.width=1")


def n(name: str) -> int:
    """'C4' → 60, 'F#3' → 54, 'Bb2' → 46."""
    pitch = NAMES[name[0]] + name[1:-1].count("#") - name[1:-1].count("b")
    return 12 * (int(name[-1]) + 1) + pitch


def chord(names: str) -> list[int]:
    return [n(x) for x in names.split()]


@dataclass(frozen=True)
class Piece:
    """A piece: notes, the instrument family it is written for, tempo, key and meter (the truth
    of the notation measures), and sustain-pedal spans (down, up) in seconds."""

    name: str
    family: str  # "piano" or "guitar"
    tempo_bpm: float
    key: str
    time_signature: str
    notes: tuple[tuple[float, float, int, int], ...]
    pedal: tuple[tuple[float, float], ...] = field(default=())

    @property
    def end_s(self) -> float:
        return max(off for _, off, _, _ in self.notes)


class _Writer:
    """Places notes by beats: ``at(beat, length, pitches, velocity)``."""

    def __init__(self, tempo: float, lead_beats: float = 1.0) -> None:
        self.beat_s, self.lead = 60.0 / tempo, lead_beats
        self.notes: list[tuple[float, float, int, int]] = []

    def at(self, beat: float, length: float, pitches: list[int] | int, velocity: int = 80,
           spread_s: float = 0.0, gate: float = 0.95) -> None:
        pitches = [pitches] if isinstance(pitches, int) else pitches
        for i, pitch in enumerate(pitches):
            onset = (self.lead + beat) * self.beat_s + i * spread_s
            self.notes.append((round(onset, 4), round((self.lead + beat + length * gate) * self.beat_s, 4), pitch, velocity))

    def time(self, beat: float) -> float:
        return (self.lead + beat) * self.beat_s


def _chorale() -> Piece:
    # Four parts in G major, half-note chords with passing motion in the inner voices.
    w = _Writer(72)
    bars = [("G4 D4 B3 G2", "A4 D4 C4 F#2"), ("B4 D4 G3 G2", "C5 E4 G3 C3"), ("B4 D4 G3 G2", "A4 E4 C4 A2"),
            ("G4 D4 B3 B2", "F#4 D4 A3 D3"), ("G4 E4 B3 E3", "A4 E4 C4 A2"), ("B4 D4 G3 B2", "A4 C4 F#3 D3"),
            ("G4 D4 B3 G2", "F#4 C4 A3 D3"), ("G4 D4 B3 G2", "G4 D4 B3 G2")]
    for bar, (first, second) in enumerate(bars):
        w.at(4 * bar, 2, chord(first), 70)
        w.at(4 * bar + 2, 2, chord(second), 70)
    return Piece("chorale_g", "piano", 72, "G major", "4/4", tuple(w.notes))


def _melody_over_broken_chords() -> Piece:
    # Alberti bass in C major under a quarter-and-eighth tune.
    w = _Writer(96)
    harmony = ["C3 G3 E3 G3", "B2 G3 D3 G3", "C3 A3 E3 A3", "D3 A3 F3 A3",
               "C3 G3 E3 G3", "D3 G3 F3 G3", "C3 G3 E3 G3", "C3 G3 E3 G3"]
    tune = [("E5", 1), ("D5", 0.5), ("C5", 0.5), ("D5", 1), ("G4", 1), ("F5", 1), ("E5", 1), ("D5", 2),
            ("C5", 1), ("E5", 0.5), ("F5", 0.5), ("A5", 1), ("F5", 1), ("E5", 1), ("C5", 1), ("D5", 2),
            ("E5", 1.5), ("F5", 0.5), ("G5", 1), ("E5", 1), ("D5", 1), ("B4", 1), ("C5", 2),
            ("G4", 1), ("C5", 1), ("E5", 1), ("C5", 1)]
    for bar, pattern in enumerate(harmony):
        for i, pitch in enumerate(pattern.split() * 2):
            w.at(4 * bar + 0.5 * i, 0.5, n(pitch), 55)
    beat = 0.0
    for pitch, length in tune:
        w.at(beat, length, n(pitch), 90)
        beat += length
    return Piece("alberti_c", "piano", 96, "C major", "4/4", tuple(w.notes))


def _block_chords() -> Piece:
    # Repeated block chords in D minor, 3/4, three chords a bar, both hands.
    w = _Writer(120)
    progression = ["D3 A3 D4 F4 A4", "Bb2 F3 D4 F4 Bb4", "G2 D3 D4 G4 Bb4", "A2 E3 C#4 E4 A4",
                   "D3 A3 D4 F4 A4", "C3 G3 C4 E4 G4", "A2 E3 C#4 E4 A4", "D3 A3 D4 F4 A4"]
    for bar, names in enumerate(progression):
        for beat in range(3):
            w.at(3 * bar + beat, 1, chord(names), 85 if beat == 0 else 65, gate=0.8)
    return Piece("blocks_dm", "piano", 120, "D minor", "3/4", tuple(w.notes))


def _two_hands_pedal() -> Piece:
    # Left hand: bass note and a rolled chord per bar under the pedal; right hand: a melody
    # in eighths with a second voice of held notes. The pedal changes with each bar.
    w = _Writer(84)
    bars = [("F2", "C3 F3 A3", "A4 C5 F5 C5 A4 C5 G4 C5", "F4"), ("D2", "A2 D3 F3", "F5 E5 D5 E5 F5 A5 G5 F5", "D4"),
            ("Bb1", "F2 Bb2 D3", "D5 C5 Bb4 C5 D5 F5 E5 D5", "Bb3"), ("C2", "G2 C3 E3", "C5 D5 E5 G5 F5 E5 D5 C5", "E4"),
            ("F2", "C3 F3 A3", "A4 C5 F5 C5 A4 C5 G4 C5", "F4"), ("G2", "D3 G3 Bb3", "Bb4 D5 G5 D5 Bb4 D5 A4 D5", "G4"),
            ("C2", "G2 C3 E3", "G4 C5 E5 G5 E5 C5 Bb4 G4", "E4"), ("F2", "C3 F3 A3", "A4 C5 F5 A5 F5", "F4")]
    pedal = []
    for bar, (bass, rolled, melody, held) in enumerate(bars):
        w.at(4 * bar, 0.5, n(bass), 75)
        w.at(4 * bar + 1, 0.5, chord(rolled), 55, spread_s=0.03)
        w.at(4 * bar + 2, 0.5, chord(rolled), 50)
        w.at(4 * bar, 4, n(held), 60, gate=0.9)
        for i, pitch in enumerate(melody.split()):
            w.at(4 * bar + 0.5 * i, 0.5 if i < 4 or len(melody.split()) == 8 else 2, n(pitch), 88, gate=0.8)
        pedal.append((round(w.time(4 * bar) + 0.08, 4), round(w.time(4 * bar + 3.9), 4)))
    return Piece("pedal_f", "piano", 84, "F major", "4/4", tuple(w.notes), tuple(pedal))


_OPEN_CHORDS = {  # guitar voicings, low string first
    "G": "G2 B2 D3 G3 B3 G4", "C": "C3 E3 G3 C4 E4", "D": "D3 A3 D4 F#4", "Em": "E2 B2 E3 G3 B3 E4",
    "Am": "A2 E3 A3 C4 E4", "E": "E2 B2 E3 G#3 B3 E4", "A": "A2 E3 A3 C#4 E4", "F#m": "F#2 C#3 F#3 A3 C#4 F#4",
    "Bm": "B2 F#3 B3 D4 F#4", "D7": "D3 A3 C4 F#4",
}


def _strumming() -> Piece:
    # Down-down-up-up-down-up in G major, each stroke rolled across the strings (15 ms a string;
    # up-strokes play the top strings from the top).
    w = _Writer(100)
    progression = ["G", "Em", "C", "D", "G", "Em", "C", "G"]
    pattern = [(0, 1, "down", 90), (1, 0.5, "down", 75), (1.5, 1, "up", 60), (2.5, 0.5, "up", 60),
               (3, 1, "down", 80)]
    for bar, name in enumerate(progression):
        pitches = chord(_OPEN_CHORDS[name])
        for beat, length, direction, velocity in pattern:
            strings = pitches if direction == "down" else pitches[::-1][:4]
            w.at(4 * bar + beat, length, strings, velocity, spread_s=0.015, gate=1.0)
    return Piece("strum_g", "guitar", 100, "G major", "4/4", tuple(w.notes))


def _fingerpicking() -> Piece:
    # Travis picking in A minor / C major: alternating thumb bass, treble on the off-beats.
    w = _Writer(90)
    progression = [("Am", "A2", "E3"), ("Am", "A2", "E3"), ("C", "C3", "G3"), ("C", "C3", "G3"),
                   ("D", "D3", "A3"), ("F#m", "F#2", "C#3"), ("Am", "A2", "E3"), ("E", "E2", "B2")]
    for bar, (name, root, fifth) in enumerate(progression):
        top = chord(_OPEN_CHORDS[name])[-3:]
        for beat, bass in enumerate((root, fifth, root, fifth)):
            w.at(4 * bar + beat, 1, n(bass), 80)
            w.at(4 * bar + beat + 0.5, 0.5, top[(beat + 1) % 3 if beat % 2 else 2 - beat % 3], 65)
        w.at(4 * bar, 2, top[-1], 70)
    return Piece("travis_am", "guitar", 90, "A minor", "4/4", tuple(w.notes))


PIECES: tuple[Piece, ...] = (_chorale(), _melody_over_broken_chords(), _block_chords(), _two_hands_pedal(),
                             _strumming(), _fingerpicking())


def _waltz() -> Piece:
    # Held out: a waltz in Bb major, bass on the downbeat and a soft chord on beats 2 and 3 in the
    # left hand, a tune in quarters and dotted halves, the pedal changed every bar.
    w = _Writer(132)
    chords = {"Bb": ("Bb2", "D3 F3 Bb3"), "F7": ("F2", "C3 Eb3 A3"), "Eb": ("Eb2", "Eb3 G3 Bb3")}
    harmony = ["Bb", "Bb", "F7", "F7", "F7", "F7", "Bb", "Bb", "Eb", "Bb", "F7", "Bb", "Eb", "Bb", "F7", "Bb"]
    tune = ["D5:2 F5:1", "Bb5:3", "A5:2 G5:1", "F5:3", "Eb5:2 C5:1", "A4:2 C5:1", "Bb4:2 D5:1", "F5:3",
            "G5:2 Bb5:1", "F5:2 D5:1", "Eb5:1 D5:1 C5:1", "D5:2 Bb4:1", "Eb5:1 G5:1 Bb5:1", "Bb5:2 F5:1",
            "Eb5:1 C5:1 A4:1", "Bb4:3"]
    pedal = []
    for bar, (name, line) in enumerate(zip(harmony, tune)):
        bass, upper = chords[name]
        w.at(3 * bar, 1, n(bass), 72, gate=0.9)
        w.at(3 * bar + 1, 1, chord(upper), 52, gate=0.7)
        w.at(3 * bar + 2, 1, chord(upper), 50, gate=0.7)
        beat = 3.0 * bar
        for token in line.split():
            name_, length = token.split(":")
            w.at(beat, float(length), n(name_), 86, gate=0.9)
            beat += float(length)
        pedal.append((round(w.time(3 * bar) + 0.06, 4), round(w.time(3 * bar + 2.9), 4)))
    return Piece("waltz_bb", "piano", 132, "Bb major", "3/4", tuple(w.notes), tuple(pedal))


def _hymn() -> Piece:
    # Held out: a four-part hymn in Eb major, a chord a beat (soprano and alto in the right hand,
    # tenor and bass in the left), the bass doubled an octave down at phrase starts and cadences.
    w = _Writer(76)
    beats = [  # (soprano alto tenor bass, quarters, bass doubled an octave down)
        ("Bb4 G4 Bb3 Eb3", 1, True), ("G4 Eb4 Bb3 Eb3", 1, False), ("Ab4 Eb4 C4 Ab2", 1, False),
        ("Bb4 Eb4 G3 Eb3", 1, False),
        ("C5 Eb4 Ab3 Ab2", 1, False), ("Bb4 Eb4 G3 Eb3", 1, False), ("Ab4 F4 C4 F2", 1, False),
        ("G4 Eb4 C4 C3", 1, False),
        ("F4 D4 Bb3 Bb2", 1, False), ("G4 Eb4 Bb3 G2", 1, False), ("Ab4 F4 C4 Ab2", 1, False),
        ("C5 Eb4 Ab3 Ab2", 1, False),
        ("Bb4 F4 D4 Bb2", 4, True),
        ("Eb5 G4 Bb3 Eb3", 1, True), ("D5 F4 Bb3 D3", 1, False), ("C5 G4 Eb4 C3", 1, False),
        ("Bb4 G4 Eb4 Eb3", 1, False),
        ("Ab4 Eb4 C4 Ab2", 1, False), ("G4 Eb4 Bb3 Eb3", 1, False), ("F4 D4 Bb3 Bb2", 1, False),
        ("Bb4 Eb4 G3 Eb3", 1, False),
        ("Bb4 G4 Eb4 Eb3", 1, False), ("C5 Ab4 Eb4 Ab2", 1, False), ("D5 Ab4 F4 Bb2", 2, True),
        ("Eb5 G4 Bb3 Eb3", 4, True),
    ]
    beat = 0.0
    for names, length, doubled in beats:
        pitches = chord(names)
        pitches += [pitches[-1] - 12] if doubled else []
        w.at(beat, length, pitches, 68, gate=0.92)
        beat += length
    return Piece("hymn_eb", "piano", 76, "Eb major", "4/4", tuple(w.notes))


# Written after the decoder's parameters and rules were chosen on PIECES, and never used to choose
# them: bench/poly_report.py reports their F1 apart, as a check against fitting PIECES.
HELD_OUT: tuple[Piece, ...] = (_waltz(), _hymn())


def small_piece() -> Piece:
    """Four seconds of block chords: a cheap polyphonic input for tests."""
    w = _Writer(120, lead_beats=0.5)
    for bar, names in enumerate(["C3 E4 G4 C5", "F3 A4 C5 F5", "G3 B4 D5 G5", "C3 E4 G4 C5"]):
        w.at(2 * bar, 2, chord(names), 80)
    return Piece("small_chords", "piano", 120, "C major", "4/4", tuple(w.notes))


def truth(piece: Piece) -> list[tuple[float, float, int, int]]:
    """What sounds: offsets held by the pedal until it lifts."""
    out = []
    for onset, offset, pitch, velocity in piece.notes:
        for down, up in piece.pedal:
            if down <= offset < up:
                offset = max(offset, up)
        out.append((onset, offset, pitch, velocity))
    return sorted(out)


def write_piece_midi(piece: Piece, path: str | os.PathLike[str], program: int) -> Path:
    """The piece as a one-track MIDI file (960 ticks a beat), with CC64 for the pedal."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=piece.tempo_bpm)
    instrument = pretty_midi.Instrument(program=program, name=piece.name)
    for onset, offset, pitch, velocity in piece.notes:
        instrument.notes.append(pretty_midi.Note(velocity=velocity, pitch=pitch, start=onset, end=offset))
    for down, up in piece.pedal:
        instrument.control_changes += [pretty_midi.ControlChange(64, 127, down), pretty_midi.ControlChange(64, 0, up)]
    midi.instruments.append(instrument)
    path = Path(path)
    midi.write(str(path))
    return path


def render_piece(piece: Piece, program: int, out_dir: str | os.PathLike[str], *, reverb: bool = False,
                 sr: int = 44100) -> tuple[Path, Path]:
    """Render to a mono 16-bit WAV with fluidsynth (cached by a hash of everything in it).

    Returns:
        ``(wav, mid)``.
    """
    import soundfile as sf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(repr((piece, program, reverb, sr, SOUNDFONT.name)).encode()).hexdigest()[:10]
    stem = f"{piece.name}-p{program:03d}{'-rev' if reverb else ''}-{key}"
    wav, mid = out / f"{stem}.wav", out / f"{stem}.mid"
    if wav.exists() and mid.exists():
        return wav, mid
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None or not SOUNDFONT.exists():
        raise FileNotFoundError("fluidsynth and fluid-soundfont-gm are needed (apt-get install fluidsynth fluid-soundfont-gm)")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmp_mid = write_piece_midi(piece, Path(tmp) / "in.mid", program)
        stereo = Path(tmp) / "stereo.wav"
        effects = REVERB if reverb else ("-R", "0")
        subprocess.run([fluidsynth, "-ni", "-q", "-g", "0.6", "-r", str(sr), "-C", "0", *effects, "-F", str(stereo),
                        str(SOUNDFONT), str(tmp_mid)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
        audio, _ = sf.read(stereo, dtype="float64", always_2d=True)
        mono = audio.mean(axis=1)
        mono *= 0.7 / max(1e-9, float(np.max(np.abs(mono))))
        sf.write(Path(tmp) / "mono.wav", mono, sr, subtype="PCM_16")
        os.replace(tmp_mid, mid)
        os.replace(Path(tmp) / "mono.wav", wav)
    return wav, mid
