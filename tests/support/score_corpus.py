"""A round-trip corpus for transcription to notation: melodies with known key, meter, tempo.

Each :class:`ScoredMelody` is an original, short, monophonic tune written for this corpus
(no borrowed melodies) together with the notation a transcriber should recover from its
rendering: key (music21 spelling, e.g. ``"E- minor"``), time signature, tempo in
quarter-note bpm, number of measures and an optional pickup. The events are the written
durations, in quarter notes, so the score itself is known too (rests, dotted notes and
notes tied across a barline included).

Rendering goes through :mod:`corpus` (``corpus.render``: pretty_midi + fluidsynth +
FluidR3 GM, cached), so everything said there about onset delays and tails holds here.
Notes sound for 0.9 of their written duration (``corpus.Melody.from_beats``'s default
articulation) at a fixed velocity of 90: there are no dynamic accents, so meter has to
come from durations and rhythmic patterns, which the melodies make plain (long notes and
chord tones on downbeats, typical figures of each meter, tonic at start and end).

Timing convention (the bar grid is anchored at t = 0): the first *full* measure starts at
exactly ``measure_s`` (one measure's length), so downbeat k (1-based) is at
``k * measure_s`` and the last full measure ends at ``(measures + 1) * measure_s``.
Without a pickup that is one whole measure of silence before the first note; a pickup
sits at the end of that silent measure, so ``leading_silence_s = measure_s - pickup_s``.

Durations are in quarter notes throughout ("quarters"): a 6/8 measure is 3 quarters, a
dotted quarter 1.5, a sixteenth 0.25. ``tempo_bpm`` is always in quarter notes per
minute; for 6/8 the felt (dotted-quarter) beat is ``beat_bpm`` = tempo_bpm / 1.5.

The melodies are checked when this module is imported: every measure (as written in the
source strings, with ``|`` barlines) must hold exactly one measure of its time signature
(the first may be a pickup of ``pickup_quarters``), the total must be
``measures * measure_quarters + pickup_quarters``, and melodies marked for flute or violin
must stay within those instruments' ranges.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import corpus
from corpus import FLUTE, PIANO, VIOLIN, VOICE

__all__ = [
    "SCORED_CORPUS",
    "SCORED_MELODIES",
    "ScoredMelody",
    "by_name",
    "key_fifths",
    "parse_key",
    "reference_notes",
    "render_scored",
]

# Quarter notes per measure of each supported time signature.
MEASURE_QUARTERS = {"2/4": 2.0, "3/4": 3.0, "4/4": 4.0, "6/8": 3.0}
# Quarter notes per felt beat (6/8 is counted in two dotted quarters).
BEAT_QUARTERS = {"2/4": 1.0, "3/4": 1.0, "4/4": 1.0, "6/8": 1.5}

# Lowest MIDI pitch a melody may use to be marked for an instrument (real ranges:
# flute C4, violin G3). Piano and voice are not limited here.
LOWEST = {FLUTE: 60, VIOLIN: 55}

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_KEY_RE = re.compile(r"^([A-G])(#{1,2}|-{1,2})? (major|minor|dorian|mixolydian)$")
# Key signature of a mode against the major key on its tonic (D dorian: C major's, -2).
_MODE_FIFTHS = {"major": 0, "minor": -3, "dorian": -2, "mixolydian": -1}


def parse_key(name: str) -> tuple[int, str]:
    """``"E- minor"`` -> ``(3, "minor")``: tonic pitch class (C = 0) and mode.

    Accepts music21's spelling only: an upper-case letter, ``#``/``##`` or ``-``/``--``,
    a space, then ``major``, ``minor``, ``dorian`` or ``mixolydian``.
    """
    match = _KEY_RE.match(name)
    if not match:
        raise ValueError(f"not a music21 key name: {name!r} (e.g. 'D major', 'E- minor')")
    letter, accidental, mode = match.groups()
    alter = (accidental or "").count("#") - (accidental or "").count("-")
    return (_LETTER_PC[letter] + alter) % 12, mode


def key_fifths(name: str) -> int:
    """Key signature of a key: sharps (> 0) or flats (< 0), e.g. ``"E- minor"`` -> -6."""
    match = _KEY_RE.match(name)
    if not match:
        raise ValueError(f"not a music21 key name: {name!r}")
    letter, accidental, mode = match.groups()
    alter = (accidental or "").count("#") - (accidental or "").count("-")
    return _LETTER_FIFTHS[letter] + 7 * alter + _MODE_FIFTHS[mode]


@dataclass(frozen=True)
class ScoredMelody:
    """A melody with the notation a transcriber should find.

    Attributes:
        name: Identifier, used in file names.
        key: music21 key name: tonic letter, ``#``/``-`` for sharp/flat, then ``major``
            or ``minor`` (``"D major"``, ``"F# minor"``, ``"B- major"``).
        time_signature: ``"4/4"``, ``"3/4"``, ``"6/8"`` or ``"2/4"``.
        tempo_bpm: Quarter notes per minute (for 6/8 too: dotted-quarter bpm x 1.5).
        measures: Number of full measures; a pickup is not counted.
        events: ``(midi_pitch or None for a rest, duration_in_quarters)`` in order. A note
            tied across a barline is one event whose duration crosses the barline.
        programs: General MIDI programs (0-based) the melody suits, preferred first.
        pickup_quarters: Length of the pickup (anacrusis), in quarters; 0 for none.
        staff: ``"treble"``, ``"bass"`` or ``"grand"`` (the staff a score would use).
        source: The bar-by-bar text the events came from (``NAME:QUARTERS`` tokens,
            ``|`` barlines, ``r`` rests, a trailing ``~`` ties to the next token).
    """

    name: str
    key: str
    time_signature: str
    tempo_bpm: float
    measures: int
    events: tuple[tuple[int | None, float], ...]
    programs: tuple[int, ...]
    pickup_quarters: float = 0.0
    staff: str = "treble"
    source: str = ""

    # -- notation ---------------------------------------------------------------------

    @property
    def measure_quarters(self) -> float:
        """Quarter notes per measure (6/8 -> 3)."""
        return MEASURE_QUARTERS[self.time_signature]

    @property
    def beat_quarters(self) -> float:
        """Quarter notes per felt beat (1, or 1.5 for 6/8)."""
        return BEAT_QUARTERS[self.time_signature]

    @property
    def beat_bpm(self) -> float:
        """Felt beats per minute (the dotted-quarter tempo for 6/8)."""
        return self.tempo_bpm / self.beat_quarters

    @property
    def tonic_pc(self) -> int:
        """Pitch class of the tonic (C = 0)."""
        return parse_key(self.key)[0]

    @property
    def mode(self) -> str:
        """``"major"`` or ``"minor"``."""
        return parse_key(self.key)[1]

    @property
    def fifths(self) -> int:
        """Key signature: number of sharps (> 0) or flats (< 0)."""
        return key_fifths(self.key)

    @property
    def total_quarters(self) -> float:
        """Written length of the music, pickup included, in quarters."""
        return sum(duration for _, duration in self.events)

    @property
    def event_positions(self) -> tuple[float, ...]:
        """Start of each event, in quarters from the first full measure's downbeat.

        Pickup events have negative positions; ``position // measure_quarters`` is the
        0-based measure index and the remainder the offset inside the measure.
        """
        positions, t = [], -self.pickup_quarters
        for _, duration in self.events:
            positions.append(t)
            t += duration
        return tuple(positions)

    @property
    def tied_events(self) -> tuple[int, ...]:
        """Indices of the notes whose duration crosses a barline (written as ties)."""
        bar = self.measure_quarters
        tied = []
        for i, ((pitch, duration), start) in enumerate(
            zip(self.events, self.event_positions, strict=True)
        ):
            next_barline = (start // bar + 1) * bar
            if pitch is not None and start + duration > next_barline + 1e-9:
                tied.append(i)
        return tuple(tied)

    @property
    def pitch_range(self) -> tuple[int, int]:
        """Lowest and highest MIDI pitch."""
        pitches = [p for p, _ in self.events if p is not None]
        return min(pitches), max(pitches)

    @property
    def n_notes(self) -> int:
        """Number of sounding notes (a tied note counts once)."""
        return sum(p is not None for p, _ in self.events)

    # -- timing -----------------------------------------------------------------------

    @property
    def quarter_s(self) -> float:
        """Length of a quarter note, in seconds."""
        return 60.0 / self.tempo_bpm

    @property
    def measure_s(self) -> float:
        """Length of a measure, in seconds."""
        return self.measure_quarters * self.quarter_s

    @property
    def leading_silence_s(self) -> float:
        """Silence before the first event: one measure, less the pickup."""
        return (self.measure_quarters - self.pickup_quarters) * self.quarter_s

    @property
    def first_downbeat_s(self) -> float:
        """Time of the first full measure's downbeat (= ``measure_s``)."""
        return self.measure_s

    @property
    def downbeats_s(self) -> tuple[float, ...]:
        """Downbeat of each full measure, in seconds: ``k * measure_s``, k = 1..measures."""
        return tuple(k * self.measure_s for k in range(1, self.measures + 1))

    @property
    def end_s(self) -> float:
        """End of the last measure (written, not sounding), in seconds."""
        return (self.measures + 1) * self.measure_s

    @property
    def music_s(self) -> float:
        """Length of the written music, first event to end of the last measure, in s."""
        return self.total_quarters * self.quarter_s

    def melody(self, program: int | None = None) -> corpus.Melody:
        """The melody with absolute timing, as a :class:`corpus.Melody`.

        Args:
            program: Stored as the melody's preferred program; ``programs[0]`` when None.
                (``corpus.render`` takes the program to render with separately.)
        """
        return corpus.Melody.from_beats(
            self.name,
            self.events,
            self.tempo_bpm,
            self.programs[0] if program is None else program,
            lead_in_beats=self.measure_quarters - self.pickup_quarters,
        )


