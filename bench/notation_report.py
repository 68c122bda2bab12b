"""Notation accuracy on humanised performances (``tests/humanised.py``), ``make bench``.

Every performance (a melody of known notation played with tempo drift, rubato, onset
jitter, articulation, scoops and a tuning offset) is rendered with fluidsynth and its
notes extracted with the project's pYIN plugin (both cached under ``--out``); then the
notation stage alone (``audioscore.notation.transcription``: notes -> score, no engraving) runs on
the notes, as the transcribe function does on a ``features.json``. Per piece and in total:

* ``acc raw``: share of written notes whose notated (measure, position in the bar) and
  duration equal the truth (measure numbers up to a constant offset);
* ``acc al``: the same after aligning tempo octave errors (positions and durations scaled
  by the nearest of x2, /2, x3/2, x2/3 to the found/true tempo ratio) and meter errors
  (positions compared from the start of the piece, not by bar);
* ``tupl``: share of notated notes in tuplets, in pieces whose truth has none;
* ``<16th``: share of notated notes shorter than a sixteenth or placed on a grid finer
  than one (32nds), in pieces whose truth has none;
* ``ties/n``: ties per notated note (truth in brackets);
* ``pitch right``: share of written notes matched to a found note of their pitch (and, for
  a take read a semitone off throughout, the share once moved back);
* ``repeats kept``: of the written notes that repeat the pitch of the note before, played
  legato or nearly (the sound stops for under 50 ms), the share matched to a found note of
  their pitch: a repeat the tracker or the notation holds as one note is lost;
* ``breath marks`` (where a corpus has breaths, or marks are written): marks after the note a
  breath follows, of all marks written and of all breaths;
* tempo within 4 % of the written mark (exact doubles and halves counted separately; and
  of the performance's own median beat, which drift moves by up to ~5 %), meter right, key
  right (same tonic and mode), measures within one;
* ``mv2h`` (McLeod & Steedman 2018, ``bench/mv2h_score.py``): the published joint measure of
  a transcription's pitches, voices, meter, note values and key, from 0 to 1; its meter part
  gives credit in part where the bars are wrong but the beats right (2/4 read as 4/4).

Corpora, each with these totals: ``exact`` (the score corpus's melodies as written, exact
MIDI timing, no audio: notation must return them unchanged), ``humanised`` (the
performances above, through audio and the pitch tracker), ``in rooms`` (round 1's
humanised performances recorded in a hall, a noisy room, on a phone, with breaths),
``re-performed`` (every melody of the humanised corpus played again with four new
seeds: the figures the corpus's own performances do not decide), ``tempo changes``
(twelve melodies played twice through, the second time 0.7-1.35 times as fast, with
``tempo change marked``: a second metronome mark within a bar of the change and within 8 %
of its tempo; its tempo "of played" is the first time through; and in the rooms),
``tempo and meter given`` (the humanised performances notated with their written tempo and meter
imposed, as a user's ``--tempo`` and ``--time-signature``), ``with breaths`` (the humanised performances pausing 0.15-0.3 s before each phrase after
the first, as singers and wind players breathe: before the phrase's pickup where the melody
opens with one; and the re-performed corpus so), ``sung out of tune`` (the same performances
sung, the pitch sagging 25-50 cents over the take and each note 15 cents off, sd; and the
re-performed corpus sung so; and both notated with their written key given, as ``--key``, which
decides the semitone of a take sung a quarter tone off), ``sung with words`` (those sung
performances, and round 11's tunes sung so, with a consonant before each note:
``realistic.syllables``), ``final ritardando`` (the melodies without a pickup played twice through, their last three bars
slowing evenly to 1.6-2.2 times the beat: tempo "of played" is before it), ``long takes`` (the
melodies without a pickup played through five times, a minute or two each, as played and
breathing: one beat gained or lost shifts every bar after it), ``held out`` (rounds 3-7: pieces written before their results were seen, reported apart; round 7 the modal and blues tunes;
round 6 only with ``--check``), ``round 11`` (seven tunes full of repeated notes on voice, violin,
flute, alto sax, clarinet and oboe) and ``real clips`` (the recordings in ``/work/shared/audio``
whose tempo, meter and key's tonic are known; no note truth).

Notes are matched to the truth by a monotonic alignment on time (the score's ``onset_s``
within 0.35 s) preferring equal pitch classes: no pitch accuracy is measured here.

Usage::

    .venv/bin/python bench/notation_report.py [--out DIR] [--piece NAME ...] [--json FILE] [--check]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import humanised
import mv2h_score
import score_corpus
from music21 import note as m21note
from transcription_report import key_relation, normalise_meter, tempo_flag

from audioscore.analysis.features import extract_file, note_document
from audioscore.notation import transcription as transcribe

MATCH_S = 0.35
RATIOS = (1.0, 2.0, 0.5, 1.5, 2.0 / 3.0)


@functools.cache
def _analysis_version() -> str:
    """A digest of the plugin and the analysis code: cached notes from another version are not reused."""
    digest = hashlib.sha1((ROOT / "audioscore" / "plugins" / "audioscore_pyin.so").read_bytes())
    for source in sorted((ROOT / "audioscore" / "analysis").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:10]


def features_document(performance: humanised.Performance, cache: Path, room: humanised.Room | None = None
                      ) -> dict[str, Any]:
    """The performance's notes and pitch frames (times, voicing) as a features.json would
    carry them (cached), heard in ``room`` when given."""
    wav = (humanised.render_performance(performance, cache) if room is None
           else humanised.render_in_room(performance, room, cache))
    path = wav.with_suffix(f".notes-voicing-{_analysis_version()}.json")
    if not path.exists():
        features = extract_file(wav)
        notes = [note_document(n) for n in features.pitch.notes]
        pitch = {"times": [round(float(t), 5) for t in features.pitch.times],
                 "voiced_prob": [round(float(v), 4) for v in features.pitch.voiced_prob]}
        path.write_text(json.dumps({"notes": notes, "pitch": pitch}))
    return json.loads(path.read_text())


def _q(x: float) -> Fraction:
    return Fraction(x).limit_denominator(48)


def align(truth: list[humanised.TruthNote], found: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Monotonic matching of truth to found notes by onset time (pitch class breaks ties)."""
    n, m = len(truth), len(found)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best = max(score[i - 1][j], score[i][j - 1])
            dt = abs(truth[i - 1].onset_s - found[j - 1]["onset_s"])
            if dt < MATCH_S:
                same = (truth[i - 1].midi - found[j - 1]["midi"]) % 12 == 0
                best = max(best, score[i - 1][j - 1] + 1.0 + 0.5 * same - dt)
            score[i][j] = best
    pairs, i, j = [], n, m
    while i and j:
        if score[i][j] == score[i - 1][j]:
            i -= 1
        elif score[i][j] == score[i][j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def accuracy(perf: humanised.Performance, summary: dict[str, Any], pairs: list[tuple[int, int]],
             ratio: float, aligned: bool) -> float:
    truth, found = perf.truth, summary["notes"]
    bar = _q(perf.melody.measure_quarters)
    if not aligned:
        offsets = Counter(found[j]["measure"] - int(truth[i].start // bar) for i, j in pairs)
        shift = offsets.most_common(1)[0][0] if offsets else 0
        hits = sum(found[j]["measure"] - shift == int(truth[i].start // bar)
                   and _q(found[j]["beat"]) == truth[i].start % bar
                   and _q(found[j]["duration_quarters"]) == truth[i].duration for i, j in pairs)
        return hits / len(truth)
    scale = _q(ratio)
    offsets = Counter(truth[i].start - _q(found[j]["start_quarters"]) / scale for i, j in pairs)
    shift = offsets.most_common(1)[0][0] if offsets else Fraction(0)
    hits = sum(_q(found[j]["start_quarters"]) / scale + shift == truth[i].start
               and _q(found[j]["duration_quarters"]) / scale == truth[i].duration for i, j in pairs)
    return hits / len(truth)


def evaluate(perf: humanised.Performance, score: Any, summary: dict[str, Any]) -> dict[str, Any]:
    m = perf.melody
    found = summary["notes"]
    pairs = align(list(perf.truth), found)
    pitch_shares = {shift: pitch_right(perf, found, pairs, shift) for shift in (-1, 0, 1)}
    tempo_ratio, flag = tempo_flag(m.tempo_bpm, summary["tempo_bpm"])
    ratio = min(RATIOS, key=lambda r: abs(__import__("math").log(tempo_ratio / r)))
    fractions = [(_q(n["start_quarters"]), _q(n["duration_quarters"])) for n in found]
    tuplets = sum(s.denominator % 3 == 0 or d.denominator % 3 == 0 for s, d in fractions)
    finer = sum(d < Fraction(1, 4) or s.denominator % 8 == 0 or d.denominator % 8 == 0 for s, d in fractions)
    ties = sum(1 for n in score.recurse().notes if isinstance(n, m21note.Note) and n.tie is not None
               and n.tie.type == "start")
    truth_ties = len(m.tied_events)
    repeats, repeats_found = repeats_kept(perf, found, pairs)
    marked = {k for k, n in enumerate(found) if n.get("breath_after")}
    return {
        "piece": perf.name, "notes": len(perf.truth), "found": len(found), "matched": len(pairs),
        "acc_raw": accuracy(perf, summary, pairs, 1.0, aligned=False),
        "acc_aligned": accuracy(perf, summary, pairs, ratio, aligned=True),
        "tuplet_share": None if perf.has_tuplets else tuplets / max(1, len(found)),
        "finer_share": finer / max(1, len(found)),
        "pitch_right": pitch_shares[0], "pitch_consistent": max(pitch_shares.values()),
        "repeats": repeats, "repeats_kept": repeats_found,
        "ties_per_note": ties / max(1, len(found)), "truth_ties_per_note": truth_ties / len(perf.truth),
        "tempo": {"expected": m.tempo_bpm, "found": summary["tempo_bpm"], "flag": flag,
                  "performed_flag": tempo_flag(perf.mean_tempo_bpm, summary["tempo_bpm"])[1]},
        "meter": {"expected": m.time_signature, "found": normalise_meter(summary["time_signature"])},
        "key": {"expected": m.key, "found": summary["key"], "relation": key_relation(m.key, summary["key"])},
        "measures": {"expected": m.measures, "found": summary["measures"]},
        "change_marked": None if perf.tempo_change is None else change_marked(perf, summary),
        "breaths": len(perf.breaths_after), "breath_marks": len(marked),
        "breath_marks_right": sum(k in marked and j in perf.breaths_after for j, k in pairs),
        "mv2h": mv2h_score.scores(perf, summary),
    }


def pitch_right(perf: humanised.Performance, found: list[dict[str, Any]], pairs: list[tuple[int, int]],
                shift: int) -> float:
    """Share of the written notes matched to a found note of their pitch moved by ``shift`` semitones."""
    return sum(found[j]["midi"] == perf.truth[i].midi + shift for i, j in pairs) / len(perf.truth)


REPEAT_GAP_S = 0.05


def repeats_kept(perf: humanised.Performance, found: list[dict[str, Any]], pairs: list[tuple[int, int]]
                 ) -> tuple[int, int]:
    """(repeats written, repeats found): notes repeating the pitch of the note before within
    REPEAT_GAP_S of its end, and those matched to a found note of their pitch."""
    truth = perf.truth
    repeats = {i for i in range(1, len(truth))
               if truth[i].midi == truth[i - 1].midi and truth[i].onset_s - truth[i - 1].offset_s < REPEAT_GAP_S}
    return len(repeats), sum(i in repeats and found[j]["midi"] == truth[i].midi for i, j in pairs)


def change_marked(perf: humanised.Performance, summary: dict[str, Any]) -> bool:
    """Whether the score marks the performance's tempo change as played: two metronome marks,
    the second within a bar of where the change is (in the score's bars, its meter may be
    another) and within 8 % of its tempo (in the score's beats)."""
    m, (at, factor) = perf.melody, perf.tempo_change
    marks = summary["tempo_marks"]
    numerator, denominator = map(int, summary["time_signature"].split("/"))
    bar = 4.0 * numerator / denominator
    beat = 1.5 if summary["time_signature"] == "6/8" else 1.0
    expected_bpm = m.tempo_bpm * factor / beat
    return (len(marks) == 2 and abs((marks[1]["measure"] - 1) * bar - at) <= bar
            and abs(marks[1]["bpm"] / expected_bpm - 1.0) <= 0.08)


def _share(rows: list[dict[str, Any]], test: Any) -> str:
    hits = sum(bool(test(r)) for r in rows)
    return f"{hits}/{len(rows)} = {hits / len(rows):.2f}"


# Recordings with a known tempo (quarter bpm), meter and key, from their README. The README
# names the keys' tonics only ("key A", "key F"): the tonic is what is checked.
REAL_CLIPS = (
    ("gtr_guitarset_solo_Rock1_130_A.flac", 130.0, "4/4", "A major"),  # GuitarSet, CC BY 4.0
    ("tp_librosa_sorohanro.flac", 90.0, "4/4", "F major"),  # sorohanro (freesound 77711), CC BY 3.0
)
SAME_TONIC = ("ok", "enharmonic", "parallel")
REAL_AUDIO = Path("/work/shared/audio")


def exact_performance(melody: score_corpus.ScoredMelody) -> humanised.Performance:
    """The melody played exactly as written (its MIDI timing): the truth is the score."""
    truth, position = [], -Fraction(melody.pickup_quarters).limit_denominator(48)
    sounding = iter(melody.melody().notes)
    for pitch, length in melody.events:
        written = Fraction(length).limit_denominator(48)
        if pitch is not None:
            onset, offset, midi = next(sounding)
            truth.append(humanised.TruthNote(position, written, int(midi), onset, offset))
        position += written
    played = tuple((t.onset_s, t.offset_s, t.midi, 90) for t in truth)
    return humanised.Performance(melody, melody.programs[0], 0, tuple(truth), 0.0, 0.0, (), played, ())


def run_corpus(label: str, items: list[tuple[humanised.Performance, list[Any]]], args: argparse.Namespace,
               subsets: list[tuple[str, set[str]]] | None = None, given: bool = False, key_given: bool = False
               ) -> list[dict[str, Any]]:
    """Notate each performance's notes, print a row per piece and the corpus totals (per
    subset of piece names where ``subsets`` are given); ``given``: with the written tempo and
    meter imposed, as ``--tempo`` and ``--time-signature`` do; ``key_given``: with the written
    key, as ``--key`` (the notes must have been read with it too: ``notes_from_features``)."""
    rows = []
    seconds = 0.0
    print(f"\n== {label}")
    print(f"{'piece':<24} {'n':>3} {'acc raw':>7} {'acc al':>6} {'tupl':>5} {'<16th':>5} {'ties/n':>11} "
          f"{'tempo exp/found':>16} {'flag':>6} {'meter':>9} {'key':>22} {'meas':>6} {'mv2h':>5}")
    names = Counter(perf.name for perf, _ in items)
    for perf, notes in items:
        shown = perf.name if names[perf.name] == 1 else f"{perf.name}/{humanised.instrument_name(perf.program)}"
        start = time.perf_counter()
        try:
            options = (transcribe.TranscribeOptions(tempo_bpm=perf.melody.tempo_bpm,
                                                    time_signature=perf.melody.time_signature)
                       if given else transcribe.TranscribeOptions(key=perf.melody.key if key_given else None))
            score, summary = transcribe._notate(notes, options)
        except Exception as error:  # noqa: BLE001 - a bench reports and goes on
            print(f"{shown:<24} error: {error}")
            continue
        seconds += time.perf_counter() - start
        row = evaluate(perf, score, summary)
        rows.append(row)
        tupl = "-" if row["tuplet_share"] is None else f"{row['tuplet_share']:.2f}"
        print(f"{shown:<24} {row['notes']:>3} {row['acc_raw']:>7.2f} {row['acc_aligned']:>6.2f} {tupl:>5} "
              f"{row['finer_share']:>5.2f} {row['ties_per_note']:>5.2f} [{row['truth_ties_per_note']:.2f}] "
              f"{row['tempo']['expected']:>7.0f}/{row['tempo']['found']:<8.1f} {row['tempo']['flag']:>6} "
              f"{row['meter']['found'] or '-':>4}/{row['meter']['expected']:<4} "
              f"{row['key']['found']:>10}/{row['key']['relation']:<11} "
              f"{row['measures']['found']:>2}/{row['measures']['expected']:<3} {row['mv2h']['mv2h']:5.3f}")
    if rows and subsets is None:
        print_totals(label, rows, seconds)
    for sub_label, names in (subsets or []):
        chosen = [r for r in rows if r["piece"] in names]
        if chosen:
            print_totals(sub_label, chosen, seconds * len(chosen) / len(rows))
    return rows


def real_clips() -> None:
    """Tempo, meter and key of the real recordings whose README gives them."""
    print("\n== real clips (tempo, meter, key known; no note truth)")
    rows = []
    for name, bpm, meter, key in REAL_CLIPS:
        path = REAL_AUDIO / name
        if not path.exists():
            print(f"{name:<36} missing")
            continue
        features = extract_file(path)
        notes = [transcribe.PerformedNote(n.onset, n.offset, round(n.midi)) for n in features.pitch.notes]
        _, summary = transcribe._notate(notes, transcribe.TranscribeOptions())
        _, flag = tempo_flag(bpm, summary["tempo_bpm"])
        found_meter = normalise_meter(summary["time_signature"])
        relation = key_relation(key, summary["key"])
        rows.append((flag, found_meter == meter, relation in SAME_TONIC))
        print(f"{name:<36} tempo {bpm:.0f}/{summary['tempo_bpm']:<7.1f} {flag:>6}  meter {found_meter}/{meter}  "
              f"key {summary['key']} (tonic {key.split()[0]}: {'right' if relation in SAME_TONIC else relation})")
    if rows:
        print(f"  tempo within 4%  {sum(r[0] == 'ok' for r in rows)}/{len(rows)} (double "
              f"{sum(r[0] == 'double' for r in rows)}, half {sum(r[0] == 'half' for r in rows)}); meter "
              f"{sum(r[1] for r in rows)}/{len(rows)}; key's tonic {sum(r[2] for r in rows)}/{len(rows)}")


def print_totals(label: str, rows: list[dict[str, Any]], seconds: float) -> None:
    no_tuplets = [r for r in rows if r["tuplet_share"] is not None]
    found_notes = sum(r["found"] for r in no_tuplets)
    print(f"\n{label}, {len(rows)} pieces, {sum(r['notes'] for r in rows)} notes; notation "
          f"{seconds:.2f} s in all")
    print(f"  notation accuracy raw      {sum(r['acc_raw'] * r['notes'] for r in rows) / sum(r['notes'] for r in rows):.3f}"
          f" (note-weighted; mean per piece {sum(r['acc_raw'] for r in rows) / len(rows):.3f})")
    print(f"  notation accuracy aligned  {sum(r['acc_aligned'] * r['notes'] for r in rows) / sum(r['notes'] for r in rows):.3f}"
          f" (mean per piece {sum(r['acc_aligned'] for r in rows) / len(rows):.3f})")
    print(f"  spurious tuplet share      {sum(r['tuplet_share'] * r['found'] for r in no_tuplets) / max(1, found_notes):.3f}")
    print(f"  spurious <16th share       {sum(r['finer_share'] * r['found'] for r in rows) / sum(r['found'] for r in rows):.3f}")
    print(f"  pitch right                {sum(r['pitch_right'] * r['notes'] for r in rows) / sum(r['notes'] for r in rows):.3f}"
          f" (written notes matched to a found note of their pitch; {sum(r['pitch_consistent'] * r['notes'] for r in rows) / sum(r['notes'] for r in rows):.3f}"
          " with the whole take moved by a semitone where that fits more)")
    repeats = sum(r["repeats"] for r in rows)
    if repeats:
        print(f"  repeats kept               {sum(r['repeats_kept'] for r in rows)}/{repeats} = "
              f"{sum(r['repeats_kept'] for r in rows) / repeats:.2f} (legato repeated notes written as two)")
    print(f"  ties per note              {sum(r['ties_per_note'] * r['found'] for r in rows) / sum(r['found'] for r in rows):.3f}"
          f" (truth {sum(r['truth_ties_per_note'] * r['notes'] for r in rows) / sum(r['notes'] for r in rows):.3f})")
    breaths, marks = sum(r["breaths"] for r in rows), sum(r["breath_marks"] for r in rows)
    if breaths or marks:
        right = sum(r["breath_marks_right"] for r in rows)
        print(f"  breath marks               {right} of {marks} after the note a breath follows; "
              f"{right} of {breaths} breaths marked")
    print(f"  tempo within 4%            {_share(rows, lambda r: r['tempo']['flag'] == 'ok')}"
          f"  (double {sum(r['tempo']['flag'] == 'double' for r in rows)}, "
          f"half {sum(r['tempo']['flag'] == 'half' for r in rows)}, "
          f"other {sum(r['tempo']['flag'] not in ('ok', 'double', 'half') for r in rows)})")
    print(f"  tempo within 4% or x2, /2  {_share(rows, lambda r: r['tempo']['flag'] in ('ok', 'double', 'half'))}")
    # The drift walk moves a performance's own median tempo up to ~5 % from the written one.
    print(f"  tempo within 4% of played  {_share(rows, lambda r: r['tempo']['performed_flag'] == 'ok')}"
          " (the performance's median beat, not the written mark)")
    if any(r["change_marked"] is not None for r in rows):
        print(f"  tempo change marked        {_share(rows, lambda r: r['change_marked'])}"
              " (a second mark within a measure of the change, within 8 % of its tempo)")
    print(f"  meter right                {_share(rows, lambda r: r['meter']['found'] == r['meter']['expected'])}")
    print(f"  key right                  {_share(rows, lambda r: r['key']['relation'] in ('ok', 'enharmonic'))}")
    print(f"  measures within one        "
          f"{_share(rows, lambda r: abs(r['measures']['found'] - r['measures']['expected']) <= 1)}")
    means = {part: sum(r["mv2h"][part] for r in rows) / len(rows) for part in mv2h_score.PARTS}
    print(f"  MV2H                       {means['mv2h']:.3f} (mean per piece; multi-pitch {means['multi_pitch']:.3f}, "
          f"voice {means['voice']:.3f}, meter {means['meter']:.3f}, note value {means['note_value']:.3f}, "
          f"harmony {means['harmony']:.3f})")


# Rounds after the first corpora: held out, and rounds 8-9 again on the piano (measured before
# and after the change they check): (title, performances, the flag it needs or None).
LATER_ROUNDS = (
    ("held out (round 3's classes, not tuned on)", humanised.HELD_OUT, None),
    ("held out (round 4's classes: whole-beat triplets after a pickup, 2/4 airs)", humanised.HELD_OUT_TEMPO, None),
    ("held out (round 5: slow music, quarter 54-66, in 4/4, 3/4 and 6/8)", humanised.HELD_OUT_SLOW, None),
    ("held out (round 6: the check on round 5, slow and brisk pieces)", humanised.HELD_OUT_CHECK, "check"),
    ("held out (round 7: modal tunes in dorian and mixolydian)", humanised.HELD_OUT_MODAL, None),
    ("held out (round 8: well-known tunes, pickups, a dotted 6/8, a dorian song)", humanised.HELD_OUT_KNOWN, None),
    ("held out (round 9: more well-known tunes, run once on the final code)", humanised.HELD_OUT_KNOWN_2, None),
    ("round 10: runs of sixteenths beside longer notes (studies, reels, a toccata)", humanised.SIXTEENTH_RUNS, None),
    ("rounds 8-9's tunes on the piano (not held out)", humanised.KNOWN_ON_PIANO, None),
    ("round 11: repeated notes sung, bowed and blown (7 tunes on voice, violin, flute, alto sax, clarinet, oboe)",
     humanised.REPEATED_NOTES, None),
)


def run_sung(pieces: list[humanised.Performance], again: list[humanised.Performance], args: argparse.Namespace) -> None:
    """The sung corpora: the humanised and re-performed takes sung out of tune, with words, and
    notated with their written key given."""
    sung = [humanised.out_of_tune(p) for p in pieces]
    if sung:
        run_corpus(f"humanised, sung out of tune (round 1's and the widened performances sung, the pitch sagging "
                   f"{humanised.SAG_CENTS[0]:g}-{humanised.SAG_CENTS[1]:g} cents over the take, each note off by "
                   f"{humanised.INTONATION_CENTS:g} cents sd)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in sung], args)
    sung_words = [replace(p, words=True) for p in (*sung, *(humanised.out_of_tune(q) for q in humanised.REPEATED_NOTES
                                                           if q.program == humanised.VOICE and (not args.piece or q.name in args.piece)))]
    if sung_words:
        run_corpus("humanised, sung with words (the sung performances above and round 11's tunes sung so, a consonant "
                   "before each note: plosive, fricative, nasal or none)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in sung_words], args)
    sung_again = [humanised.out_of_tune(p) for p in again]
    if sung_again:
        run_corpus("humanised, re-performed and sung out of tune (the re-performed corpus sung as above)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in sung_again], args)
    for label, takes in (("sung out of tune", sung), ("re-performed and sung out of tune", sung_again)):
        if takes:
            run_corpus(f"humanised, {label}, key given (the same takes notated with their written key, as --key)",
                       [(p, transcribe.notes_from_features(features_document(p, args.out), key=p.melody.key))
                        for p in takes], args, key_given=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "audioscore-humanised")
    parser.add_argument("--piece", action="append", default=[])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-real", action="store_true", help="skip the real clips")
    parser.add_argument("--check", action="store_true", help="also the round-6 check pieces")
    parser.add_argument("--no-reperformed", action="store_true", help="skip the re-performed corpus")
    args = parser.parse_args(argv)
    chosen = [m for m in score_corpus.SCORED_MELODIES if not args.piece or m.name in args.piece]
    exact = [(p, [transcribe.PerformedNote(on, off, midi) for on, off, midi, _ in p.played])
             for p in map(exact_performance, chosen)]
    rows = run_corpus("exact", exact, args)
    pieces = [p for p in humanised.HUMANISED if not args.piece or p.name in args.piece]
    original = {p.name for p in humanised.HUMANISED[:humanised.ORIGINAL_COUNT]}
    humanised_rows = run_corpus("humanised", [(p, transcribe.notes_from_features(features_document(p, args.out)))
                                              for p in pieces], args,
                                subsets=[("humanised, round 1's pieces", original),
                                         ("humanised, widened (all)", {p.name for p in humanised.HUMANISED})])
    rooms = humanised.ROOMS
    in_rooms = [(p, rooms[i % len(rooms)]) for i, p in enumerate(humanised.HUMANISED[:humanised.ORIGINAL_COUNT])
                if not args.piece or p.name in args.piece]
    if in_rooms:
        run_corpus("humanised in rooms (round 1's performances through reverb, noise and a phone, rooms in turn)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out, room))) for p, room in in_rooms],
                   args)
    # The re-performed takes, made once: notated as played, breathing and sung.
    again = [] if args.no_reperformed else [p for p in humanised.reperformed() if not args.piece or p.name in args.piece]
    if again:
        run_corpus(f"humanised, re-performed (every melody above played again with seeds "
                   f"{', '.join(map(str, humanised.REPERFORMANCE_SEEDS))}: new drift, rubato and jitter)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in again], args,
                   subsets=[("re-performed, round 1's pieces", original), ("re-performed, all", {p.name for p in again})])
    changed = [(p, rooms[i % len(rooms)]) for i, p in enumerate(humanised.tempo_changed())
               if not args.piece or p.name in args.piece]
    if changed:
        run_corpus("humanised, tempo changes (melodies played twice, the second time 0.7-1.35 times as fast)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p, _ in changed], args)
        run_corpus("humanised, tempo changes in rooms (the same performances, rooms in turn)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out, room))) for p, room in changed],
                   args)
    run_corpus("humanised, tempo and meter given (round 1's and the widened performances notated with their "
               "written tempo and meter imposed, as --tempo and --time-signature)",
               [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in pieces], args, given=True)
    breathing = [humanised.breathing(p) for p in pieces]
    if breathing:
        run_corpus(f"humanised with breaths (round 1's and the widened performances, a "
                   f"{humanised.BREATH_S[0]:g}-{humanised.BREATH_S[1]:g} s breath before every phrase after the first)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in breathing], args)
    if breathing and again:
        again_breathing = [humanised.breathing(p) for p in again]
        run_corpus("humanised with breaths, re-performed (the re-performed takes breathing so: 112 takes, no threshold "
                   "set on them)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in again_breathing], args)
    run_sung(pieces, again, args)
    slowing = [p for p in humanised.final_ritardandos() if not args.piece or p.name in args.piece]
    if slowing:
        run_corpus(f"humanised, final ritardando (the pickup-less melodies twice through, their last "
                   f"{humanised.RITARDANDO_BARS} bars slowing to {humanised.RITARDANDO_FACTORS[0]:g}-"
                   f"{humanised.RITARDANDO_FACTORS[1]:g} times the beat)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in slowing], args)
    long = [p for p in humanised.long_takes() if not args.piece or p.name in args.piece]
    if long:
        run_corpus(f"humanised, long takes (the pickup-less melodies played through {humanised.LONG_TAKE_TIMES} times)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in long], args)
        run_corpus("humanised, long takes with breaths (the same, breathing before every phrase after the first)",
                   [(p, transcribe.notes_from_features(features_document(p, args.out)))
                    for p in map(humanised.breathing, long)], args)
    for label, performances, wanted in LATER_ROUNDS:
        chosen = [p for p in performances if not args.piece or p.name in args.piece]
        if chosen and (wanted is None or getattr(args, wanted)):
            run_corpus(f"humanised, {label}",
                       [(p, transcribe.notes_from_features(features_document(p, args.out))) for p in chosen], args)
    if not args.no_real and not args.piece:
        real_clips()
    if args.json:
        args.json.write_text(json.dumps({"exact": rows, "humanised": humanised_rows}, indent=1))
    return 0 if humanised_rows else 1


if __name__ == "__main__":
    sys.exit(main())
