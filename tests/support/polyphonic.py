"""Polyphonic pieces of known notation and their noisy performances: the corpus for
polyphonic notation (chords, voices, hands, guitar staff).

Each :class:`Piece` is written here voice by voice (staff and voice known for every note):
a chorale, a melody over broken chords, block chords, a two-hand piece whose hands cross
middle C, guitar strumming and fingerpicking. :func:`perform` plays one the way a pianist or
guitarist does and a polyphonic transcriber reports it:

* tempo drift (a smooth random walk within ±8 %) and onset jitter per onset (±15 ms);
* chord notes spread 20-40 ms apart (a strum: 8-12 ms per string, low to high or back);
* offsets a little early or late per note; pedal (piano) or let-ring (guitar) holding
  notes to the next pedal change or well past their written end;
* velocities: accents on downbeats, the top line louder;
* transcriber noise: spurious short quiet notes and quiet octave (or twelfth) ghosts.

Everything is seeded. The truth is the written piece: :attr:`Performance.truth_index`
maps each played note to its written note (-1 for noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from corpus import _note_number

from audioscore.notation.rhythm import PerformedNote

__all__ = ["PIECES", "Performance", "Piece", "WrittenNote", "by_name", "perform"]

BEATS_PER_BAR = {"4/4": 4, "3/4": 3, "2/4": 2}


@dataclass(frozen=True)
class WrittenNote:
    """A note as written: start and duration in quarters from the first bar line."""

    start: Fraction
    duration: Fraction
    midi: int
    staff: int
    voice: int


@dataclass(frozen=True)
class Piece:
    name: str
    key: str
    time_signature: str
    tempo_bpm: float
    instrument: str          # "piano" or "guitar"
    notes: tuple[WrittenNote, ...]
    pedal: Fraction = Fraction(0)   # quarters between pedal changes (piano); 0: none
    strum: bool = False
    let_ring: bool = False

    @property
    def bar_quarters(self) -> Fraction:
        return Fraction(BEATS_PER_BAR[self.time_signature])

    def in_chord(self, index: int) -> bool:
        """Whether the note starts and ends with another note of its staff (written as a chord)."""
        n = self.notes[index]
        return any(i != index and m.staff == n.staff and m.start == n.start and m.duration == n.duration
                   for i, m in enumerate(self.notes))


def _line(text: str, staff: int, voice: int) -> list[WrittenNote]:
    """Notes of one voice: ``NAME:QUARTERS`` tokens, ``A+B`` a chord, ``r`` a rest, ``|`` ignored."""
    notes, position = [], Fraction(0)
    for token in text.replace("|", " ").split():
        names, _, length = token.partition(":")
        quarters = Fraction(length)
        if names != "r":
            notes += [WrittenNote(position, quarters, _note_number(name), staff, voice) for name in names.split("+")]
        position += quarters
    return notes


def _piece(name: str, key: str, signature: str, bpm: float, instrument: str, lines: list[tuple[str, int, int]],
           **options: object) -> Piece:
    notes = [n for text, staff, voice in lines for n in _line(text, staff, voice)]
    return Piece(name, key, signature, bpm, instrument, tuple(sorted(notes, key=lambda n: (n.start, n.midi))),
                 **options)  # type: ignore[arg-type]


def _repeat(pattern: str, times: int) -> str:
    return " ".join([pattern] * times)


def _broken(chords: list[tuple[str, str, str]], per_bar: int) -> str:
    """A left hand's eighths over each bar's chord: root, fifth, third, fifth, ..."""
    bars = []
    for root, fifth, third in chords:
        cycle = [root, fifth, third, fifth, third, fifth, third, fifth]
        bars.append(" ".join(f"{cycle[k]}:1/2" for k in range(2 * per_bar)))
    return " | ".join(bars)


# fmt: off
PIECES = (
    _piece("chorale_g_major", "G major", "4/4", 76, "piano", [
        ("D5:2 B4:2 | C5:1 D5:1 E5:2 | D5:2 C5:2 | B4:4 | B4:2 C5:2 | D5:1 C5:1 B4:2 | A4:2 A4:2 | G4:4", 1, 1),
        ("B4:2 G4:2 | A4:1 B4:1 G4:2 | G4:2 F#4:1 E4:1 | D4:4 | G4:2 E4:2 | F#4:1 E4:1 D4:2 | E4:2 D4:1 C4:1 | B3:4", 1, 2),
        ("G3:2 D4:2 | E4:2 C4:2 | B3:2 A3:2 | G3:4 | D4:2 G3:2 | A3:2 G3:2 | C4:2 F#3:2 | D3:4", 2, 1),
        ("G2:2 G3:2 | A3:1 G3:1 C3:2 | G2:2 D3:2 | G2:4 | G2:2 C3:2 | D3:2 E3:2 | C3:2 D3:2 | G2:4", 2, 2),
    ]),
    _piece("broken_chords_d_major", "D major", "3/4", 92, "piano", [
        ("A4:2 D5:1 | D5:2 C#5:1 | B4:1 A4:1 G4:1 | A4:3 | E4:2 G4:1 | F#4:2 D5:1 | C#5:1 B4:1 C#5:1 | D5:3", 1, 1),
        (_broken([("D3", "A3", "F#4"), ("B2", "F#3", "D4"), ("G2", "D3", "B3"), ("D3", "A3", "F#4"),
                  ("A2", "E3", "C#4"), ("B2", "F#3", "D4"), ("A2", "E3", "C#4"), ("D3", "A3", "F#4")], 3), 2, 1),
    ], pedal=Fraction(3)),
    _piece("block_chords_f_major", "F major", "4/4", 100, "piano", [
        (_repeat("A4+C5+F5:1", 2) + " Bb4+D5+F5:2 | C5+E5+G5:1 C5+E5+G5:1 C5+F5+A5:2 | "
         "Bb4+D5+G5:2 A4+C5+F5:2 | G4+C5+E5:4 | " + _repeat("A4+C5+F5:1", 2) + " Bb4+D5+F5:1 Bb4+D5+G5:1 | "
         "C5+F5+A5:2 Bb4+D5+F5:2 | G4+Bb4+E5:2 G4+C5+E5:2 | A4+C5+F5:4", 1, 1),
        ("F2+F3:2 Bb2+Bb3:2 | C2+C3:2 F2+F3:2 | G2+G3:2 F2+F3:2 | C3+C4:4 | F2+F3:2 Bb2+Bb3:2 | F2+F3:2 Bb2+Bb3:2 | "
         "C3+C4:4 | F2+F3:4", 2, 1),
    ]),
    _piece("two_hands_a_minor", "A minor", "4/4", 84, "piano", [
        ("E5:1 C5:1/2 D5:1/2 E5:1 A4:1 | B4:1 G#4:1 B4:2 | C5:1 B4:1/2 A4:1/2 G4:1 E4:1 | A4:4 | "
         "C4:1 B3:1/2 A3:1/2 B3:1 C4:1 | D4:1 C4:1 B3:2 | C4+E4:1 D4+F4:1 E4+G#4:1 D4+B4:1 | A4+C5:4", 1, 1),
        ("A2:1 E3+A3:1 E3+A3:1 E3+A3:1 | E2:1 E3+G#3:1 E3+G#3:1 E3+G#3:1 | A2:1 E3+A3:1 D3+G3:1 C3+E3:1 | "
         "A2:1 E3+A3:1 E3+A3:1 E3+A3:1 | A1:2 E2:2 | F2:2 G2:2 | A2:2 E2:2 | A1:4", 2, 1),
    ], pedal=Fraction(2)),
    _piece("strum_e_minor", "E minor", "4/4", 96, "guitar", [
        (" | ".join(_repeat(c, 1) for c in (
            "E2+B2+E3+G3+B3+E4:1 E2+B2+E3+G3+B3+E4:1/2 E2+B2+E3+G3+B3+E4:1/2 E2+B2+E3+G3+B3+E4:2",
            "G2+B2+D3+G3+B3+G4:1 G2+B2+D3+G3+B3+G4:1/2 G2+B2+D3+G3+B3+G4:1/2 G2+B2+D3+G3+B3+G4:2",
            "D3+A3+D4+F#4:1 D3+A3+D4+F#4:1/2 D3+A3+D4+F#4:1/2 D3+A3+D4+F#4:2",
            "C3+E3+G3+C4+E4:1 C3+E3+G3+C4+E4:1/2 C3+E3+G3+C4+E4:1/2 C3+E3+G3+C4+E4:2",
            "E2+B2+E3+G3+B3+E4:1 E2+B2+E3+G3+B3+E4:1/2 E2+B2+E3+G3+B3+E4:1/2 E2+B2+E3+G3+B3+E4:2",
            "A2+E3+A3+C4+E4:1 A2+E3+A3+C4+E4:1/2 A2+E3+A3+C4+E4:1/2 A2+E3+A3+C4+E4:2",
            "B2+F#3+B3+D#4:2 B2+F#3+B3+D#4:2",
            "E2+B2+E3+G3+B3+E4:4")), 1, 1),
    ], strum=True),
    _piece("fingerpick_c_major", "C major", "4/4", 88, "guitar", [
        (" | ".join(_repeat(f"{b1}:1/2 {t1}:1/2 {b2}:1/2 {t2}:1/2", 2) for b1, t1, b2, t2 in (
            ("C3", "E4", "G3", "C4"), ("C3", "G4", "G3", "E4"), ("A2", "C4", "E3", "A3"), ("A2", "E4", "E3", "C4"),
            ("F2", "A3", "C3", "F3"), ("G2", "B3", "D3", "G3"), ("G2", "D4", "D3", "B3"), ("C3", "E4", "G3", "C4"))),
         1, 1),
    ], let_ring=True),
)
# fmt: on
_BY_NAME = {p.name: p for p in PIECES}


def by_name(name: str) -> Piece:
    return _BY_NAME[name]


@dataclass(frozen=True)
class Performance:
    piece: Piece
    seed: int
    played: tuple[PerformedNote, ...]
    truth_index: tuple[int, ...]   # per played note: its written note, -1 for transcriber noise
    tempo_bpm: float               # the performance's mean quarter tempo

    @property
    def name(self) -> str:
        return f"{self.piece.name}#{self.seed}"


def _clock(piece: Piece, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Seconds at every quarter (index = quarters from the start) and the mean quarter tempo."""
    total = int(max(n.start + n.duration for n in piece.notes)) + 2
    walk = np.cumsum(rng.normal(0.0, 0.02, total))
    walk = 0.08 * np.tanh(walk / 0.08)
    periods = 60.0 / (piece.tempo_bpm * (1.0 + walk))
    times = np.concatenate([[0.5], 0.5 + np.cumsum(periods)])
    return times, 60.0 / float(np.mean(periods))