# --------------------------------------------------------------------------------------
# Parsing and validation


def _parse_bars(text: str) -> list[list[tuple[int | None, float, bool]]]:
    """Bars of ``(pitch, quarters, tied_to_next)`` from ``|``-separated text."""
    bars = []
    for bar_text in text.split("|"):
        bar = []
        for token in bar_text.split():
            tied = token.endswith("~")
            ((pitch, quarters),) = corpus.parse_beats(token.rstrip("~"))
            bar.append((pitch, quarters, tied))
        if bar:
            bars.append(bar)
    return bars


def _merge_ties(
    bars: Sequence[Sequence[tuple[int | None, float, bool]]], name: str
) -> tuple[tuple[int | None, float], ...]:
    events: list[tuple[int | None, float]] = []
    tie_open = False
    for pitch, quarters, tied in (item for bar in bars for item in bar):
        if tie_open:
            if pitch is None or pitch != events[-1][0]:
                raise ValueError(f"{name}: tie from {events[-1][0]} to {pitch}")
            events[-1] = (pitch, events[-1][1] + quarters)
        else:
            events.append((pitch, quarters))
        if tied and pitch is None:
            raise ValueError(f"{name}: a rest cannot be tied")
        tie_open = tied
    if tie_open:
        raise ValueError(f"{name}: tie at the end")
    return tuple(events)


