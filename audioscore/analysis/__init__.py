"""Signal analysis: audio in, features out.

Decoding and conversion through ffmpeg (``audio``), pitch and notes through the project's pYIN
Vamp plugin (``pitch``), MFCCs (``mfcc``), the spectrogram sampler (``overview``), whole-file
and segment-wise extraction (``features``, ``segments``), writing ``features.json``, the CSVs
and the plot (``export``, ``plot``), and mir_eval scoring of notes (``evaluation``).

Nothing here knows about notation, object stores, records or HTTP. Kept empty of imports so
that importing a sibling package never loads numpy, librosa or the plugin.
"""
