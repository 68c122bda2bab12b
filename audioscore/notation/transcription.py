"""Notes to a score: rhythm, key, notation, and the score files
(score.ly, .pdf, .png, .mid, .musicxml, .json).

Works from note events alone (``features.json``'s ``notes``), so the
transcribe function needs no audio.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioscore.analysis.audio import DEFAULT_SAMPLE_RATE, AudioInfo, Limits
from audioscore.analysis.engines import INSTRUMENTS
from audioscore.errors import InputError, ProcessingError
from audioscore.infra.files import write_atomic
from audioscore.notation.feature_notes import DEFAULT_VELOCITY, notes_for_notation, performed_notes
from audioscore.notation.lilypond import WaitingLilyPond, lilypond_started, render_lilypond, score_to_lilypond
from audioscore.notation.poly_score import arrange, build_poly_score, choose_layout, summarise_poly
from audioscore.notation.polyphony import is_polyphonic, quantise_polyphony
from audioscore.notation.quantise import notate_rhythm
from audioscore.notation.rhythm import PerformedNote, QuantisedNote
from audioscore.notation.score import ScoreSpec, build_score, shorten_silences, summarise_score
from audioscore.notation.tonality import estimate_key, parse_key, spell
from audioscore.plain_text import one_line

if TYPE_CHECKING:
    from music21 import key as m21key

    from audioscore.analysis.export import FeatureFiles
    from audioscore.analysis.features import Features

__all__ = [
    "ScoreFiles",
    "TranscribeOptions",
    "Transcription",
    "notes_from_features",
    "transcribe_file",
    "transcribe_notes",
]

MIN_NOTES = 1
FEW_NOTES = 3  # below this, tempo and meter cannot be estimated: defaults, said in the summary
LILYPOND_TIMEOUT_S = 120.0
POLYPHONIC_INSTRUMENTS = frozenset({"piano", "guitar"})  # always chords, voices and their staves


@dataclass(frozen=True)
class TranscribeOptions:
    """Overrides and labels; None means estimate from the notes."""

    tempo_bpm: float | None = None
    time_signature: str | None = None
    key: str | None = None
    title: str = ""
    composer: str = ""
    triplets: bool = True
    lilypond_timeout_s: float = LILYPOND_TIMEOUT_S
    # "piano" (grand staff), "guitar" (treble_8 staff), another name (a melody's staff),
    # or None: polyphonic notes get staves from their range, a melody today's staff.
    instrument: str | None = None

    def __post_init__(self) -> None:
        # Titles come from file names, object metadata and requests: spaces for what the files cannot hold.
        for name in ("title", "composer"):
            object.__setattr__(self, name, one_line(getattr(self, name)))


@dataclass(frozen=True)
class ScoreFiles:
    """Paths of the score files."""

    ly: Path
    pdf: Path
    png: Path
    midi: Path
    musicxml: Path
    json: Path
    pages: tuple[Path, ...] = ()  # score-1.png, score-2.png, ...: every page (png is the first)


@dataclass
class Transcription:
    """A transcription: the score.json document, its files, and seconds per stage."""

    score: dict[str, Any]
    files: ScoreFiles
    timings: dict[str, float] = field(default_factory=dict)
    features: FeatureFiles | None = None


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def notes_from_features(document: dict[str, Any], *, limits: Limits | None = None, key: str | None = None
                        ) -> list[PerformedNote]:
    """Performed notes from a ``features.json`` document, every field validated
    (see ``feature_notes.notes_for_notation``; ``limits``: the caller's, ``Limits()`` when None;
    ``key``: the key the user gives, which decides the semitone of a take sung a quarter tone off).

    Raises:
        InputError: the document has no usable notes list (the message names the offending note and
            field), or ``key`` is not a key.
    """
    return notes_for_notation(document, limits=limits, key=key)


def _notate(notes: list[PerformedNote], options: TranscribeOptions) -> tuple[Any, dict[str, Any]]:
    """The music21 score and its score.json summary."""
    notes = sorted(notes, key=lambda n: n.onset)
    if len(notes) < MIN_NOTES:
        raise InputError("no melody to transcribe: no notes found (silence, or no voiced audio)")
    # A melody instrument's notes are a melody whatever they overlap; harp, organ or no hint: the notes decide.
    melodic = INSTRUMENTS.get(options.instrument or "") == "melody"
    if options.instrument in POLYPHONIC_INSTRUMENTS or (not melodic and is_polyphonic(notes)):
        return _notate_polyphony(notes, options)
    try:
        rhythm, quantised, _ = notate_rhythm(notes, tempo_bpm=options.tempo_bpm,
                                             time_signature=options.time_signature, triplets=options.triplets)
        # Long silences shortened: the notation's work follows the notes, not the time they span.
        quantised, cuts = shorten_silences(quantised, rhythm.bar_quarters)
        key = _key(options.key, [(n.midi, float(n.duration)) for n in quantised])
        score = build_score(quantised, rhythm, key, ScoreSpec(options.title, options.composer, options.instrument), cuts)
    except ValueError as error:
        raise InputError(str(error)) from None
    summary = summarise_score(score, quantised, rhythm, key, cuts)
    _remark_on_defaults(summary, len(quantised), "note(s)")
    return score, summary


def _key(override: str | None, notes: list[tuple[int, float]]) -> m21key.Key:
    """The key asked for, else one pitch class's own major key (a drone: nothing to estimate
    from), else the key estimated from (MIDI number, quarters) in order."""
    if override:
        return parse_key(override)
    if len({midi % 12 for midi, _ in notes}) == 1:
        return parse_key(spell(notes[0][0], parse_key("C major")).name.replace("-", "b"))
    return estimate_key(notes)


def _remark_on_defaults(summary: dict[str, Any], count: int, what: str) -> None:
    """Say in the summary when there were too few notes (or onsets) to estimate tempo and meter."""
    if count < FEW_NOTES:
        summary["remarks"] = [(f"only {count} {what}: tempo and meter are defaults "
                               f"({summary['time_signature']}, quarter = {round(summary['tempo_bpm'])}), "
                               "not estimates")]


def _notate_polyphony(notes: list[PerformedNote], options: TranscribeOptions) -> tuple[Any, dict[str, Any]]:
    """Chords and voices on one staff or a grand staff (see ``polyphony``, ``hands``, ``poly_score``)."""
    try:
        rhythm, placed = quantise_polyphony(notes, tempo_bpm=options.tempo_bpm,
                                            time_signature=options.time_signature, triplets=options.triplets)
        layout = choose_layout(options.instrument, [n.midi for n in placed])
        arranged = arrange(placed, layout)
        shortened, cuts = shorten_silences([QuantisedNote(n.start, n.duration, n.midi) for n in arranged],
                                           rhythm.bar_quarters)
        arranged = [replace(n, start=s.start, duration=s.duration) for n, s in zip(arranged, shortened, strict=True)]
        # Bass of the last chord last, top of the first first: the mode follows the cadence's bass.
        ordered = sorted(arranged, key=lambda n: (n.start, -n.midi))
        key = _key(options.key, [(n.midi, float(n.duration)) for n in ordered])
        score = build_poly_score(arranged, rhythm, key, ScoreSpec(options.title, options.composer), layout, cuts)
    except ValueError as error:
        raise InputError(str(error)) from None
    summary = summarise_poly(score, arranged, rhythm, key, layout, options.instrument, cuts)
    _remark_on_defaults(summary, len({n.start for n in arranged}), "onset(s)")
    return score, summary


def _write_score(
    score: Any, summary: dict[str, Any], out: Path, options: TranscribeOptions, timings: dict[str, float],
    lilypond: WaitingLilyPond, alongside: Callable[[], None] | None = None,
) -> ScoreFiles:
    """Write the score files; ``lilypond`` (started while the notes were notated: seconds of
    start-up) engraves while this thread writes MIDI, MusicXML and whatever ``alongside`` does."""
    files = ScoreFiles(out / "score.ly", out / "score.pdf", out / "score.png", out / "score.mid",
                       out / "score.musicxml", out / "score.json")
    source = score_to_lilypond(score)

    def engrave() -> tuple[Path, ...]:  # timed on its own thread: overlaps the stages below
        with _timed(timings, "lilypond"):
            return render_lilypond(source, out, timeout_s=options.lilypond_timeout_s, started=lilypond).pages

    with ThreadPoolExecutor(max_workers=1) as pool:
        engraving = pool.submit(engrave)
        with _timed(timings, "midi_musicxml"):
            _write_with_music21(score, "midi", files.midi)
            _write_with_music21(score, "musicxml", files.musicxml)
        if alongside is not None:
            alongside()
        files = replace(files, pages=engraving.result())
    # score.json last: its presence means every other file is there.
    write_atomic(files.json, json.dumps(summary, indent=1).encode())
    return files


def transcribe_notes(
    notes: list[PerformedNote], out_dir: str | os.PathLike[str], options: TranscribeOptions = TranscribeOptions(),
) -> Transcription:
    """Write the score files for performed notes into ``out_dir``.

    Raises:
        InputError: too few notes, or an override that is not valid.
        ProcessingError: LilyPond failed or timed out.
    """
    timings: dict[str, float] = {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with lilypond_started("score") as lilypond:
        with _timed(timings, "notation"):
            score, summary = _notate(notes, options)
        files = _write_score(score, summary, out, options, timings, lilypond)
    return Transcription(summary, files, timings)


# MuseScore 3 reports "Unsupported mode 'dorian'" for MusicXML's church modes: those files
# carry the key signature (fifths) alone, which MusicXML allows; score.json names the mode.
_CHURCH_MODE = re.compile(rb"\s*<mode>(?:dorian|phrygian|lydian|mixolydian|locrian)</mode>")


def _write_with_music21(score: Any, fmt: str, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        score.write(fmt, fp=str(temporary))
        if fmt == "musicxml":
            temporary.write_bytes(_CHURCH_MODE.sub(b"", temporary.read_bytes()))
        os.replace(temporary, path)
    except OSError as error:
        raise ProcessingError(f"cannot write {path.name}: {error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    os.chmod(path, 0o644)


def transcribe_file(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: TranscribeOptions = TranscribeOptions(),
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    limits: Limits | None = None,
    info: AudioInfo | None = None,
    plot: bool = True,
    engine: str = "auto",
    progress: Callable[[str, float], None] | None = None,
) -> Transcription:
    """Audio file to features and score, all written into ``out_dir``; ``engine`` (auto, melody,
    poly) and ``options.instrument`` choose the note engine (``analysis.engines``); ``info`` is the
    file's ``audio.probe`` result when the caller has it.

    Raises:
        InputError: unusable audio or no melody in it.
        ProcessingError: a tool failed.
    """
    # Here, not at the top: scoring a features.json (the transcribe function) needs no plugin host.
    from audioscore.analysis.export import file_sha256, write_features
    from audioscore.analysis.features import Source, extract_file

    timings: dict[str, float] = {}
    source_path = Path(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _timed(timings, "features"):  # decoding streams into the analysis: one step
        features = extract_file(source_path, sample_rate=sample_rate, limits=limits, info=info, engine=engine,
                                instrument=options.instrument, picture=plot, progress=progress)
    source = Source(key=source_path.name, sha256=file_sha256(source_path))
    if progress:
        progress("score", 0.0)
    # LilyPond starts up while the notes are notated.
    with lilypond_started("score") as lilypond:
        with _timed(timings, "notation"):
            score, summary = _notate(_notes_of(features, options.key), replace(options, title=options.title or source_path.stem))
        feature_files: list[FeatureFiles] = []

        def write_feature_files() -> None:
            with _timed(timings, "write_features"):
                feature_files.append(write_features(features, source, out, plot=plot))

        files = _write_score(score, summary, out, options, timings, lilypond, alongside=write_feature_files)
    return Transcription(summary, files, timings, feature_files[0])


def _notes_of(features: Features, key: str | None) -> list[PerformedNote]:
    """The notes to notate, from the features themselves: serialising the whole document (every
    pitch frame) just to read them back is the costliest step for long recordings. As
    notes_for_notation reads them back from features.json: the melody's midi already has the
    recording's tuning taken off (Note.tuning_cents); the model's are semitones. ``key``: the
    user's, which decides the semitone of a take sung a quarter tone off."""
    melodic = features.engine_choice.name != "poly"
    raw = ([(n.onset, n.offset, n.midi, DEFAULT_VELOCITY if n.velocity is None else n.velocity, n.rise_db, n.dip_db)
            for n in features.pitch.notes] if melodic
           else [(n.onset, n.offset, n.midi, n.velocity, None, None) for n in features.poly_notes])
    return performed_notes(raw, frames=(features.pitch.times, features.pitch.voiced_prob),
                           melodic=melodic, tuning_cents=features.pitch.tuning_cents, key=key)
