"""Command line: ``audioscore extract|transcribe AUDIO -o OUTDIR`` and
``audioscore score FEATURES_JSON -o OUTDIR``.

Parses arguments, calls the core and maps the project's errors to a one-line
message and an exit code; no tracebacks unless ``--debug``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .analysis.engines import check_engine, check_instrument
from .errors import AudioscoreError, InputError
from .notation.hints import TIME_SIGNATURES, check_key, check_tempo, check_time_signature

if TYPE_CHECKING:
    from concurrent.futures import Future

    from audioscore.analysis.audio import AudioInfo, Limits
    from audioscore.notation.transcription import TranscribeOptions, Transcription

__all__ = ["main"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_INTERNAL = 1
MAX_LABEL_CHARS = 1000  # --title / --composer: the score prints at most 200 characters of them
# The parser's defaults, written here so that --help and argument errors import no numpy, librosa,
# music21 or plugin (tests/test_cli.py checks them against the modules that own them): each
# command imports what it needs when it runs.
DEFAULT_SAMPLE_RATE = 44100  # audioscore.analysis.audio.DEFAULT_SAMPLE_RATE
N_MFCC = 13  # audioscore.analysis.mfcc.N_MFCC
PLUGIN_KEY = "audioscore_pyin:pyin"  # audioscore.analysis.pitch.PLUGIN_KEY


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line (the usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _Terminated(KeyboardInterrupt):
    """SIGTERM as an exception, so that cleanup (killing ffmpeg's process group) runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _parameter(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}") from None


def _checked(check: Callable[[object], Any]) -> Callable[[str], Any]:
    """An argparse type from a hint's check (``notation.hints``): the same words as the functions' 400s."""
    def parse(text: str) -> Any:
        try:
            return check(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse


def _label(text: str) -> str:
    """--title, --composer: printable text of a sane length (line breaks are spaces)."""
    if len(text) > MAX_LABEL_CHARS:
        raise argparse.ArgumentTypeError(f"at most {MAX_LABEL_CHARS} characters, got {len(text)}")
    return text


def _add_engine_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--engine", type=_checked(check_engine), default="auto",
                         help="note engine: melody (pYIN: voice, winds, strings), poly (basic-pitch: piano, "
                              "guitar, chords) or auto (default: from --instrument, else from the audio)")
    command.add_argument("--instrument", type=_checked(check_instrument), default=None,
                         help="what plays, e.g. piano, guitar, voice, flute, violin, cello: chooses the engine under "
                              "auto and the staves (piano: grand staff; guitar: treble clef an octave down; a melody "
                              "instrument: one staff in its players' clef, e.g. viola alto, cello bass or tenor)")


def _add_output_flags(command: argparse.ArgumentParser, what: str) -> None:
    output = command.add_mutually_exclusive_group()
    output.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    output.add_argument("--json", action="store_true", help=f"print only the path of {what}")


def _add_notation_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--tempo", type=_checked(check_tempo), metavar="BPM", help="quarter-note tempo (20..400) instead of estimating it")
    command.add_argument("--time-signature", type=_checked(check_time_signature), metavar="|".join(TIME_SIGNATURES),
                         help="meter instead of estimating it")
    command.add_argument("--key", type=_checked(check_key), help="key instead of estimating it, e.g. 'D major', 'Bb minor', 'F♯ minor', 'A mixolydian'; "
                         "a key that would need more than 7 sharps or flats is written as its enharmonic "
                         "equivalent (B# major as C major), with a note; a take sung about a quarter tone "
                         "from A440 is rounded to the semitone whose notes are in this key")
    command.add_argument("--title", type=_label, default="", help="title (default: the file name)")
    command.add_argument("--composer", type=_label, default="", help="composer line")
    command.add_argument("--no-triplets", action="store_true", help="quantise to sixteenths only")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="audioscore", description="Audio to features and sheet music. extract and transcribe also "
                     "write index.html (the results as one page, with a player for a copy of the input) "
                     "into the output folder and print its path.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for name, summary in (("extract", "pitch track, notes and MFCCs of an audio file"),
                          ("transcribe", "features and a score (PDF, PNG, MIDI, MusicXML) of an audio file")):
        summary += "; also index.html, a page of the results that opens in a browser without a server"
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument("audio", type=Path, help="an audio or video file in an accepted container (README: Accepted media)")
        command.add_argument("-o", "--out", type=Path, required=True,
                             help="output directory (created if missing; must be writable)")
        command.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                             help="analysis rate in Hz (default %(default)s)")
        command.add_argument("--no-plot", action="store_true", help="skip features.png")
        _add_engine_flags(command)
        if name == "extract":
            command.add_argument("--n-mfcc", type=int, default=N_MFCC, help="MFCCs per frame (default %(default)s)")
            command.add_argument("--plugin", default=PLUGIN_KEY,
                                 help="Vamp plugin key with pYIN's outputs (default %(default)s)")
            command.add_argument("--param", type=_parameter, action="append", default=[], metavar="NAME=VALUE",
                                 help="plugin parameter, repeatable (e.g. onsetsensitivity=0.5)")
            _add_output_flags(command, "features.json")
        else:
            _add_notation_flags(command)
            _add_output_flags(command, "score.pdf")

    score = commands.add_parser("score", help="a score from an existing features.json")
    score.add_argument("features", type=Path, help="features.json written by extract")
    score.add_argument("-o", "--out", type=Path, required=True, help="output directory")
    _add_notation_flags(score)
    _add_output_flags(score, "score.pdf")
    return parser


