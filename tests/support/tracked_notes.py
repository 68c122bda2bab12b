"""The melody tracker's notes of an extracted recording as notation takes them (every
velocity at the default, so a test's notation does not turn on the player's loudness)."""

from __future__ import annotations

from audioscore.analysis.features import Features
from audioscore.notation.feature_notes import DEFAULT_VELOCITY, performed_notes
from audioscore.notation.rhythm import PerformedNote


def melody_notes(features: Features) -> list[PerformedNote]:
    return performed_notes([(n.onset, n.offset, n.midi, DEFAULT_VELOCITY, n.rise_db, n.dip_db) for n in features.pitch.notes],
                           frames=(features.pitch.times, features.pitch.voiced_prob), melodic=True)