def _scored(
    name: str,
    key: str,
    time_signature: str,
    tempo_bpm: float,
    programs: Sequence[int],
    text: str,
    *,
    pickup: float = 0.0,
    staff: str = "treble",
) -> ScoredMelody:
    bars = _parse_bars(text)
    bar_q = Fraction(MEASURE_QUARTERS[time_signature])
    sums = [sum(Fraction(q) for _, q, _ in bar) for bar in bars]
    full = sums[1:] if pickup else sums
    if pickup and sums[0] != Fraction(pickup):
        raise ValueError(f"{name}: pickup bar holds {float(sums[0])} quarters, not {pickup}")
    for i, s in enumerate(full, start=1):
        if s != bar_q:
            raise ValueError(f"{name}: measure {i} holds {float(s)} quarters, not {bar_q}")
    return ScoredMelody(
        name=name,
        key=key,
        time_signature=time_signature,
        tempo_bpm=float(tempo_bpm),
        measures=len(full),
        events=_merge_ties(bars, name),
        programs=tuple(programs),
        pickup_quarters=float(pickup),
        staff=staff,
        source=" ".join(text.split()),
    )


def _validate(melody: ScoredMelody) -> None:
    parse_key(melody.key)
    if melody.time_signature not in MEASURE_QUARTERS:
        raise ValueError(f"{melody.name}: unsupported time signature {melody.time_signature}")
    expected = melody.measures * melody.measure_quarters + melody.pickup_quarters
    if abs(melody.total_quarters - expected) > 1e-9:
        raise ValueError(
            f"{melody.name}: events hold {melody.total_quarters} quarters, expected "
            f"{melody.measures} x {melody.measure_quarters} + {melody.pickup_quarters}"
        )
    if not 0 <= melody.pickup_quarters < melody.measure_quarters:
        raise ValueError(f"{melody.name}: pickup {melody.pickup_quarters} out of range")
    if melody.events[0][0] is None or melody.events[-1][0] is None:
        raise ValueError(f"{melody.name}: must start and end with a note")
    low, _ = melody.pitch_range
    for program in melody.programs:
        if low < LOWEST.get(program, 0):
            raise ValueError(f"{melody.name}: MIDI {low} is below program {program}'s range")
    if melody.staff not in ("treble", "bass", "grand"):
        raise ValueError(f"{melody.name}: staff {melody.staff!r}")