def perform(piece: Piece, seed: int = 0, *, noise: bool = True) -> Performance:
    """A seeded performance of the piece, with transcriber noise unless ``noise`` is False."""
    rng = np.random.default_rng(seed + 1000 * PIECES.index(piece))
    clock, mean_bpm = _clock(piece, rng)

    def at(q: Fraction) -> float:
        return float(np.interp(float(q), np.arange(len(clock)), clock))

    spread = rng.uniform(0.020, 0.040)
    onset_shift: dict[tuple[int, Fraction], float] = {}
    played: list[tuple[PerformedNote, int]] = []
    for index, n in enumerate(piece.notes):
        shift = onset_shift.setdefault((n.staff, n.start), float(rng.uniform(-0.015, 0.015)))
        chord = sorted(m.midi for m in piece.notes if m.staff == n.staff and m.start == n.start)
        if piece.strum:
            down = int(n.start * 2) % 2 == 0
            rank = chord.index(n.midi) if down else len(chord) - 1 - chord.index(n.midi)
            lag = rank * float(rng.uniform(0.008, 0.012))
        else:
            lag = float(rng.uniform(0.0, spread)) if len(chord) > 1 else 0.0
        onset = at(n.start) + shift + lag
        offset = at(n.start + n.duration) + float(rng.uniform(-0.06, 0.02))
        if piece.pedal:
            change = (n.start // piece.pedal + 1) * piece.pedal
            offset = max(offset, at(change) - 0.03)
        if piece.let_ring:
            offset = max(offset, at(n.start + n.duration + 1) + float(rng.uniform(-0.1, 0.1)))
        bar_position = n.start % piece.bar_quarters
        velocity = 62 + (12 if bar_position == 0 else 0) + (10 if n.midi == chord[-1] and n.staff == 1 else 0)
        velocity = int(np.clip(velocity + rng.integers(-8, 9), 1, 127))
        played.append((PerformedNote(onset, max(offset, onset + 0.08), n.midi, velocity), index))
    if noise:
        played += _noise([p for p, _ in played], rng)
    played.sort(key=lambda item: (item[0].onset, item[0].midi))
    return Performance(piece, seed, tuple(p for p, _ in played), tuple(i for _, i in played), mean_bpm)


def _noise(notes: list[PerformedNote], rng: np.random.Generator) -> list[tuple[PerformedNote, int]]:
    """A polyphonic transcriber's mistakes: spurious short quiet notes near real ones (6 % of the
    notes) and quiet octave or twelfth ghosts of real notes (8 %)."""
    extra: list[tuple[PerformedNote, int]] = []
    for n in notes:
        if rng.random() < 0.06:
            start = n.onset + float(rng.uniform(0.0, 0.2))
            extra.append((PerformedNote(start, start + float(rng.uniform(0.03, 0.09)),
                                        int(np.clip(n.midi + rng.integers(-7, 8), 21, 108)),
                                        int(rng.integers(15, 35))), -1))
        if rng.random() < 0.08 and n.midi + 19 <= 108:
            length = (n.offset - n.onset) * float(rng.uniform(0.3, 0.7))
            start = n.onset + float(rng.uniform(0.0, 0.03))
            extra.append((PerformedNote(start, start + max(length, 0.07), n.midi + int(rng.choice([12, 12, 19])),
                                        max(1, int(n.velocity * rng.uniform(0.3, 0.6)))), -1))
    return extra
