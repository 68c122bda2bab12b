"""The `audioscore extract` command as a user runs it: files written, output
printed, errors as one line with a non-zero exit."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import corpus
import numpy as np
import pytest
import soundfile as sf

from audioscore.cli import main
from audioscore.notation.score import MAX_REST_BARS

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
    assert set(doc["notes"][0]) == {"onset", "offset", "pitch_hz", "midi", "velocity", "rise_db"}
    assert all(1 <= n["velocity"] <= 127 for n in doc["notes"])
    assert doc["notes"][1]["rise_db"] >= 10, "the second note starts after a silent gap"
    assert doc["notes"][1]["dip_db"] >= 10, "the level fell into that gap below the first note"
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
    # A typo in --plugin is the user's mistake (2); only our own plugin missing is a broken install (3).
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--plugin", "nope:nothing")
    assert result.returncode == 2
    assert "'nope:nothing' not found" in result.stderr and "audioscore_pyin:pyin" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_option_values_are_rejected(two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--param", "onsetsensitivity")
    assert result.returncode == 2 and "NAME=NUMBER" in result.stderr
    result = run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path), "--n-mfcc", "0")
    assert result.returncode == 2 and "n_mfcc=0" in result.stderr


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if decoding or notation starts: the mistake must be caught before."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the arguments were checked")
    # Where the CLI's commands import them from when they run (cli.py imports them lazily).
    for name in ("audioscore.analysis.features.extract_file", "audioscore.notation.transcription.transcribe_file",
                 "audioscore.notation.transcription.transcribe_notes"):
        monkeypatch.setattr(name, refuse)


def features_with(tmp_path: Path, notes: list[dict]) -> Path:
    path = tmp_path / "features.json"
    path.write_text(json.dumps({"schema": "audioscore.features/1", "source": {"key": "tune.wav"}, "notes": notes}))
    return path


MELODY = [{"onset": 0.5 * i, "offset": 0.5 * i + 0.45, "pitch_hz": 440.0, "midi": [60, 62, 64, 65][i % 4]}
          for i in range(8)]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[1, 2]", "top level is a JSON list"),
        (json.dumps({"notes": MELODY + [{"onset": 1e5, "offset": 1e5 + 1, "midi": 60}]}),
         "notes[8].onset must be a number of seconds"),
        (json.dumps({"notes": [{**MELODY[0], "midi": 300}, *MELODY]}), "notes[0].midi must be a MIDI number"),
        (json.dumps({"notes": MELODY, "schema": "other/1"}), "has schema 'other/1'"),
    ],
    ids=["deep", "array", "note-at-1e5-s", "midi-300", "schema"],
)
def test_hostile_features_json_is_one_line_and_exit_2(
    tmp_path: Path, content: str, fragment: str, capsys: pytest.CaptureFixture[str], no_work: None
) -> None:
    path = tmp_path / "features.json"
    path.write_text(content)
    one_line_error(run_main(capsys, "score", str(path), "-o", str(tmp_path / "out")), fragment)
    assert not (tmp_path / "out").exists()


def test_a_long_silence_is_shortened_not_engraved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    late = [{**n, "onset": n["onset"] + 10_000, "offset": n["offset"] + 10_000} for n in MELODY]
    result = run_main(capsys, "score", str(features_with(tmp_path, MELODY + late)), "-o", str(tmp_path / "out"),
                      "--key", "B# major", "--tempo", "120", "--time-signature", "4/4")
    assert result.returncode == 0, result.stderr
    # B# major would need 12 sharps: written as C major, and said so on one line.
    assert result.stderr == "audioscore: note: B# major would need 12 sharps: writing its enharmonic equivalent, C major\n"
    score = json.loads((tmp_path / "out" / "score.json").read_text())
    assert score["key"] == "C major"
    assert score["measures"] < 30  # not 5,000 bars of rest
    (cut,) = score["shortened_rests"]
    assert cut["bars"] > 4000 and cut["bars_shown"] == MAX_REST_BARS
    assert abs(score["notes"][8]["onset_s"] - 10_000.0) < 0.2  # times stay the recording's
    assert f"bars of rest, {MAX_REST_BARS} shown" in (tmp_path / "out" / "score.ly").read_text()


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--key", "H major"], "'H major' is not a key: a letter A-G"),
        (["--key", "nonsense"], "is not a key"),
        (["--tempo", "nan"], "tempo must be quarter notes per minute in 20..400; got 'nan'"),
        (["--tempo", "0"], "got '0'"),
        (["--tempo", "1e9"], "got '1e9'"),
        (["--time-signature", "7/q"], "time signature must be one of 2/4, 3/4, 4/4, 6/8; got '7/q'"),
        (["--title", "x" * 100_000], "--title: at most 1000 characters"),
    ],
)
def test_bad_notation_flags_are_one_line_and_exit_2(
    tmp_path: Path, flags: list[str], fragment: str, capsys: pytest.CaptureFixture[str], no_work: None
) -> None:
    result = run_main(capsys, "score", str(features_with(tmp_path, MELODY)), "-o", str(tmp_path / "out"), *flags)
    one_line_error(result, fragment)


def test_a_file_name_that_is_not_utf8_still_gives_every_file(
        two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Latin-1 name (its byte decodes to a lone surrogate) with a control character: the title
    keeps the rest, MusicXML stays well-formed, the page is written."""
    import xml.etree.ElementTree as ET

    audio = Path(os.fsdecode(bytes(tmp_path) + b"/chanson \xe9t\xe9\x01.wav"))
    audio.write_bytes(two_note_wav.read_bytes())
    result = run_main(capsys, "transcribe", str(audio), "-o", str(tmp_path / "out"), "--no-plot")
    assert result.returncode == 0, result.stderr
    titles = {e.text for e in ET.parse(tmp_path / "out" / "score.musicxml").iter() if e.tag in ("work-title", "movement-title")}
    assert titles == {"chanson t"}
    assert "chanson" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_unusual_key_spellings_are_accepted_or_respelled() -> None:
    from audioscore.notation.tonality import parse_key

    spelled = {text: f"{k.tonic.name} {k.mode}" for text in ("Fb minor", "E# major", "Cb major", "Gb minor", "A# minor",
                                                             "B#", "e♭ major", "F♯ minor")
               for k in [parse_key(text)]}
    assert spelled == {"Fb minor": "E minor", "E# major": "F major", "Cb major": "C- major", "Gb minor": "F# minor",
                       "A# minor": "A# minor", "B#": "C major", "e♭ major": "E- major", "F♯ minor": "F# minor"}


