"""A music21 score from quantised notes: measures, ties, beams, key, meter,
tempo and clef; and the ``score.json`` summary.

Conventions: positions and durations in quarter notes from the first bar line;
MIDI note numbers.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
from music21 import articulations, expressions, instrument, metadata, meter, stream, tempo
from music21 import clef as m21clef
from music21 import duration as m21duration
from music21 import key as m21key
from music21 import note as m21note
from music21 import tie as m21tie

from audioscore.notation.note_values import tied_pieces
from audioscore.notation.rhythm import QuantisedNote, Rhythm
from audioscore.notation.tempo_marks import TEMPO_WORDS, TempoChange, tempo_changes
from audioscore.notation.tonality import spell

__all__ = ["MAX_NOTE_BARS", "MAX_REST_BARS", "SCORE_SCHEMA", "RestCut", "ScoreSpec", "build_score", "change_mark",
           "choose_clef", "instrument_clef", "metronome_mark", "note_entries", "shorten_silences", "shortened_rests", "summarise_score",
           "tempo_curve", "tempo_marks", "tempo_plan", "tempo_words"]

SCORE_SCHEMA = "audioscore.score/1"
MIDDLE_C = 60
# Clef from the range: a grand staff when the notes reach well into both.
TREBLE_LOW = 55     # G3: the treble clef reads comfortably down to here (10th percentile)
BASS_HIGH = 64      # E4: the bass clef up to here (90th percentile)
# A line this far above or below the staff (piccolo, whistle; a contrabass line) reads in an
# octave clef, as such parts are written, rather than on four or five ledger lines.
TREBLE_8VA_LOW = 79  # G5 (10th percentile): the treble clef an octave up ("treble^8")
BASS_8VB_HIGH = 40   # E2 (90th percentile): the bass clef an octave down ("bass_8")
CLEFS = {"treble": m21clef.TrebleClef, "bass": m21clef.BassClef, "treble^8": m21clef.Treble8vaClef,
         "bass_8": m21clef.Bass8vbClef, "treble_8": m21clef.Treble8vbClef, "alto": m21clef.AltoClef,
         "tenor": m21clef.TenorClef}
# A melody instrument named by the user is written on one staff in the clefs its players
# read, at sounding pitch: the first of its clefs whose comfortable range holds the notes'
# 10th-90th percentiles, else the one they overflow least. A cello's high phrase reads in
# the tenor clef, not on ledger lines above the bass staff or in a treble clef cellists
# keep for their highest passages; a viola reads the alto clef; a tenor voice the treble
# clef an octave down; a double bass sounds an octave below its bass clef; a cello line
# wide enough for a piano's grand staff is still one cello staff.
INSTRUMENT_CLEFS = {
    "violin": ("treble",), "oboe": ("treble",), "clarinet": ("treble",), "saxophone": ("treble",),
    "trumpet": ("treble",), "flute": ("treble", "treble^8"), "recorder": ("treble", "treble^8"),
    "whistle": ("treble", "treble^8"), "horn": ("treble", "bass"), "voice": ("treble", "bass", "treble_8"),
    "viola": ("alto", "treble"), "cello": ("bass", "tenor", "treble"), "bassoon": ("bass", "tenor", "treble"),
    "trombone": ("bass", "tenor", "treble"), "tuba": ("bass",), "bass": ("bass_8",),
}
PART_NAMES = {"bass": "Double bass"}  # instrument names that would be ambiguous in a part list
# Each clef's comfortable range (MIDI, sounding), from the staff's lines and a few ledger lines either side.
CLEF_RANGES = {"treble": (55, 84), "treble^8": (TREBLE_8VA_LOW, 108), "treble_8": (43, 72), "bass": (28, 64),
               "bass_8": (16, 52), "alto": (48, 74), "tenor": (45, 69)}
GRAND_SPREAD = 19   # semitones between 10th and 90th percentiles that ask for two staves
# The score grows with the notes, not with the time they span: a silence of more
# empty bars than this between two notes is shortened to this many (and marked
# with its real length), and a held note is written for at most MAX_NOTE_BARS bars.
# 16 bars keeps a song's instrumental break (commonly 8 to 16 bars) as it is.
MAX_REST_BARS = 16
MAX_NOTE_BARS = 8


@dataclass(frozen=True)
class ScoreSpec:
    """What to print besides the notes."""

    title: str = ""
    composer: str = ""
    instrument: str | None = None  # a melody instrument's name (``INSTRUMENT_CLEFS``): its clef and part name


@dataclass(frozen=True)
class RestCut:
    """Bars left out of the score: empty ones, or the middle of a held note (``held``).

    Attributes:
        at: where the left-out bars would begin, in quarters of the shortened score
            (a bar line; every note starting at or after it comes after the cut).
        removed: quarters left out (whole bars).
        bars: length of the whole silence (or of the held note's whole bars) in bars,
            the ones kept included.
        held: the bars are a held note's, not a silence's.
    """

    at: Fraction
    removed: Fraction
    bars: int
    held: bool = False

    @property
    def shown(self) -> int:
        """Bars of the silence or held note the score still shows, before ``at``."""
        return MAX_NOTE_BARS if self.held else MAX_REST_BARS

    @property
    def label(self) -> str:
        """The text written where the shown bars begin."""
        return (f"held {self.bars} bars, {self.shown} shown" if self.held
                else f"{self.bars} bars of rest, {self.shown} shown")


def shorten_silences(
    notes: Sequence[QuantisedNote], bar: Fraction
) -> tuple[list[QuantisedNote], list[RestCut]]:
    """Notes (in start order) with long silences between them shortened to MAX_REST_BARS
    empty bars and held notes to MAX_NOTE_BARS whole bars, so a score's size follows its
    number of notes. Only whole bars are removed: every note keeps its place in its bar.

    A held note's bars are removed (and marked) only where no other note sounds; under
    other notes (polyphony) the held note is cut short instead.

    Args:
        notes: quantised notes in start order; positions in quarters.
        bar: quarters per bar.

    Returns:
        The notes in the shortened score's positions, and the cuts made, in order.
    """
    longest = MAX_NOTE_BARS * bar
    starts = [n.start for n in notes]
    shortened: list[QuantisedNote] = []
    cuts: list[RestCut] = []
    removed = Fraction(0)  # quarters left out so far
    end: Fraction | None = None  # of the notes so far, before shortening
    for n in notes:
        if end is not None and n.start > end:
            first_empty = math.ceil(end / bar) * bar  # bar lines inside the silence
            last_empty = math.floor(n.start / bar) * bar
            empty_bars = int((last_empty - first_empty) / bar)
            if empty_bars > MAX_REST_BARS:
                cut = (empty_bars - MAX_REST_BARS) * bar
                cuts.append(RestCut(first_empty + MAX_REST_BARS * bar - removed, cut, empty_bars))
                removed += cut
        start, duration, sounds_to = n.start - removed, n.duration, n.start + n.duration
        if duration > longest:
            first_full = math.ceil(n.start / bar) * bar  # the bar lines the note holds across
            last_full = math.floor((n.start + n.duration) / bar) * bar
            cut_from, cut_to = first_full + longest, last_full
            others = bisect.bisect_left(starts, cut_to) - bisect.bisect_left(starts, n.start) - 1
            alone = others == 0 and (end is None or end <= cut_from)
            if cut_to > cut_from and alone:  # more than MAX_NOTE_BARS whole bars, nothing else sounding
                cuts.append(RestCut(cut_from - removed, cut_to - cut_from, int((last_full - first_full) / bar), held=True))
                duration -= cut_to - cut_from
                removed += cut_to - cut_from
            elif cut_to > cut_from:
                duration = longest
                sounds_to = n.start + longest  # what follows the cut note is silence in the score
        shortened.append(replace(n, start=start, duration=duration))
        end = sounds_to if end is None else max(end, sounds_to)
    return shortened, cuts


def _restore(position: Fraction, cut_at: Sequence[Fraction], removed_before: Sequence[Fraction]) -> Fraction:
    """A position of the shortened score in the performance's quarters (``removed_before[i]``:
    quarters removed by the first i cuts)."""
    return position + removed_before[bisect.bisect_right(cut_at, position)]


def choose_clef(midis: list[int]) -> str:
    """'treble', 'bass', 'treble^8', 'bass_8' (octave clefs, see TREBLE_8VA_LOW) or 'grand'
    from the pitch range."""
    low, high = np.percentile(midis, [10, 90])
    if low >= TREBLE_8VA_LOW:
        return "treble^8"
    if high <= BASS_8VB_HIGH:
        return "bass_8"
    if low >= TREBLE_LOW:
        return "treble"
    if high <= BASS_HIGH:
        return "bass"
    if high - low >= GRAND_SPREAD:
        return "grand"
    return "treble" if np.median(midis) >= MIDDLE_C else "bass"


def instrument_clef(instrument: str, midis: list[int]) -> str:
    """The clef of ``INSTRUMENT_CLEFS[instrument]`` that the notes' range (10th to 90th
    percentile) fits, the earliest of those it overflows least."""
    low, high = np.percentile(midis, [10, 90])

    def overflow(name: str) -> float:
        bottom, top = CLEF_RANGES[name]
        return max(0.0, bottom - low) + max(0.0, high - top)

    return min(INSTRUMENT_CLEFS[instrument], key=overflow)


def _part_name(instrument: str | None) -> str:
    return "Melody" if instrument is None else PART_NAMES.get(instrument, instrument.capitalize())


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


def beat_unit(rhythm: Rhythm) -> m21duration.Duration:
    """The note value a metronome mark counts: a dotted quarter in compound meters, else a quarter."""
    return m21duration.Duration(1.5 if rhythm.grid.compound else 1.0)


def metronome_mark(bpm: int, rhythm: Rhythm, text: str | None = None) -> tempo.MetronomeMark:
    """A metronome mark of the felt beat, placed above the staff: without a placement
    MusicXML readers (MuseScore) put it below."""
    mark = tempo.MetronomeMark(text=text, number=bpm, referent=beat_unit(rhythm))
    mark.placement = "above"  # type: ignore[assignment]  # music21 types it None
    return mark


def change_mark(change: TempoChange, rhythm: Rhythm) -> tempo.MetronomeMark | expressions.TextExpression:
    """What a tempo change prints: its metronome mark ("a tempo" for a return), or its words
    ("rit.", "accel.") in italics, above the staff."""
    if change.words is None:
        return metronome_mark(change.bpm, rhythm, "a tempo" if change.returns else None)
    words = expressions.TextExpression(change.words)
    words.style.fontStyle = "italic"  # type: ignore[attr-defined]  # a TextStyle, typed as Style
    words.placement = "above"
    return words


def opening_marks(rhythm: Rhythm, key: m21key.Key, clef: m21clef.Clef, *, tempo_marks: bool,
                  opening_bpm: int | None = None) -> list[Any]:
    """What opens a staff: clef, time signature and key (a Key, not a bare signature: minor
    prints as minor); with ``tempo_marks`` (the staff that carries them) the metronome mark (the
    main tempo, or ``opening_bpm`` felt beats per minute) and, for swung eighths, "Swing"."""
    marks: list[Any] = [clef, meter.TimeSignature(rhythm.time_signature), m21key.Key(key.tonic, key.mode)]
    if tempo_marks:
        beat_bpm = rhythm.tempo_bpm / float(rhythm.grid.quarters_per_beat) if opening_bpm is None else opening_bpm
        marks.append(metronome_mark(round(beat_bpm), rhythm))
        if rhythm.swing:
            marks.append(expressions.TextExpression("Swing"))
    return marks


def _part(
    notes: list[QuantisedNote], towards: Sequence[int | None], rhythm: Rhythm, key: m21key.Key, clef: m21clef.Clef, *,
    first: bool, end: Fraction, cuts: Sequence[RestCut] = (), changes: Sequence[TempoChange] = (),
    opening_bpm: int | None = None, name: str = "Melody",
) -> stream.Part:
    """One staff of the notes (each spelled on its way to the melody's next pitch, ``towards``),
    filled with rests up to ``end`` (quarters, a bar line); on the first staff, a mark where
    each shortened silence begins and each tempo change."""
    part = stream.Part()
    # An instrument in the MusicXML part list: MuseScore reports a part without one as an error.
    part.insert(0, instrument.Instrument(instrumentName=name))
    part.partName = name
    for mark in opening_marks(rhythm, key, clef, tempo_marks=first, opening_bpm=opening_bpm):
        part.insert(0, mark)
    if first:
        for change in changes:
            part.insert(float(change.at), change_mark(change, rhythm))
        for cut in cuts:
            part.insert(float(cut.at - cut.shown * rhythm.bar_quarters), expressions.TextExpression(cut.label))

    def rests(start: Fraction, end: Fraction) -> None:
        for offset, length in _rest_lengths(start, end, rhythm):
            part.insert(float(offset), m21note.Rest(quarterLength=length))

    position = Fraction(0)
    for n, toward in zip(notes, towards, strict=True):
        rests(position, n.start)
        spelled = spell(n.midi, key, toward)
        for start, length, tie in tied_pieces(n.start, n.duration, rhythm):
            written = m21note.Note(copy.deepcopy(spelled), quarterLength=length)  # accidentals are shown per note
            written.volume.velocity = n.velocity
            if tie is not None:
                written.tie = m21tie.Tie(tie)
            part.insert(float(start), written)
        if n.breath_after:
            written.articulations.append(articulations.BreathMark())
        position = n.start + n.duration
    rests(position, end)
    part.makeNotation(inPlace=True)
    # Durations no single note value can show (a quarter tied to a sixteenth) become tied notes.
    part.splitAtDurations(recurse=True)
    _breaths_at_chain_ends(part)
    return part


def _breaths_at_chain_ends(part: stream.Part) -> None:
    """A breath mark on the last note of its tie chain: the breath comes after the sound, and a
    note split at bar lines keeps its articulations on every piece or on the first."""
    notes = list(part.recurse().notes)
    for k, n in enumerate(notes):
        if not any(isinstance(a, articulations.BreathMark) for a in n.articulations):
            continue
        n.articulations = [a for a in n.articulations if not isinstance(a, articulations.BreathMark)]
        last = k
        while notes[last].tie is not None and notes[last].tie.type in ("start", "continue") and last + 1 < len(notes):
            last += 1
        if not any(isinstance(a, articulations.BreathMark) for a in notes[last].articulations):
            notes[last].articulations.append(articulations.BreathMark())


def build_score(
    notes: list[QuantisedNote], rhythm: Rhythm, key: m21key.Key, spec: ScoreSpec, cuts: Sequence[RestCut] = ()
) -> stream.Score:
    """The score: one staff, or a grand staff split at middle C for wide ranges.

    ``notes`` and ``cuts`` come from ``shorten_silences``: the cuts are marked, not made here.

    Raises:
        ValueError: no notes.
    """
    if not notes:
        raise ValueError("no notes to write a score from")
    # A first note before the first bar line (a pickup) moves everything by a bar; the
    # pickup bar is then written incomplete (see _as_pickup).
    padding = shift = Fraction(0)
    if notes[0].start < 0:
        shift = rhythm.bar_quarters
        padding = shift - (-notes[0].start)
        notes = [replace(n, start=n.start + shift) for n in notes]
        cuts = [replace(c, at=c.at + shift) for c in cuts]
    opening_bpm, changes = tempo_plan(rhythm, notes, cuts, shift)
    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = spec.title
    score.metadata.composer = spec.composer
    bar = rhythm.bar_quarters
    last = max(n.start + n.duration for n in notes)
    end = -(-last // bar) * bar  # every staff runs to the same final bar line
    midis = [n.midi for n in notes]
    clef = instrument_clef(spec.instrument, midis) if spec.instrument in INSTRUMENT_CLEFS else choose_clef(midis)
    towards = _next_pitches(notes)
    if clef == "grand":
        upper = [(n, t) for n, t in zip(notes, towards, strict=True) if n.midi >= MIDDLE_C]
        lower = [(n, t) for n, t in zip(notes, towards, strict=True) if n.midi < MIDDLE_C]
        score.insert(0, _part([n for n, _ in upper], [t for _, t in upper], rhythm, key, m21clef.TrebleClef(), first=True,
                              end=end, cuts=cuts, changes=changes, opening_bpm=opening_bpm))
        score.insert(0, _part([n for n, _ in lower], [t for _, t in lower], rhythm, key, m21clef.BassClef(), first=False,
                              end=end))
    else:
        score.insert(0, _part(notes, towards, rhythm, key, CLEFS[clef](), first=True, end=end, cuts=cuts, changes=changes,
                              opening_bpm=opening_bpm, name=_part_name(spec.instrument)))
    if padding > 0 and all(_can_be_pickup(part, padding) for part in score.parts):
        for part in score.parts:
            _as_pickup(part, padding)
    return score


def tempo_plan(rhythm: Rhythm, notes: Sequence[QuantisedNote], cuts: Sequence[RestCut], shift: Fraction
               ) -> tuple[int | None, list[TempoChange]]:
    """The opening mark's tempo (None: the main tempo's) and the tempo changes after it, at
    their places in the score (``notes`` and ``cuts`` moved by ``shift`` for a pickup)."""
    changes = _changes_in_score(rhythm, notes, cuts, shift)
    # A change at the first note's bar is the opening tempo: one mark there, not two (a
    # ritardando from there is written as words after the mark).
    first = min(n.start for n in notes)
    if changes and changes[0].words is None and changes[0].at <= first // rhythm.bar_quarters * rhythm.bar_quarters:
        return changes[0].bpm, changes[1:]
    return None, changes


def _changes_in_score(rhythm: Rhythm, notes: Sequence[QuantisedNote], cuts: Sequence[RestCut], shift: Fraction
                      ) -> list[TempoChange]:
    """Tempo changes at their places in the score (``notes`` and ``cuts`` moved by ``shift``
    for a pickup); a change inside a shortened silence is dropped."""
    removed_before = [Fraction(0), *itertools.accumulate(c.removed for c in cuts)]
    start = min(n.start for n in notes) - shift
    last = max(n.start + n.duration for n in notes) - shift
    result = []
    for change in tempo_changes(rhythm, _restore(start, [c.at - shift for c in cuts], removed_before),
                                _restore(last, [c.at - shift for c in cuts], removed_before)):
        before = [c for c, r in zip(cuts, removed_before, strict=False) if c.at - shift + r <= change.at]
        if before and change.at < before[-1].at - shift + removed_before[len(before) - 1] + before[-1].removed:
            continue
        at = change.at - removed_before[len(before)] + shift
        result.append(replace(change, at=at))
    return result


def _can_be_pickup(part: stream.Part, padding: Fraction) -> bool:
    """The first measure's notes and rests start at or after ``padding`` or end by it."""
    first = part.getElementsByClass(stream.Measure).first()
    return first is not None and all(
        Fraction(e.offset) >= padding or (isinstance(e, m21note.Rest) and Fraction(e.offset + e.quarterLength) <= padding)
        for e in first.notesAndRests)


