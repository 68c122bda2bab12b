"""The `audioscore extract` command as a user runs it: files written, output
printed, errors as one line with a non-zero exit."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import corpus
import numpy as np
import pytest
import soundfile as sf

from audioscore.cli import main

SR = 44100


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    script = Path(sys.executable).with_name("audioscore")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=300, check=False)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in-process (same code path, without interpreter start-up)."""
    try:
        code = main(list(args))
    except SystemExit as usage_error:  # argparse exits on usage errors, as in a real run
        code = int(usage_error.code or 0)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)


@pytest.fixture(scope="module")
def two_note_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A4 for 1 s, 0.3 s of silence, then E5 for 1 s (harmonic tones)."""
    path = tmp_path_factory.mktemp("cli") / "two notes.wav"
    signal = np.concatenate(
        [corpus.harmonic(440.0, 1.0, SR), corpus.silence(0.3, SR), corpus.harmonic(659.26, 1.0, SR)]
    )
    sf.write(path, signal, SR)
    return path


@pytest.fixture(scope="module")
def extracted(two_note_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("out")
    return out, run_cli("extract", str(two_note_wav), "-o", str(out))


def test_extract_writes_every_artifact_and_says_where(extracted: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, result = extracted
    assert result.returncode == 0, result.stderr
    for name in ("features.json", "pitch.csv", "notes.csv", "mfcc.csv", "features.png"):
        assert (out / name).stat().st_size > 0, name
    assert str(out / "features.json") in result.stdout
    assert str(out / "features.png") in result.stdout
    assert (out / "features.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_features_json_follows_the_design_contract(extracted: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = extracted
    doc = json.loads((out / "features.json").read_text())
    assert doc["schema"] == "audioscore.features/1"
    assert doc["source"]["key"] == "two notes.wav" and len(doc["source"]["sha256"]) == 64
    assert doc["audio"] == {"duration_s": 2.3, "sample_rate": SR, "channels": 1, "analysis_sample_rate": SR}
    pitch = doc["pitch"]
    assert pitch["plugin"] == "audioscore_pyin:pyin"
    assert len(pitch["times"]) == len(pitch["f0_hz"]) == len(pitch["voiced_prob"])
    assert pitch["times"][0] == 0.0 and pitch["times"][1] == pytest.approx(pitch["hop_s"], abs=1e-5)
    f0 = np.array(pitch["f0_hz"])
    times = np.array(pitch["times"])
    assert np.all(f0[(times > 1.08) & (times < 1.22)] == 0), "the silent gap is unvoiced (0 Hz)"
    assert np.median(f0[(times > 0.1) & (times < 0.9)]) == pytest.approx(440.0, rel=0.005)
    assert [round(n["midi"]) for n in doc["notes"]] == [69, 76]
    assert doc["notes"][0]["onset"] == pytest.approx(0.0, abs=0.05)
    assert doc["notes"][1]["onset"] == pytest.approx(1.3, abs=0.05)
    assert set(doc["notes"][0]) == {"onset", "offset", "pitch_hz", "midi"}
    assert doc["mfcc"]["n_mfcc"] == 13 and len(doc["mfcc"]["mean"]) == len(doc["mfcc"]["std"]) == 13
    assert doc["mfcc"]["frames"] == "mfcc.csv"
    summary = doc["summary"]
    assert 0.7 < summary["voiced_ratio"] < 0.95
    assert 430 < summary["f0_range_hz"][0] < summary["median_f0_hz"] < summary["f0_range_hz"][1] < 670


def test_csvs_use_sonic_annotator_layout(extracted: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = extracted
    pitch_rows = list(csv.reader((out / "pitch.csv").open()))
    assert all(len(row) == 2 and float(row[1]) > 0 for row in pitch_rows)  # voiced frames only
    note_rows = [[float(v) for v in row] for row in csv.reader((out / "notes.csv").open())]
    assert [len(row) for row in note_rows] == [3, 3]
    onset, duration, hz = note_rows[1]
    assert onset == pytest.approx(1.3, abs=0.05) and duration == pytest.approx(1.0, abs=0.1)
    assert hz == pytest.approx(659.26, rel=0.01)
    mfcc_rows = list(csv.reader((out / "mfcc.csv").open()))
    assert len(mfcc_rows[0]) == 1 + 13
    assert float(mfcc_rows[1][0]) == pytest.approx(512 / 22050, abs=1e-5)


def test_json_flag_prints_only_the_path(two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--json", "--no-plot", "--n-mfcc", "20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "features.json")
    assert json.loads((tmp_path / "features.json").read_text())["mfcc"]["n_mfcc"] == 20
    assert not (tmp_path / "features.png").exists()


def test_quiet_prints_nothing(two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--quiet", "--no-plot")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.write_text("not audio at all"), p)[1], "not a readable media file"),
        (lambda p: (sf.write(p, np.zeros(SR), SR, format="WAV"), p)[1], "silent"),
    ],
    ids=["missing", "text", "silent"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make_input, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_input(tmp_path / "input.wav")
    result = run_main(capsys, "extract", str(path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out" / "features.json").exists()


def test_unknown_plugin_is_a_clear_error(two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--plugin", "nope:nothing")
    assert result.returncode == 3
    assert "'nope:nothing' not found" in result.stderr and "Traceback" not in result.stderr


def test_bad_option_values_are_rejected(two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--param", "onsetsensitivity")
    assert result.returncode == 2 and "NAME=NUMBER" in result.stderr
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--n-mfcc", "0")
    assert result.returncode == 2 and "n_mfcc=0" in result.stderr
