"""A music21 score of chords and voices: a grand staff for piano, a treble_8 staff for
guitar, or one staff; and its ``score.json`` summary.

Conventions: positions and durations in quarter notes from the first bar line; MIDI note
numbers; staff 1 the upper, voice 1 the upper voice. Measures are built here rather than
by music21's ``makeNotation``, which does not split overlapping notes into voices.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
from music21 import chord as m21chord
from music21 import clef as m21clef
from music21 import expressions, instrument, layout, metadata, meter, stream
from music21 import key as m21key
from music21 import note as m21note
from music21 import tie as m21tie

from audioscore.notation.hands import split_hands
from audioscore.notation.note_values import tie_type, tied_pieces
from audioscore.notation.polyphony import PolyNote, voice_staff
from audioscore.notation.rhythm import QuantisedNote, Rhythm
from audioscore.notation.score import (
    GRAND_SPREAD,
    SCORE_SCHEMA,
    RestCut,
    ScoreSpec,
    _rest_lengths,
    change_mark,
    choose_clef,
    note_entries,
    opening_marks,
    shortened_rests,
    tempo_curve,
    tempo_marks,
    tempo_plan,
    tempo_words,
)
from audioscore.notation.tempo_marks import TempoChange
from audioscore.notation.tonality import spell

__all__ = ["LAYOUTS", "arrange", "build_poly_score", "choose_layout", "summarise_poly"]

LAYOUTS = ("grand", "treble_8", "treble", "bass")
GUITAR_PROGRAM = 24  # General MIDI nylon-string guitar
# Names shown in the part list (MuseScore reports a part without an instrument as an error).
_NAMES = {"grand": "Piano", "treble_8": "Guitar"}


def choose_layout(instrument: str | None, midis: Sequence[int]) -> str:
    """'grand' for piano (or a wide polyphonic range), 'treble_8' for guitar, else the clef
    from the range."""
    if instrument == "piano":
        return "grand"
    if instrument == "guitar":
        return "treble_8"
    low, high = np.percentile(midis, [10, 90])
    if high - low >= GRAND_SPREAD:
        return "grand"
    clef = choose_clef(list(midis))
    clef = {"treble^8": "treble", "bass_8": "bass"}.get(clef, clef)  # octave clefs: melodies only
    return clef if clef in ("treble", "bass") else "treble"


def _tidy(notes: Sequence[PolyNote]) -> list[PolyNote]:
    """Each (staff, voice) a sequence of chords: one end per start, cut at the voice's next start."""
    result: list[PolyNote] = []
    lines: dict[tuple[int, int], list[PolyNote]] = {}
    for n in sorted(notes, key=lambda n: (n.start, n.midi)):
        lines.setdefault((n.staff, n.voice), []).append(n)
    for line in lines.values():
        starts = sorted({n.start for n in line})
        longest: dict[Fraction, Fraction] = {}
        for n in line:
            longest[n.start] = max(longest.get(n.start, n.end), n.end)
        for n in line:
            k = bisect.bisect_right(starts, n.start)
            end = longest[n.start] if k == len(starts) else min(longest[n.start], starts[k])
            result.append(replace(n, duration=end - n.start))
    return sorted(result, key=lambda n: (n.start, n.staff, n.midi))


def arrange(notes: Sequence[PolyNote], layout_name: str) -> list[PolyNote]:
    """Staves (hands for the grand staff) and voices for quantised notes."""
    staffed = split_hands(notes) if layout_name == "grand" else [replace(n, staff=1) for n in notes]
    voiced: list[PolyNote] = []
    for staff in (1, 2):
        voiced += voice_staff([n for n in staffed if n.staff == staff])
    return _tidy(voiced)


def _clef(layout_name: str, staff: int, midis: Sequence[int]) -> m21clef.Clef:
    if layout_name == "treble_8":
        return m21clef.Treble8vbClef()
    if layout_name == "grand":
        # The lower staff in treble only where the left hand plays high throughout.
        if staff == 2 and not (midis and float(np.median(midis)) >= 64):
            return m21clef.BassClef()
        return m21clef.TrebleClef()
    return m21clef.BassClef() if layout_name == "bass" else m21clef.TrebleClef()


def _element(pitches: Sequence[tuple[int, int]], length: Fraction, tie: str | None, key: m21key.Key
             ) -> m21note.GeneralNote:
    """A note or chord of (midi, velocity) pairs."""
    notes = []
    for midi, velocity in sorted(pitches):
        n = m21note.Note(spell(midi, key), quarterLength=length)
        n.volume.velocity = velocity
        if tie:
            n.tie = m21tie.Tie(tie)
        notes.append(n)
    if len(notes) == 1:
        return notes[0]
    made = m21chord.Chord(notes, quarterLength=length)
    if tie:
        made.tie = m21tie.Tie(tie)
    return made


