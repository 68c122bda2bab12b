"""Sheet music through LilyPond: a small emitter from a music21 score and a renderer.

music21's own LilyPond output is verbose and version-sensitive, so the emitter
writes the few constructs the pipeline needs: absolute pitches, ties, triplets,
a pickup, key, time, clef and tempo, one staff or a grand staff. Every string
that comes from outside (title, composer, tempo text) passes through
:func:`lilypond_string`, which makes it inert text.

LilyPond 2.24 has no safe mode any more (``-dsafe`` was removed): a source is a
program that may run Scheme. :func:`render_lilypond` therefore only compiles
sources made by :func:`score_to_lilypond`, or equally trusted ones.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import tempfile
import textwrap
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from music21 import articulations, chord, clef, duration, expressions, key, meter, note, pitch, stream, tempo

from audioscore.errors import InputError, ProcessingError
from audioscore.infra import tools
from audioscore.infra.files import write_atomic

__all__ = ["RenderedScore", "WaitingLilyPond", "lilypond_started", "lilypond_string", "render_lilypond",
           "score_to_lilypond"]

LILYPOND_VERSION = "2.24.0"
MAX_STRING_CHARS = 200  # a title longer than this is a mistake or an attack, not a title
# Wrap widths, in characters, that fit an A4 line in the title and composer fonts.
TITLE_LINE_CHARS = 48
COMPOSER_LINE_CHARS = 80
PAPER_SIZE = "a4"
MARGIN_MM = 15
STAFF_SIZE_PT = 20
PNG_DPI = 110
LILYPOND = "lilypond"
PDFTOPPM = "pdftoppm"
MAX_MESSAGE_CHARS = 300

# A basename becomes a file name and a command-line argument: no paths, no leading dash.
_BASENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# Line and paragraph separators end a line like a newline; surrogates cannot be encoded.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_ALTERATION_SUFFIXES: dict[float, str] = {-2: "eses", -1: "es", 0: "", 1: "is", 2: "isis"}
_LENGTHS = {
    "breve": "\\breve",
    "whole": "1",
    "half": "2",
    "quarter": "4",
    "eighth": "8",
    "16th": "16",
    "32nd": "32",
    "64th": "64",
    "128th": "128",
}
_CLEFS: dict[tuple[str | None, int | None], str] = {
    ("G", 2): "treble",
    ("G", 1): "french",
    ("F", 4): "bass",
    ("F", 3): "varbaritone",
    ("F", 5): "subbass",
    ("C", 1): "soprano",
    ("C", 2): "mezzosoprano",
    ("C", 3): "alto",
    ("C", 4): "tenor",
    ("C", 5): "baritone",
}
_CLEF_OCTAVES = {-2: "_15", -1: "_8", 0: "", 1: "^8", 2: "^15"}
_MODES = frozenset(
    {"major", "minor", "ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian"}
)
_DEFAULT_BAR = Fraction(4)  # LilyPond's 4/4 when no time signature is given
_INDENT = "  "


def _plain_text(text: str) -> str:
    printable = "".join(
        " " if unicodedata.category(c) in _UNPRINTABLE_CATEGORIES else c for c in text
    )
    clean = " ".join(printable.split())
    if len(clean) > MAX_STRING_CHARS:
        clean = clean[: MAX_STRING_CHARS - 1].rstrip() + "…"
    return clean


def lilypond_string(text: str) -> str:
    """Quotes text as a LilyPond string that can only ever print as plain text.

    Control characters and line breaks become spaces, runs of white space one
    space, and text longer than ``MAX_STRING_CHARS`` is cut with an ellipsis.
    Backslashes and double quotes are escaped, so the string cannot end early or
    smuggle in an escape; ``#`` and ``$`` are inert inside a LilyPond string.

    Args:
        text: any text, e.g. a title taken from a file name or a request.

    Returns:
        The double-quoted LilyPond string literal.
    """
    escaped = _plain_text(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _header_field(field: str, text: str | None, column: str, line_chars: int) -> str | None:
    """A header field, None for no text; text too wide for the page becomes a column of lines."""
    lines = textwrap.wrap(_plain_text(text or ""), line_chars, break_on_hyphens=False)
    if not lines:
        return None
    if len(lines) == 1:
        return f"{field} = {lilypond_string(lines[0])}"
    # Quoted strings inside markup stay plain strings.
    return f"{field} = \\markup \\{column} {{ {' '.join(map(lilypond_string, lines))} }}"


def _pitch_name(p: pitch.Pitch) -> str:
    suffix = _ALTERATION_SUFFIXES.get(p.alter)
    if suffix is None:
        raise ProcessingError(f"cannot notate the microtonal pitch {p.nameWithOctave}")
    return p.step.lower() + suffix


def _absolute_pitch(p: pitch.Pitch) -> str:
    # LilyPond's unmarked octave is music21's octave 3: C4 is c'.
    marks = p.implicitOctave - 3
    return _pitch_name(p) + ("'" * marks if marks > 0 else "," * -marks)


def _lengths(d: duration.Duration) -> list[str]:
    """LilyPond lengths of a duration: one, or several to tie for a music21 'complex' one."""
    parts = [(c.type, c.dots) for c in d.components] if d.type == "complex" else [(d.type, d.dots)]
    if not parts or any(kind not in _LENGTHS for kind, _ in parts):
        raise ProcessingError(f"cannot notate a duration of {d.quarterLength} quarter notes")
    return [_LENGTHS[kind] + "." * dots for kind, dots in parts]


def _rests(quarter_length: Fraction) -> list[str]:
    """Rests, without tuplets, that fill a gap of quarter_length."""
    d = duration.Duration(quarter_length)
    if d.tuplets:
        raise ProcessingError(f"cannot fill a gap of {quarter_length} quarter notes with rests")
    return [f"r{length}" for length in _lengths(d)]


def _partial(quarter_length: Fraction) -> str:
    d = duration.Duration(quarter_length)
    if d.type in _LENGTHS and not d.tuplets:
        return f"\\partial {_lengths(d)[0]}"
    # Any other pickup as a multiple of a quarter note, e.g. 4*5/4.
    return f"\\partial 4*{quarter_length}"


def _general_note(n: note.GeneralNote) -> list[str]:
    if isinstance(n, note.Rest):
        # A hidden rest (a lower voice's where it is silent) is a spacer.
        return [f"{'s' if n.style.hideObjectOnPrint else 'r'}{length}" for length in _lengths(n.duration)]
    if isinstance(n, chord.Chord):
        name = "<" + " ".join(_absolute_pitch(p) for p in sorted(n.pitches, key=lambda p: p.ps)) + ">"
    elif isinstance(n, note.Note):
        name = _absolute_pitch(n.pitch)
    else:
        raise ProcessingError(f"cannot notate a {type(n).__name__}: only notes, chords and rests")
    lengths = _lengths(n.duration)
    tied = n.tie is not None and n.tie.type in ("start", "continue")
    tokens = [f"{name}{length}~" for length in lengths[:-1]]
    tokens.append(f"{name}{lengths[-1]}{'~' if tied else ''}")
    if any(isinstance(a, articulations.BreathMark) for a in n.articulations):
        tokens.append("\\breathe")  # a comma after the note: the performer took a breath
    return tokens


def _tuplet_ratio(n: note.GeneralNote) -> tuple[int, int] | None:
    tuplets = n.duration.tuplets
    if not tuplets:
        return None
    if len(tuplets) > 1:
        raise ProcessingError("cannot notate nested tuplets")
    return (tuplets[0].numberNotesActual, tuplets[0].numberNotesNormal)


def _clef(c: clef.Clef) -> str:
    name = _CLEFS.get((c.sign, c.line))
    octave = _CLEF_OCTAVES.get(c.octaveChange)
    if name is None or octave is None:
        raise ProcessingError(f"cannot notate the clef {type(c).__name__}")
    return f'\\clef "{name}{octave}"'


def _key(ks: key.KeySignature) -> str:
    if isinstance(ks, key.Key) and ks.mode in _MODES:
        tonic, mode = ks.tonic, ks.mode
    else:
        tonic, mode = ks.asKey("major").tonic, "major"
    return f"\\key {_pitch_name(tonic)} \\{mode}"


def _tempo(mark: tempo.MetronomeMark) -> str | None:
    words = []
    if mark.text and not mark.textImplicit:
        words.append(lilypond_string(mark.text))
    if mark.number is not None and not mark.numberImplicit:
        referent = _lengths(mark.referent)
        if len(referent) != 1:
            raise ProcessingError("cannot notate a tempo whose beat is not a single note value")
        words.append(f"{referent[0]} = {round(mark.number)}")
    return "\\tempo " + " ".join(words) if words else None


def _content_length(measure: stream.Stream) -> Fraction:
    return max(
        (Fraction(n.offset) + Fraction(n.quarterLength) for n in measure.notesAndRests),
        default=Fraction(0),
    )


class _PartWriter:
    """Turns one monophonic Part, measure by measure, into the lines of a staff."""

    def __init__(self, with_tempo: bool) -> None:
        self.with_tempo = with_tempo
        self.bar = _DEFAULT_BAR

    def staff(self, part: stream.Part) -> list[str]:
        measures = list(part.getElementsByClass(stream.Measure))
        if not measures:
            raise ProcessingError("a part has no measures: make measures before notating")
        lines = []
        for index, measure in enumerate(measures):
            last = index == len(measures) - 1
            tokens = self._measure(measure, first=index == 0, last=last)
            # A bar check makes LilyPond warn when a measure does not add up.
            lines.append(" ".join(tokens) + ("" if last else " |"))
        lines.append('\\bar "|."')
        return lines

    def _measure(self, measure: stream.Measure, *, first: bool, last: bool) -> list[str]:
        # music21 marks a pickup by left padding; a first measure that is merely
        # short (the melody pauses) is filled with rests like any other.
        pickup = first and measure.paddingLeft > 0
        # Only a pickup and the last measure may be short.
        return self._line(measure, measure.number, fill=not pickup and not last, pickup=pickup, whole_rests=True)

    def two_voice_staff(self, part: stream.Part) -> list[str]:
        r"""A staff with two-voice passages as two Voice contexts that run through the whole
        staff (ties cross bar lines within a voice; a ``<< \\ >>`` per measure would break them):
        the upper one ``\oneVoice`` where the staff has one voice, the lower one spacer rests there."""
        measures = list(part.getElementsByClass(stream.Measure))
        upper: list[str] = []
        lower: list[str] = []
        two = False
        for index, measure in enumerate(measures):
            first, last = index == 0, index == len(measures) - 1
            bar_check = "" if last else " |"
            if measure.hasVoices():
                voices = list(measure.voices)
                if len(voices) != 2:
                    raise ProcessingError(f"measure {measure.number} has {len(voices)} voices: at most two are supported")
                tokens = [a for e in measure if not isinstance(e, (note.GeneralNote, stream.Voice))
                          if (a := self._attribute(e)) is not None]
                pickup = first and measure.paddingLeft > 0
                if pickup and (length := max(_content_length(v) for v in voices)) < self.bar:
                    tokens.append(_partial(length))
                upper.append(" ".join([*tokens, "\\voiceOne", *self._line(voices[0], measure.number, fill=not pickup)])
                             + bar_check)
                lower.append(" ".join(["\\voiceTwo", *self._line(voices[1], measure.number, fill=not pickup)])
                             + bar_check)
                two = True
                continue
            tokens = self._measure(measure, first=first, last=last)
            upper.append(" ".join((["\\oneVoice"] if two else []) + tokens) + bar_check)
            length = _content_length(measure) if first and measure.paddingLeft > 0 else self.bar
            lower.append(" ".join(f"s{r[1:]}" for r in _rests(length)) + bar_check)
            two = False
        upper.append('\\bar "|."')
        return ["\\new Staff <<", *_block("\\new Voice {", upper, "}"), *_block("\\new Voice {", lower, "}"), ">>"]

    def _line(self, line: stream.Stream, number: int | None, *, fill: bool, pickup: bool = False,
              whole_rests: bool = False) -> list[str]:
        r"""A measure's (or one voice's) attributes, notes, chords, rests and tuplets; rests fill
        the bar when ``fill``; ``pickup``: announce a short first measure with ``\partial``."""
        announce_pickup = pickup  # \partial goes after \time, before the first note
        tokens: list[str] = []
        position = Fraction(0)
        tuplet: tuple[int, int] | None = None  # ratio of the open \tuplet group
        tuplet_length = Fraction(0)
        for element in line:
            if not isinstance(element, note.GeneralNote):
                if (attribute := self._attribute(element)) is not None:
                    tokens.append(attribute)
                continue
            offset = Fraction(element.offset)
            if offset < position:
                raise ProcessingError(f"measure {number} has overlapping notes: only one line per voice is supported")
            if announce_pickup:
                length = _content_length(line)
                if length < self.bar:
                    tokens.append(_partial(length))
                announce_pickup = False
            ratio = _tuplet_ratio(element)
            if tuplet is not None and (ratio != tuplet or offset > position):
                tokens.append("}")
                tuplet = None
            if offset > position:
                tokens += _rests(offset - position)
            if ratio is not None and tuplet is None:
                tokens.append(f"\\tuplet {ratio[0]}/{ratio[1]} {{")
                tuplet, tuplet_length = ratio, Fraction(0)
            notated = _general_note(element)
            if whole_rests and len(notated) == 1 and self._fills_bar(element, line):
                # A whole-bar rest, centred in its bar as engravers set it.
                notated = ["R" + notated[0].removeprefix("r")]
            tokens += notated
            position = offset + Fraction(element.quarterLength)
            if tuplet is not None:
                tuplet_length += Fraction(element.quarterLength)
                # The group is complete once its length is a plain note value again.
                if tuplet_length.denominator & (tuplet_length.denominator - 1) == 0:
                    tokens.append("}")
                    tuplet = None
        if tuplet is not None:
            tokens.append("}")
        if fill and position < self.bar:
            tokens += _rests(self.bar - position)
        return tokens

    def _fills_bar(self, element: note.GeneralNote, measure: stream.Stream) -> bool:
        return (
            isinstance(element, note.Rest)
            and element.offset == 0
            and Fraction(element.quarterLength) == self.bar
            and len(measure.notesAndRests) == 1
        )

    def _attribute(self, element: object) -> str | None:
        if isinstance(element, clef.Clef):
            return _clef(element)
        if isinstance(element, key.KeySignature):
            return _key(element)
        if isinstance(element, meter.TimeSignature):
            self.bar = Fraction(element.barDuration.quarterLength)
            return f"\\time {element.numerator}/{element.denominator}"
        if isinstance(element, tempo.MetronomeMark) and self.with_tempo:
            return _tempo(element)
        if isinstance(element, expressions.TextExpression) and self.with_tempo:  # once, above the top staff
            text = lilypond_string(element.content)
            italic = getattr(element.style, "fontStyle", None) == "italic"  # tempo words: "rit."
            return f"\\mark \\markup \\italic {text}" if italic else f"\\mark {text}"
        # Barlines, beams, layout hints: LilyPond decides, and the end is always |.
        return None


def _block(opening: str, lines: list[str], closing: str) -> list[str]:
    return [opening, *(_INDENT + line for line in lines), closing]


def score_to_lilypond(score: stream.Score) -> str:
    """Writes LilyPond 2.24 source for a score of one staff or a grand staff.

    Args:
        score: one Part (a single staff) or two (a grand staff, upper first),
            each made of Measures of single Notes and Rests, with key, time
            signature, clef and metronome mark where they change.

    Returns:
        The source text, ending with a newline.

    Raises:
        ProcessingError: the score holds something this emitter cannot notate
            (chords, voices, microtones, nested tuplets, more than two parts).
    """
    parts = list(score.parts)
    if len(parts) not in (1, 2):
        raise ProcessingError(f"cannot notate {len(parts)} parts: expected one or two")

    header: list[str] = []
    metadata = score.metadata
    if metadata is not None:
        # Titles are centred, composers flush right: wrapped lines keep that alignment.
        fields = (
            ("title", metadata.title, "center-column", TITLE_LINE_CHARS),
            ("composer", metadata.composer, "right-column", COMPOSER_LINE_CHARS),
        )
        header += filter(None, (_header_field(*field) for field in fields))
    header.append("tagline = ##f")

    staves = []
    for index, part in enumerate(parts):
        # One tempo mark per score: the second staff of a grand staff would repeat it.
        writer = _PartWriter(with_tempo=index == 0)
        if any(m.hasVoices() for m in part.getElementsByClass(stream.Measure)):
            staves += writer.two_voice_staff(part)
        else:
            staves += _block("\\new Staff {", writer.staff(part), "}")
    music = _block("\\new PianoStaff <<", staves, ">>") if len(parts) == 2 else staves

    paper = [
        f'#(set-paper-size "{PAPER_SIZE}")',
        *(f"{side}-margin = {MARGIN_MM}\\mm" for side in ("top", "bottom", "left", "right")),
        "ragged-last-bottom = ##t",
    ]
    out = [
        f'\\version "{LILYPOND_VERSION}"',
        "",
        # No file paths in the PDF.
        "\\pointAndClickOff",
        f"#(set-global-staff-size {STAFF_SIZE_PT})",
        "",
        *_block("\\paper {", paper, "}"),
        "",
        *_block("\\header {", header, "}"),
        "",
        *_block("\\score {", [*music, "\\layout { }"], "}"),
    ]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class RenderedScore:
    """Files written by :func:`render_lilypond`, and what LilyPond logged."""

    ly: Path
    pdf: Path
    png: Path
    log: str
    pages: tuple[Path, ...] = ()  # every page as ``basename-N.png`` (N from 1); ``png`` is page 1


def _run(argv: list[str], cwd: Path, timeout_s: float, package: str) -> tuple[int, str]:
    """Runs a tool with its output captured, in a process group that dies with it.

    Its own process group, so that a timeout also kills Ghostscript, lilypond's child.

    Returns:
        The exit status and the combined stdout and stderr.
    """
    try:
        status, output, _ = tools.run(argv, timeout_s=timeout_s, cwd=cwd, merge_stderr=True)
    except FileNotFoundError:
        raise ProcessingError(_missing(argv[0], package)) from None
    except subprocess.TimeoutExpired:
        raise ProcessingError(f"{argv[0]} took longer than {timeout_s:g} s") from None
    return status, output.decode("utf-8", errors="replace")


def _missing(tool: str, package: str) -> str:
    return f"{tool} not found on PATH: install the Debian package {package}"


def _first_error(log: str) -> str | None:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    line = next((x for x in lines if "error" in x.lower()), lines[-1] if lines else None)
    if line is not None and len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 1] + "…"
    return line


class WaitingLilyPond:
    """A LilyPond process started before its source exists (see :func:`lilypond_started`)."""

    def __init__(self, proc: subprocess.Popen[bytes] | None, work: Path, basename: str) -> None:
        self._proc, self.work, self.basename = proc, work, basename
        self._fed = False

    def compile(self, data: bytes, timeout_s: float) -> tuple[int, str]:
        """Gives LilyPond its source on stdin and waits for it: (exit status, its log, file
        positions named ``basename.ly``). ``timeout_s`` counts from here: the start-up is done.

        Raises:
            ProcessingError: LilyPond is not installed or ran out of time.
            RuntimeError: a source was given already (one score per process).
        """
        if self._fed:
            raise RuntimeError("a LilyPond process compiles one source")
        self._fed = True
        if self._proc is None:
            raise ProcessingError(_missing(LILYPOND, "lilypond"))
        proc = self._proc
        # Written from a thread: a large source fills the pipe while LilyPond still starts up.
        feeder = threading.Thread(target=_feed, args=(proc, data), daemon=True)
        feeder.start()
        try:
            output = b"".join(tools.PipeReader(proc, timeout_s))
        except subprocess.TimeoutExpired:
            tools.kill_group(proc)
            raise ProcessingError(f"{LILYPOND} took longer than {timeout_s:g} s") from None
        status = proc.wait()
        feeder.join()
        log = output.decode("utf-8", errors="replace")
        return status, re.sub(r"(?m)^-:", f"{self.basename}.ly:", log)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(OSError):  # LilyPond killed or gone: its status says so
        view = memoryview(data)
        while view:
            view = view[os.write(proc.stdin.fileno(), view):]
    with contextlib.suppress(OSError):
        proc.stdin.close()


@contextlib.contextmanager
def lilypond_started(basename: str = "score") -> Iterator[WaitingLilyPond]:
    """LilyPond started now, reading its source from stdin when :func:`render_lilypond` gives
    it: its start-up (Guile and the fonts, seconds, most of a short score's time) overlaps
    whatever the caller does before the source is ready. Killed, with its directory, on leaving
    the block unused or with an exception. A missing LilyPond is reported when it is used.

    Raises:
        InputError: basename is not a plain file name stem.
    """
    if not _BASENAME.fullmatch(basename):
        raise InputError(f"unusable output basename {basename!r}")
    argv = [LILYPOND, "--pdf", "--loglevel=WARNING", "-dno-point-and-click", "-o", basename, "-"]
    with tempfile.TemporaryDirectory(prefix="audioscore-lilypond-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        proc: subprocess.Popen[bytes] | None
        try:
            proc = stack.enter_context(tools.started(argv, cwd=work, stderr=subprocess.STDOUT, stdin=subprocess.PIPE))
        except FileNotFoundError:
            proc = None
        try:
            yield WaitingLilyPond(proc, work, basename)
        finally:
            if proc is not None:
                tools.kill_group(proc)  # a no-op once it has been waited for


def render_lilypond(
    source: str, out_dir: Path, *, basename: str = "score", timeout_s: float = 120.0,
    started: WaitingLilyPond | None = None,
) -> RenderedScore:
    """Compiles LilyPond source to a PDF, a PNG of each page and a copy of the first as ``basename.png``.

    The source is saved as ``basename.ly`` in out_dir first, so that it is there
    to inspect when compiling fails. LilyPond and pdftoppm run in a temporary
    directory; their results appear in out_dir atomically, mode 0644.

    Args:
        source: trusted LilyPond source, e.g. from :func:`score_to_lilypond`.
        out_dir: directory for ``basename.ly``, ``.pdf``, ``.png`` and ``-N.png`` (the pages, the blank
            paper below the last system cut off); created if missing.
        basename: file name stem: letters, digits, ``_`` and ``-``.
        timeout_s: limit, in seconds, for each of the two tools.
        started: LilyPond already started by :func:`lilypond_started` (its basename is used);
            None: one is started here.

    Returns:
        The paths and LilyPond's log (warnings and errors only; empty when clean).

    Raises:
        InputError: basename is not a plain file name stem.
        ProcessingError: a tool is missing, fails or runs out of time.
    """
    if started is None:
        with lilypond_started(basename) as lilypond:
            return render_lilypond(source, out_dir, basename=basename, timeout_s=timeout_s, started=lilypond)
    basename, work = started.basename, started.work
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = source.encode("utf-8")
    ly = out_dir / f"{basename}.ly"
    write_atomic(ly, data)
    status, log = started.compile(data, timeout_s)
    pdf_work = work / f"{basename}.pdf"
    if status != 0:
        raise ProcessingError(f"lilypond failed: {_first_error(log) or f'exit status {status}'}")
    if not pdf_work.is_file():
        raise ProcessingError("lilypond exited successfully but wrote no PDF")
    # Every page (a results page shows them all); pdftoppm names them basename-1.png or,
    # with ten pages or more, zero-padded (basename-01.png): renamed to basename-N.png below.
    status, ppm_log = _run([PDFTOPPM, "-png", "-r", str(PNG_DPI), pdf_work.name, basename],
                           work, timeout_s, "poppler-utils")
    rendered = sorted((int(m.group(1)), p) for p in work.glob(f"{basename}-*.png")
                      if (m := re.fullmatch(rf"{re.escape(basename)}-(\d+)\.png", p.name)))
    if status != 0 or not rendered:
        reason = _first_error(ppm_log) or f"exit status {status}"
        raise ProcessingError(f"pdftoppm failed: {reason}")
    pdf, png = out_dir / pdf_work.name, out_dir / f"{basename}.png"
    write_atomic(pdf, pdf_work.read_bytes())
    pages = []
    for number, page in rendered:
        pages.append(out_dir / f"{basename}-{number}.png")
        write_atomic(pages[-1], _without_blank_bottom(page.read_bytes()))
    write_atomic(png, rendered[0][1].read_bytes())  # score.png stays the first page, as before
    _remove_stale_pages(out_dir, basename, len(pages))
    return RenderedScore(ly=ly, pdf=pdf, png=png, log=log, pages=tuple(pages))


def _without_blank_bottom(png: bytes) -> bytes:
    """A page image without the empty paper below its last system (a short score's page is mostly blank),
    keeping a bottom margin as wide as the side margin."""
    from PIL import Image, ImageOps  # matplotlib's dependency; only needed here

    with Image.open(io.BytesIO(png)) as image:
        box = ImageOps.invert(image.convert("L")).getbbox()
        if box is None:
            return png
        margin = round(MARGIN_MM / 25.4 * PNG_DPI)
        bottom = min(image.height, box[3] + margin)
        if bottom >= image.height - margin:
            return png
        out = io.BytesIO()
        image.crop((0, 0, image.width, bottom)).save(out, format="PNG", optimize=True)
        return out.getvalue()


def _remove_stale_pages(out_dir: Path, basename: str, count: int) -> None:
    """Pages beyond ``count`` left by an earlier, longer score in the same folder would pass for this one's."""
    for path in out_dir.glob(f"{basename}-*.png"):
        match = re.fullmatch(rf"{re.escape(basename)}-(\d+)\.png", path.name)
        if match and int(match.group(1)) > count:
            path.unlink(missing_ok=True)
