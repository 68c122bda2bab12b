"""A music21 score from quantised notes: measures, ties, beams, key, meter,
tempo and clef; and the ``score.json`` summary.

Conventions: positions and durations in quarter notes from the first bar line;
MIDI note numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from music21 import clef as m21clef
from music21 import duration as m21duration
from music21 import key as m21key
from music21 import metadata, meter, stream, tempo
from music21 import note as m21note

from .rhythm import QuantisedNote, Rhythm
from .tonality import spell

__all__ = ["SCORE_SCHEMA", "ScoreSpec", "build_score", "choose_clef", "summarise_score"]

SCORE_SCHEMA = "audioscore.score/1"
MIDDLE_C = 60
# Clef from the range: a grand staff when the notes reach well into both.
TREBLE_LOW = 55     # G3: the treble clef reads comfortably down to here (10th percentile)
BASS_HIGH = 64      # E4: the bass clef up to here (90th percentile)
GRAND_SPREAD = 19   # semitones between 10th and 90th percentiles that ask for two staves


@dataclass(frozen=True)
class ScoreSpec:
    """What to print besides the notes."""

    title: str = ""
    composer: str = ""


def choose_clef(midis: list[int]) -> str:
    """'treble', 'bass' or 'grand' from the pitch range."""
    low, high = np.percentile(midis, [10, 90])
    if low >= TREBLE_LOW:
        return "treble"
    if high <= BASS_HIGH:
        return "bass"
    if high - low >= GRAND_SPREAD:
        return "grand"
    return "treble" if np.median(midis) >= MIDDLE_C else "bass"


def _rest_lengths(start: Fraction, end: Fraction, rhythm: Rhythm) -> list[tuple[Fraction, Fraction]]:
    """A gap as rests a reader expects: up to the next beat, whole beats (merged
    into a bar's half or whole where they line up), then what is left."""
    beat = rhythm.grid.quarters_per_beat
    bar = rhythm.bar_quarters
    pieces: list[tuple[Fraction, Fraction]] = []
    position = start
    while position < end:
        next_beat = (position // beat + 1) * beat
        if position % beat:
            step = min(next_beat, end) - position
        elif position % bar == 0 and end - position >= bar:
            step = bar
        elif rhythm.beats_per_bar == 4 and position % (2 * beat) == 0 and end - position >= 2 * beat:
            step = 2 * beat
        else:
            step = min(beat, end - position)
        pieces.append((position, step))
        position += step
    return pieces


def _part(
    notes: list[QuantisedNote], rhythm: Rhythm, key: m21key.Key, clef: m21clef.Clef, *, first: bool, end: Fraction
) -> stream.Part:
    """One staff of the notes, filled with rests up to ``end`` (quarters, a bar line)."""
    part = stream.Part()
    part.insert(0, clef)
    part.insert(0, meter.TimeSignature(rhythm.time_signature))
    part.insert(0, m21key.Key(key.tonic, key.mode))  # a Key, not a bare signature: minor prints as minor
    if first:
        referent = m21duration.Duration(1.5 if rhythm.grid.compound else 1.0)
        beat_bpm = rhythm.tempo_bpm / float(rhythm.grid.quarters_per_beat)
        part.insert(0, tempo.MetronomeMark(number=round(beat_bpm), referent=referent))
    def rests(start: Fraction, end: Fraction) -> None:
        for offset, length in _rest_lengths(start, end, rhythm):
            part.insert(float(offset), m21note.Rest(quarterLength=length))

    position = Fraction(0)
    for n in notes:
        rests(position, n.start)
        part.insert(float(n.start), m21note.Note(spell(n.midi, key), quarterLength=n.duration))
        position = n.start + n.duration
    rests(position, end)
    part.makeNotation(inPlace=True)
    # Durations no single note value can show (a quarter tied to a sixteenth) become tied notes.
    part.splitAtDurations(recurse=True)
    return part


def build_score(notes: list[QuantisedNote], rhythm: Rhythm, key: m21key.Key, spec: ScoreSpec) -> stream.Score:
    """The score: one staff, or a grand staff split at middle C for wide ranges.

    Raises:
        ValueError: no notes.
    """
    if not notes:
        raise ValueError("no notes to write a score from")
    # A first note before the first bar line (a short pickup) moves everything by a bar.
    if notes[0].start < 0:
        shift = rhythm.bar_quarters
        notes = [QuantisedNote(n.start + shift, n.duration, n.midi) for n in notes]
    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = spec.title
    score.metadata.composer = spec.composer
    bar = rhythm.bar_quarters
    last = max(n.start + n.duration for n in notes)
    end = -(-last // bar) * bar  # every staff runs to the same final bar line
    clef = choose_clef([n.midi for n in notes])
    if clef == "grand":
        upper = [n for n in notes if n.midi >= MIDDLE_C]
        lower = [n for n in notes if n.midi < MIDDLE_C]
        score.insert(0, _part(upper, rhythm, key, m21clef.TrebleClef(), first=True, end=end))
        score.insert(0, _part(lower, rhythm, key, m21clef.BassClef(), first=False, end=end))
    else:
        staff_clef = m21clef.TrebleClef() if clef == "treble" else m21clef.BassClef()
        score.insert(0, _part(notes, rhythm, key, staff_clef, first=True, end=end))
    return score


def summarise_score(score: stream.Score, notes: list[QuantisedNote], rhythm: Rhythm, key: m21key.Key) -> dict[str, Any]:
    """The ``score.json`` document: key, tempo, meter, measures, clef, quantised notes."""
    parts = list(score.parts)
    first_clef = parts[0].recurse().getElementsByClass(m21clef.Clef).first()
    clef = "grand" if len(parts) == 2 else ("bass" if isinstance(first_clef, m21clef.BassClef) else "treble")
    shift = rhythm.bar_quarters if notes and notes[0].start < 0 else Fraction(0)
    bar = rhythm.bar_quarters
    return {
        "schema": SCORE_SCHEMA,
        "key": f"{key.tonic.name} {key.mode}",
        "tempo_bpm": round(rhythm.tempo_bpm, 2),
        "time_signature": rhythm.time_signature,
        "measures": len(parts[0].getElementsByClass(stream.Measure)),
        "clef": clef,
        "notes": [
            {
                "measure": int((n.start + shift) // bar) + 1,
                "beat": float((n.start + shift) % bar),
                "start_quarters": float(n.start + shift),
                "duration_quarters": float(n.duration),
                "midi": n.midi,
                "name": spell(n.midi, key).nameWithOctave,
                "onset_s": round(float(rhythm.quarters_to_seconds(float(n.start))), 4),
                "offset_s": round(float(rhythm.quarters_to_seconds(float(n.start + n.duration))), 4),
            }
            for n in notes
        ],
    }
