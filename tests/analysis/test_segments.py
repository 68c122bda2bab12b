"""Segments of a long recording, analysed apart and merged, match a single pass."""

from __future__ import annotations

from pathlib import Path

import corpus
import numpy as np
import pytest
import soundfile as sf

from audioscore.analysis.features import Features, extract_file
from audioscore.analysis.segments import analyse_segment, merge_segments, plan_segments

SR = 44100


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Features]:
    path = tmp_path_factory.mktemp("segments") / "long.flac"
    sf.write(path, corpus.random_melody(100.0, seed=5, sr=SR), SR)
    return path, extract_file(path)


def analyse_all(path: Path, whole: Features, tmp_path: Path, segment_s: float) -> tuple[Features, list[float]]:
    plan = plan_segments(whole.audio.duration_s, segment_s=segment_s, context_s=5.0)
    paths = []
    for index in reversed(range(plan.count)):  # order of completion does not matter
        result = analyse_segment(path, plan, index)
        paths.append(tmp_path / f"{index}.npz")
        paths[-1].write_bytes(result.to_bytes())
    joins = [plan.core(i)[0] / SR for i in range(1, plan.count)]
    return merge_segments(sorted(paths, key=lambda p: int(p.stem)), plan, whole.audio.source), joins


def test_merged_segments_match_a_single_pass(recording: tuple[Path, Features], tmp_path: Path) -> None:
    path, whole = recording
    merged, joins = analyse_all(path, whole, tmp_path, segment_s=24.0)
    assert len(joins) == 3  # 100 s in cores of 23.8 s: the last takes the remainder
    assert merged.audio == whole.audio
    np.testing.assert_array_equal(merged.mfcc.coefficients, whole.mfcc.coefficients)
    assert merged.pitch.f0_hz.shape == whole.pitch.f0_hz.shape
    voiced = whole.pitch.f0_hz > 0
    cents = 1200 * np.abs(np.log2(np.maximum(merged.pitch.f0_hz[voiced], 1e-9) / whole.pitch.f0_hz[voiced]))
    assert np.mean(cents <= 10) >= 0.99

    def away_from_joins(features: Features) -> set[tuple[float, int]]:
        return {(round(n.onset, 2), round(n.midi)) for n in features.pitch.notes
                if min(abs(n.onset - j) for j in joins) > 1.0}

    assert away_from_joins(merged) == away_from_joins(whole)
    assert abs(len(merged.pitch.notes) - len(whole.pitch.notes)) <= len(joins)
    # Loudness as a single pass measures it (the median note may move by a join's note).
    velocity = {(round(n.onset, 2), round(n.midi)): n.velocity for n in whole.pitch.notes}
    assert all(n.velocity is not None and abs(n.velocity - velocity[(round(n.onset, 2), round(n.midi))]) <= 2
               for n in merged.pitch.notes if (round(n.onset, 2), round(n.midi)) in away_from_joins(merged))


def test_merge_refuses_a_missing_segment(recording: tuple[Path, Features], tmp_path: Path) -> None:
    path, whole = recording
    plan = plan_segments(whole.audio.duration_s, segment_s=48.0, context_s=5.0)
    first = tmp_path / "0.npz"
    first.write_bytes(analyse_segment(path, plan, 0).to_bytes())
    with pytest.raises(ValueError, match="segment results"):
        merge_segments([first], plan, whole.audio.source)
