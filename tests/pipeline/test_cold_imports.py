"""Each function's handler, imported cold, loads only its own stage's libraries.

A function's cold start is mostly imports: fetch-youtube needs no signal analysis,
transcribe no downloader, extract-features no notation. Each handler is imported in a
fresh interpreter and the heavy modules it must not load are looked up in sys.modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scipy", "librosa", "numba", "vampyhost", "music21", "yt_dlp", "matplotlib")
# Handler folder -> the modules its import must not load.
FORBIDDEN = {
    "fetch-youtube": ("numpy", "librosa", "numba", "vampyhost", "music21", "matplotlib"),
    "transcribe": ("yt_dlp", "librosa", "numba", "vampyhost", "matplotlib"),
    "extract-features": ("yt_dlp", "music21", "librosa", "numba"),
    "redrive": HEAVY,  # it lists, claims and re-sends: no analysis, notation or download code
    "recordings": HEAVY,
}


def loaded_after(code: str, cwd: Path) -> list[str]:
    """The HEAVY modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env_path = f"{ROOT}"
    result = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("function", sorted(FORBIDDEN))
def test_handler_imports_only_its_own_stage(function: str) -> None:
    folder = ROOT / function
    loaded = loaded_after(f"import sys; sys.path.insert(0, {str(folder)!r}); import handler", folder)
    assert not set(loaded) & set(FORBIDDEN[function]), f"{function} loads {sorted(loaded)}"


def test_each_stage_still_loads_what_it_needs() -> None:
    """The check above is not vacuous: the stage modules do load their libraries when used."""
    assert "music21" in loaded_after("from audioscore.pipeline.functions import transcribe", ROOT)
    assert "vampyhost" in loaded_after("from audioscore.pipeline.functions import extract_features", ROOT)
    assert "yt_dlp" in loaded_after("from audioscore.pipeline.functions import fetch_youtube", ROOT)