def _check_input_file(path: Path) -> None:
    """The input must be a regular file: a directory, FIFO or device would make the
    tools fail late, block, or read forever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        broken = " (a broken symbolic link)" if path.is_symlink() else ""
        raise InputError(f"{str(path)!r}: no such file{broken}") from None
    except OSError as error:
        raise InputError(f"{str(path)!r}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{str(path)!r} is not a regular file")


def _check_output_dir(out: Path) -> None:
    """Create the output directory and prove it writable, before any work: a mistake
    found after minutes of decoding wastes them. (A write test rather than permission
    bits: root passes those everywhere, read-only file systems included.)"""
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise InputError(f"-o {str(out)!r}: cannot write there ({error.strerror})") from None


def _note_key_respelling(args: argparse.Namespace) -> None:
    """One line on stderr when --key is written as its enharmonic equivalent."""
    from audioscore.notation.tonality import key_respelling

    note = key_respelling(args.key) if args.key else None
    if note and not args.quiet:
        print(f"audioscore: note: {note}", file=sys.stderr)


class _Progress:
    """One self-rewriting status line on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()

    def __call__(self, stage: str, fraction: float) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"\r{stage:<8} {fraction:6.1%}  {elapsed:6.1f} s")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 40 + "\r")
            sys.stderr.flush()


def _probe_meanwhile(path: Path, limits: Limits) -> Future[AudioInfo]:
    """``audio.probe`` of the input in a thread: ffprobe (~0.1 s, a subprocess) runs while the
    analysis modules import in this one. Its errors are raised by ``result()``."""
    from audioscore.analysis.audio import probe
    from audioscore.infra.background import meanwhile

    return meanwhile("probe", lambda: probe(path, limits))


