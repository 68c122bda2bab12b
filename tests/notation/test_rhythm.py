"""Tempo, meter and quantisation from performed notes (``audioscore.notation.quantise.notate_rhythm``;
the corpus's exact MIDI timing, and with timing jitter), against the written music."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import score_corpus as sc

from audioscore.notation.quantise import clean_notes, join_tracker_splits, notate_rhythm
from audioscore.notation.rhythm import PerformedNote, QuantisedNote, Rhythm

# One melody per meter and pickup case, named up front (not picked by result).
CASES = ["hymn_c_major", "lullaby_eb_major", "jig_d_major", "tune_a_minor", "waltz_d_minor", "jig_e_minor"]


def performed(melody: sc.ScoredMelody, jitter_s: float = 0.0, seed: int = 0) -> list[PerformedNote]:
    rng = np.random.default_rng(seed)
    return [PerformedNote(a + rng.normal(0.0, jitter_s), b, p) for a, b, p in melody.melody().notes]


def written(melody: sc.ScoredMelody) -> list[tuple[Fraction, Fraction, int]]:
    return [
        (Fraction(pos).limit_denominator(12), Fraction(d).limit_denominator(12), p)
        for (p, d), pos in zip(melody.events, melody.event_positions, strict=True)
        if p is not None
    ]


def _bar_lines_right(melody: sc.ScoredMelody, rhythm: Rhythm, notes: list[QuantisedNote]) -> bool:
    """The first note sits where the composer put it relative to the bar lines."""
    first = Fraction(written(melody)[0][0])
    return (notes[0].start - first) % rhythm.bar_quarters == 0


def rhythm_is_right(melody: sc.ScoredMelody, notes: list[PerformedNote]) -> bool:
    """Tempo within 2%, the written meter, and bar lines where the composer put them."""
    rhythm, quantised, _ = notate_rhythm(notes)
    return (
        abs(rhythm.tempo_bpm / melody.tempo_bpm - 1.0) < 0.02
        and rhythm.time_signature == melody.time_signature
        and _bar_lines_right(melody, rhythm, quantised)
    )


@pytest.mark.parametrize("name", CASES)
def test_tempo_meter_and_bar_lines(name: str) -> None:
    melody = sc.by_name(name)
    assert rhythm_is_right(melody, performed(melody))


@pytest.mark.parametrize("name", CASES)
def test_timing_jitter_rarely_changes_the_reading(name: str) -> None:
    """15 ms of onset jitter (a careful player): right in at least 4 of 5 performances."""
    melody = sc.by_name(name)
    right = sum(rhythm_is_right(melody, performed(melody, 0.015, seed)) for seed in range(5))
    assert right >= 4, f"{right} of 5"


@pytest.mark.parametrize("name", CASES)
def test_quantised_notes_are_the_written_ones(name: str) -> None:
    """Articulated notes (sounding 90% of their value) come back as written, rests included."""
    melody = sc.by_name(name)
    _, quantised, _ = notate_rhythm(performed(melody))
    shift = quantised[0].start - written(melody)[0][0]
    got = [(n.start - shift, n.duration, n.midi) for n in quantised]
    assert got == written(melody)


def test_overrides_are_obeyed() -> None:
    rhythm, _, _ = notate_rhythm(performed(sc.by_name("hymn_c_major")), tempo_bpm=56.0, time_signature="2/4")
    assert rhythm.tempo_bpm == pytest.approx(56.0) and rhythm.time_signature == "2/4"
    assert rhythm.beats_per_bar == 2
    compound, _, _ = notate_rhythm(performed(sc.by_name("jig_d_major")), time_signature="6/8")
    assert compound.time_signature == "6/8" and compound.grid.compound


def test_eighth_triplets_and_their_switch() -> None:
    beat = 0.5  # 120 bpm
    onsets = [0, 1, 2, 3, 4, 4 + 1 / 3, 4 + 2 / 3, 5, 6, 7, 8, 8 + 1 / 3, 8 + 2 / 3, 9, 10, 12]
    notes = [PerformedNote(o * beat, o * beat + 0.3, 60 + i % 5) for i, o in enumerate(onsets)]
    rhythm, quantised, _ = notate_rhythm(notes)
    assert rhythm.tempo_bpm == pytest.approx(120.0, rel=0.02) and rhythm.time_signature == "4/4"
    assert Fraction(1, 3) in {n.duration for n in quantised}
    _, plain, _ = notate_rhythm(notes, triplets=False)
    assert all(n.duration.denominator in (1, 2, 4) for n in plain)


def test_colliding_and_too_short_notes() -> None:
    notes = [PerformedNote(0.0, 0.5, 60), PerformedNote(0.5, 1.0, 62), PerformedNote(0.51, 0.53, 70),
             PerformedNote(1.0, 1.5, 64), PerformedNote(1.5, 2.0, 65), PerformedNote(2.0, 3.0, 67)]
    _, quantised, _ = notate_rhythm(notes)
    starts = [n.start for n in quantised]
    assert len(starts) == len(set(starts)) == 5, "the 20 ms blip on the second note's start is dropped"
    assert 70 not in {n.midi for n in quantised}


@pytest.mark.parametrize(
    ("notes", "kwargs", "message"),
    [
        ([], {}, "no notes"),
        ([PerformedNote(0, 1, 60), PerformedNote(1, 2, 62)], {"time_signature": "5/4"}, "5/4"),
        ([PerformedNote(0, 1, 60), PerformedNote(1, 2, 62)], {"tempo_bpm": 1000.0}, "1000"),
    ],
)
def test_bad_requests_are_value_errors(notes, kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        notate_rhythm(notes, **kwargs)


def test_tracker_splits_are_joined_and_repeated_notes_kept() -> None:
    """A split inside a sustained tone (voicing stays ~1) is one note; a re-attack at the same
    pitch (voicing dips, as on the corpus's repeated notes) stays two, and so does any
    split when there are no frames to tell."""
    notes = [PerformedNote(0.0, 0.5, 69), PerformedNote(0.5, 0.9, 69), PerformedNote(0.91, 1.4, 69)]
    times = np.arange(0.0, 1.5, 0.01)
    voiced = np.where(np.abs(times - 0.905) < 0.02, 0.2, 1.0)  # an attack at 0.91 s
    joined = join_tracker_splits(notes, times, voiced)
    assert joined == [PerformedNote(0.0, 0.9, 69), PerformedNote(0.91, 1.4, 69)]
    assert join_tracker_splits(notes, [], []) == notes


def test_a_repeat_whose_level_rises_is_kept_though_its_voicing_held() -> None:
    """A detached repeat in a room: the voicing holds through the gap, but the level dips
    and rises 10 dB or more into the new attack (a swell inside one note rises less)."""
    times = np.arange(0.0, 1.5, 0.01)
    voiced = np.ones_like(times)
    for rise, count in ((14.0, 2), (10.0, 2), (6.0, 1), (None, 1)):
        notes = [PerformedNote(0.0, 0.5, 69, 80, 20.0), PerformedNote(0.52, 1.0, 69, 80, rise)]
        assert len(join_tracker_splits(notes, times, voiced)) == count, rise


def test_a_repeat_whose_level_fell_below_the_note_before_is_kept() -> None:
    """A legato repeat sung or blown again: its rise is modest, but the level first fell well
    below where the note before was held; a tracker's split at a swell dips little."""
    times = np.arange(0.0, 1.5, 0.01)
    voiced = np.ones_like(times)
    for rise, dip, count in ((6.0, 12.0, 2), (5.0, 8.0, 2), (6.0, 5.0, 1), (3.0, 15.0, 1), (6.0, None, 1)):
        notes = [PerformedNote(0.0, 0.5, 69, 80, 20.0), PerformedNote(0.52, 1.0, 69, 80, rise, dip)]
        assert len(join_tracker_splits(notes, times, voiced)) == count, (rise, dip)


def test_a_quiet_tail_that_does_not_rise_is_the_note_before_decaying() -> None:
    """A detached clarinet eighth whose release the tracker kept as a note of its own: the
    voicing dips (it is dying away), but the fragment starts 10-18 dB quieter and does not
    rise. A repeat played softer still rises into its attack, one as loud is played again, and
    a long quiet note holds more than a release (a note the tracker missed and the one after)."""
    times = np.arange(0.0, 1.5, 0.01)
    voiced = np.where(np.abs(times - 0.5) < 0.03, 0.03, 1.0)
    for velocity, rise, count in ((49, 0.0, 1), (21, 1.1, 1), (49, 4.0, 2), (75, 0.0, 2), (49, None, 2)):
        notes = [PerformedNote(0.0, 0.5, 69, 79, 25.0), PerformedNote(0.5, 0.65, 69, velocity, rise)]
        assert len(join_tracker_splits(notes, times, voiced)) == count, (velocity, rise)
    held = [PerformedNote(0.0, 0.5, 69, 79, 25.0), PerformedNote(0.5, 1.0, 69, 49, 0.0)]
    assert len(join_tracker_splits(held, times, voiced)) == 2
    joined = join_tracker_splits([PerformedNote(0.0, 0.5, 69, 79, 25.0), PerformedNote(0.5, 0.65, 69, 49, 0.0)],
                                 times, voiced)
    assert joined == [PerformedNote(0.0, 0.65, 69, 79, 25.0)]



def test_a_fast_stepwise_run_keeps_every_note_and_a_scoop_is_still_merged() -> None:
    """Sixteenths at 150 bpm (0.1 s apart, sounding 87-105 ms as the tracker reads a flute's)
    step by tones as a scoop does: every one is a note. A 60 ms scoop into a long note is still
    that note's attack."""
    beat = 0.4
    run = [72, 74, 76, 77, 79, 77, 76, 74]
    sounding = [0.09, 0.105, 0.099, 0.093, 0.099, 0.087, 0.105, 0.087]
    bar = [PerformedNote(k * beat / 4, k * beat / 4 + length, m) for k, (m, length) in enumerate(zip(run, sounding, strict=True))]
    bar += [PerformedNote(2 * beat, 2.9 * beat, 72), PerformedNote(3 * beat, 3.9 * beat, 67)]
    notes = [PerformedNote(n.onset + 4 * beat * k, n.offset + 4 * beat * k, n.midi) for k in range(3) for n in bar]
    notes += [PerformedNote(12 * beat - 0.06, 12 * beat, 71), PerformedNote(12 * beat, 15.5 * beat, 72)]  # a scoop
    assert [n.midi for n in clean_notes(notes)] == [*run, 72, 67] * 3 + [72]
    _, quantised, _ = notate_rhythm(notes)
    assert [n.midi for n in quantised] == [*run, 72, 67] * 3 + [72]
