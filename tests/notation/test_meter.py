"""Meter and downbeat (``audioscore.notation.meter``) and the repair of beats the tracker
gained or lost (``quantise.repair_slip``): bar lines where the composer put them."""

from __future__ import annotations

import corpus
import numpy as np
import score_corpus as sc
from test_tempo_marks import performance

from audioscore.notation.beats import positions_in_beats, triplet_beats
from audioscore.notation.meter import Meter, breath_slips, phase_changes
from audioscore.notation.quantise import notate_rhythm, repair_slip
from audioscore.notation.rhythm import PerformedNote

# A bar of "half, quarter, two eighths" (onsets in beats, lengths to the next onset).
BAR = ((0.0, 2.0), (2.0, 1.0), (3.0, 0.5), (3.5, 0.5))
PITCHES = (60, 62, 64, 65, 67, 69, 71, 72)


def test_a_final_half_note_on_beat_three_keeps_the_bar_lines():
    """The low march ends "C3 G2 C2(half)": its last note on beat 3 ends the bar. Read as a
    downbeat (the cadence rule alone), every bar line moved by two beats."""
    melody = sc.by_name("low_march_c_minor")
    notes = [PerformedNote(a, b, p) for a, b, p in melody.melody().notes]
    rhythm, quantised, _ = notate_rhythm(notes)
    assert rhythm.time_signature == "4/4"
    assert quantised[0].start == 0, "the first note is on a downbeat, not after a two-beat pickup"
    assert [n.start % 4 for n in quantised if n.duration == 2] == [2, 0, 2]


def test_a_beat_gained_moves_the_downbeat_and_is_found():
    """Eight bars of the figure, a beat inserted (as a tracker does in a held note) after four."""
    positions, lengths = [], []
    for bar in range(8):
        for onset, length in BAR:
            positions.append(4 * bar + onset + (1 if bar >= 4 else 0))
            lengths.append(length + (1 if bar == 3 and onset == 3.5 else 0))
    pitches = [PITCHES[i % len(PITCHES)] for i in range(len(positions))]
    changes = phase_changes(positions, lengths, pitches, Meter(4, "4/4", 0))
    assert [shift for _, shift in changes] == [1]
    assert 14 <= changes[0][0] <= 17
    assert phase_changes([p - (1 if p > 16 else 0) for p in positions], lengths, pitches, Meter(4, "4/4", 0)) == []


def phrases_with_breaths(gained: list[int], phrases: int = 8) -> tuple[list[float], list[float], list[int], list[int]]:
    """Phrases of four bars of the figure, the last bar a whole note; before phrase ``k`` the
    tracker gained ``gained[k]`` beats in the held note. (positions, lengths, pitches, the beat
    after each held note)."""
    positions, lengths, pitches, after_holds, late = [], [], [], [], 0
    for phrase in range(phrases):
        late += gained[phrase] if phrase < len(gained) else 0
        start = 16 * phrase + late
        if phrase:
            after_holds.append(start)
        for bar in range(3):
            for onset, length in BAR:
                positions.append(start + 4 * bar + onset)
                lengths.append(length)
        positions.append(start + 12)
        lengths.append(4.0 + (gained[phrase + 1] if phrase + 1 < len(gained) else 0))
    pitches = [PITCHES[i % len(PITCHES)] for i in range(len(positions))]
    return positions, lengths, pitches, after_holds


def test_beats_gained_at_every_breath_are_found_together():
    """A beat gained in every phrase's last note: each phrase a beat later in the bar than the
    one before, which no one repair of the phase puts in order; the path over the held notes
    finds every one."""
    gained = [0, 1, 1, 1, 1, 1, 1, 1]
    positions, lengths, pitches, after_holds = phrases_with_breaths(gained)
    assert breath_slips(positions, lengths, pitches, Meter(4, "4/4", 0), after_holds) == after_holds
    # A take held in time gives none; nor where the tempo section starts and the phase moves there.
    positions, lengths, pitches, after_holds = phrases_with_breaths([0] * 8)
    assert breath_slips(positions, lengths, pitches, Meter(4, "4/4", 0), after_holds) == []
    positions, lengths, pitches, after_holds = phrases_with_breaths([0, 0, 0, 0, 1, 0, 0, 0])
    assert breath_slips(positions, lengths, pitches, Meter(4, "4/4", 0), after_holds, sections=[after_holds[3]]) == []


def test_a_tempo_change_in_a_held_note_keeps_every_half_note_on_a_downbeat():
    """100 bpm, then 72 from a half note: the tracker's beats kept the old period through
    the held note (one beat too many); the repaired beats bar every bar alike."""
    _, quantised, _ = notate_rhythm(performance([(6, 100.0), (6, 72.0), (4, 100.0)]))
    halves = [n.start for n in quantised if n.duration == 2]
    assert len(halves) == 16
    assert all(start % 4 == 0 for start in halves), halves


def test_a_siciliano_is_6_8_and_a_fast_waltz_stays_3_4():
    """The siciliano's dotted-eighth, sixteenth, eighth read an eighth per beat is a 3/4 at
    168 whose beats divide in two; a waltz at 160 barely divides its beats."""
    for name, signature, bpm in (("siciliano_f_sharp_minor", "6/8", 84.0), ("waltz_g_major", "3/4", 160.0)):
        notes = [PerformedNote(a, b, p) for a, b, p in sc.by_name(name).melody().notes]
        rhythm, _, _ = notate_rhythm(notes)
        assert rhythm.time_signature == signature, name
        assert abs(rhythm.tempo_bpm / bpm - 1.0) < 0.04, name


