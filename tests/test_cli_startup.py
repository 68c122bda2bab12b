"""The command line starts at once: --help and argument errors import no numpy stack, and
the parser's defaults written in cli.py are those of the modules that own them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audioscore import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "librosa", "numba", "vampyhost", "music21", "matplotlib", "yt_dlp")


def _loaded_by_main(argv: list[str]) -> tuple[int, list[str]]:
    probe = (f"import json, sys\nfrom audioscore.cli import main\ntry:\n    code = main({argv!r})\n"
             f"except SystemExit as exit:\n    code = exit.code\n"
             f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    code, loaded = json.loads(result.stderr.strip().splitlines()[-1])
    return code, loaded


@pytest.mark.parametrize("argv", [
    ["--help"], ["extract", "--help"], ["score", "--help"],
    ["extract", "in.wav"],  # no -o
    ["transcribe", "in.wav", "-o", "out", "--tempo", "9000"],
    ["transcribe", "in.wav", "-o", "out", "--key", "H major"],
    ["frobnicate"],
])
def test_help_and_argument_errors_import_no_heavy_library(argv: list[str]) -> None:
    code, loaded = _loaded_by_main(argv)
    assert code in (0, 2)
    assert loaded == [], f"audioscore {' '.join(argv)} imported {loaded}"


def test_extract_with_its_picture_loads_no_plotting_or_jit_stack(tmp_path: Path) -> None:
    import corpus

    audio = corpus.write_tones(tmp_path / "tones.wav", [60, 64])
    code, loaded = _loaded_by_main(["extract", str(audio), "-o", str(tmp_path / "out"), "-q"])
    assert code == 0
    assert (tmp_path / "out" / "features.png").read_bytes().startswith(b"\x89PNG")
    assert {"numba", "librosa", "matplotlib", "scipy", "music21"}.isdisjoint(loaded), loaded


def test_parser_defaults_are_the_owning_modules_values() -> None:
    from audioscore.analysis.audio import DEFAULT_SAMPLE_RATE
    from audioscore.analysis.mfcc import N_MFCC
    from audioscore.analysis.pitch import PLUGIN_KEY

    assert (cli.DEFAULT_SAMPLE_RATE, cli.N_MFCC, cli.PLUGIN_KEY) == (DEFAULT_SAMPLE_RATE, N_MFCC, PLUGIN_KEY)
