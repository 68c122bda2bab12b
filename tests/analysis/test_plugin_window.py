"""Windowed decoding (``decodewindow``, ``decodecontext``) against decoding the whole recording.

The plugin runs through vampyhost chunk by chunk, as ``track_pitch`` feeds it, so the tests
see when features come out: each process_block call that returns pitch frames ends where
the plugin cut a window (a "join"). ``outputunvoiced=1`` makes every frame come out, so two
runs line up frame by frame. Windows of 10-15 s keep the recordings short.

Notes match on onset (50 ms) and pitch (half a semitone). Two sources of difference are
expected: notes near a join, and, on material whose onsets vary in strength, notes whose
onset is marginal for the strong-onset and peak thresholds, which a window takes from the
audio so far (up to 10 minutes) rather than from the whole recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import corpus
import numpy as np
import pytest
import vampyhost

from audioscore.analysis.pitch import CHUNK_SAMPLES, PLUGIN_KEY

SR = corpus.DEFAULT_SR
WINDOW_S, CONTEXT_S = 10.0, 5.0
WINDOWED = {"decodewindow": WINDOW_S, "decodecontext": CONTEXT_S}
WHOLE = {"decodewindow": 0.0}
JOIN_MARGIN_S = 1.0


@dataclass
class Run:
    times: np.ndarray  # every frame, in the order output
    f0_hz: np.ndarray  # 0 where unvoiced
    emitted_s: np.ndarray  # per frame: seconds of audio fed when it came out
    notes: list[tuple[float, float, float]]  # onset, offset, Hz
    joins: list[float]  # first frame of each later batch of pitch frames: where a window was cut


def run(samples: np.ndarray, parameters: dict[str, float]) -> Run:
    plugin = vampyhost.load_plugin(PLUGIN_KEY, SR, vampyhost.ADAPT_ALL)
    try:
        plugin.set_parameter_values({"outputunvoiced": 1, **parameters})
        assert plugin.initialise(1, CHUNK_SAMPLES, CHUNK_SAMPLES)
        pitch_index = plugin.get_output("smoothedpitchtrack")["output_index"]
        notes_index = plugin.get_output("notes")["output_index"]
        times, f0, emitted, notes, joins = [], [], [], [], []

        def keep(features: dict, fed_s: float) -> None:
            pitch = features.get(pitch_index, [])
            if pitch and times:
                joins.append(pitch[0]["timestamp"].to_float())  # the first frame after a cut
            for f in pitch:
                times.append(f["timestamp"].to_float())
                f0.append(f["values"][0])
                emitted.append(fed_s)
            for f in features.get(notes_index, []):
                onset = f["timestamp"].to_float()
                notes.append((onset, onset + f["duration"].to_float(), float(f["values"][0])))

        chunk = np.zeros((1, CHUNK_SAMPLES), np.float32)
        for start in range(0, len(samples), CHUNK_SAMPLES):
            piece = samples[start : start + CHUNK_SAMPLES]
            chunk[0, : len(piece)] = piece
            chunk[0, len(piece) :] = 0.0
            fed_s = (start + CHUNK_SAMPLES) / SR
            keep(plugin.process_block(chunk, vampyhost.frame_to_realtime(start, SR)), fed_s)
        keep(plugin.get_remaining_features(), np.inf)
    finally:
        plugin.unload()
    return Run(np.array(times), np.array(f0), np.array(emitted), notes, joins)


def unmatched(notes, others):
    """Notes of ``notes`` with no partner in ``others`` (onset within 50 ms, pitch within
    half a semitone), each partner used once."""
    free = list(others)
    missing = []
    for onset, offset, hz in notes:
        partner = next(
            (o for o in free if abs(o[0] - onset) <= 0.05 and abs(12 * np.log2(o[2] / hz)) < 0.5),
            None,
        )
        if partner is None:
            missing.append((onset, offset, hz))
        else:
            free.remove(partner)
    return missing


def near_join(note, joins) -> bool:
    return any(min(abs(note[0] - j), abs(note[1] - j)) <= JOIN_MARGIN_S for j in joins)


def voiced_agreement(whole: Run, windowed: Run) -> float:
    """Share of the whole-file run's voiced frames that the windowed run has within 10 cents."""
    np.testing.assert_array_equal(whole.times, windowed.times)
    voiced = whole.f0_hz > 0
    ours = windowed.f0_hz[voiced]
    cents = 1200 * np.abs(np.log2(np.maximum(ours, 1e-6) / whole.f0_hz[voiced]))
    return float(np.mean((ours > 0) & (cents <= 10)))


# --------------------------------------------------------------------------------------
# Synthetic material: equal attacks, so onset statistics barely depend on the window.


def tone(midi: int, seconds: float) -> np.ndarray:
    f0 = corpus.midi_to_hz(midi)
    t = np.arange(round(seconds * SR)) / SR
    envelope = np.minimum(t / 0.005, 1.0) * (0.5 + 0.5 * np.exp(-3 * t))
    return (0.2 * envelope * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))).astype(
        np.float32
    )