def _as_pickup(part: stream.Part, padding: Fraction) -> None:
    r"""The first measure as an incomplete bar (an anacrusis, measure 0): the rests filling
    its first ``padding`` quarters removed, the rest moved to the front, and music21's
    ``paddingLeft`` set, an implicit measure in MusicXML, and LilyPond's
    ``\partial``. The following measures move up and are numbered from 1."""
    measures = list(part.getElementsByClass(stream.Measure))
    first = measures[0]
    for element in list(first.notesAndRests):
        if Fraction(element.offset) < padding:
            first.remove(element)
    for element in list(first.notesAndRests):
        first.coreSetElementOffset(element, float(Fraction(element.offset) - padding))
    first.coreElementsChanged()
    first.paddingLeft = float(padding)
    first.showNumber = stream.enums.ShowNumber.NEVER  # MusicXML implicit="yes": not counted as a bar
    for number, measure in enumerate(measures):
        measure.number = number
        if number:
            part.coreSetElementOffset(measure, float(Fraction(measure.offset) - padding))
    part.coreElementsChanged()


def tempo_curve(rhythm: Rhythm, smooth_beats: int = 4) -> list[list[float]]:
    """``[[time_s, quarter bpm], ...]``: one point per tracked beat (tempo over the next
    ``smooth_beats`` beats), or one point for a constant tempo."""
    beats = np.asarray(rhythm.beat_times_s, dtype=float)
    per_beat = float(rhythm.grid.quarters_per_beat)
    if len(beats) < 2:
        return [[round(rhythm.downbeat_s, 3), round(rhythm.tempo_bpm, 2)]]
    periods = np.diff(beats)
    if len(periods) >= smooth_beats:
        periods = np.convolve(np.pad(periods, (0, smooth_beats - 1), mode="edge"),
                              np.ones(smooth_beats) / smooth_beats, mode="valid")
    return [[round(float(t), 3), round(60.0 / float(p) * per_beat, 2)] for t, p in zip(beats[:-1], periods,
                                                                                       strict=True)]


