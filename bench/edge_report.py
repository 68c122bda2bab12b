"""Scores from awkward but real musical input (issue 14, "always a readable score"), ``make bench``.

Each case is audio with exact truth, made here: melodies rendered with fluidsynth
(``tests/support/corpus.py``) on a beat-to-time map (a tempo that changes, a pause, a
ritardando), or tones and glides synthesised with NumPy. Every case goes through the whole
transcription (``transcription.transcribe_file``: plugin, notes, notation, engraving) and prints
what a reader of the score would check against the truth: the error for input that should be
refused, else the main tempo (the felt beat's bpm is not converted: 6/8 shows its quarter
tempo), meter, key, clef, notes found and written, measures, the tempo curve's range,
the marks written above the staff, and LilyPond's warnings when ``score.ly`` is compiled
again. Flags (``!``) say what differs from the truth; cases whose fault lies upstream of the
notation (the pitch tracker's range, its splits) are flagged too.

The classes: 1 lasting tempo changes, 2 tempo extremes, 3 sparse input, 4 range,
5 pitch (a flat singer, glides), 6 a 10-minute melody, 7 long silence around a phrase.

Usage::

    .venv/bin/python bench/edge_report.py [--out DIR] [--case PREFIX ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import corpus  # noqa: E402
from corpus import FLUTE, PIANO, Melody  # noqa: E402

from audioscore.errors import InputError  # noqa: E402
from audioscore.notation.lilypond import render_lilypond  # noqa: E402
from audioscore.notation.transcription import transcribe_file  # noqa: E402

SR = 22050
PICCOLO, CELLO, BASS = 72, 42, 32
# An original 8-bar tune in C major (quarters), and its bars reused by the longer cases.
TUNE = ("C4:1 E4:1 G4:1 C5:1 | B4:1.5 A4:.5 G4:2 | A4:1 C5:1 G4:1 E4:1 | F4:1.5 E4:.5 D4:1 D4:1 |"
        " E4:1 G4:1 F4:.5 E4:.5 D4:1 | C4:1 D4:1 E4:2 | G4:1 A4:.5 B4:.5 C5:1 G4:1 | C5:4")
RUNS = ("C5:.25 D5:.25 E5:.25 F5:.25 G5:.25 F5:.25 E5:.25 D5:.25 C5:1 G4:1 |"
        " E5:.25 F5:.25 G5:.25 A5:.25 G5:.25 F5:.25 E5:.25 D5:.25 E5:1 C5:1 |"
        " D5:.25 E5:.25 F5:.25 G5:.25 A5:.25 G5:.25 F5:.25 E5:.25 D5:.5 B4:.5 G4:1 |"
        " C5:.25 B4:.25 A4:.25 G4:.25 F4:.25 E4:.25 D4:.25 E4:.25 C4:2")
BASS_LINE = ("C2:1 E2:1 G2:1 C3:1 | B2:1.5 A2:.5 G2:2 | A2:1 C3:1 G2:1 E2:1 | F2:1.5 E2:.5 D2:1 G1:1 |"
             " C2:1 E2:1 G2:1 B2:1 | C3:2 G2:2 | F2:1 A2:1 G2:1 G1:1 | C2:4")
CROSSING = ("C3:1 E3:1 G3:1 C4:1 | E4:1 G4:1 C5:2 | B4:1 G4:1 E4:1 C4:1 | G3:1 E3:1 C3:2 |"
            " D3:1 F3:1 A3:1 D4:1 | F4:1 A4:1 D5:2 | C5:1 G4:1 E4:1 C4:1 | C3:4")
BeatMap = Callable[[float], float]  # position in beats -> seconds


@dataclass(frozen=True)
class Case:
    """A case: its audio (written under the cache directory) and what the score should say."""

    name: str
    make: Callable[[Path], Path]
    truth: dict[str, Any] = field(default_factory=dict)


def _events(text: str, transpose: int = 0) -> list[tuple[int | None, float]]:
    return [(None if p is None else p + transpose, b) for p, b in corpus.parse_beats(text)]


def _melody(name: str, text: str, beat_time: BeatMap, *, transpose: int = 0, lead_beats: float = 1.0) -> Melody:
    """Notes at ``beat_time`` of their written positions, each sounding 0.9 of its written
    length at the local tempo (a pause or a ritardando does not lengthen the note before it)."""
    position, notes = lead_beats, []
    for pitch, beats in _events(text, transpose):
        if pitch is not None:
            onset = beat_time(position)
            local = (beat_time(position + 0.01) - onset) / 0.01
            notes.append((onset, onset + 0.9 * beats * local, pitch))
        position += beats
    return Melody(name, tuple(notes), 100.0)


def _count(text: str) -> int:
    """Notes written in ``text`` (a repeated pitch is two notes)."""
    return sum(pitch is not None for pitch, _ in _events(text))


def _steady(bpm: float) -> BeatMap:
    return lambda b: b * 60.0 / bpm


def _curve(bpm_at: Callable[[np.ndarray], np.ndarray], total_beats: float) -> BeatMap:
    """The beat-to-time map of a tempo that moves (``bpm_at``: bpm at each position in beats)."""
    grid = np.linspace(0.0, total_beats + 8.0, 8000)
    times = np.concatenate([[0.0], np.cumsum(np.diff(grid) * 60.0 / bpm_at(grid[:-1]))])
    return lambda b: float(np.interp(b, grid, times))


def _rendered(melody: Melody, program: int, pad_s: float = 0.0) -> Callable[[Path], Path]:
    def make(cache: Path) -> Path:
        wav, _ = corpus.render(melody, program, cache, SR)
        if not pad_s:
            return wav
        padded = cache / f"{wav.stem}-pad{pad_s:g}.wav"
        if not padded.exists():
            audio, rate = sf.read(wav)
            sf.write(padded, np.concatenate([audio, np.zeros(int(pad_s * rate))]), rate, subtype="PCM_16")
        return padded
    return make


def _written(name: str, signal: Callable[[], np.ndarray]) -> Callable[[Path], Path]:
    def make(cache: Path) -> Path:
        path = cache / f"edge-{name}.wav"
        if not path.exists():
            sf.write(path, signal(), SR, subtype="PCM_16")
        return path
    return make


def _glide(segments: list[tuple[float, float, float]]) -> np.ndarray:
    """Harmonic tone along (seconds, MIDI from, MIDI to) segments, continuous phase, half a second of silence around."""
    midi = np.concatenate([np.linspace(a, b, int(s * SR)) for s, a, b in segments])
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    silence = np.zeros(SR // 2)
    return np.concatenate([silence, 0.4 * tone / np.max(np.abs(tone)), silence])


def _flat_tones(cents: float) -> np.ndarray:
    melody = _melody("flat", TUNE, _steady(100))
    audio = np.zeros(int((melody.duration_s + 0.5) * SR))
    for onset, offset, pitch in melody.notes:
        tone = corpus.harmonic(corpus.midi_to_hz(pitch + cents / 100), offset - onset, SR, partials=6)
        audio[int(onset * SR):int(onset * SR) + len(tone)] += tone
    return audio


def _vibrato() -> np.ndarray:
    tone, _ = corpus.vibrato(440.0, 90.0, 5.5, 6.0, SR, partials=5)
    return np.concatenate([np.zeros(SR // 2), tone, np.zeros(SR // 2)])


def _cases() -> list[Case]:
    twice = f"{TUNE} | {TUNE}"
    four_four = {"meter": "4/4", "key": "C major"}
    portamento: list[tuple[float, float, float]] = []
    for a, b in [(60, 64), (64, 67), (67, 72), (72, 71), (71, 67), (67, 65), (65, 64), (64, 60)]:
        portamento += [(0.45, a, a), (0.15, a, b)]
    long_tune = " | ".join([TUNE, TUNE.replace("C5:4", "C5:2 G4:2"), TUNE, TUNE.replace("E4:2", "E4:1 F4:1")] * 8)
    return [
        Case("1 faster second half 100->140", _rendered(_melody("faster", twice, _curve(
            lambda b: np.where(b < 33, 100.0, 140.0), 66)), FLUTE), {"tempo": 100, "notes": _count(twice), "marks": 2, **four_four}),
        Case("1 slower second half 120->75", _rendered(_melody("slower", twice, _curve(
            lambda b: np.where(b < 33, 120.0, 75.0), 66)), FLUTE), {"tempo": 120, "notes": _count(twice), "marks": 2, **four_four}),
        Case("1 accelerando 90->130", _rendered(_melody("accel", twice, _curve(
            lambda b: 90.0 + 40.0 * np.clip(b / 64, 0, 1), 66)), FLUTE), {"tempo": 110, "notes": _count(twice), **four_four}),
        Case("1 4-s pause at bar 9", _rendered(_melody("pause", twice, lambda b: b * 0.6 + (4.0 if b > 32.5 else 0.0)),
                                                FLUTE), {"tempo": 100, "notes": _count(twice), "marks": 1, **four_four}),
        Case("1 final ritardando 110->50", _rendered(_melody("rit", twice, _curve(
            lambda b: 110.0 * (1 - 0.55 * np.clip((b - 49) / 16, 0, 1)), 66)), FLUTE), {"tempo": 110, "notes": _count(twice), **four_four}),
        Case("2 quarter = 45", _rendered(_melody("slow45", TUNE, _steady(45)), FLUTE), {"tempo": 45, "notes": _count(TUNE), **four_four}),
        Case("2 quarter = 220", _rendered(_melody("fast220", twice, _steady(220)), FLUTE), {"tempo": 220, "notes": _count(twice), **four_four}),
        Case("2 sixteenth runs at 150", _rendered(_melody("runs150", f"{RUNS} | {RUNS}", _steady(150)), FLUTE),
             {"tempo": 150, "notes": _count(f"{RUNS} | {RUNS}"), **four_four}),
        Case("3 one note", _rendered(Melody("one", ((1.0, 3.0, 69),), 100.0), FLUTE), {"notes": 1}),
        Case("3 two notes", _rendered(Melody("two", ((1.0, 2.0, 64), (4.0, 5.5, 67)), 100.0), FLUTE), {"notes": 2}),
        Case("3 three notes seconds apart", _rendered(Melody("three", ((1.0, 1.8, 60), (4.5, 5.3, 64), (8.0, 9.5, 67)),
                                                            100.0), FLUTE), {"notes": 3}),
        Case("3 a 60-s drone (cello)", _rendered(Melody("drone", ((0.5, 60.5, 50),), 100.0), CELLO), {"notes": 1}),
        Case("3 G4 re-struck 32 times at 120 (flute)", _rendered(Melody("restruck", tuple(
            (1.0 + 0.5 * k, 1.4 + 0.5 * k, 67) for k in range(32)), 120.0), FLUTE), {"tempo": 120, "notes": 32}),
        Case("3 G4 re-struck 32 times at 120 (piano)", _rendered(Melody("restruck", tuple(
            (1.0 + 0.5 * k, 1.4 + 0.5 * k, 67) for k in range(32)), 120.0), PIANO), {"tempo": 120, "notes": 32}),
        Case("3 6-s A4, vibrato +-90 cents", _written("vibrato", _vibrato), {"notes": 1}),
        Case("3 silence", _written("silence", lambda: np.zeros(3 * SR)), {"error": "silent"}),
        Case("3 white noise", _written("noise", lambda: 0.3 * corpus.white_noise(3.0, SR)), {"error": "no melody"}),
        Case("4 bass line C2 (G1 to C3)", _rendered(_melody("bass", BASS_LINE, _steady(100)), BASS),
             {"tempo": 100, "notes": _count(BASS_LINE), "clef": "bass", "measures": 8, **four_four}),
        Case("4 whistle line C6-C7 (piccolo)", _rendered(_melody("piccolo", TUNE, _steady(100), transpose=24), PICCOLO),
             {"tempo": 100, "notes": _count(TUNE), "clef": "treble^8", "measures": 8, **four_four}),
        Case("4 bass to treble C3-D5 (piano)", _rendered(_melody("cross", CROSSING, _steady(100)), PIANO),
             {"tempo": 100, "notes": _count(CROSSING), "clef": "grand", "measures": 8, **four_four}),
        Case("5 45 cents flat", _written("flat45", lambda: _flat_tones(-45.0)), {"tempo": 100, "notes": _count(TUNE), **four_four}),
        Case("5 slow sirens C4-C5-C4-G4", _written("siren", lambda: _glide(
            [(1.0, 60, 60), (2.0, 60, 72), (1.0, 72, 72), (2.0, 72, 60), (1.0, 60, 60), (2.0, 60, 67), (1.0, 67, 67)])),
             {"notes": 4}),
        Case("5 portamento between 9 notes", _written("portamento", lambda: _glide([*portamento, (1.0, 60, 60)])),
             {"tempo": 100, "notes": 9}),
        Case("6 a 10-minute melody", _rendered(_melody("long", long_tune, _steady(96)), FLUTE),
             {"tempo": 96, "notes": _count(long_tune), "measures": 256, **four_four}),
        Case("7 20 s of silence around a phrase", _rendered(_melody("silence20", TUNE, lambda b: 20.0 + b * 0.6), FLUTE,
                                                             pad_s=20.0), {"tempo": 100, "notes": _count(TUNE), "measures": 8, "marks": 1, **four_four}),
    ]


def _marks(ly: str) -> str:
    """The tempo marks and texts above the staff, in order."""
    found = re.findall(r'\\tempo (?:"([^"]*)" )?(\d+\.?) = (\d+)|\\mark "([^"]*)"', ly)
    return "; ".join(f"{text + ' ' if text else ''}{unit}={bpm}" if bpm else mark for text, unit, bpm, mark in found)


def report(case: Case, cache: Path) -> tuple[str, list[str]]:
    """One line for the case and its flags."""
    audio = case.make(cache)
    out = Path(tempfile.mkdtemp(prefix="edge-", dir=cache))
    started = time.perf_counter()
    try:
        result = transcribe_file(audio, out, plot=False)
    except InputError as error:
        expected = str(case.truth.get("error", ""))
        return f"error: {error}", ([] if expected and expected in str(error) else ["refused"])
    seconds = time.perf_counter() - started
    score, truth, flags = result.score, case.truth, []
    log = render_lilypond(result.files.ly.read_text(), out / "again", basename="score").log
    curve = [bpm for _, bpm in score["tempo_curve"]]
    if "tempo" in truth and abs(score["tempo_bpm"] / truth["tempo"] - 1) > 0.04:
        flags.append("tempo")
    flags += [what for what in ("meter", "key", "clef") if what in truth and score[{"meter": "time_signature"}.get(
        what, what)] != truth[what]]
    tracked = len(json.loads(result.features.features_json.read_text())["notes"]) if result.features else None
    if len(score["notes"]) != truth.get("notes"):
        flags.append("notes")
    if "measures" in truth and score["measures"] != truth["measures"]:
        flags.append("measures")
    marks = _marks(result.files.ly.read_text())
    if "marks" in truth and len([m for m in marks.split("; ") if "=" in m]) != truth["marks"]:
        flags.append("tempo marks")
    if log.strip():
        flags.append("lilypond warnings")
    line = (f"{score['tempo_bpm']:7.1f} {score['time_signature']:4} {score['key']:9} {score['clef']:8} "
            f"{len(score['notes']):4}/{truth.get('notes', '?')!s:4} m={score['measures']:<4} "
            f"curve {min(curve):.0f}-{max(curve):.0f}  {seconds:5.1f} s  pages {len(result.files.pages)}  "
            f"[{marks}]")
    if tracked is not None:
        line += f" ({tracked} tracked)"
    return line, flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "audioscore-edge",
                        help="cache of renderings and scores")
    parser.add_argument("--case", nargs="*", default=[], help="only cases whose name starts with one of these")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("case                                        tempo  meter key      clef     written/true  measures ...")
    flagged = 0
    for case in _cases():
        if args.case and not any(case.name.startswith(prefix) for prefix in args.case):
            continue
        line, flags = report(case, args.out)
        flagged += bool(flags)
        print(f"{case.name:42} {line}  {'! ' + ', '.join(flags) if flags else 'ok'}", flush=True)
    print(f"{flagged} case(s) flagged")


if __name__ == "__main__":
    main()