def test_a_take_sung_a_quarter_tone_off_is_written_in_the_key_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                    ) -> None:
    """A tune in E major sung 55 cents flat, as the melody engine hears it: E-flat 45 cents sharp.
    Written in E-flat, as it rounds, unless ``--key`` says E major."""
    tune = [64, 66, 68, 69, 71, 69, 68, 66, 64, 68, 71, 76, 75, 73, 71, 69, 68, 66, 64]
    notes = [{"onset": 0.5 * i, "offset": 0.5 * i + 0.45, "midi": m - 1,
              "pitch_hz": round(440.0 * 2.0 ** ((m - 1 + 0.45 - 69) / 12.0), 3)} for i, m in enumerate(tune)]
    path = features_with(tmp_path, notes)
    for key, expected in ((None, [m - 1 for m in tune]), ("E major", tune)):
        out = tmp_path / (key or "estimated")
        result = run_main(capsys, "score", str(path), "-o", str(out), *(["--key", key] if key else []))
        assert result.returncode == 0, result.stderr
        score = json.loads((out / "score.json").read_text())
        assert [n["midi"] for n in score["notes"]] == expected
        assert score["key"] == (key or "E- major")


def unwritable_outputs(tmp_path: Path) -> list[tuple[Path, str]]:
    """Output paths no one can write, root included (chmod does not stop root)."""
    a_file = tmp_path / "a file"
    a_file.write_text("x")
    return [(a_file, "exists and is not a directory"), (a_file / "sub", "Not a directory"),
            (Path("/proc/audioscore-out"), "cannot write there"), (Path("/dev/null"), "not a directory")]