# --------------------------------------------------------------------------------------
# The melodies. Tokens: NAME:QUARTERS (middle C = C4), r = rest, trailing ~ = tied to the
# next token, | = barline (checked). Written for this corpus.

ALL = (PIANO, FLUTE, VIOLIN, VOICE)

# fmt: off
SCORED_MELODIES: tuple[ScoredMelody, ...] = (
    # Hymn-like, quarters and halves, rest on beat 4 of m. 4, whole-note close. C4-C5.
    _scored("hymn_c_major", "C major", "4/4", 112, ALL,
            "C4:1 E4:1 G4:1 C5:1 | B4:1.5 A4:.5 G4:2 | A4:1 C5:1 G4:1 E4:1 |"
            " F4:1.5 E4:.5 D4:1 r:1 | E4:1 G4:1 F4:.5 E4:.5 D4:1 | C4:4"),
    # Fast waltz: dotted halves on downbeats, half + quarter. F#4-G5.
    _scored("waltz_g_major", "G major", "3/4", 160, (FLUTE, VIOLIN, PIANO),
            "G4:1 B4:1 D5:1 | G5:2 F#5:1 | E5:1 D5:1 C5:1 | B4:3 |"
            " A4:1 C5:1 E5:1 | D5:2 B4:1 | A4:1 F#4:1 A4:1 | D5:3 |"
            " B4:1 D5:1 G5:1 | F#5:1 E5:.5 D5:.5 C5:1 | B4:1 A4:1 F#4:1 | G4:3"),
    # 6/8 jig with an eighth-note pickup: quarter-eighth figures, dotted quarters, a
    # quarter rest. D4-E5.
    _scored("jig_d_major", "D major", "6/8", 108, (FLUTE, VIOLIN, PIANO),
            "A4:.5 | D5:1 A4:.5 F#4:1 A4:.5 | D4:1.5 F#4:1 A4:.5 | B4:1 A4:.5 G4:1 F#4:.5 |"
            " E4:1.5 r:1 A4:.5 | D5:.5 C#5:.5 B4:.5 A4:1 F#4:.5 | G4:1 B4:.5 E5:1 C#5:.5 |"
            " E5:1 C#5:.5 A4:1 C#5:.5 | D5:3",
            pickup=0.5),
    # Reel-like: sixteenth runs, dotted eighth + sixteenth, whole-note close. A4-A5.
    _scored("reel_a_major", "A major", "4/4", 138, (FLUTE, VIOLIN, PIANO),
            "A4:1 C#5:1 E5:1 A5:1 | G#5:.25 A5:.25 G#5:.25 F#5:.25 E5:1 C#5:2 |"
            " D5:.75 C#5:.25 B4:.75 C#5:.25 D5:1 F#5:1 | E5:3 r:1 |"
            " C#5:.5 E5:.5 A5:1 E5:.5 C#5:.5 A4:1 | B4:.25 C#5:.25 D5:.25 E5:.25 F#5:1 D5:1 B4:1 |"
            " A4:1 C#5:.5 E5:.5 D5:1 B4:.5 G#4:.5 | A4:4"),
    # Slow air in 2/4 (7 measures, so it cannot be folded into 4/4): dotted eighths,
    # sixteenths, an eighth rest. E4-F5.
    _scored("air_f_major", "F major", "2/4", 60, ALL,
            "F4:.75 G4:.25 A4:.5 C5:.5 | F5:1 E5:.25 D5:.25 C5:.5 | Bb4:1 G4:.5 E4:.5 |"
            " C5:1.5 r:.5 | A4:.25 Bb4:.25 C5:.25 D5:.25 C5:.5 A4:.5 |"
            " G4:.75 A4:.25 Bb4:.5 E4:.5 | F4:2"),
    # Song in B-flat: a half note tied over the barline (m. 3-4), whole-note close. Bb3-D5.
    _scored("song_bb_major", "B- major", "4/4", 104, (VOICE, VIOLIN, PIANO),
            "Bb3:1 D4:1 F4:1.5 D4:.5 | Eb4:1 G4:1 F4:2 | Bb4:1.5 A4:.5 G4:1 F4:1~ |"
            " F4:1 D4:1 Eb4:1 C4:1 | D5:1.5 C5:.5 Bb4:1 A4:1 | Bb4:4"),
    # Slow 3/4 lullaby: dotted quarters, a quarter tied over the barline (m. 3-4). D4-C5.
    _scored("lullaby_eb_major", "E- major", "3/4", 72, ALL,
            "Eb4:1.5 F4:.5 G4:1 | Bb4:2 G4:1 | C5:2 Bb4:1~ | Bb4:1 Ab4:1 F4:1 |"
            " G4:1 F4:1 D4:1 | Eb4:3"),
    # A minor with G# leading tone: a note tied over the barline (m. 3-4), an eighth rest
    # on the downbeat of m. 5, whole-note close. E4-F5.
    _scored("tune_a_minor", "A minor", "4/4", 126, (PIANO, VIOLIN, FLUTE),
            "A4:1 C5:1 E5:1.5 D5:.5 | C5:1 B4:.5 A4:.5 G#4:2 | A4:1 B4:1 C5:1 D5:1~ |"
            " D5:1 C5:1 B4:2 | r:.5 E5:.5 E5:.5 D5:.5 C5:1 A4:1 | F5:1.5 E5:.5 D5:1 C5:1 |"
            " B4:1 E4:1 G#4:1 B4:1 | A4:4"),
    # Fast 6/8 jig with D# leading tone. D#4-G5.
    _scored("jig_e_minor", "E minor", "6/8", 144, (FLUTE, VIOLIN, PIANO),
            "E4:1 G4:.5 B4:1 G4:.5 | E5:1 D5:.5 B4:1 G4:.5 | A4:1 C5:.5 B4:1 A4:.5 |"
            " F#4:.5 D#4:.5 F#4:.5 B4:1.5 | E4:1 G4:.5 B4:1 E5:.5 | G5:1 E5:.5 C5:1 A4:.5 |"
            " B4:.5 A4:.5 G4:.5 F#4:1 D#4:.5 | E4:3"),
    # 3/4 with a quarter-note pickup (A4 -> D5), C# leading tone. D4-F5.
    _scored("waltz_d_minor", "D minor", "3/4", 132, (VIOLIN, PIANO, FLUTE),
            "A4:1 | D5:2 F5:1 | E5:1 D5:1 C#5:1 | D5:2 A4:1 | Bb4:2 G4:1 | A4:1 F4:1 D4:1 |"
            " E4:2 A4:1 | F4:1 A4:1 D5:1 | F5:1.5 E5:.5 D5:1 | C#5:1 E5:1 A4:1 | D5:3",
            pickup=1),
    # Low register (bass clef), piano only: sixteenths, a quarter rest. C2-Ab3.
    _scored("low_march_c_minor", "C minor", "4/4", 96, (PIANO,),
            "C3:1 Eb3:1 G3:1.5 Eb3:.5 | F3:1 D3:.5 B2:.5 C3:2 | C3:.75 D3:.25 Eb3:.5 F3:.5 G3:1 Ab3:1 |"
            " G3:2 r:1 G2:1 | Ab2:1.5 F2:.5 D2:1 G2:1 | C3:1 G2:1 C2:2",
            staff="bass"),
    # Low register (bass clef), piano only, 3/4 with A# leading tone. F#2-G3.
    _scored("low_waltz_b_minor", "B minor", "3/4", 92, (PIANO,),
            "B2:2 D3:1 | F#3:1.5 E3:.5 D3:1 | C#3:1 E3:1 G3:1 | F#3:3 |"
            " D3:1 B2:1 G2:1 | E3:1.5 D3:.5 C#3:1 | F#2:1 A#2:1 C#3:1 | B2:3",
            staff="bass"),
    # Slow 6/8 siciliano: dotted eighth + sixteenth + eighth, E# leading tone, a quarter
    # rest. E#4-F#5.
    _scored("siciliano_f_sharp_minor", "F# minor", "6/8", 84, (FLUTE, VIOLIN, VOICE, PIANO),
            "F#4:.75 G#4:.25 A4:.5 C#5:1.5 | F#5:.75 E5:.25 D5:.5 C#5:1 B4:.5 |"
            " A4:.75 B4:.25 A4:.5 G#4:1 E#4:.5 | F#4:1.5 r:1 C#5:.5 |"
            " D5:.75 C#5:.25 B4:.5 A4:.75 G#4:.25 F#4:.5 | E#4:1 G#4:.5 F#4:1.5"),
    # Wide arpeggios for a grand staff, piano only: A2 to A5, a quarter rest. A2-A5.
    _scored("arpeggios_e_major", "E major", "4/4", 152, (PIANO,),
            "E3:1 G#3:1 B3:1 E4:1 | G#4:1 B4:1 E5:2 | D#5:.5 E5:.5 F#5:.5 G#5:.5 A5:1 F#5:1 |"
            " B4:2 r:1 B2:1 | A2:1 C#3:1 E3:1 A3:1 | B3:1 D#4:1 F#4:1 A4:1 |"
            " G#5:1.5 F#5:.5 E5:1 D#5:1 | E4:4",
            staff="grand"),
)
# fmt: on