def _fill(target: stream.Stream, pieces: list[tuple[Fraction, Fraction, list[tuple[int, int]], str | None]],
          start: Fraction, end: Fraction, rhythm: Rhythm, key: m21key.Key, base: Fraction, *, hidden: bool) -> None:
    """Events (offset in the score, length, pitches, tie) and rests between them into a
    measure or voice spanning [start, end); offsets relative to ``base``; ``hidden``: rests
    not printed (a lower voice's, where only the upper one plays)."""

    def rests(a: Fraction, b: Fraction) -> None:
        for rest_at, rest_length in _rest_lengths(a, b, rhythm):
            rest = m21note.Rest(quarterLength=rest_length)
            rest.style.hideObjectOnPrint = hidden
            target.insert(float(rest_at - base), rest)

    position = start
    for offset, length, pitches, tie in sorted(pieces, key=lambda p: p[0]):
        rests(position, offset)
        for at, written, written_tie in tied_pieces(offset, length, rhythm, tie):
            target.insert(float(at - base), _element(pitches, written, written_tie, key))
        position = offset + length
    rests(position, end)


def _pieces(notes: Sequence[PolyNote], start: Fraction, end: Fraction
            ) -> dict[int, list[tuple[Fraction, Fraction, list[tuple[int, int]], str | None]]]:
    """Per voice, the notes' parts inside [start, end) grouped into chords, with their ties."""
    grouped: dict[tuple[int, Fraction, Fraction, str | None], list[tuple[int, int]]] = {}
    for n in notes:
        a, b = max(n.start, start), min(n.end, end)
        if a >= b:
            continue
        grouped.setdefault((n.voice, a, b - a, tie_type(n.start < start, n.end > end)), []).append((n.midi, n.velocity))
    voices: dict[int, list[tuple[Fraction, Fraction, list[tuple[int, int]], str | None]]] = {}
    for (voice, a, length, tie), pitches in grouped.items():
        voices.setdefault(voice, []).append((a, length, pitches, tie))
    return voices


def _staff(notes: Sequence[PolyNote], rhythm: Rhythm, key: m21key.Key, clef: m21clef.Clef, *, first: bool,
           end: Fraction, padding: Fraction, cuts: Sequence[RestCut], part: stream.Part, name: str,
           opening_bpm: int | None = None, changes: Sequence[TempoChange] = ()) -> stream.Part:
    """One staff in measures; the first measure a pickup when ``padding`` > 0; on the ``first``
    staff the opening mark (``opening_bpm``, else the main tempo) and the tempo ``changes``."""
    bar = rhythm.bar_quarters
    part.partName = name
    made = instrument.Piano() if name == "Piano" else instrument.Instrument(instrumentName=name)
    if name == "Guitar":
        made.midiProgram = GUITAR_PROGRAM
    part.insert(0, made)
    ordered = sorted(notes, key=lambda n: n.start)
    starts = [n.start for n in ordered]
    reach = max((n.duration for n in ordered), default=Fraction(0))
    for number, bar_start in enumerate(range(0, int(end / bar))):
        low = Fraction(bar_start) * bar + (padding if number == 0 else 0)
        high = (bar_start + 1) * bar
        measure = stream.Measure(number=number if padding else number + 1)
        if number == 0:
            for mark in opening_marks(rhythm, key, clef, tempo_marks=first, opening_bpm=opening_bpm):
                measure.insert(0, mark)
        if first:
            for change in changes:
                if low <= change.at < high:
                    measure.insert(float(change.at - low), change_mark(change, rhythm))
            for cut in cuts:
                kept_from = cut.at - cut.shown * bar
                if low <= kept_from < high:
                    measure.insert(float(kept_from - low), expressions.TextExpression(cut.label))
        window = ordered[bisect.bisect_left(starts, low - reach):bisect.bisect_left(starts, high)]
        voices = _pieces(window, low, high)
        if voices.get(2):
            for number_, voice_id in enumerate((1, 2), start=1):
                voice = stream.Voice(id=str(number_))
                _fill(voice, voices.get(voice_id, []), low, high, rhythm, key, low, hidden=voice_id == 2)
                measure.insert(0, voice)
        else:
            _fill(measure, voices.get(1, []), low, high, rhythm, key, low, hidden=False)
        if number == 0 and padding:
            measure.paddingLeft = float(padding)
            measure.showNumber = stream.enums.ShowNumber.NEVER
        part.append(measure)
    part.splitAtDurations(recurse=True)
    _beam(part, meter.TimeSignature(rhythm.time_signature), padding)
    return part