def test_bad_output_paths_are_refused_before_the_work(
    two_note_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_work: None
) -> None:
    for out, fragment in unwritable_outputs(tmp_path):
        for command in ("extract", "transcribe"):
            one_line_error(run_main(capsys, command, str(two_note_wav), "-o", str(out)), fragment)
        one_line_error(run_main(capsys, "score", str(features_with(tmp_path, MELODY)), "-o", str(out)), fragment)


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (["--param", "nosuch=1"], ["has no parameter 'nosuch'", "valid names: decodecontext", "onsetsensitivity"]),
        (["--param", "onsetsensitivity=5"], ["onsetsensitivity", "must be in 0..1, got 5"]),
        (["--param", "threshdistr=1.5"], ["takes steps of 1"]),
        (["--param", "outputunvoiced=0"], ["set by audioscore"]),
        (["--plugin", "vamp-example-plugins:percussiononsets"],
         ["lacks the outputs voicedprob, smoothedpitchtrack, notes"]),
    ],
    ids=["unknown-name", "out-of-range", "off-step", "fixed", "no-pyin-outputs"],
)
def test_plugin_mistakes_are_one_line_and_exit_2(
    two_note_wav: Path, tmp_path: Path, flags: list[str], fragments: list[str],
    capsys: pytest.CaptureFixture[str], no_work: None,
) -> None:
    one_line_error(run_main(capsys, "extract", str(two_note_wav), "-o", str(tmp_path / "out"), *flags), *fragments)
    assert not (tmp_path / "out").exists()


def test_inputs_that_are_not_regular_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_work: None
) -> None:
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)  # ffprobe would wait for a writer
    broken = tmp_path / "broken.wav"
    broken.symlink_to(tmp_path / "nowhere")
    cases = [(fifo, "not a regular file"), (tmp_path, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
             (broken, "broken symbolic link"), (tmp_path / "new\nline.wav", "no such file")]
    for path, fragment in cases:
        one_line_error(run_main(capsys, "transcribe", str(path), "-o", str(tmp_path / "out")), fragment)
        one_line_error(run_main(capsys, "score", str(path), "-o", str(tmp_path / "out")), "")


def test_mistakes_are_one_line_from_the_installed_script(tmp_path: Path) -> None:
    deep = tmp_path / "features.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    one_line_error(run_cli("score", str(deep), "-o", str(tmp_path / "out")), "nested too deeply")
    one_line_error(run_cli("score", str(deep), "-o", str(tmp_path / "out"), "--tempo", "-5"), "--tempo")


@pytest.mark.parametrize("flags, message", [
    (["--engine", "polyy"], "engine must be one of auto, melody, poly; got 'polyy'"),
    (["--instrument", "kazoo\x1b[2J"], "instrument must be one of"),
])
def test_bad_engine_or_instrument_is_one_line_and_exit_2(two_note_wav: Path, tmp_path: Path, flags, message,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("extract", "transcribe"):
        with pytest.raises(SystemExit) as exit_:
            main([command, str(two_note_wav), "-o", str(tmp_path / "o"), *flags])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err and err.count("\n") == 1


def test_engine_and_instrument_reach_features_and_the_score_options(two_note_wav: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["extract", str(two_note_wav), "-o", str(tmp_path / "a"), "--no-plot", "-q", "--engine", "poly"]) == 0
    engine = json.loads((tmp_path / "a" / "features.json").read_text())["engine"]
    assert engine == {"name": "poly", "requested": "poly", "instrument": None, "model": engine["model"],
                      "reason": "requested"} and engine["model"].startswith("basic-pitch")
    assert main(["extract", str(two_note_wav), "-o", str(tmp_path / "b"), "--no-plot", "-q", "--instrument", "Voice"]) == 0
    engine = json.loads((tmp_path / "b" / "features.json").read_text())["engine"]
    assert engine["name"] == "melody" and engine["instrument"] == "voice" and engine["reason"] == "instrument voice"
    seen = {}
    import audioscore.notation.transcription as transcription

    def fake(path, out, options, **kwargs):
        seen.update(instrument=options.instrument, engine=kwargs["engine"])
        raise SystemExit(0)
    monkeypatch.setattr(transcription, "transcribe_file", fake)
    with pytest.raises(SystemExit):
        main(["transcribe", str(two_note_wav), "-o", str(tmp_path / "c"), "--instrument", "piano", "--engine", "auto"])
    assert seen == {"instrument": "piano", "engine": "auto"}
