"""Scoring of pitch tracks and note transcriptions against a reference, on top of mir_eval.

Conventions, used throughout this module:

* Times are in seconds; frame times mark the frame each value belongs to.
* Fundamental frequency (f0) is in Hz, and 0 Hz means "unvoiced" (no pitch).
* A note is a tuple ``(onset_s, offset_s, pitch_hz)``.
* Pitch distances are in cents (1200 cents = one octave).
* Scores are fractions in [0, 1] unless their name ends in ``_s`` (seconds) or starts
  with ``n_`` (counts).

mir_eval and pretty_midi come with the optional ``test`` extra:
``pip install audioscore[test]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np

try:
    import mir_eval
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "audioscore.analysis.evaluation needs mir_eval, an optional dependency: pip install audioscore[test]"
    ) from exc

__all__ = [
    "Note",
    "f0_from_notes",
    "note_scores",
    "notes_from_midi",
    "pitch_scores",
]

Note = tuple[float, float, float]
"""A note: ``(onset_s, offset_s, pitch_hz)``."""

# Gross errors counted by ``octave_error_rate``: one octave, a twelfth (octave + fifth,
# i.e. a factor 3 in frequency) and two octaves, in either direction.
_OCTAVE_ERROR_CENTS = (1200.0, 1200.0 * np.log2(3.0), 2400.0)
_OCTAVE_ERROR_TOLERANCE_CENTS = 50.0


def pitch_scores(
    ref_times: np.ndarray | Sequence[float],
    ref_f0_hz: np.ndarray | Sequence[float],
    est_times: np.ndarray | Sequence[float],
    est_f0_hz: np.ndarray | Sequence[float],
) -> dict[str, float]:
    """Frame-level melody scores of an estimated f0 track against a reference one.

    The estimate is resampled onto the reference time base
    (``mir_eval.melody.to_cent_voicing``); pitches match within 50 cents.

    Args:
        ref_times: Reference frame times, in seconds, increasing.
        ref_f0_hz: Reference f0 per frame, in Hz; 0 for unvoiced frames.
        est_times: Estimated frame times, in seconds, increasing; the hop need not
            match the reference.
        est_f0_hz: Estimated f0 per frame, in Hz; 0 for unvoiced frames. A negative
            value is mir_eval's "unvoiced, but this would be the pitch" and counts for
            the raw pitch/chroma scores only.

    Returns:
        A dict of fractions in [0, 1]:

        * ``voicing_recall``: reference-voiced frames the estimate calls voiced.
        * ``voicing_false_alarm``: reference-unvoiced frames the estimate calls voiced.
        * ``raw_pitch_accuracy``: reference-voiced frames whose estimated pitch is
          within 50 cents.
        * ``raw_chroma_accuracy``: the same, ignoring octave errors.
        * ``overall_accuracy``: frames right in both voicing and (if voiced) pitch.
        * ``octave_error_rate``: among frames voiced in both, those whose estimate is
          off by one octave, a twelfth (x3 or /3, the typical subharmonic error) or two
          octaves, each within 50 cents, in either direction. 0 when no frame is voiced
          in both.

    Raises:
        ValueError: If times and f0 arrays differ in length or are empty.
    """
    ref_t, ref_f = _as_track(ref_times, ref_f0_hz, "reference")
    est_t, est_f = _as_track(est_times, est_f0_hz, "estimate")
    ref_v, ref_c, est_v, est_c = mir_eval.melody.to_cent_voicing(ref_t, ref_f, est_t, est_f)
    recall, false_alarm = mir_eval.melody.voicing_measures(ref_v, est_v)
    scores = {
        "voicing_recall": recall,
        "voicing_false_alarm": false_alarm,
        "raw_pitch_accuracy": mir_eval.melody.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c),
        "raw_chroma_accuracy": mir_eval.melody.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c),
        "overall_accuracy": mir_eval.melody.overall_accuracy(ref_v, ref_c, est_v, est_c),
        "octave_error_rate": _octave_error_rate(ref_v, ref_c, est_v, est_c),
    }
    return {key: float(value) for key, value in scores.items()}


def note_scores(
    ref_notes: Sequence[Note],
    est_notes: Sequence[Note],
    *,
    onset_tolerance: float = 0.05,
    pitch_tolerance_cents: float = 50.0,
) -> dict[str, float]:
    """Note-level transcription scores, matching on onset and pitch (offsets ignored).

    A reference and an estimated note match when their onsets differ by at most
    ``onset_tolerance`` and their pitches by at most ``pitch_tolerance_cents``; each note
    matches at most once (``mir_eval.transcription``, ``offset_ratio=None``).

    Args:
        ref_notes: Reference notes ``(onset_s, offset_s, pitch_hz)``, with
            ``offset_s > onset_s >= 0`` and ``pitch_hz > 0``.
        est_notes: Estimated notes, same format.
        onset_tolerance: Largest onset difference of a match, in seconds.
        pitch_tolerance_cents: Largest pitch difference of a match, in cents.

    Returns:
        A dict with

        * ``precision``, ``recall``, ``f1``: fractions in [0, 1]; all 0 when either
          list is empty.
        * ``onset_bias_s``: median of (estimated - reference) onset over matched pairs,
          in seconds; positive means the estimate is late. NaN without matches.
        * ``onset_abs_median_s``: median absolute onset difference over matched pairs,
          in seconds. NaN without matches.
        * ``n_ref``, ``n_est``, ``n_matched``: note counts (as floats).

    Raises:
        ValueError: If a note is not a 3-tuple, or has a non-positive duration, a
            negative time or a non-positive pitch.
    """
    ref_iv, ref_p = _as_notes(ref_notes, "reference")
    est_iv, est_p = _as_notes(est_notes, "estimate")
    scores = {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "onset_bias_s": float("nan"),
        "onset_abs_median_s": float("nan"),
        "n_ref": float(len(ref_p)),
        "n_est": float(len(est_p)),
        "n_matched": 0.0,
    }
    # mir_eval scores an empty side 0 too, but warns; skip it (the notes are validated).
    if len(ref_p) == 0 or len(est_p) == 0:
        return scores

    tolerances = {
        "onset_tolerance": onset_tolerance,
        "pitch_tolerance": pitch_tolerance_cents,
        "offset_ratio": None,
    }
    precision, recall, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, ref_p, est_iv, est_p, **tolerances
    )
    matching = mir_eval.transcription.match_notes(ref_iv, ref_p, est_iv, est_p, **tolerances)
    scores.update(precision=float(precision), recall=float(recall), f1=float(f1))
    if matching:
        ref_idx, est_idx = np.asarray(matching, dtype=int).T
        deviation = est_iv[est_idx, 0] - ref_iv[ref_idx, 0]
        scores.update(
            onset_bias_s=float(np.median(deviation)),
            onset_abs_median_s=float(np.median(np.abs(deviation))),
            n_matched=float(len(matching)),
        )
    return scores


def notes_from_midi(path: str | PathLike[str]) -> list[Note]:
    """Read the notes of all non-drum instruments of a MIDI file.

    Args:
        path: A Standard MIDI File.

    Returns:
        Notes ``(onset_s, offset_s, pitch_hz)`` in equal temperament (A4 = 440 Hz),
        sorted by onset then pitch. Times follow the file's tempo map.
    """
    try:
        import pretty_midi
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "notes_from_midi needs pretty_midi, an optional dependency: "
            "pip install audioscore[test]"
        ) from exc
    midi = pretty_midi.PrettyMIDI(str(path))
    notes = [
        (float(note.start), float(note.end), float(pretty_midi.note_number_to_hz(note.pitch)))
        for instrument in midi.instruments
        if not instrument.is_drum
        for note in instrument.notes
    ]
    return sorted(notes)


def f0_from_notes(notes: Sequence[Note], times: np.ndarray | Sequence[float]) -> np.ndarray:
    """Reference f0 per frame from notes, for monophonic material.

    A note sounds at time ``t`` when ``onset_s <= t < offset_s``. Where notes overlap
    the one that started last wins (ties: the later one in ``notes``).

    Args:
        notes: Notes ``(onset_s, offset_s, pitch_hz)``.
        times: Frame times, in seconds.

    Returns:
        f0 in Hz per frame time, float64, same shape as ``times``; 0 where no note
        sounds.
    """
    t = np.asarray(times, dtype=float)
    f0 = np.zeros_like(t)
    # Stable sort by onset: later-starting notes overwrite earlier ones.
    for onset, offset, pitch in sorted(notes, key=lambda note: note[0]):
        f0[(t >= onset) & (t < offset)] = pitch
    return f0


def _as_track(
    times: np.ndarray | Sequence[float], f0_hz: np.ndarray | Sequence[float], what: str
) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(times, dtype=float).ravel()
    f = np.asarray(f0_hz, dtype=float).ravel()
    if t.shape != f.shape:
        raise ValueError(f"{what}: {t.size} times but {f.size} f0 values")
    if t.size == 0:
        raise ValueError(f"{what}: empty f0 track")
    return t, f


def _as_notes(notes: Sequence[Note], what: str) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(notes, dtype=float)
    if array.size == 0:
        array = array.reshape(0, 3)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"{what}: notes must be (onset_s, offset_s, pitch_hz) tuples")
    intervals, pitches = array[:, :2], array[:, 2]
    try:
        mir_eval.util.validate_intervals(intervals)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    if (pitches <= 0).any():
        raise ValueError(f"{what}: note pitches must be positive (Hz)")
    return intervals, pitches


def _octave_error_rate(
    ref_voicing: np.ndarray, ref_cent: np.ndarray, est_voicing: np.ndarray, est_cent: np.ndarray
) -> float:
    both = (ref_voicing > 0) & (est_voicing > 0) & (ref_cent > 0) & (est_cent > 0)
    if not both.any():
        return 0.0
    distance = np.abs(est_cent[both] - ref_cent[both])
    gross = np.zeros(distance.shape, dtype=bool)
    for interval in _OCTAVE_ERROR_CENTS:
        gross |= np.abs(distance - interval) <= _OCTAVE_ERROR_TOLERANCE_CENTS
    return float(gross.mean())