def _beam(part: stream.Part, signature: meter.TimeSignature, padding: Fraction) -> None:
    """Beams by the time signature, measure by measure and voice by voice: what
    ``Part.makeBeams`` does, without its context searches (minutes on a long piece)."""
    for number, measure in enumerate(part.getElementsByClass(stream.Measure)):
        for line in (list(measure.voices) or [measure]):
            elements = list(line.notesAndRests)
            if not elements:
                continue
            beams = signature.getBeams(elements, measureStartOffset=float(padding) if number == 0 else 0.0)
            for element, beam in zip(elements, beams, strict=True):
                if beam is not None:
                    element.beams = beam


def build_poly_score(notes: Sequence[PolyNote], rhythm: Rhythm, key: m21key.Key, spec: ScoreSpec,
                     layout_name: str, cuts: Sequence[RestCut] = ()) -> stream.Score:
    """The score of arranged notes (see :func:`arrange`): two staves joined by a brace for
    'grand', else one staff.

    Raises:
        ValueError: no notes.
    """
    if not notes:
        raise ValueError("no notes to write a score from")
    bar = rhythm.bar_quarters
    padding = shift = Fraction(0)
    first = min(n.start for n in notes)
    if first < 0:  # a pickup: everything moves by a bar and the first bar is incomplete
        padding, shift = bar + first, bar
        notes = [replace(n, start=n.start + bar) for n in notes]
        cuts = [replace(c, at=c.at + bar) for c in cuts]
    last = max(n.end for n in notes)
    end = -(-last // bar) * bar
    opening_bpm, changes = tempo_plan(rhythm, [QuantisedNote(n.start, n.duration, n.midi) for n in notes], cuts, shift)
    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = spec.title
    score.metadata.composer = spec.composer
    name = _NAMES.get(layout_name, "Melody")
    staves = (1, 2) if layout_name == "grand" else (1,)
    parts = []
    for staff in staves:
        mine = [n for n in notes if n.staff == staff]
        part: stream.Part = stream.PartStaff() if layout_name == "grand" else stream.Part()
        parts.append(_staff(mine, rhythm, key, _clef(layout_name, staff, [n.midi for n in mine]), first=staff == 1,
                            end=end, padding=padding, cuts=cuts, part=part, name=name, opening_bpm=opening_bpm,
                            changes=changes))
    for part in parts:
        score.insert(0, part)
    if len(parts) == 2:
        score.insert(0, layout.StaffGroup(parts, name=name, symbol="brace", barTogether=True))
    return score


def summarise_poly(score: stream.Score, notes: Sequence[PolyNote], rhythm: Rhythm, key: m21key.Key,
                   layout_name: str, instrument_name: str | None, cuts: Sequence[RestCut] = ()) -> dict[str, Any]:
    """The ``score.json`` document (schema audioscore.score/1, as for a melody) with, per note,
    its ``staff``, ``voice``, ``velocity`` and ``chord`` (an id shared by the notes written as
    one chord; null for a single note), and ``staves``, ``instrument`` and ``polyphonic``."""
    written = [QuantisedNote(n.start, n.duration, n.midi) for n in notes]
    chords: dict[tuple[int, int, Fraction], int] = {}
    sizes = {k: len(list(g)) for k, g in itertools.groupby(sorted((n.staff, n.voice, n.start) for n in notes))}
    for staff_voice_start, size in sorted(sizes.items(), key=lambda item: (item[0][2], item[0][0], item[0][1])):
        if size > 1:
            chords[staff_voice_start] = len(chords)
    return {
        "schema": SCORE_SCHEMA,
        "key": f"{key.tonic.name} {key.mode}",
        "tempo_bpm": round(rhythm.tempo_bpm, 2),
        "time_signature": rhythm.time_signature,
        "measures": len(score.parts[0].getElementsByClass(stream.Measure)),
        "clef": layout_name,
        "staves": len(score.parts),
        "instrument": instrument_name,
        "polyphonic": True,
        "notes": [
            {**entry, "velocity": n.velocity, "staff": n.staff, "voice": n.voice,
             "chord": chords.get((n.staff, n.voice, n.start))}
            for entry, n in zip(note_entries(written, rhythm, key, cuts), notes, strict=True)
        ],
        "tempo_curve": tempo_curve(rhythm),
        "tempo_marks": tempo_marks(score.parts[0]),
        "tempo_words": tempo_words(score.parts[0]),
        "swing": rhythm.swing,
        "shortened_rests": shortened_rests(written, rhythm, cuts),
        "shortened_notes": shortened_rests(written, rhythm, cuts, held=True),
    }
