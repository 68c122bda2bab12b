"""Command line: ``audioscore extract AUDIO -o OUTDIR``.

Parses arguments, calls the core and maps the project's errors to a one-line
message and an exit code; no tracebacks unless ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .audio import DEFAULT_SAMPLE_RATE, Limits, load_audio
from .errors import AudioscoreError
from .export import file_sha256, write_features
from .features import Source, extract
from .mfcc import N_MFCC
from .pitch import PLUGIN_KEY

__all__ = ["main"]

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 1


def _parameter(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audioscore", description="Audio to features and sheet music.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", required=True)

    extract_cmd = commands.add_parser("extract", help="pitch track, notes and MFCCs of an audio file")
    extract_cmd.add_argument("audio", type=Path, help="any file ffmpeg can read (audio or video)")
    extract_cmd.add_argument("-o", "--out", type=Path, required=True, help="output directory")
    extract_cmd.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                             help="analysis rate in Hz (default %(default)s)")
    extract_cmd.add_argument("--n-mfcc", type=int, default=N_MFCC, help="MFCCs per frame (default %(default)s)")
    extract_cmd.add_argument("--plugin", default=PLUGIN_KEY,
                             help="Vamp plugin key with pYIN's outputs (default %(default)s)")
    extract_cmd.add_argument("--param", type=_parameter, action="append", default=[], metavar="NAME=VALUE",
                             help="plugin parameter, repeatable (e.g. onsetsensitivity=0.5)")
    extract_cmd.add_argument("--no-plot", action="store_true", help="skip features.png")
    output = extract_cmd.add_mutually_exclusive_group()
    output.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    output.add_argument("--json", action="store_true", help="print only the path of features.json")
    return parser


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


def _run_extract(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    progress = _Progress(not (args.quiet or args.json))
    progress("decode", 0.0)
    audio = load_audio(args.audio, sample_rate=args.sample_rate, limits=Limits.from_env())
    features = extract(
        audio, plugin_key=args.plugin, plugin_parameters=dict(args.param), n_mfcc=args.n_mfcc, progress=progress
    )
    progress("write", 0.0)
    source = Source(key=args.audio.name, sha256=file_sha256(args.audio))
    files = write_features(features, source, args.out, plot=not args.no_plot)
    progress.done()
    if args.json:
        print(files.features_json)
    else:
        say(f"features: {files.features_json}")
        if files.features_png:
            say(f"picture:  {files.features_png}")
        say(f"{len(features.pitch.notes)} notes, {audio.duration_s:.1f} s of audio")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audioscore`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    say = (lambda _: None) if getattr(args, "quiet", False) else print
    try:
        return _run_extract(args, say)
    except AudioscoreError as error:
        print(f"audioscore: error: {error}", file=sys.stderr)
        return error.exit_code
    except ValueError as error:  # bad option values the parser could not see (e.g. --n-mfcc 0)
        print(f"audioscore: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("audioscore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.debug:
            raise
        print(f"audioscore: internal error: {type(error).__name__}: {error} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