def legato(midis, note_s: float) -> np.ndarray:
    """Notes changing pitch without a break in the waveform."""
    hz = np.repeat([corpus.midi_to_hz(m) for m in midis], round(note_s * SR))
    phase = 2 * np.pi * np.cumsum(hz) / SR
    return (0.15 * sum(np.sin(k * phase) / k for k in range(1, 5))).astype(np.float32)


def melody(seconds: float, seed: int) -> np.ndarray:
    """Random notes: a third with no gap after them, most with a short one, a tenth with a rest."""
    rng = np.random.default_rng(seed)
    pieces, total = [], 0
    while total < seconds * SR:
        gap_s = rng.choice([0.0, 0.03, 1.0], p=[0.3, 0.6, 0.1])
        pieces += [
            tone(int(rng.integers(52, 80)), rng.uniform(0.2, 0.8)),
            np.zeros(round(gap_s * SR), np.float32),
        ]
        total += len(pieces[-2]) + len(pieces[-1])
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def synthetic() -> np.ndarray:
    """About 100 s: melody, a 16 s legato run, a 14 s held note, melody."""
    midis = np.random.default_rng(7).integers(55, 75, 40)
    return np.concatenate(
        [
            melody(40, 0),
            legato(midis, 0.4),
            np.zeros(SR // 2, np.float32),
            tone(64, 14.0),
            melody(30, 1),
        ]
    )


@pytest.fixture(scope="module")
def synthetic_runs(synthetic) -> tuple[Run, Run]:
    return run(synthetic, WHOLE), run(synthetic, WINDOWED)


def test_windowed_synthetic_matches_whole_except_at_joins(synthetic_runs):
    whole, windowed = synthetic_runs
    assert len(windowed.joins) >= 8
    assert voiced_agreement(whole, windowed) >= 0.99
    assert len(whole.notes) >= 100
    differing = unmatched(whole.notes, windowed.notes) + unmatched(windowed.notes, whole.notes)
    far = [n for n in differing if not near_join(n, windowed.joins)]
    assert far == [], f"notes differing away from joins {windowed.joins}: {far}"


@pytest.mark.parametrize("parameters", [{}, WINDOWED], ids=["default", "window10s"])
def test_shorter_than_a_window_is_decoded_whole(parameters):
    samples = melody(WINDOW_S + CONTEXT_S - 1.0, seed=2)
    whole, windowed = run(samples, WHOLE), run(samples, parameters)
    assert windowed.joins == []
    np.testing.assert_array_equal(whole.times, windowed.times)
    np.testing.assert_array_equal(whole.f0_hz, windowed.f0_hz)
    assert whole.notes == windowed.notes


def test_every_frame_once_and_soon(synthetic_runs):
    whole, windowed = synthetic_runs
    np.testing.assert_array_equal(whole.times, windowed.times)  # in order, none twice or missing
    # A frame's pitch comes out at most a window, its context, a chunk and a block (2048)
    # after the frame; at the end only for the last frames.
    lag_s = WINDOW_S + CONTEXT_S + (CHUNK_SAMPLES + 2048) / SR
    latency = windowed.emitted_s - windowed.times
    at_end = ~np.isfinite(latency)
    assert latency[~at_end].max() <= lag_s
    assert windowed.times[at_end].min() >= windowed.times[-1] - lag_s
    onsets = [n[0] for n in windowed.notes]
    assert onsets == sorted(onsets)
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(windowed.notes, windowed.notes[1:]))


def test_note_longer_than_half_a_window_comes_out_in_touching_pieces():
    samples, _ = corpus.vibrato(330.0, 30.0, 5.0, 3.5 * WINDOW_S, SR)
    whole, windowed = run(samples, WHOLE), run(samples, WINDOWED)
    assert len(whole.notes) == 1
    assert len(windowed.notes) >= 3
    assert {round(69 + 12 * np.log2(hz / 440)) for _, _, hz in windowed.notes} == {64}
    assert windowed.notes[0][0] == pytest.approx(whole.notes[0][0], abs=0.01)
    assert windowed.notes[-1][1] == pytest.approx(whole.notes[0][1], abs=0.05)
    for a, b in zip(windowed.notes, windowed.notes[1:]):
        assert b[0] == pytest.approx(a[1], abs=1e-6)


# --------------------------------------------------------------------------------------
# Rendered melodies: piano, flute and violin, whose onsets differ in strength.


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> np.ndarray:
    sf = pytest.importorskip("soundfile")
    cache = tmp_path_factory.mktemp("window-renders")
    programs = (corpus.PIANO, corpus.FLUTE, corpus.VIOLIN)
    pieces = [
        sf.read(corpus.render(m, programs[i % 3], cache)[0], dtype="float32")[0]
        for i, m in enumerate(corpus.MELODIES)
    ]
    return np.concatenate(pieces)


def test_windowed_renderings_close_to_whole(rendered):
    whole, windowed = run(rendered, WHOLE), run(rendered, {**WINDOWED, "decodewindow": 15.0})
    assert len(windowed.joins) >= 5
    assert voiced_agreement(whole, windowed) >= 0.99
    missing, extra = unmatched(whole.notes, windowed.notes), unmatched(windowed.notes, whole.notes)
    assert len(missing) <= 0.03 * len(whole.notes), missing
    assert len(extra) <= 0.03 * len(windowed.notes), extra