def summarise_score(
    score: stream.Score, notes: list[QuantisedNote], rhythm: Rhythm, key: m21key.Key, cuts: Sequence[RestCut] = ()
) -> dict[str, Any]:
    """The ``score.json`` document: key, tempo, meter, measures, clef, quantised notes, and the
    silences shortened (``shortened_rests``). Measures and quarters are the score's; ``onset_s``
    and ``offset_s`` are times in the recording, cuts undone."""
    parts = list(score.parts)
    first_clef = parts[0].recurse().getElementsByClass(m21clef.Clef).first()
    clef = "grand" if len(parts) == 2 else next(name for name, kind in CLEFS.items() if type(first_clef) is kind)
    return {
        "schema": SCORE_SCHEMA,
        "key": f"{key.tonic.name} {key.mode}",
        "tempo_bpm": round(rhythm.tempo_bpm, 2),
        "time_signature": rhythm.time_signature,
        "measures": len(parts[0].getElementsByClass(stream.Measure)),
        "clef": clef,
        "notes": note_entries(notes, rhythm, key, cuts),
        "tempo_curve": tempo_curve(rhythm),
        "tempo_marks": tempo_marks(parts[0]),
        "tempo_words": tempo_words(parts[0]),
        "swing": rhythm.swing,
        "shortened_rests": shortened_rests(notes, rhythm, cuts),
        "shortened_notes": shortened_rests(notes, rhythm, cuts, held=True),
    }


