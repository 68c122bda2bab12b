"""Tests of audioscore.analysis.evaluation on hand-made data whose scores are known, and a fluidsynth
rendering smoke test of the development corpus."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("mir_eval")
pretty_midi = pytest.importorskip("pretty_midi")

import corpus  # tests/support is on sys.path: pythonpath in pyproject.toml

from audioscore.analysis.evaluation import (
    f0_from_notes,
    note_scores,
    notes_from_midi,
    pitch_scores,
)

HOP_S = 0.01
A3, A4, E5 = 220.0, 440.0, 659.2551138257398


def _track(duration_s: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Reference f0: 0.5 s unvoiced, 2 s voiced (A4 then E5), 0.5 s unvoiced."""
    times = np.arange(0.0, duration_s, HOP_S)
    notes = [(0.5, 1.5, A4), (1.5, 2.5, E5)]
    return times, f0_from_notes(notes, times)


# --- pitch_scores -------------------------------------------------------------------------


def test_pitch_perfect_estimate():
    times, f0 = _track()
    scores = pitch_scores(times, f0, times, f0)
    assert scores == {
        "voicing_recall": 1.0,
        "voicing_false_alarm": 0.0,
        "raw_pitch_accuracy": 1.0,
        "raw_chroma_accuracy": 1.0,
        "overall_accuracy": 1.0,
        "octave_error_rate": 0.0,
    }


def test_pitch_octave_low_estimate():
    times, f0 = _track()
    scores = pitch_scores(times, f0, times, f0 / 2)
    assert scores["raw_pitch_accuracy"] == 0.0
    assert scores["raw_chroma_accuracy"] == 1.0
    assert scores["octave_error_rate"] == 1.0
    assert scores["voicing_recall"] == 1.0


@pytest.mark.parametrize("factor", [1 / 3, 3.0, 1 / 4, 2.0])
def test_pitch_twelfth_and_double_octave_count_as_octave_errors(factor):
    times, f0 = _track()
    assert pitch_scores(times, f0, times, f0 * factor)["octave_error_rate"] == 1.0


def test_pitch_small_errors_are_not_octave_errors():
    times, f0 = _track()
    fifth_low = pitch_scores(times, f0, times, f0 * 2 ** (-7 / 12))
    assert fifth_low["raw_pitch_accuracy"] == 0.0
    assert fifth_low["octave_error_rate"] == 0.0
    cents_30 = pitch_scores(times, f0, times, f0 * 2 ** (30 / 1200))
    assert cents_30["raw_pitch_accuracy"] == 1.0


def test_pitch_estimate_on_other_hop_is_resampled():
    times, f0 = _track()
    est_times = np.arange(0.0, 3.0, 0.0058)  # pYIN-like 256-sample hop at 44.1 kHz
    est_f0 = f0_from_notes([(0.5, 1.5, A4), (1.5, 2.5, E5)], est_times)
    scores = pitch_scores(times, f0, est_times, est_f0)
    assert scores["raw_pitch_accuracy"] > 0.98
    assert scores["voicing_false_alarm"] < 0.03


def test_pitch_voicing_errors():
    times, f0 = _track()
    all_voiced = np.full_like(f0, A4)
    scores = pitch_scores(times, f0, times, all_voiced)
    assert scores["voicing_recall"] == 1.0
    assert scores["voicing_false_alarm"] == 1.0
    assert scores["raw_pitch_accuracy"] == pytest.approx(0.5)  # A4 half right, E5 half wrong
    with pytest.warns(UserWarning, match="no voiced frames"):
        silent = pitch_scores(times, f0, times, np.zeros_like(f0))
    assert silent["voicing_recall"] == 0.0
    assert silent["overall_accuracy"] == pytest.approx(1 / 3)  # the unvoiced third
    assert silent["octave_error_rate"] == 0.0


def test_pitch_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="times"):
        pitch_scores([0.0, 0.01], [440.0], [0.0], [440.0])


# --- note_scores --------------------------------------------------------------------------

