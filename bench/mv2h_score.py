"""MV2H (McLeod & Steedman, "Evaluating automatic polyphonic music transcription", ISMIR
2018) of a notated performance against its written truth.

The multi-pitch, voice and note-value parts are pyMV2H's (a pure-Python port of the
authors' Java reference, on PyPI; the reference itself is not on any registry here). Its
meter and harmony parts depart from the reference, so those two are written here from the
reference's definitions: its meter counts a level's groupings only when the first tatum
starts one (after a pickup of half a beat, no beats and no bars at all), and it compares
the transcription's keys with themselves.

MV2H scores five parts from 0 to 1 and their mean: multi-pitch (notes of the right pitch
starting within 50 ms), voice, meter (the bars, beats and sub-beats as spans of time, each
end within 50 ms), note value (matched notes' written lengths, as time, within 100 ms) and
harmony (the key). Unlike the report's own accuracy it gives credit in part: 2/4 read as
4/4 keeps its beats and sub-beats and loses only its bars; a tempo read at double keeps the
beats it shares.

Both sides are put in the performance's time: the truth's notes at their written positions
mapped through the performed beats (``Performance.beat_times_s``), the score's where
``score.json`` puts them (its positions mapped through the tracked beats). A note's onset is
its value's onset on both sides, not the jittered time it was played at: the score's notes
have no other, and pyMV2H links a voice's notes by their onset and value offset where the
reference takes both value times (the two agree when they are one). Tatums are sixteenths: a bar
of 6/8 is 2 beats of 3 eighths of 2 sixteenths. Modes map to the major or minor key on
their tonic (MV2H knows only these two): dorian, phrygian, aeolian and locrian to minor;
lydian and mixolydian to major.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from pyMV2H.metrics.multi_pitch import multi_pitch_accuracy
from pyMV2H.metrics.note_value import note_value_score
from pyMV2H.metrics.voice import voice_score
from pyMV2H.utils.music import Music
from pyMV2H.utils.pojos import HIERARCHY, NOTE, TATUM
from transcription_report import key_relation

TATUM_QUARTERS = 0.25
GROUPING_MS = 50   # as the reference: a grouping's ends this close match
BEAT_SNAP = 0.15  # a tracked beat this close (beats) to a beat of the notes' grid is that beat
MINOR_MODES = ("minor", "dorian", "phrygian", "aeolian", "locrian")
# The reference's key score: 1 right, 0.5 the same mode a fifth away, 0.3 the relative key,
# 0.2 the parallel one, else 0.
KEY_SCORES = {"ok": 1.0, "enharmonic": 1.0, "dominant": 0.5, "subdominant": 0.5, "relative": 0.3, "parallel": 0.2}
PARTS = ("multi_pitch", "voice", "meter", "note_value", "harmony", "mv2h")


def _ms(seconds: float) -> int:
    return int(round(1000.0 * seconds))


def _hierarchy(time_signature: str, anacrusis_quarters: float = 0.0) -> HIERARCHY:
    """Bars of beats of sub-beats of sixteenth tatums, the pickup in tatums."""
    numerator, denominator = map(int, time_signature.split("/"))
    compound = denominator == 8 and numerator % 3 == 0
    beats, sub_beats = (numerator // 3, 3) if compound else (numerator, 2)
    # A sub-beat is half a simple beat (an eighth in x/4: 8 / denominator sixteenths) or a
    # compound beat's third (an eighth in 6/8: 16 / denominator).
    sixteenths = (16 if compound else 8) // denominator
    pickup = int(round(anacrusis_quarters / TATUM_QUARTERS))
    return HIERARCHY(beats, sub_beats, sixteenths, pickup, 0)


def _major_or_minor(name: str) -> str:
    tonic, mode = name.split(" ", 1)
    return f"{tonic} {'minor' if mode.strip().lower() in MINOR_MODES else 'major'}"


def _tatums(first: float, last: float, to_seconds: Any) -> list[TATUM]:
    positions = np.arange(first, last + 1e-9, TATUM_QUARTERS)
    return [TATUM(_ms(t)) for t in to_seconds(positions)]


def _linear_map(positions: Sequence[float], times: Sequence[float]) -> Any:
    """Quarters -> seconds, linear between the given points and at the end slopes beyond them."""
    pos, index = np.unique(np.asarray(positions, dtype=float), return_index=True)
    at = np.asarray(times, dtype=float)[index]

    def to_seconds(q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        inside = np.interp(q, pos, at)
        if len(pos) < 2:
            return inside
        first = (at[1] - at[0]) / (pos[1] - pos[0])
        last = (at[-1] - at[-2]) / (pos[-1] - pos[-2])
        inside = np.where(q < pos[0], at[0] + (q - pos[0]) * first, inside)
        return np.where(q > pos[-1], at[-1] + (q - pos[-1]) * last, inside)

    return to_seconds


def truth_music(performance: Any) -> Music:
    """The written melody as played: ``performance`` is a ``humanised.Performance``."""
    melody = performance.melody
    pickup = float(Fraction(melody.pickup_quarters).limit_denominator(48))
    if performance.beat_times_s:
        first_beat = np.ceil(-pickup / melody.beat_quarters - 1e-9) * melody.beat_quarters
        beats = first_beat + melody.beat_quarters * np.arange(len(performance.beat_times_s))
        to_seconds = _linear_map(beats, performance.beat_times_s)
    else:  # played exactly as written: the onsets are the written positions' times
        to_seconds = _linear_map([float(n.start) for n in performance.truth], [n.onset_s for n in performance.truth])
    notes = [NOTE(n.midi, _ms(float(to_seconds(float(n.start)))), _ms(float(to_seconds(float(n.start)))),
                  _ms(float(to_seconds(float(n.start + n.duration)))), 0) for n in performance.truth]
    end = max(float(n.start + n.duration) for n in performance.truth)
    return Music(_tatums(-pickup, end, to_seconds), [], notes, [_hierarchy(melody.time_signature, pickup)])


def found_music(summary: dict[str, Any]) -> Music:
    """A ``score.json`` document's notes, meter and key."""
    found = summary["notes"]
    starts = [n["start_quarters"] for n in found]
    ends = [n["start_quarters"] + n["duration_quarters"] for n in found]
    positions = starts + ends
    times = [n["onset_s"] for n in found] + [n["offset_s"] for n in found]
    # The tracked beats inside long notes and rests, placed by the notes' times.
    signature = summary["time_signature"]
    level = _hierarchy(signature)
    per_beat = level.sbpb * level.tpsb * TATUM_QUARTERS
    beat_s = np.array([t for t, _ in summary.get("tempo_curve", [])])
    inside = beat_s[(beat_s > min(times)) & (beat_s < max(times))]
    placed = _linear_map(times, positions)(inside) / per_beat
    on_grid = np.abs(placed - np.round(placed)) < BEAT_SNAP
    to_seconds = _linear_map(positions + list(np.round(placed[on_grid]) * per_beat), times + list(inside[on_grid]))
    notes = [NOTE(n["midi"], _ms(n["onset_s"]), _ms(n["onset_s"]), _ms(n["offset_s"]), 0) for n in found]
    # Tatums from the sixteenth at or before the first note (a triplet's note is off their grid).
    first = float(np.floor(min(starts) / TATUM_QUARTERS + 1e-9)) * TATUM_QUARTERS
    bar = level.bpb * per_beat
    return Music(_tatums(first, max(ends), to_seconds), [], notes, [_hierarchy(signature, (bar - first % bar) % bar)])