def tempo_marks(part: stream.Part) -> list[dict[str, Any]]:
    """``score.json``'s metronome marks as printed: the measure each stands in, felt beats per
    minute, and whether it is written "a tempo" (a return to the opening mark)."""
    return [{"measure": mark.measureNumber, "bpm": mark.number, "a_tempo": mark.text == "a tempo"}
            for mark in part.recurse().getElementsByClass(tempo.MetronomeMark)]


def tempo_words(part: stream.Part) -> list[dict[str, Any]]:
    """``score.json``'s gradual tempo changes as printed: the measure and the words ("rit.", "accel.")."""
    return [{"measure": words.measureNumber, "text": words.content}
            for words in part.recurse().getElementsByClass(expressions.TextExpression) if words.content in TEMPO_WORDS]


def _pickup_shift(notes: Sequence[QuantisedNote], rhythm: Rhythm) -> Fraction:
    """A bar when the notes start before the first bar line (a pickup, measure 0), else 0."""
    return rhythm.bar_quarters if notes and min(n.start for n in notes) < 0 else Fraction(0)


def note_entries(notes: Sequence[QuantisedNote], rhythm: Rhythm, key: m21key.Key,
                 cuts: Sequence[RestCut] = ()) -> list[dict[str, Any]]:
    """``score.json``'s entry per note: measure (from 1; a pickup bar is 0), beat (quarters from the
    bar line), quarters from the first full bar, duration, MIDI number, spelled name, the times
    in the recording (``onset_s``, ``offset_s``: shortened silences put back), and whether a
    breath follows it (``breath_after``)."""
    shift, bar = _pickup_shift(notes, rhythm), rhythm.bar_quarters
    cut_at = [c.at for c in cuts]
    removed_before = [Fraction(0), *itertools.accumulate(c.removed for c in cuts)]
    names: dict[tuple[int, int | None], str] = {}

    def seconds(position: Fraction) -> float:
        return round(float(rhythm.quarters_to_seconds(float(_restore(position, cut_at, removed_before)))), 4)

    def name(midi: int, toward: int | None) -> str:  # spelling is music21 work: once per pitch and next pitch
        if (midi, toward) not in names:
            names[midi, toward] = spell(midi, key, toward).nameWithOctave
        return names[midi, toward]

    return [
        {
            "measure": int((n.start + shift) // bar) + (0 if shift else 1),
            "beat": float((n.start + shift) % bar),
            "start_quarters": float(n.start + shift),
            "duration_quarters": float(n.duration),
            "midi": n.midi,
            "name": name(n.midi, toward),
            "onset_s": seconds(n.start),
            "offset_s": seconds(n.start + n.duration),
            "breath_after": n.breath_after,
        }
        for n, toward in zip(notes, _next_pitches(notes), strict=True)
    ]


def _next_pitches(notes: Sequence[QuantisedNote]) -> list[int | None]:
    """Each note's next pitch (None for the last): the way a chromatic note moves decides its spelling."""
    return [later.midi for later in notes[1:]] + [None] if notes else []


def shortened_rests(notes: Sequence[QuantisedNote], rhythm: Rhythm, cuts: Sequence[RestCut],
                    *, held: bool = False) -> list[dict[str, Any]]:
    """``score.json``'s silences left out (with ``held``: held notes' bars left out): the measure
    the shortened rest (or the held note's shown bars) starts in, its real and shown bars."""
    shift, bar = _pickup_shift(notes, rhythm), rhythm.bar_quarters
    return [{"measure": int((c.at + shift) // bar) + (0 if shift else 1) - c.shown, "bars": c.bars,
             "bars_shown": c.shown} for c in cuts if c.held == held]
