"""How a note's length is written: the tied pieces a reader expects in its meter.

A note is written as one value where that hides no beat a reader counts, and tied at the
beats where it would, as engraving guides teach (Gould, *Behind Bars*, on syncopation):

* the middle of a 4/4 bar shows, except under a note from the downbeat and under the half
  note of a quarter-half-quarter syncopation;
* a note from the eighth after a beat may run over one beat within its half bar
  (eighth-quarter-eighth, eighth-dotted quarter); from any finer place it is tied at the
  next beat;
* a note from a beat that ends on a sixteenth or a triplet's place past a later beat is
  tied at that beat (a quarter tied to a dotted eighth, not a double-dotted quarter);
* in 6/8 a note from a beat ends on a beat or is tied at the last one it reaches.

Written by hand: music21 and LilyPond split notes at bar lines and into values that exist,
neither at the beats. Positions and lengths are in quarters, bar lines at multiples of the
bar's length.
"""

from __future__ import annotations

from fractions import Fraction

from audioscore.notation.rhythm import Rhythm

__all__ = ["tie_type", "tied_pieces", "written_lengths"]


def written_lengths(start: Fraction, length: Fraction, rhythm: Rhythm) -> list[Fraction]:
    """The lengths of the tied pieces a note from ``start`` lasting ``length`` is written as,
    in order; they sum to ``length`` and none crosses a bar line."""
    bar = rhythm.bar_quarters
    pieces: list[Fraction] = []
    position, end = start, start + length
    while position < end:
        bar_start = position // bar * bar
        stop = min(end, bar_start + bar)
        piece_end = bar_start + _first_piece_end(position - bar_start, stop - bar_start, rhythm)
        pieces.append(piece_end - position)
        position = piece_end
    return pieces


def tied_pieces(start: Fraction, length: Fraction, rhythm: Rhythm, tie: str | None = None
                ) -> list[tuple[Fraction, Fraction, str | None]]:
    """The note's pieces as (start, length, tie type), music21's "start", "continue", "stop"
    or None; ``tie``: the note's own, where it is already a piece of a longer note."""
    lengths = written_lengths(start, length, rhythm)
    tied_before, tied_after = tie in ("stop", "continue"), tie in ("start", "continue")
    pieces = []
    for k, piece in enumerate(lengths):
        before, after = k > 0 or tied_before, k + 1 < len(lengths) or tied_after
        pieces.append((start, piece, tie_type(before, after)))
        start += piece
    return pieces


def tie_type(before: bool, after: bool) -> str | None:
    """music21's tie type of a piece of a note tied to a piece ``before`` it and/or ``after`` it."""
    return "continue" if before and after else "stop" if before else "start" if after else None


def _first_piece_end(at: Fraction, end: Fraction, rhythm: Rhythm) -> Fraction:
    """Where the first piece of a note from ``at`` to ``end`` (in quarters from its bar line,
    within the bar) ends."""
    beat = rhythm.grid.quarters_per_beat
    next_beat = (at // beat + 1) * beat
    if end <= next_beat:
        return end
    last_beat = end // beat * beat  # of a note ending off the beat: the last beat it passes
    on_beat = at % beat == 0
    if rhythm.grid.compound:
        return next_beat if not on_beat else end if end % beat == 0 else last_beat
    half = 2 * beat
    crosses_half = rhythm.beats_per_bar == 4 and at < half < end
    eighth = beat / 2
    if not on_beat:
        from_eighth = at % beat == eighth and end <= next_beat + beat and end % eighth == 0
        return end if from_eighth and not crosses_half else next_beat
    if crosses_half and at != 0 and not (at == beat and end == 3 * beat):
        return half
    return end if end % eighth == 0 else last_beat