for _melody in SCORED_MELODIES:
    _validate(_melody)
if len({m.name for m in SCORED_MELODIES}) != len(SCORED_MELODIES):
    raise ValueError("duplicate melody names")

_BY_NAME = {melody.name: melody for melody in SCORED_MELODIES}

# (melody, program): every melody on every program it suits.
SCORED_CORPUS: tuple[tuple[ScoredMelody, int], ...] = tuple(
    (melody, program) for melody in SCORED_MELODIES for program in melody.programs
)


def by_name(name: str) -> ScoredMelody:
    """The melody called ``name``."""
    return _BY_NAME[name]


def render_scored(
    melody: ScoredMelody,
    program: int,
    out_dir: str | os.PathLike[str],
    sr: int = corpus.DEFAULT_SR,
    *,
    effects: bool = True,
) -> tuple[Path, Path]:
    """Render a melody with ``corpus.render`` (cached); returns ``(wav_path, midi_path)``.

    The MIDI file carries the tempo but no key or time signature (it is written by
    ``corpus.write_midi``).
    """
    return corpus.render(melody.melody(program), program, out_dir, sr, effects=effects)


def reference_notes(melody: ScoredMelody) -> list[tuple[float, float, float]]:
    """The sounding notes as ``(onset_s, offset_s, pitch_hz)``, for note scoring.

    Offsets are at 0.9 of the written duration (the rendering's articulation).
    """
    return melody.melody().notes_hz
