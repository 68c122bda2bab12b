"""audioscore: audio to features (pYIN pitch and notes, MFCCs) and sheet music."""

__version__ = "0.1.0"
