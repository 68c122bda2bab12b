"""How much of a notated performance is as written: the notes the notation found against
their written places, for tests that perform a corpus melody note by note (no audio)."""

from __future__ import annotations

from audioscore.notation import transcription
from audioscore.notation.rhythm import PerformedNote


def written_share(notes: list[PerformedNote], written: list[tuple[float, float]]) -> tuple[float, dict]:
    """The share of notes but the last (held to its bar line whatever its played length) at
    their written (start, length) in quarters, the first note's place aligned; and the summary."""
    _, summary = transcription._notate(notes, transcription.TranscribeOptions())
    found = [(n["start_quarters"], n["duration_quarters"]) for n in summary["notes"]]
    shift = found[0][0] - written[0][0]
    right = sum(abs(f[0] - shift - w[0]) < 1e-6 and abs(f[1] - w[1]) < 1e-6
                for f, w in zip(found[:-1], written[:-1], strict=False))
    return right / (len(written) - 1), summary
