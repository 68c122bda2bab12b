"""Notation: notes in, sheet music out.

Reading the notes of a ``features.json`` (``feature_notes``), tempo, meter and quantisation
(``rhythm``), key and spelling (``tonality``), the music21 score (``score``), the LilyPond
emitter and renderer (``lilypond``), and the chain from notes or audio to score files
(``transcription``). May use ``analysis`` (to start from audio); never infrastructure.

Kept empty of imports: importing ``audioscore.notation`` loads neither librosa nor music21.
"""