def _accented_quarters(per_bar: int, bars: int = 8, bpm: float = 100.0) -> list[PerformedNote]:
    """Even quarters on a scale up and down, every bar's first note played louder (velocity
    100 against 80): a player's downbeats are all that says where the bars are."""
    beat = 60.0 / bpm
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]
    return [PerformedNote(k * beat, k * beat + 0.9 * beat, scale[k % len(scale)], 100 if k % per_bar == 0 else 80)
            for k in range(per_bar * bars)]


def test_louder_downbeats_decide_the_bar():
    """Even quarters, the same notes: accented every three beats they are 3/4 with the loud
    notes on its downbeats, every four 4/4; without velocities nothing would say 3/4."""
    for per_bar, signature in ((3, "3/4"), (4, "4/4")):
        rhythm, quantised, _ = notate_rhythm(_accented_quarters(per_bar))
        assert rhythm.time_signature == signature
        bar = rhythm.beats_per_bar
        assert all((n.start % bar == 0) == (k % per_bar == 0) for k, n in enumerate(quantised)), signature


def _even_quarters(text: str, bpm: float, beats_per_bar: int) -> list[PerformedNote]:
    melody = corpus.Melody.from_beats("quarters", text, bpm, lead_in_beats=beats_per_bar)
    return [PerformedNote(a, b, p) for a, b, p in melody.notes]


def test_bars_that_each_outline_a_chord_are_heard_in_three():
    """Quarters, a dotted half every twelve beats: the long notes fit 3/4 and 4/4 with a
    pickup alike (the old reading was 4/4); each bar spells one chord, so the bar is three."""
    notes = _even_quarters("G4:1 B4:1 D5:1 | C5:1 E5:1 C5:1 | A4:1 D5:1 F#4:1 | G4:3 |"
                           " E5:1 C5:1 G4:1 | D5:1 B4:1 G4:1 | C5:1 A4:1 F#4:1 | G4:3", 112.0, 3)
    rhythm, quantised, _ = notate_rhythm(notes)
    assert rhythm.time_signature == "3/4"
    assert quantised[0].start == 0, "the first chord starts a bar"
    assert [n.start % 3 for n in quantised if n.duration == 3] == [0, 0]


def test_a_chord_per_bar_of_four_stays_in_four():
    """The same pattern in 4/4: quarters, held notes twelve beats apart, one chord per bar
    (held notes end a chord's bar): the harmony keeps the 4/4 bars."""
    notes = _even_quarters("D5:1 A4:1 F#4:1 A4:1 | G4:1 B4:1 D5:1 B4:1 | A4:3 C#5:1 | D5:1 F#5:1 A5:1 F#5:1 |"
                           " E5:1 C#5:1 A4:1 C#5:1 | D5:3 A4:1 | B4:1 G4:1 B4:1 D5:1 | E5:1 C#5:1 A4:1 C#5:1 | D5:4",
                           104.0, 4)
    rhythm, quantised, _ = notate_rhythm(notes)
    assert rhythm.time_signature == "4/4"
    assert [n.start % 4 for n in quantised if n.duration >= 3] == [0, 0, 0]


def test_a_repaired_slip_spreads_no_notes_into_triplets():
    """A beat added to undo a slip is added where the onsets notate most simply, and two
    beats of written triplets are priced as simply as straight eighths: a hornpipe's bar of
    dotted figures, four sixteenths and a quarter, stretched from three beats over four,
    was written as two beats of triplets (round 10's spurious tuplets)."""
    beat_s = 0.6
    bar = (0.0, 0.75, 1.0, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0)  # the hornpipe's bar, in beats
    onsets = np.array([0.3 + beat_s * (4 * b + q) for b in range(6) for q in bar])
    beats = 0.3 + beat_s * np.arange(-1, 26)
    for at_beat in range(6, 20):
        repaired = repair_slip(beats, onsets, at_beat, 3, 4, False)  # one beat added before at_beat
        assert triplet_beats(onsets, repaired) == 0, at_beat


def test_a_beat_gained_in_a_breath_is_taken_out_even_where_the_accents_say_one_was_lost():
    """Quarters at 0.72 s, a breath of half a beat after the sixteenth, and a tracker that put a
    beat of its own into it (two squeezed beats of 0.54 s): the accents after it may read the
    downbeat a beat early as well as a beat late (4/4's half bar; a folk song breathing read
    3/4), and a beat added there made a bar a third faster and the slip half a bar. The tempo
    decides: the gained beat comes out, and the notes after the bar it comes out of sit on the
    beats they were written on, counted from a note before that bar."""
    period = 0.72
    before = 1.0 + period * np.arange(16)
    after = before[-1] + 1.5 * period + period * np.arange(16)
    onsets = np.concatenate([before, after])
    beats = np.concatenate([[before[0] - period], before, [before[-1] + 0.75 * period], after, [after[-1] + period]])
    repaired = repair_slip(beats, onsets, 20, 3, 4, False)
    assert len(repaired) == len(beats) - 1
    positions = positions_in_beats(np.concatenate([before[-8:-7], after[4:]]), repaired)
    assert np.allclose(positions[1:] - positions[0], 8 + np.arange(4, 16), atol=0.05)