REF_NOTES = [(0.5, 0.9, A4), (1.0, 1.4, E5), (1.5, 2.4, A3), (2.5, 3.0, A4)]


def _shift(notes, dt=0.0, cents=0.0):
    return [(on + dt, off + dt, hz * 2 ** (cents / 1200)) for on, off, hz in notes]


def test_notes_perfect():
    scores = note_scores(REF_NOTES, REF_NOTES)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 1.0
    assert scores["onset_bias_s"] == 0.0
    assert scores["onset_abs_median_s"] == 0.0
    assert (scores["n_ref"], scores["n_est"], scores["n_matched"]) == (4, 4, 4)


@pytest.mark.parametrize("dt", [0.03, -0.03])
def test_notes_shifted_30ms_still_match(dt):
    scores = note_scores(REF_NOTES, _shift(REF_NOTES, dt))
    assert scores["f1"] == 1.0
    assert scores["onset_bias_s"] == pytest.approx(dt)
    assert scores["onset_abs_median_s"] == pytest.approx(abs(dt))


def test_notes_shifted_80ms_do_not_match():
    scores = note_scores(REF_NOTES, _shift(REF_NOTES, 0.08))
    assert scores["f1"] == 0.0
    assert np.isnan(scores["onset_bias_s"])
    # ... unless the tolerance allows it.
    assert note_scores(REF_NOTES, _shift(REF_NOTES, 0.08), onset_tolerance=0.1)["f1"] == 1.0


def test_notes_pitch_tolerance():
    assert note_scores(REF_NOTES, _shift(REF_NOTES, cents=40))["f1"] == 1.0
    assert note_scores(REF_NOTES, _shift(REF_NOTES, cents=60))["f1"] == 0.0
    assert note_scores(REF_NOTES, _shift(REF_NOTES, cents=-60))["f1"] == 0.0
    loose = note_scores(REF_NOTES, _shift(REF_NOTES, cents=60), pitch_tolerance_cents=70)
    assert loose["f1"] == 1.0


def test_notes_offsets_are_ignored():
    est = [(on, on + 0.05, hz) for on, _, hz in REF_NOTES]
    assert note_scores(REF_NOTES, est)["f1"] == 1.0