def _run_extract(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from audioscore.infra.config import audio_limits

    _check_input_file(args.audio)
    limits = audio_limits()
    probing = _probe_meanwhile(args.audio, limits)
    from audioscore.analysis.export import file_sha256, write_features
    from audioscore.analysis.features import Source, extract_file
    from audioscore.analysis.pitch import check_plugin

    check_plugin(args.plugin, dict(args.param))
    _check_output_dir(args.out)
    progress = _Progress(not (args.quiet or args.json))
    progress("features", 0.0)
    features = extract_file(
        args.audio, sample_rate=args.sample_rate, limits=limits, info=probing.result(), plugin_key=args.plugin,
        plugin_parameters=dict(args.param), n_mfcc=args.n_mfcc, engine=args.engine, instrument=args.instrument,
        picture=not args.no_plot, progress=progress,
    )
    progress("write", 0.0)
    source = Source(key=args.audio.name, sha256=file_sha256(args.audio))
    files = write_features(features, source, args.out, plot=not args.no_plot)
    progress.done()
    page = _write_page(args)
    if args.json:
        print(files.features_json)
    else:
        say(f"page:     {page}")
        say(f"features: {files.features_json}")
        if files.features_png:
            say(f"picture:  {files.features_png}")
        engine = features.engine_choice
        say(f"{len(features.notes)} notes, {features.audio.duration_s:.1f} s of audio; "
            f"{engine.name} engine ({engine.reason})")
    return 0


def _options(args: argparse.Namespace, default_title: str) -> TranscribeOptions:
    from audioscore.notation.transcription import TranscribeOptions

    return TranscribeOptions(
        tempo_bpm=args.tempo, time_signature=args.time_signature, key=args.key,
        title=args.title or default_title, composer=args.composer, triplets=not args.no_triplets,
        instrument=getattr(args, "instrument", None),
    )


def _report_score(result: Transcription, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    if args.json:
        print(result.files.pdf)
        return
    score = result.score
    say(f"score:    {result.files.pdf}")
    say(f"preview:  {result.files.png}")
    say(f"also:     {result.files.ly.name}, {result.files.midi.name}, {result.files.musicxml.name}, "
        f"{result.files.json.name} in {result.files.pdf.parent}")
    say(f"{score['key']}, {score['time_signature']}, quarter = {score['tempo_bpm']:.0f}, "
        f"{score['measures']} measures, {len(score['notes'])} notes")


def _run_transcribe(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from audioscore.infra.config import audio_limits

    _check_input_file(args.audio)
    limits = audio_limits()
    probing = _probe_meanwhile(args.audio, limits)
    from audioscore.notation.transcription import transcribe_file

    _check_output_dir(args.out)
    _note_key_respelling(args)
    progress = _Progress(not (args.quiet or args.json))
    result = transcribe_file(args.audio, args.out, _options(args, args.audio.stem), sample_rate=args.sample_rate,
                             limits=limits, info=probing.result(), plot=not args.no_plot, engine=args.engine,
                             progress=progress)
    progress.done()
    page = _write_page(args)
    if not args.json:
        say(f"page:     {page}")
    if result.features and not args.json:
        say(f"features: {result.features.features_json}")
    _report_score(result, args, say)
    return 0


def _run_score(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from audioscore.infra.config import audio_limits
    from audioscore.notation.feature_notes import instrument_of, read_features
    from audioscore.notation.transcription import notes_from_features, transcribe_notes

    document = read_features(args.features)
    # Every field checked before anything is written.
    notes = notes_from_features(document, limits=audio_limits(), key=args.key)
    _check_output_dir(args.out)
    _note_key_respelling(args)
    title = args.title or str(document.get("source", {}).get("key") or args.features.parent.name)
    options = _options(args, title)
    # The staff layout follows the instrument the features name unless the command line names one.
    options = dataclasses.replace(options, instrument=options.instrument or instrument_of(document))
    _report_score(transcribe_notes(notes, args.out, options), args, say)
    return 0


def _write_page(args: argparse.Namespace) -> Path:
    """index.html in the output folder: the results as one page, with a player for the input."""
    from audioscore.pages.folder import write_index

    return write_index(args.out, audio=args.audio, title=getattr(args, "title", "") or "")


COMMANDS = {"extract": _run_extract, "transcribe": _run_transcribe, "score": _run_score}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audioscore`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    # Before numpy loads: its matrix products here are small, and OpenBLAS's extra threads
    # only spin, taking a core from ffmpeg and the plugin (0.15-0.3 s of CPU per 30 s of audio).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    say = (lambda _: None) if getattr(args, "quiet", False) else print
    # Python's default SIGTERM action ends the process without unwinding: tools would survive.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return COMMANDS[args.command](args, say)
    except AudioscoreError as error:
        print(f"audioscore: error: {error}", file=sys.stderr)
        return error.exit_code
    except ValueError as error:  # bad option values the parser could not see (e.g. --n-mfcc 0)
        print(f"audioscore: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, _Terminated):
            print("audioscore: terminated", file=sys.stderr)
            return EXIT_TERMINATED
        print("audioscore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.debug:
            raise
        print(f"audioscore: internal error: {type(error).__name__}: {error} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if in_main_thread:  # None: a handler set outside Python, which we cannot restore
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())
