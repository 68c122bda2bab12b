"""Performed notes to notated rhythm on a moving beat, with a strong simplicity prior.

Conventions: times in seconds; positions and lengths in beats while quantising, in
quarter notes (``fractions.Fraction``) in the result; MIDI note numbers.

The steps, each a small function:

1. :func:`clean_notes`: onset and glide artefacts (a scoop's few frames at the wrong pitch, a
   blip between two notes) merged into their neighbours;
2. beats from the onsets (:func:`audioscore.notation.beats.track_beats`: a tempo curve);
3. each beat's onsets snapped to the simplest grid that explains them within the timing
   a listener forgives: halves, then sixteenths, eighth triplets only over a whole beat and
   only when they clearly fit better; never anything finer than a sixteenth;
4. the meter and downbeat (:func:`audioscore.notation.meter.choose_meter`); where the
   downbeat moves for good, the beat the tracker gained or lost there is repaired
   (:func:`repair_slip`) and the onsets placed again; swung eighths (:func:`swing_ratio`)
   are straightened first and written plain under a "Swing" mark;
5. note ends: held to the next onset unless a real silence follows, ends and rests on
   beat boundaries where the performance allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

import numpy as np

from audioscore.notation.beats import (
    BeatTrack,
    every_third,
    irregularity,
    main_tempo_bpm,
    notation_cost,
    positions_in_beats,
    track_beats,
    triplet_beats,
)
from audioscore.notation.meter import (
    Meter,
    breath_slips,
    choose_meter,
    divided_fast_triple,
    meter_scores,
    phase_changes,
)
from audioscore.notation.rhythm import Grid, PerformedNote, QuantisedNote, Rhythm
from audioscore.notation.ritardando import final_ritardando

__all__ = ["breaths_taken", "clean_notes", "join_tracker_splits", "notate_rhythm", "repair_slip", "snap_onsets", "straightened",
           "swing_ratio"]

# Artefacts: a note this short (s) right before a neighbour within GLIDE_SEMITONES is
# the neighbour's attack (a scoop); one this short anywhere is dropped.
GLIDE_MAX_S = 0.10
GLIDE_GAP_S = 0.04
GLIDE_SEMITONES = 2
BLIP_S = 0.05
# A short note with a neighbour as short at a like spacing is a fast run's note (sixteenths
# at 150 bpm and faster are shorter than GLIDE_MAX_S), not an attack: a scoop is followed
# by its long target, not by another note as quick as itself.
RUN_SPACING_RATIO = 1.5
# A tracker split: the same pitch continuing across less than this silence while the
# voicing stays above SPLIT_VOICED within SPLIT_WINDOW_S of the boundary. A re-articulated
# note leaves a longer gap or a dip in voicing (the attack's noise and the release).
SPLIT_GAP_S = 0.030
SPLIT_VOICED = 0.9
# A note whose level rises this much into its attack (``PerformedNote.rise_db``) is played
# again, however steady the voicing: of the join's 90 same-pitch candidates in the humanised
# corpora, 7 of the 13 real repeats rose 10.2-16.6 dB, the 77 swells at most 8.6.
REATTACK_RISE_DB = 10.0
# ... and so is one that rises REATTACK_DIPPED_RISE_DB out of a dip REATTACK_DIP_DB below
# the note before (``PerformedNote.dip_db``): the sound stopped and started again. On the
# humanised, re-performed, repeated-note and held-out 8-9 takes (423 same-pitch touching
# pairs), tracker splits that rose 4 dB or more dipped at most 7.1 dB; 21 of the 47 repeats
# the rise alone joined dipped 8.2-17.8.
REATTACK_DIPPED_RISE_DB = 5.0
REATTACK_DIP_DB = 8.0
# A same-pitch note under DECAY_MAX_S that starts this much quieter than the note before
# (velocity: 3 a dB) and rises under DECAY_RISE_DB into it is that note's decay, whatever the
# voicing does: a clarinet's detached eighth whose release the tracker kept as a 0.15 s note
# 10-18 dB down (a song at 92 then read at 183, its eighths split into sixteenths). A longer
# one holds more than a release: a swung flute's missed F and the G after it (0.52 s).
DECAY_DROP_VELOCITY = 20
DECAY_RISE_DB = 2.0
DECAY_MAX_S = 0.25
SPLIT_WINDOW_S = 0.05
JITTER_S = 0.045                  # onset timing spread forgiven, as in beats.py
MISFIT_CAP = 3.0
DUPLE = ((Fraction(0), 0.0), (Fraction(1, 2), 0.4), (Fraction(1, 4), 1.2), (Fraction(3, 4), 1.2))
TRIPLE = ((Fraction(0), 0.0), (Fraction(1, 3), 0.4), (Fraction(2, 3), 0.4))
SIXTHS = ((Fraction(1, 6), 1.4), (Fraction(1, 2), 1.4), (Fraction(5, 6), 1.4))
TRIPLET_BEAT_COST = 1.5           # a triplet beat in simple meter must save this much misfit
COLLISION_COST = 2.0              # two onsets on one grid position: one of them is lost
LEGATO_GAP_BEATS = 0.5            # a shorter silence before the next note is articulation
END_BIAS_BEATS = 0.15             # ends lean later: articulation shortens notes
LAST_NOTE_FILL_BEATS = 1.0        # a final note this close to the bar line is held to it
DEFAULT_TEMPO_BPM = 100.0
# Swing: beats of a long-short pair (an onset on the beat and one after it) whose second
# onset sits near 2/3 of the beat, not 1/2. Written as straight eighths under a "Swing" mark.
SWING_RANGE = (0.58, 0.76)        # where a swung eighth falls (1/2: straight; 2/3: triplet swing)
# 60 % of the pairs' second onsets in that range: 40 ms of jitter at 144 bpm puts a third
# of swung eighths outside it (a re-performed swing tune had 0.67 there and lost its mark),
# while straight eighths put at most half of them inside (two six-pair tunes in all the corpora).
SWING_SHARE = 0.6
# Long-short pairs whose median second onset falls this late are dotted eighths and
# sixteenths (3/4 of the beat), not swing (2/3): a hornpipe's dotted figures at 0.75
# were written as swung eighths; swung tunes measure 0.64-0.70.
SWING_DOTTED = 0.72
SWING_MIN_PAIRS = 6
# Swung eighths at a ballad's tempo are a compound beat's quarter-eighth exactly, and the
# tracker reads them as 6/8 (a 4/4 ballad at 100 was written 6/8 in 17 bars). A compound
# beat this fast or faster is taken as a swung quarter where no onset falls near a third
# or a half of its beat (COMPOUND_DIVISIONS: a 6/8 tune's three eighths, short-long or
# dotted figure, as every jig of the corpora has somewhere) and the tune holds notes for
# two beats or more (SWING_HELD_NOTES before its last: a ballad's halves and whole notes;
# "When Johnny comes marching home", quarter-eighth on every beat, keeps moving). A
# barcarolle's slow beat (48) stays 6/8.
SWING_MIN_BEAT_BPM = 80.0
COMPOUND_DIVISIONS = (1 / 3, 1 / 2)
COMPOUND_DIVISION_TOLERANCE = 0.08  # beats
SWING_HELD_NOTES = 2
HELD_BEATS = 1.9
# A breath before a phrase (see _breaths): beats of context on each side, their tempo's
# largest change (log), the held span's length at most this many periods per tracked beat
# (and one beat less at least), the silence that marks a breath (periods), a note after it
# this far (beats) past a beat is the phrase's pickup, and how much better the meter must
# then fit, with and without that silence.
BREATH_CONTEXT = 3
BREATH_STEADY = 0.1
BREATH_SQUEEZED = 1.03
BREATH_SILENCE = 0.2
PICKUP_ON_BEAT = 0.25
BREATH_FIT = 0.3
BREATH_FIT_LEGATO = 0.55
# A breath is judged on the notes near it: up to BREATH_WINDOW_NOTES on each side, so a long
# take's breaths cost time in proportion to its length, not to its square (1800 notes: 17 of 34
# profiled seconds); in _breaths a silent one is also judged up to the next silence at least
# BREATH_PHRASE_NOTES (a phrase) after it.
BREATH_WINDOW_NOTES = 96
# Breaths judged together (see _breaths_together) may have the tempo change a little more across
# them: a tracker that gains a beat in a breath is often off the tempo around it (an arpeggio
# study's first breath, 0.103 apart, was passed over and its slip put at a held note before it).
BREATH_SLIP_STEADY = 0.15
BREATH_PHRASE_NOTES = 8
# A breath to mark (see breaths_taken): a beat this many times the beats around it, and this
# much longer (s). At 1.3 times, 13 marks fell where no breath was, in 112 takes.
BREATH_MARK_RATIO = 1.5
BREATH_MARK_S = 0.12
BREATH_MARK_CONTEXT = 4
# Passes of slip repair per piece, each repairing every slip the meter's phase finds (one at a
# time, three in all, left a long take whose singer slipped at every breath slipping after the third).
MAX_REPAIRS = 3
# Loudness: a note played louder than the same pitch elsewhere in the piece is a metric
# accent, LOUDNESS_ACCENT beats of length per LOUDNESS_SPREAD of velocity (softer ones the
# opposite), at most two spreads either way. Against the same pitch: an instrument's own
# loudness varies by key (a piano rendered at one velocity measured 66-92 by pitch, and its
# folk tune read 3/4); a player's downbeats are louder than the same note off the beat.
# Simple meters only: a 6/8 bar's two beats differ little in loudness, and a siciliano
# rendered at one velocity on violin and piano had its downbeat moved by the sound's own
# swells (bench/transcription_report.py: bar positions 1.00 -> 0.00).
LOUDNESS_ACCENT = 1.0
LOUDNESS_SPREAD = 9.0


def clean_notes(notes: Sequence[PerformedNote]) -> list[PerformedNote]:
    """Notes in time order with glide and onset artefacts merged into their neighbours.

    A note shorter than GLIDE_MAX_S that runs (within GLIDE_GAP_S) into a note within
    GLIDE_SEMITONES is that note's attack: the following note starts at its onset, unless
    the note belongs to a fast run (:func:`_in_run`). A note shorter than BLIP_S elsewhere
    is dropped. Overlapping notes are cut at the next onset.
    """
    ordered = sorted(notes, key=lambda n: n.onset)
    result: list[PerformedNote] = []
    carried: PerformedNote | None = None  # an attack merged into the next note: its onset and loudness
    for i, note in enumerate(ordered):
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        length = note.offset - note.onset
        if (following is not None and length < GLIDE_MAX_S and following.onset - note.offset < GLIDE_GAP_S
                and abs(following.midi - note.midi) <= GLIDE_SEMITONES and not _in_run(ordered, i)):
            carried = note if carried is None else carried
            continue
        if length < BLIP_S and carried is None and len(ordered) > 1:
            continue
        attack = carried if carried is not None else note
        carried = None
        result.append(PerformedNote(attack.onset, note.offset, note.midi, attack.velocity))
    if not result and ordered:
        longest = max(ordered, key=lambda n: n.offset - n.onset)
        result = [longest]
    for i in range(len(result) - 1):
        if result[i].offset > result[i + 1].onset:
            result[i] = replace(result[i], offset=max(result[i + 1].onset, result[i].onset + 1e-3))
    return result


def _in_run(ordered: Sequence[PerformedNote], i: int) -> bool:
    """Note ``i`` (short, with a following note) and a neighbour sounding less than
    RUN_SPACING_RATIO times GLIDE_MAX_S (a tracked sixteenth runs 87-122 ms at 150 bpm) are
    spaced alike: onset to next onset within RUN_SPACING_RATIO of each other."""
    spacing = ordered[i + 1].onset - ordered[i].onset
    for j in (i - 1, i + 1):
        if 0 <= j < len(ordered) - 1 and ordered[j].offset - ordered[j].onset < RUN_SPACING_RATIO * GLIDE_MAX_S:
            ratio = (ordered[j + 1].onset - ordered[j].onset) / max(spacing, 1e-3)
            if 1.0 / RUN_SPACING_RATIO <= ratio <= RUN_SPACING_RATIO:
                return True
    return False


def join_tracker_splits(notes: Sequence[PerformedNote], times_s: np.ndarray | Sequence[float],
                        voiced_prob: np.ndarray | Sequence[float]) -> list[PerformedNote]:
    """Notes with a pitch tracker's splits of one sustained note joined back into it.

    Two notes in a row at the same pitch are one when the silence between them is
    shorter than SPLIT_GAP_S and the frame-wise voicing probability (pYIN's, from the
    same analysis) stays at least SPLIT_VOICED within SPLIT_WINDOW_S of the boundary: a
    repeated note, even legato, is re-attacked, and its attack dips the voicing (0.01-0.33
    on the corpus's repeated notes, 0.99-1.0 across every split), unless the level rises
    REATTACK_RISE_DB into the second note (a detached repeat whose voicing held), or
    REATTACK_DIPPED_RISE_DB out of a dip REATTACK_DIP_DB below the first. A short second
    note DECAY_DROP_VELOCITY quieter that does not rise is the first's decay, joined however
    its voicing dips. Without frame data the notes are left as they are: a repeated note is
    not guessed away.

    Args:
        notes: performed notes in time order.
        times_s: frame times, shape (n,), increasing.
        voiced_prob: voicing probability per frame, shape (n,).
    """
    times = np.asarray(times_s, dtype=float)
    voiced = np.asarray(voiced_prob, dtype=float)
    if len(times) == 0 or len(times) != len(voiced):
        return list(notes)
    joined: list[PerformedNote] = []
    for note in notes:
        previous = joined[-1] if joined else None
        reattacked = note.rise_db is not None and (
            note.rise_db >= REATTACK_RISE_DB
            or (note.dip_db is not None and note.rise_db >= REATTACK_DIPPED_RISE_DB and note.dip_db >= REATTACK_DIP_DB))
        if (previous is not None and note.midi == previous.midi and note.onset - previous.offset < SPLIT_GAP_S
                and not reattacked):
            around = (times >= previous.offset - SPLIT_WINDOW_S) & (times <= note.onset + SPLIT_WINDOW_S)
            decay = (note.rise_db is not None and note.rise_db < DECAY_RISE_DB and note.offset - note.onset < DECAY_MAX_S
                     and previous.velocity - note.velocity >= DECAY_DROP_VELOCITY)
            if decay or (around.any() and float(voiced[around].min()) >= SPLIT_VOICED):
                joined[-1] = replace(previous, offset=max(note.offset, previous.offset))
                continue
        joined.append(note)
    return joined


def _grid_choice(fractions: np.ndarray, periods: np.ndarray, beat_of: np.ndarray, beats: int,
                 grid: Sequence[tuple[Fraction, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Each beat's cost on a grid (its onsets' misfits and collisions) and each onset's
    chosen place on it (an index into the grid and its next downbeat, 1).

    Args:
        fractions: each onset's place in its beat (fractions of the beat).
        periods: seconds per beat at each onset.
        beat_of: each onset's beat, an index in ``range(beats)``.
        beats: how many beats there are.
        grid: (place, cost) of each grid position.
    """
    places = np.array([float(g) for g, _ in grid] + [1.0])
    extras = np.array([extra for _, extra in grid] + [0.0])
    misfit = 0.5 * ((fractions[:, None] - places[None, :]) * periods[:, None] / JITTER_S) ** 2
    costs = np.minimum(misfit, MISFIT_CAP) + extras[None, :]
    chosen = np.argmin(costs, axis=1)
    # Summed onset by onset, as the beat's own loop would: the same floats, the same choices.
    total = np.bincount(beat_of, weights=costs[np.arange(len(chosen)), chosen], minlength=beats)
    members = np.bincount(beat_of, minlength=beats)
    distinct = np.bincount(np.unique(beat_of * len(places) + chosen) // len(places), minlength=beats)
    return total + COLLISION_COST * (members - distinct), chosen


def snap_onsets(positions: np.ndarray, periods: np.ndarray, *, compound: bool, triplets: bool = True
                ) -> list[Fraction]:
    """Onset positions (beats) snapped beat by beat to the simplest grid that explains them.

    All beats at once (a 3-minute take snaps its 600 onsets some 70 times while its beats
    are tracked and repaired).

    Args:
        positions: onsets in beats, increasing.
        periods: seconds per beat at each onset.
        compound: beats divide in three (sixteenths as sixths of the beat, at a cost).
        triplets: eighth triplets allowed in simple meter (over a whole beat).
    """
    positions = np.asarray(positions, dtype=float)
    periods = np.asarray(periods, dtype=float)
    # An onset a little before a beat belongs to that beat.
    owner = np.floor(positions + 0.12).astype(int)
    beats, beat_of = np.unique(owner, return_inverse=True)
    fractions = positions - owner
    grid = TRIPLE + SIXTHS if compound else DUPLE
    cost, chosen = _grid_choice(fractions, periods, beat_of, len(beats), grid)
    places = [g for g, _ in grid] + [Fraction(1)]
    snapped = [int(owner[i]) + places[k] for i, k in enumerate(chosen)]
    if not compound and triplets:
        triple_cost, triple_chosen = _grid_choice(fractions, periods, beat_of, len(beats), TRIPLE)
        in_triplets = (triple_cost + TRIPLET_BEAT_COST < cost) & (np.bincount(beat_of, minlength=len(beats)) >= 2)
        thirds = [g for g, _ in TRIPLE] + [Fraction(1)]
        for i in np.flatnonzero(in_triplets[beat_of]):
            snapped[i] = int(owner[i]) + thirds[triple_chosen[i]]
    return snapped


def _ends(starts: list[Fraction], performed_ends: np.ndarray, bar: int, downbeat: int) -> list[Fraction]:
    """Note ends in beats: to the next onset across articulation gaps; otherwise at the
    performed end snapped to half beats, on the beat where that is close."""
    ends: list[Fraction] = []
    for i, start in enumerate(starts):
        following = starts[i + 1] if i + 1 < len(starts) else None
        end_pos = float(performed_ends[i]) + END_BIAS_BEATS
        if following is None:
            # The final note ends at its bar line when it reaches nearly that far: the
            # closing ritardando and the release tail carry its sound past the bar line
            # (by up to a bar), which is no reason to write it longer.
            bar_line = downbeat + (math.floor(Fraction(start - downbeat) / bar) + 1) * bar
            if bar_line - LAST_NOTE_FILL_BEATS <= end_pos <= bar_line + bar:
                ends.append(Fraction(bar_line))
                continue
            end = Fraction(max(math.ceil(end_pos - 0.35), math.floor(start) + 1))
            bar_end = downbeat + math.ceil(Fraction(end - downbeat) / bar) * bar
            if bar_end - end <= LAST_NOTE_FILL_BEATS and end - start >= 1:
                end = Fraction(bar_end)
            ends.append(max(end, start + Fraction(1, 4)))
            continue
        if float(following) - end_pos < LEGATO_GAP_BEATS:
            ends.append(following)
            continue
        beat_end = Fraction(round(end_pos))
        end = beat_end if abs(end_pos - float(beat_end)) <= 0.3 else Fraction(round(end_pos * 2), 2)
        end = min(max(end, start + Fraction(1, 4)), following)
        if following - end < Fraction(1, 2) and following - end != 0 and end % 1:
            end = following  # no sliver of rest off the beat
        ends.append(end)
    return ends


def _single(notes: Sequence[PerformedNote], tempo_bpm: float | None, time_signature: str | None,
            triplets: bool) -> tuple[Rhythm, list[QuantisedNote]]:
    """One note (or a drone): a bar grid at the given or default tempo, the note from the first downbeat."""
    bpm = tempo_bpm or DEFAULT_TEMPO_BPM
    signature = time_signature or "4/4"
    compound = signature == "6/8"
    grid = Grid(compound=compound, triplets=triplets)
    beat_s = 60.0 / bpm * float(grid.quarters_per_beat)
    per_bar = {"2/4": 2, "3/4": 3, "6/8": 2}.get(signature, 4)
    rhythm = Rhythm(beat_s, grid, per_bar, notes[0].onset)
    result: list[QuantisedNote] = []
    for note in notes:
        start = Fraction(max(0, round(rhythm.seconds_to_quarters(note.onset) / float(grid.quarters_per_beat))))
        beats = max(1, round((note.offset - note.onset) / beat_s))
        if result and start * grid.quarters_per_beat < result[-1].start + result[-1].duration:
            start = (result[-1].start + result[-1].duration) / grid.quarters_per_beat
        result.append(QuantisedNote(start * grid.quarters_per_beat, beats * grid.quarters_per_beat, note.midi,
                                    note.velocity))
    return rhythm, result


def notate_rhythm(
    notes: Sequence[PerformedNote], *, tempo_bpm: float | None = None, time_signature: str | None = None,
    triplets: bool = True,
) -> tuple[Rhythm, list[QuantisedNote], list[PerformedNote]]:
    """Beats, meter and notated rhythm of performed notes.

    Args:
        notes: performed notes (any order; artefacts are merged here).
        tempo_bpm: quarter-note tempo to impose (the beats still follow the performance's phase).
        time_signature: "4/4", "3/4", "2/4" or "6/8" to impose.
        triplets: allow eighth triplets in simple meter.

    Returns:
        The rhythm (with its tempo curve), the quantised notes (quarters from the first
        full bar; a pickup is negative) and the cleaned performed notes they come from.

    Raises:
        ValueError: no notes, or an unsupported override.
    """
    if time_signature is not None and time_signature not in {"4/4", "3/4", "2/4", "6/8"}:
        raise ValueError(f"time signature {time_signature!r} is not one of 2/4, 3/4, 4/4, 6/8")
    if tempo_bpm is not None and not 20.0 <= tempo_bpm <= 400.0:
        raise ValueError(f"tempo {tempo_bpm} bpm is outside 20..400")
    cleaned = clean_notes(notes)
    if not cleaned:
        raise ValueError("no notes to notate")
    onsets = np.array([n.onset for n in cleaned])
    if len(cleaned) < 3 or onsets[-1] - onsets[0] < 0.3:
        rhythm, quantised = _single(cleaned, tempo_bpm, time_signature, triplets)
        return rhythm, quantised, cleaned
    following = np.append(onsets[1:], [cleaned[-1].offset])
    weights = 1.0 + np.sqrt(np.clip(following - onsets, 0.0, 2.0))
    compound = None if time_signature is None else time_signature == "6/8"
    track: BeatTrack = track_beats(onsets, weights=weights, tempo_bpm=tempo_bpm, compound=compound)
    slowed, ritardando_s = final_ritardando(track.beats_s, onsets, weights, track.compound)
    def swing_of(beats: np.ndarray) -> tuple[float | None, bool]:
        """The swing ratio of the onsets on these beats, and whether a compound track's beats are swung."""
        on_beats = positions_in_beats(onsets, beats)
        ratio = swing_ratio(on_beats)
        return ratio, bool(track.compound and time_signature is None and ratio is not None
                           and _swung_beats(on_beats, track.tempo_bpm))

    beats = _breaths(cleaned, _breaths_together(cleaned, slowed, track.compound, triplets, time_signature, track.sections_s),
                     track.compound, triplets, time_signature)
    ratio, swung = swing_of(beats)
    if not swung:  # a swung ballad's long-short pairs are no jig's figures to re-phase
        beats = _breath_shifts(cleaned, beats, track.compound, triplets, time_signature)
        ratio, swung = swing_of(beats)
    sections_s = track.sections_s
    compound_track = track = BeatTrack(beats, track.compound, sections_s)
    if swung:
        track = BeatTrack(beats, False, sections_s)
    swing = None if track.compound else ratio
    order, chosen, lengths, meter = _placed(cleaned, beats, track.compound, triplets, time_signature, swing)
    if swing is not None and meter.time_signature != "4/4":
        # Swing is decided only in bars of 2+2 beats: elsewhere long-short pairs are dotted
        # figures or a compound meter's, written as they are.
        swing, track = None, compound_track
        order, chosen, lengths, meter = _placed(cleaned, beats, track.compound, triplets, time_signature)
    in_threes = track.compound
    for regroup in (False, True):
        if regroup:
            # The beats are a 6/8's eighths (their bars' phase repaired first): grouped in
            # threes from the downbeat.
            if time_signature is not None or not divided_fast_triple([float(w) for w in order], BeatTrack(beats, False).tempo_bpm,
                                                                      meter):
                break
            beats, in_threes, swing = every_third(beats, meter.downbeat, onsets), True, None
            order, chosen, lengths, meter = _placed(cleaned, beats, in_threes, triplets, time_signature)
        # A downbeat that moves for good is a beat the tracker gained or lost: repaired there.
        for _ in range(MAX_REPAIRS):
            changes = phase_changes([float(w) for w in order], lengths, [cleaned[i].midi for i in chosen], meter)
            repaired = beats
            for at_beat, shift in reversed(changes):  # the later first: the earlier beats stay where they were
                repaired = repair_slip(repaired, onsets, at_beat, shift, meter.beats_per_bar, in_threes)
            if repaired is beats:
                break
            beats = repaired
            order, chosen, lengths, meter = _placed(cleaned, beats, in_threes, triplets, time_signature, swing)
    track = BeatTrack(beats, in_threes)
    # The downbeat at or before the first note's bar; beats before index 0 do not exist, so
    # the first downbeat is the meter's phase taken to the bar containing the first onset.
    first_bar = math.floor((order[0] - meter.downbeat) / meter.beats_per_bar)
    downbeat = meter.downbeat + first_bar * meter.beats_per_bar
    performed_ends = positions_in_beats([cleaned[i].offset for i in chosen], beats)
    ends = _ends(order, performed_ends, meter.beats_per_bar, downbeat)
    grid = Grid(compound=track.compound, triplets=triplets)
    per_beat = grid.quarters_per_beat
    # Positions from the first full bar: a note before it (a pickup) is negative.
    full_bar = downbeat if order[0] == downbeat else downbeat + meter.beats_per_bar
    if order[0] != downbeat and order[0] - downbeat < meter.beats_per_bar / 2:
        full_bar = downbeat  # a late first note in its bar, not a pickup: rests before it
    chosen_onsets = [cleaned[i].onset for i in chosen]
    breaths = breaths_taken(chosen_onsets, [float(w) for w in order], beats)
    quantised = [QuantisedNote((start - full_bar) * per_beat, (end - start) * per_beat, cleaned[i].midi,
                               cleaned[i].velocity, breath_after=k in breaths)
                 for k, (start, end, i) in enumerate(zip(order, ends, chosen, strict=True))]
    beat_times = _with_index(beats, full_bar)
    main = _main_section(chosen_onsets, sections_s, ritardando_s)
    played = main_tempo_bpm([chosen_onsets[k] for k in main], [float(order[k]) for k in main])
    beat_s = (60.0 / tempo_bpm * float(per_beat) if tempo_bpm is not None
              else 60.0 / (played or track.tempo_bpm))
    rhythm = Rhythm(beat_s, grid, meter.beats_per_bar, float(beat_times[0][full_bar - beat_times[1]]),
                    tuple(float(b) for b in beat_times[0]), full_bar - beat_times[1], swing=swing is not None)
    return rhythm, quantised, cleaned


def breaths_taken(onsets_s: Sequence[float], positions: Sequence[float], beats: np.ndarray) -> set[int]:
    """Indices of the notes after which the performer took a breath: a beat BREATH_MARK_RATIO
    times as long as the median of the BREATH_MARK_CONTEXT beats on either side, and
    BREATH_MARK_S longer, holds the pause (the piece's last beats, which a final note's
    release and ritardando stretch, excepted); the breath follows the note, of those sounding
    in that beat, that took the most time beyond its notated length at the beats' tempo around.

    Args:
        onsets_s: the notated notes' onsets (s), in order.
        positions: their positions in beats.
        beats: beat times (s).
    """
    onsets = np.asarray(onsets_s, dtype=float)
    where = np.asarray(positions, dtype=float)
    periods = np.diff(beats)
    taken: set[int] = set()
    if onsets.size < 2:
        return taken
    for k in range(BREATH_MARK_CONTEXT, len(periods) - BREATH_MARK_CONTEXT):
        if beats[k + 1] > onsets[-1]:
            break
        around = float(np.median(np.concatenate([periods[k - BREATH_MARK_CONTEXT:k],
                                                 periods[k + 1:k + 1 + BREATH_MARK_CONTEXT]])))
        if periods[k] < BREATH_MARK_RATIO * around or periods[k] - around < BREATH_MARK_S:
            continue
        gaps = [j for j in range(len(onsets) - 1) if onsets[j] < beats[k + 1] and onsets[j + 1] > beats[k]]
        if gaps:
            taken.add(max(gaps, key=lambda j: onsets[j + 1] - onsets[j] - (where[j + 1] - where[j]) * around))
    return taken


def _main_section(onsets: Sequence[float], sections_s: Sequence[float], ritardando_s: float | None = None
                  ) -> list[int]:
    """Indices of the onsets whose tempo is the piece's main one, where it is played in
    sections of different tempi (``sections_s``: where each after the first starts): the
    first section's, as a reader marks the opening tempo, unless a later one holds more than
    twice as many notes (the first was an introduction); all of them for one tempo. Not
    those of a final ritardando from ``ritardando_s`` on: it is written "rit.", not measured."""
    times = np.asarray(onsets, dtype=float)
    section = np.searchsorted(np.asarray(sections_s, dtype=float), times, side="right")
    counts = np.bincount(section, minlength=len(sections_s) + 1)
    chosen = int(np.argmax(counts)) if counts.max() > 2 * counts[0] else 0
    kept = (section == chosen) & (times < (np.inf if ritardando_s is None else ritardando_s))
    return np.flatnonzero(kept if kept.any() else section == chosen).tolist()


def swing_ratio(positions: np.ndarray) -> float | None:
    """Where a swung second eighth falls in its beat (e.g. 0.67), or None for straight
    eighths: from the beats holding exactly an on-beat onset and one more (a long-short
    pair), when at least SWING_SHARE of those second onsets lie in SWING_RANGE and their
    median is not a dotted figure's (SWING_DOTTED).

    A jig's quarter-eighth is long-short too, but it is found as a compound beat, whose
    thirds are written as they are; this is asked of simple (quarter) beats only.
    """
    owner = np.floor(positions + 0.12).astype(int)
    seconds = []
    for beat in np.unique(owner):
        inside = positions[owner == beat] - beat
        if len(inside) == 2 and abs(inside[0]) < 0.12 and 0.3 < inside[1] < 0.9:
            seconds.append(float(inside[1]))
    if len(seconds) < SWING_MIN_PAIRS:
        return None
    swung = [f for f in seconds if SWING_RANGE[0] <= f <= SWING_RANGE[1]]
    if float(np.median(seconds)) >= SWING_DOTTED:
        return None
    return float(np.median(swung)) if len(swung) >= SWING_SHARE * len(seconds) else None


def _swung_beats(positions: np.ndarray, beat_bpm: float) -> bool:
    """Whether compound beats at ``beat_bpm`` whose long-short pairs swing_ratio finds swung
    are swung quarters (see SWING_MIN_BEAT_BPM). The first and last onsets do not count: the
    beats are extrapolated before the first and drift through a final hold (a ballad's
    opening note measured 0.28 of its beat)."""
    within = (positions - np.floor(positions))[1:-1]
    divided = any(np.any(np.abs(within - d) < COMPOUND_DIVISION_TOLERANCE) for d in COMPOUND_DIVISIONS)
    held = int(np.sum(np.diff(positions) >= HELD_BEATS))
    return beat_bpm >= SWING_MIN_BEAT_BPM and not divided and held >= SWING_HELD_NOTES


def straightened(positions: np.ndarray, ratio: float) -> np.ndarray:
    """Positions (beats) with each beat's swung point ``ratio`` moved to its half, the
    rest of the beat stretched linearly on either side."""
    whole = np.floor(positions + 0.12)
    within = positions - whole
    early = within <= ratio
    return whole + np.where(early, within * 0.5 / ratio, 0.5 + (within - ratio) * 0.5 / (1.0 - ratio))


Placement = tuple[list[Fraction], list[int], list[float], Meter, float]


def _scored_placement(cleaned: Sequence[PerformedNote], beats: np.ndarray, compound: bool, triplets: bool,
                      time_signature: str | None, swing: float | None = None) -> Placement:
    """As :func:`_placed`, and the meter's score (``meter.meter_scores``)."""
    onsets = np.array([n.onset for n in cleaned])
    positions = positions_in_beats(onsets, beats)
    if swing is not None:
        positions = straightened(positions, swing)
    periods = np.interp(positions, np.arange(len(beats) - 1) + 0.5, np.diff(beats))
    snapped = snap_onsets(positions, periods, compound=compound, triplets=triplets)
    # Onsets that snapped onto an earlier one's place: the longer note keeps it.
    kept: dict[Fraction, int] = {}
    for i, where in enumerate(snapped):
        if where not in kept or cleaned[i].offset - cleaned[i].onset > cleaned[kept[where]].offset - cleaned[kept[where]].onset:
            kept[where] = i
    order = sorted(kept)
    chosen = [kept[w] for w in order]
    lengths = [float(order[k + 1] - order[k]) for k in range(len(order) - 1)]
    lengths.append(float(positions_in_beats([cleaned[chosen[-1]].offset], beats)[0]) - float(order[-1]))
    scored = meter_scores([float(w) for w in order], lengths, [cleaned[i].midi for i in chosen],
                          compound=compound, time_signature=time_signature,
                          accents=None if compound else _loudness_accents([cleaned[i] for i in chosen]))
    if not scored:
        raise ValueError(f"time signature {time_signature!r} does not fit a {'compound' if compound else 'simple'} beat")
    return order, chosen, lengths, scored[0][1], scored[0][0]


def _placed(cleaned: Sequence[PerformedNote], beats: np.ndarray, compound: bool, triplets: bool,
            time_signature: str | None, swing: float | None = None
            ) -> tuple[list[Fraction], list[int], list[float], Meter]:
    """Onsets snapped on the beats (straightened where ``swing`` gives the swung eighth's
    place): (positions in beats, index of the note at each, lengths to the next onset in
    beats, the meter)."""
    return _scored_placement(cleaned, beats, compound, triplets, time_signature, swing)[:4]


def _breaths(cleaned: Sequence[PerformedNote], beats: np.ndarray, compound: bool, triplets: bool,
             time_signature: str | None) -> np.ndarray:
    """Beats without those the tracker squeezed into a breath: where a singer takes time
    before a phrase, the held note and the pause last half a beat or more longer than
    written, and the tracker gives them a beat more, shifting the bars after. The beat is
    dropped (the tempo kept through the held note, the breath taking the rest of the span)
    where the tempo is the same on both sides, the span's beats are squeezed, and the bars'
    accents then fit the meter clearly better (by BREATH_FIT after a silence,
    BREATH_FIT_LEGATO where the note is held up to the next one), the next note starts a
    phrase, and the bars before and after it, which disagreed by the beat, now agree: it is
    the meter that tells a breath from a held note. Short phrases may each fit the meter
    poorly on their own (a waltz's four bars and a pickup read 4/4 after its breath): after
    a silence, a fit better by twice BREATH_FIT drops the beat though they do not agree.
    Each breath is judged on the notes near it (:func:`_breath_window`).
    """
    onsets = np.array([n.onset for n in cleaned])
    silences = onsets[1:] - np.array([n.offset for n in cleaned[:-1]])  # before each note but the first
    whole: Placement | None = None  # all notes placed on the beats as they are, once needed
    beat_s = float(np.median(np.diff(beats)))
    for i in range(1, len(cleaned)):
        found = _squeezed(beats, onsets, i, after_silence=bool(silences[i - 1] >= BREATH_SILENCE * beat_s))
        if found is None:
            continue
        period = found[2]
        candidate = _without_beat(beats, *found)
        start, end = _breath_window(len(cleaned), i)
        silent = silences[i - 1] >= BREATH_SILENCE * period
        everything = end - start == len(cleaned)
        if everything:
            whole = whole or _scored_placement(cleaned, beats, compound, triplets, time_signature)
        moved = _breath_fits(cleaned[start:end], i - start, beats, candidate, silent, whole if everything else None,
                             compound, triplets, time_signature)
        if moved is not None:
            beats, whole = candidate, moved if everything else None
        elif silent and i - start >= BREATH_PHRASE_NOTES:
            # Judged again up to the next silence a phrase on: the breaths after it, not judged yet,
            # shifted the bars there (a take breathing before every phrase read 3/4 as 4/4). Not
            # instead: a waltz's phrases are too short to agree alone.
            phrase_end = next((k for k in range(i + BREATH_PHRASE_NOTES, end)
                               if silences[k - 1] >= BREATH_SILENCE * period), end)
            if phrase_end < end and _breath_fits(cleaned[start:phrase_end], i - start, beats, candidate, silent,
                                                 None, compound, triplets, time_signature) is not None:
                beats, whole = candidate, None
    return beats


def _breaths_together(cleaned: Sequence[PerformedNote], beats: np.ndarray, compound: bool, triplets: bool,
                      time_signature: str | None, sections_s: Sequence[float]) -> np.ndarray:
    """Beats without those the tracker squeezed into breaths, judged all at once
    (:func:`meter.breath_slips`) before each is judged on its own (:func:`_breaths`): in a take
    longer than a breath's window, where each breath's window holds others not judged yet (a
    singer breathing before every phrase, the tracker gaining a beat at each), no one breath
    taken out alone puts the bars in order. The slips are dropped where the whole take then fits
    its meter better. Not on a 6/8's eighths: bars of three of them are half bars."""
    if len(cleaned) <= BREATH_WINDOW_NOTES:
        return beats
    onsets = np.array([n.onset for n in cleaned])
    spans = [found for i in range(1, len(cleaned))
             if (found := _squeezed(beats, onsets, i, BREATH_SLIP_STEADY)) is not None]
    if not spans:
        return beats
    order, chosen, lengths, meter, fit = _scored_placement(cleaned, beats, compound, triplets, time_signature)
    positions = [float(w) for w in order]
    if time_signature is None and divided_fast_triple(positions, BeatTrack(beats, False).tempo_bpm, meter):
        return beats
    slips = set(breath_slips(positions, lengths, [cleaned[i].midi for i in chosen], meter,
                             [last for _, last, _ in spans], [int(np.searchsorted(beats, t)) for t in sections_s]))
    dropped = beats
    for span in reversed(spans):  # the later first: the earlier beats keep their indices
        if span[1] in slips:
            dropped = _without_beat(dropped, *span)
    if dropped is beats or _scored_placement(cleaned, dropped, compound, triplets, time_signature)[4] <= fit:
        return beats
    return dropped


def _without_beat(beats: np.ndarray, first: int, last: int, period: float) -> np.ndarray:
    """The beats with one fewer between ``first`` and ``last``: the tempo kept from ``first`` on, the
    breath taking the rest of the span."""
    return np.concatenate([beats[:first], beats[first] + period * np.arange(last - first - 1), beats[last:]])


def _squeezed(beats: np.ndarray, onsets: np.ndarray, i: int, steady: float = BREATH_STEADY, *,
              after_silence: bool = False) -> tuple[int, int, float] | None:
    """The beats (first, last, period) from note ``i - 1`` to note ``i`` where the tracker may have
    squeezed one into a breath: two or more, the tempo steady around them and the span as long
    as one beat fewer, or None. ``after_silence``: note ``i`` follows a silence, and where it
    stands PICKUP_ON_BEAT or more past a beat it is a phrase's pickup, whose span runs to the
    beat it leads to (a jig breathing before its eighth pickup had its gained beat there, and
    the pickup halfway between two beats counted the span from the one before)."""
    first, last = (int(np.argmin(np.abs(beats - t))) for t in onsets[i - 1:i + 1])
    if after_silence:  # a phrase's pickup after a breath: the span runs to the beat it leads to
        last = max(last, math.ceil(float(np.interp(onsets[i], beats, np.arange(len(beats)))) - PICKUP_ON_BEAT))
    span = last - first
    if span < 2 or first < BREATH_CONTEXT or last + BREATH_CONTEXT >= len(beats):
        return None
    before = float(np.median(np.diff(beats[first - BREATH_CONTEXT:first + 1])))
    after = float(np.median(np.diff(beats[last:last + BREATH_CONTEXT + 1])))
    period = math.sqrt(before * after)
    held = (beats[last] - beats[first]) / period
    if abs(math.log(before / after)) > steady or not span - 1 <= held <= BREATH_SQUEEZED * span:
        return None
    return first, last, period


def _breath_fits(notes: Sequence[PerformedNote], at: int, beats: np.ndarray, candidate: np.ndarray, silent: bool,
                 placement: Placement | None, compound: bool, triplets: bool, time_signature: str | None
                 ) -> Placement | None:
    """The placement of ``notes`` on the ``candidate`` beats (one dropped before note ``at``) where
    that is a breath (see :func:`_breaths`), else None; ``placement``: theirs on ``beats``, if known."""
    placement = placement or _scored_placement(notes, beats, compound, triplets, time_signature)
    moved = _scored_placement(notes, candidate, compound, triplets, time_signature)
    order, chosen, _, meter, candidate_fit = moved
    fit = placement[4]
    if at not in chosen or at not in placement[1] or not _phrase_start(order, chosen.index(at), meter) \
            or candidate_fit <= fit + (BREATH_FIT if silent else BREATH_FIT_LEGATO) \
            or _bars_agree(notes, placement, at, compound):
        return None
    if not _bars_agree(notes, moved, at, compound) and not (silent and candidate_fit > fit + 2 * BREATH_FIT):
        return None
    return moved


def _breath_window(count: int, i: int) -> tuple[int, int]:
    """The notes (first, end) that judge a breath before note ``i`` of ``count``: BREATH_WINDOW_NOTES each side."""
    return max(0, i - BREATH_WINDOW_NOTES), min(count, i + BREATH_WINDOW_NOTES)


# A breath of part of a beat (see _breath_shifts): the time it may take, in beats (a
# sixteenth grid in simple meter, a 6/8's sixteenths and eighths, up to a beat and a half
# or a beat and a third), at most BREATH_MOST_S (a breath is 0.15-0.45 s, but the tracker
# may have put the phrase before it two eighths off, 0.5 s at dotted quarter = 120),
# where the notation cost of all onsets falls by BREATH_GAIN (a jig's phrase an eighth off
# its beats gained 1.45-1.81; a reel's closing notes, the false gain seen, 1.34). A time
# within ON_BEAT beats of a beat is on it. In 6/8 the cost also counts LONG_OFF_BEAT per beat
# of a note's length (up to a beat) starting off the beat: a jig's quarter-eighth and
# eighth-quarter figures notate alike, but its long notes are on the beats.
BREATH_SHIFTS_SIMPLE = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
BREATH_SHIFTS_COMPOUND = (1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6, 1.0, 4 / 3)
BREATH_MOST_S = 0.6
BREATH_GAIN = 1.4
ON_BEAT = 0.05
LONG_OFF_BEAT = 1.0
OFF_BEAT = 0.1  # beats from the nearest beat


def _breath_shifts(cleaned: Sequence[PerformedNote], beats: np.ndarray, compound: bool, triplets: bool,
                   time_signature: str | None) -> np.ndarray:
    """Beats with part of a beat given to a breath: where a player pauses before a phrase for
    less than a beat, one phase of the beats cannot fit both phrases, and the tracker kept
    the one that fits the longer stretch (a jig's first phrase was put on its eighths, the
    quarter-eighth figures written eighth-quarter a beat late). At each note held a beat or
    more into the next (phrase ends), with three notes on either side, the beats after it
    (or before it) move by each step the breath may take, and the move that notates all
    onsets most simply (in 6/8 with its long notes on the beats: :func:`_shift_cost`), by
    BREATH_GAIN, is kept. A whole beat moves here too where the notation cost alone says so
    (a beat left empty in the pause); a beat the meter decides on is :func:`_breaths`' part.
    Each move is judged on the onsets near it (:func:`_breath_window`).
    """
    onsets = np.array([n.onset for n in cleaned])
    shifts = BREATH_SHIFTS_COMPOUND if compound else BREATH_SHIFTS_SIMPLE
    for i in range(BREATH_CONTEXT, len(cleaned) - BREATH_CONTEXT):
        after = np.searchsorted(beats, onsets[i] - 1e-6)
        if after < 1 or after + BREATH_CONTEXT >= len(beats):
            continue
        period = float(np.median(np.diff(beats[after:after + BREATH_CONTEXT + 1])))
        if onsets[i] - onsets[i - 1] < period:
            continue
        near = onsets[slice(*_breath_window(len(onsets), i))]
        cost = _shift_cost(near, beats, compound)
        best = None
        for shift in shifts:
            if shift * period > BREATH_MOST_S:
                break
            for how in (shifted_after, shifted_before):
                candidate = how(beats, onsets[i - 1], onsets[i], shift)
                if candidate is None:
                    continue
                candidate_cost = _shift_cost(near, candidate, compound)
                if candidate_cost < cost - BREATH_GAIN and (best is None or candidate_cost < best[1]):
                    best = (candidate, candidate_cost)
        if best is not None:
            beats = best[0]
    return beats


def _shift_cost(onsets: np.ndarray, beats: np.ndarray, compound: bool) -> float:
    """The notation cost of all onsets on ``beats``, and in compound meter LONG_OFF_BEAT per beat
    of the notes' lengths (to the next onset, at most a beat) that start off the beat."""
    cost = notation_cost(onsets, beats, compound) * len(onsets)
    if not compound:  # in simple meter it re-phased a swing tune's and a waltz's beats wrongly
        return cost
    positions = positions_in_beats(onsets, beats)
    lengths = np.minimum(np.diff(positions, append=positions[-1] + 1.0), 1.0)
    off_beat = np.abs(positions - np.round(positions)) > OFF_BEAT
    return cost + LONG_OFF_BEAT * float(lengths[off_beat].sum())


def shifted_after(beats: np.ndarray, start_s: float, end_s: float, shift: float) -> np.ndarray | None:
    """Beats that put ``end_s`` and all after it ``shift`` beats earlier, ``start_s`` and all
    before it where they were (a time on a beat stays on it), the beats between spaced
    evenly; None when that leaves ``end_s`` no later than ``start_s``."""
    index = np.arange(len(beats), dtype=float)
    first, last = np.interp([start_s, end_s], beats, index)
    target = last - shift
    if target <= first or last >= len(beats) - 1:
        return None
    f, k0 = math.floor(first + ON_BEAT), math.floor(target + ON_BEAT)
    moved = np.interp(np.arange(max(k0, f) + 1, len(beats) - 1 - shift + 1e-9) + shift, index, beats)
    if k0 <= f:
        result = np.concatenate([beats[:f + 1], moved])
    else:
        at_k0 = end_s - (target - k0) * (moved[0] - end_s) / (k0 + 1 - target)
        between = np.linspace(beats[f + 1], at_k0, max(1, k0 - f - 1), endpoint=False)[1:]
        result = np.concatenate([beats[:min(f + 2, k0)], between, [at_k0], moved])
    if result[-1] < beats[-1]:  # still a beat past the last note
        result = np.append(result, 2 * result[-1] - result[-2])
    return result if np.all(np.diff(result) > 0) else None


def shifted_before(beats: np.ndarray, start_s: float, end_s: float, shift: float) -> np.ndarray | None:
    """As :func:`shifted_after`, but ``start_s`` and all before it come ``shift`` beats later
    and ``end_s`` and all after it stay where they were."""
    index = np.arange(len(beats) + 1, dtype=float) - shift
    periods = np.diff(beats)
    extended = np.concatenate([[beats[0] - periods[0]], beats, [beats[-1] + periods[-1]]])
    moved = np.interp(index, np.arange(-1.0, len(beats) + 1), extended)
    return shifted_after(moved, start_s, end_s, shift)


def _bars_agree(cleaned: Sequence[PerformedNote], placement: Placement, i: int, compound: bool) -> bool:
    """Whether the notes before note ``i`` and from it on, each on their own, put their
    downbeats in the same place (``placement`` as :func:`_scored_placement` returns it)."""
    order, chosen, lengths, meter = placement[:4]
    k = chosen.index(i)
    if k == 0:  # nothing before it
        return True
    pos, pitches = [float(w) for w in order], [cleaned[j].midi for j in chosen]
    accents = None if compound else _loudness_accents([cleaned[j] for j in chosen])
    phases = set()
    for part in (slice(0, k), slice(k, None)):
        found = choose_meter(pos[part], lengths[part], pitches[part], compound=compound, time_signature=meter.time_signature,
                             accents=None if accents is None else accents[part])
        phases.add(found.downbeat % meter.beats_per_bar)
    return len(phases) == 1


def _phrase_start(positions: Sequence[Fraction], k: int, meter: Meter) -> bool:
    """Whether the ``k``-th note starts where a phrase does: on a downbeat, or where the
    piece's first note stands in its bar (the opening pickup again)."""
    in_bar = [(positions[j] - meter.downbeat) % meter.beats_per_bar for j in (0, k)]
    return in_bar[1] in (0, in_bar[0])


def _loudness_accents(notes: Sequence[PerformedNote]) -> list[float] | None:
    """Each note's accent from its velocity against its pitch's median (see LOUDNESS_ACCENT);
    None when all velocities are equal."""
    v = np.array([n.velocity for n in notes], dtype=float)
    if np.ptp(v) == 0:
        return None
    pitches = np.array([n.midi for n in notes])
    typical = np.empty_like(v)
    for pitch in np.unique(pitches):  # once per pitch: a long recording holds tens of thousands of notes
        typical[pitches == pitch] = np.median(v[pitches == pitch])
    return (LOUDNESS_ACCENT * np.clip((v - typical) / LOUDNESS_SPREAD, -2.0, 2.0)).tolist()


def repair_slip(beats: np.ndarray, onsets: np.ndarray, at_beat: int, shift: int, per_bar: int, compound: bool
                ) -> np.ndarray:
    """Beats with the slip before ``at_beat`` undone: ``shift`` beats removed (the downbeat
    came ``shift`` beats late) or ``per_bar - shift`` added, whichever is fewer, or one beat
    removed or added: each in the bar where the onsets then notate most simply, that bar's
    beats evenly re-spaced, and of those the one whose tempo then runs most smoothly
    (``beats.irregularity``). The shift is read from accents, which know the downbeat only
    roughly: a tracker that gained a beat in a breath left a 4/4 folk song's accents reading 3/4,
    and the slip as a beat lost; adding one made a bar a third faster and the slip half a bar. The
    tempo knows better: a breath lengthens a beat, and no player rushes a bar by a third. No
    window may fill more beats with triplets than before (a hornpipe whose opening bars' accents
    put the downbeat a beat late had a beat added where none was lost, its four sixteenths
    and a quarter written as two beats of triplets, priced as free as written triplets);
    the same ``beats`` when none is left.

    Args:
        beats: beat times (s), increasing.
        onsets: note onsets (s).
        at_beat: index of the first beat of the new phase (see ``meter.phase_changes``).
        shift: the downbeat's move in beats (1..per_bar-1).
        per_bar: beats per bar.
        compound: beats divide in three.
    """
    triplets = None if compound else triplet_beats(onsets, beats)
    repairs: list[tuple[float, np.ndarray]] = []
    for remove in sorted({shift if shift <= per_bar - shift else -(per_bar - shift), 1, -1}, reverse=True):
        span = per_bar + remove  # intervals now in the window that become per_bar
        best: tuple[float, np.ndarray] | None = None
        for start in range(max(0, at_beat - 2 * per_bar - span), min(len(beats) - span - 1, at_beat + 1) + 1):
            window = np.linspace(beats[start], beats[start + span], per_bar + 1)
            candidate = np.concatenate([beats[:start], window, beats[start + span + 1:]])
            if triplets is not None and triplet_beats(onsets, candidate) > triplets:
                continue  # a slip repaired spreads no notes into triplets
            cost = notation_cost(onsets, candidate, compound)
            if best is None or cost < best[0]:
                best = (cost, candidate)
        if best is not None:
            repairs.append((irregularity(best[1], -np.inf, np.inf), best[1]))
    return beats if not repairs else min(repairs, key=lambda repair: repair[0])[1]


def _with_index(beats: np.ndarray, needed: int) -> tuple[np.ndarray, int]:
    """Beats extended backwards so that index ``needed`` exists; (beats, index shift)."""
    if needed >= 0:
        return beats, 0
    period = beats[1] - beats[0]
    head = beats[0] - period * np.arange(-needed, 0, -1)
    return np.concatenate([head, beats]), needed