def test_notes_partial_match():
    est = [REF_NOTES[0], REF_NOTES[1], (1.5, 2.4, A4), (2.7, 2.9, A4), (3.5, 3.6, E5)]
    scores = note_scores(REF_NOTES, est)
    assert scores["precision"] == pytest.approx(2 / 5)
    assert scores["recall"] == pytest.approx(2 / 4)
    assert scores["f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)


@pytest.mark.parametrize(
    ("ref", "est"), [(REF_NOTES, []), ([], REF_NOTES), ([], [])], ids=["est", "ref", "both"]
)
def test_notes_empty(ref, est):
    scores = note_scores(ref, est)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.0
    assert np.isnan(scores["onset_bias_s"])
    assert (scores["n_ref"], scores["n_est"]) == (len(ref), len(est))


def test_notes_invalid():
    with pytest.raises(ValueError, match="strictly positive"):
        note_scores(REF_NOTES, [(1.0, 1.0, A4)])
    with pytest.raises(ValueError, match="positive"):
        note_scores(REF_NOTES, [(1.0, 1.2, 0.0)])


# --- notes_from_midi / f0_from_notes ------------------------------------------------------


def test_f0_from_notes_latest_onset_wins():
    notes = [(0.0, 1.0, A3), (0.5, 0.8, A4)]
    f0 = f0_from_notes(notes, [0.0, 0.25, 0.5, 0.79, 0.8, 0.99, 1.0, 2.0])
    np.testing.assert_array_equal(f0, [A3, A3, A4, A4, A3, A3, 0.0, 0.0])
    # Order of the list does not matter, only onsets.
    np.testing.assert_array_equal(f0_from_notes(notes[::-1], [0.6]), [A4])
    assert f0_from_notes([], [0.0, 1.0]).tolist() == [0.0, 0.0]


def test_notes_from_midi_round_trip(tmp_path):
    melody = corpus.Melody.from_beats("tiny", "A4:1 r:1 C#5:.5 E5:.5", tempo_bpm=96)
    path = corpus.write_midi(melody, tmp_path / "tiny.mid", corpus.FLUTE)
    drum = pretty_midi.PrettyMIDI(str(path))
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes.append(pretty_midi.Note(velocity=90, pitch=36, start=0.1, end=0.2))
    drum.instruments.append(kit)
    drum.write(str(path))
    notes = notes_from_midi(path)
    np.testing.assert_allclose(notes, melody.notes_hz, atol=1e-6)
    assert notes[0][2] == pytest.approx(440.0)


# --- corpus -------------------------------------------------------------------------------


def test_corpus_contents():
    assert len(corpus.MELODIES) >= 8 and len(corpus.CORPUS) >= 2 * len(corpus.MELODIES)
    assert len({m.name for m in corpus.MELODIES}) == len(corpus.MELODIES)
    for melody in corpus.MELODIES:
        low, high = melody.pitch_range
        assert low >= 48 and high <= 84, melody.name
        assert 8.0 <= melody.duration_s <= 15.5, melody.name
        assert 70 <= melody.tempo_bpm <= 140, melody.name
        onsets = [on for on, _, _ in melody.notes]
        offsets = [off for _, off, _ in melody.notes]
        assert all(off <= next_on for off, next_on in zip(offsets, onsets[1:])), melody.name
    programs = {program for _, program in corpus.CORPUS}
    assert {corpus.PIANO, corpus.FLUTE, corpus.VIOLIN, corpus.VOICE} <= programs


def test_synthetic_signals():
    sr = 16000
    for x in (
        corpus.sine(440, 0.5, sr),
        corpus.harmonic(110, 0.5, sr),
        corpus.white_noise(0.5, sr),
    ):
        assert x.dtype == np.float32 and len(x) == sr // 2
        assert np.max(np.abs(x)) == pytest.approx(0.5, rel=1e-6)
        assert x[0] == 0.0 and abs(x[-1]) < 0.01
    assert not corpus.silence(0.5, sr).any()
    x, true_f0 = corpus.vibrato(440, 50, 5.5, 1.0, sr)
    f = true_f0(np.array([0.0, 1 / 22, 3 / 22, 2.0]))
    np.testing.assert_allclose(f, [440, 440 * 2 ** (50 / 1200), 440 * 2 ** (-50 / 1200), 0])
    # Zero crossings of a sine track its frequency: ~440 Hz on average.
    crossings = np.count_nonzero(np.diff(np.signbit(x)))
    assert crossings / 2 == pytest.approx(440, rel=0.01)


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus")


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
@pytest.mark.skipif(not corpus.SOUNDFONT.exists(), reason="GM soundfont not installed")
def test_render_short_melody(render_dir):
    sf = pytest.importorskip("soundfile")
    melody = corpus.Melody.from_beats("smoke", "C4:1 E4:.5 G4:.5 r:.5 C5:1.5", tempo_bpm=120)
    wav, mid = corpus.render(melody, corpus.PIANO, render_dir)
    info = sf.info(wav)
    assert (info.channels, info.samplerate) == (1, 44100)
    assert info.duration >= melody.duration_s  # tails ring on; nothing trimmed
    audio, sr = sf.read(wav, dtype="float64")
    assert np.sqrt(np.mean(audio**2)) > 1e-3
    # Sound starts right at the first note-on (measured: piano crosses -40 dBFS 4-7 ms late).
    first_loud = np.argmax(np.abs(audio) > 10 ** (-40 / 20)) / sr
    assert 0.0 <= first_loud - melody.notes[0][0] < 0.02
    np.testing.assert_allclose(notes_from_midi(mid), melody.notes_hz, atol=1e-6)
    # Second call is a cache hit: same files, untouched.
    mtime = wav.stat().st_mtime_ns
    assert corpus.render(melody, corpus.PIANO, render_dir) == (wav, mid)
    assert wav.stat().st_mtime_ns == mtime
