"""Build-time warm-up, run by the Dockerfile: one real transcription of a generated
scale, with every cache that the image's environment puts under /tmp (fontconfig's
font list, which LilyPond builds on its first run) made under $WARM_CACHE instead.
index.py copies them into the empty /tmp when the function starts, so that its first
transcription does not spend seconds scanning fonts."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 22050
NOTE_S = 0.4
MIDI_NOTES = (60, 62, 64, 65, 67, 65, 64, 62, 60)


def scale() -> np.ndarray:
    """A C major scale up and down, each note with a short release so that the next one is an onset."""
    t = np.arange(int(NOTE_S * RATE)) / RATE
    release = np.minimum(1.0, 10 * (NOTE_S - t))
    notes = [np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * t) * release for m in MIDI_NOTES]
    return (0.5 * np.concatenate(notes)).astype(np.float32)


def main() -> None:
    warm = os.environ["WARM_CACHE"]
    env = {name: value.replace("/tmp/", warm + "/", 1) if value.startswith("/tmp/") else value
           for name, value in os.environ.items()}
    with tempfile.TemporaryDirectory() as work:
        sf.write(Path(work, "scale.wav"), scale(), RATE)
        subprocess.run(["audioscore", "transcribe", f"{work}/scale.wav", "-o", f"{work}/out"], env=env, check=True,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