def _groupings(music: Music) -> list[tuple[int, int]]:
    """Every sub-beat, beat and bar as (start, end) ms: at each level, spans of its length in
    tatums from the first one the pickup leaves whole."""
    times = [tatum.time for tatum in music.__tatums__]
    level = music.__hierarchy__[0]
    spans = []
    for length in (level.tpsb, level.tpsb * level.sbpb, level.tpsb * level.sbpb * level.bpb):
        spans += [(times[i], times[i + length]) for i in range(level.al % length, len(times) - length, length)]
    return spans


def meter_score(truth: Music, found: Music) -> float:
    """F1 of the found groupings whose start and end both lie within GROUPING_MS of a true one's."""
    unmatched, found_spans = _groupings(truth), _groupings(found)
    hits = 0
    for start, end in found_spans:
        match = next((k for k, (s, e) in enumerate(unmatched)
                      if abs(s - start) <= GROUPING_MS and abs(e - end) <= GROUPING_MS), None)
        if match is not None:
            del unmatched[match]
            hits += 1
    return 2.0 * hits / (len(found_spans) + hits + len(unmatched)) if found_spans or unmatched else 1.0


def key_score(truth: str, found: str) -> float:
    """MV2H's harmony part for one key each (music21 names), as the reference scores a key
    (KEY_SCORES); modes as the major or minor key on their tonic. pyMV2H's ``harmony_score``
    compares the transcription's keys with themselves (always 1)."""
    return KEY_SCORES.get(key_relation(_major_or_minor(truth), _major_or_minor(found)), 0.0)


def scores(performance: Any, summary: dict[str, Any]) -> dict[str, float]:
    """MV2H and its five parts of the notated ``summary`` against ``performance``'s truth."""
    if not summary["notes"]:
        return dict.fromkeys(PARTS, 0.0)
    truth, found = truth_music(performance), found_music(summary)
    # pyMV2H's mv2h() divides by the notes whose voice links are right: none (a take read a
    # semitone off) scores their values 0, as nothing was found to have one.
    multi_pitch, pitch_matches = multi_pitch_accuracy(truth.__notes__, found.__notes__, True)
    voice, voice_matches = voice_score(truth, found, True)
    parts = {"multi_pitch": multi_pitch, "voice": voice, "meter": meter_score(truth, found),
             "note_value": note_value_score(truth, found, pitch_matches, voice_matches) if voice_matches else 0.0,
             "harmony": key_score(performance.melody.key, summary["key"])}
    return {**parts, "mv2h": sum(parts.values()) / len(parts)}
