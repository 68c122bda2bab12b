"""features.png: the pitch track and notes over a log-frequency spectrogram,
with the MFCCs below.

Drawn with Pillow, not matplotlib: the picture has a fixed layout (two image
panels, a line, bars, tick labels), and matplotlib's import and layout cost
about 1.3 s per process, more than the whole analysis of a 30-s file; Pillow
draws the same picture in tens of milliseconds.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from PIL import Image, ImageDraw, ImageFont

from audioscore.analysis.features import Features
from audioscore.analysis.overview import FREQUENCY_LIMITS_HZ

__all__ = ["render_features"]

# matplotlib's "magma" and "coolwarm" sampled at nine evenly spaced points; the
# colour maps are interpolated between them (indistinguishable at this size).
MAGMA = ((0, 0, 3), (28, 16, 70), (80, 18, 123), (130, 37, 129), (182, 54, 121), (230, 81, 98),
         (251, 136, 97), (254, 196, 136), (251, 252, 191))
COOLWARM = ((58, 76, 192), (97, 130, 234), (141, 175, 253), (184, 207, 248), (221, 220, 219),
            (244, 195, 171), (243, 152, 121), (220, 94, 75), (179, 3, 38))
NOTE_RGBA = (57, 213, 255, 140)
F0_RGB = (124, 252, 0)
INK = (20, 20, 20)
HEIGHT = 800
PIXELS_PER_S = 50  # 10 to 24 inches at 100 dpi, as before: 2 s per inch
MIN_WIDTH, MAX_WIDTH = 1000, 2400
Z_RANGE = 3.0  # MFCC z-scores shown from -3 to 3
FREQUENCY_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 4000)
TIME_STEPS_S = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_TIME_TICKS = 14


@dataclass(frozen=True)
class _Box:
    """A panel's pixel rectangle; ``right`` and ``bottom`` exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def _lut(stops: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """A 256-entry RGB table interpolated between evenly spaced colour stops."""
    positions = np.linspace(0.0, 1.0, len(stops))
    levels = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(levels, positions, channel) for channel in np.array(stops, float).T],
                    axis=1).round().astype(np.uint8)


def _colour(values: np.ndarray, low: float, high: float, stops: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """RGB bytes for values scaled from [low, high] (clipped), rows flipped so row 0 is drawn at the bottom."""
    span = high - low if high > low else 1.0
    index = np.clip((values - low) / span * 255.0, 0, 255)
    return _lut(stops)[np.nan_to_num(index).astype(np.uint8)][::-1]


def _paste_image(canvas: Image.Image, rgb: np.ndarray, box: _Box, extent_s: float, duration_s: float) -> None:
    """Stretch an image that covers 0..extent_s seconds onto ``box`` (whose width is ``duration_s``)."""
    if rgb.size == 0:
        return
    width = max(1, round(box.width * extent_s / duration_s))
    stretched = Image.fromarray(np.ascontiguousarray(rgb)).resize((width, box.height), Image.Resampling.NEAREST)
    canvas.paste(stretched.crop((0, 0, min(width, box.width), box.height)), (box.left, box.top))


_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


def _vertical_text(canvas: Image.Image, text: str, centre: tuple[int, int], font: _Font) -> None:
    left, top, right, bottom = (round(edge) for edge in font.getbbox(text))
    label = Image.new("RGBA", (right - left + 2, bottom - top + 2), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((-left + 1, -top + 1), text, fill=INK, font=font)
    rotated = label.rotate(90, expand=True)
    canvas.paste(rotated, (centre[0] - rotated.width // 2, centre[1] - rotated.height // 2), rotated)


def _time_step(duration_s: float) -> float:
    return next((step for step in TIME_STEPS_S if duration_s / step <= MAX_TIME_TICKS), TIME_STEPS_S[-1])


def _time_label(seconds: float) -> str:
    return f"{seconds:g}"


def render_features(features: Features, *, title: str | None = None) -> bytes:
    """Draw the features and return the PNG bytes."""
    pitch, mfcc, spectrogram = features.pitch, features.mfcc, features.spectrogram
    duration = max(features.audio.duration_s, 1e-3)
    width = int(np.clip(duration * PIXELS_PER_S, MIN_WIDTH, MAX_WIDTH))
    canvas = Image.new("RGB", (width, HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    small, large = _font(13), _font(16)

    left, right, top, bottom, gap = 70, width - 90, 36, HEIGHT - 48, 14
    split = top + round((bottom - top - gap) * 3 / 4)
    upper, lower = _Box(left, top, right, split), _Box(left, split + gap, right, bottom)

    def x_of(seconds: ArrayLike) -> np.ndarray:
        return upper.left + np.asarray(seconds, float) / duration * upper.width

    low, high = np.log2(FREQUENCY_LIMITS_HZ)

    def y_of(hz: ArrayLike) -> np.ndarray:
        return upper.bottom - (np.log2(np.asarray(hz, float)) - low) / (high - low) * upper.height

    db = spectrogram.db
    if db.size:
        _paste_image(canvas, _colour(db, float(db.min()), float(db.max()), MAGMA), upper,
                     db.shape[1] * spectrogram.hop_s, duration)
    else:
        draw.rectangle((upper.left, upper.top, upper.right - 1, upper.bottom - 1), fill=MAGMA[0])

    # Notes as translucent bars, then the f0 line on top, broken where unvoiced.
    overlay = Image.new("RGBA", (upper.width, upper.height), (0, 0, 0, 0))
    bars = ImageDraw.Draw(overlay)
    for note in features.notes:
        y = float(y_of(note.pitch_hz)) - upper.top
        x0, x1 = float(x_of(note.onset)) - upper.left, float(x_of(note.offset)) - upper.left
        bars.rectangle((x0, y - 2.5, max(x0 + 1, x1), y + 2.5), fill=NOTE_RGBA)
    line = ImageDraw.Draw(overlay)
    voiced = (pitch.f0_hz > FREQUENCY_LIMITS_HZ[0]) & (pitch.f0_hz < FREQUENCY_LIMITS_HZ[1])
    if voiced.any():
        xs = x_of(pitch.times) - upper.left
        ys = y_of(np.where(voiced, pitch.f0_hz, FREQUENCY_LIMITS_HZ[0])) - upper.top
        edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            points = np.stack([xs[start:stop], ys[start:stop]], axis=1)
            if len(points) == 1:  # a lone voiced frame: a dot
                points = np.vstack([points, points + (1.0, 0.0)])
            # A pixel column holds many frames of a long recording: one point per column is enough.
            keep = np.concatenate([[True], np.diff(points[:, 0].astype(int)) != 0])
            keep[-1] = True
            line.line([(x, y) for x, y in points[keep].tolist()], fill=F0_RGB, width=2)
    canvas.paste(overlay, (upper.left, upper.top), overlay)

    # MFCCs standardised per coefficient: raw c0 is so much larger that it would flatten the rest.
    coefficients = mfcc.coefficients
    if coefficients.size:
        spread = coefficients.std(axis=1, keepdims=True)
        standardised = (coefficients - coefficients.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
        extent = float(mfcc.times[-1] + mfcc.hop_s) if mfcc.times.size else duration
        _paste_image(canvas, _colour(standardised, -Z_RANGE, Z_RANGE, COOLWARM), lower, extent, duration)

    # Frames, ticks and labels.
    for box in (upper, lower):
        draw.rectangle((box.left - 1, box.top - 1, box.right, box.bottom), outline=INK)
    for hz in FREQUENCY_TICKS_HZ:
        if FREQUENCY_LIMITS_HZ[0] <= hz <= FREQUENCY_LIMITS_HZ[1]:
            y = float(y_of(hz))
            draw.line((upper.left - 5, y, upper.left - 1, y), fill=INK)
            draw.text((upper.left - 8, y), str(hz), fill=INK, font=small, anchor="rm")
    coefficient_count = coefficients.shape[0]
    for index in range(0, coefficient_count, max(1, math.ceil(coefficient_count / 5))):
        y = lower.bottom - (index + 0.5) / coefficient_count * lower.height
        draw.line((lower.left - 5, y, lower.left - 1, y), fill=INK)
        draw.text((lower.left - 8, y), str(index), fill=INK, font=small, anchor="rm")
    step = _time_step(duration)
    for tick in np.arange(0.0, duration + 1e-9, step):
        x = float(x_of(tick))
        draw.line((x, lower.bottom, x, lower.bottom + 5), fill=INK)
        draw.text((x, lower.bottom + 8), _time_label(float(tick)), fill=INK, font=small, anchor="mt")
    draw.text(((lower.left + lower.right) / 2, HEIGHT - 6), "time (s)", fill=INK, font=small, anchor="md")
    _vertical_text(canvas, "Hz", (18, (upper.top + upper.bottom) // 2), small)
    _vertical_text(canvas, "MFCC (z-score)", (18, (lower.top + lower.bottom) // 2), small)
    draw.text(((upper.left + upper.right) / 2, top // 2), title or f"pitch track and {len(features.notes)} notes ({features.engine_choice.name} engine)",
              fill=INK, font=large, anchor="mm")

    # Legend, upper right: the two things drawn over the spectrogram.
    legend_x, legend_y = upper.right - 130, upper.top + 10
    draw.rectangle((legend_x, legend_y, upper.right - 10, legend_y + 44), fill=(245, 245, 245), outline=INK)
    draw.rectangle((legend_x + 8, legend_y + 11, legend_x + 32, legend_y + 16), fill=NOTE_RGBA[:3])
    draw.text((legend_x + 40, legend_y + 13), "notes", fill=INK, font=small, anchor="lm")
    draw.line((legend_x + 8, legend_y + 31, legend_x + 32, legend_y + 31), fill=(80, 170, 0), width=2)
    draw.text((legend_x + 40, legend_y + 31), "f0 (pYIN)", fill=INK, font=small, anchor="lm")

    # Colour bar for the MFCC z-scores, right of the lower panel.
    bar = _Box(lower.right + 14, lower.top, lower.right + 30, lower.bottom)
    ramp = np.linspace(-Z_RANGE, Z_RANGE, bar.height)[:, None].repeat(bar.width, axis=1)
    canvas.paste(Image.fromarray(_colour(ramp, -Z_RANGE, Z_RANGE, COOLWARM)), (bar.left, bar.top))
    draw.rectangle((bar.left - 1, bar.top - 1, bar.right, bar.bottom), outline=INK)
    for value in (-Z_RANGE, 0.0, Z_RANGE):
        y = bar.bottom - (value + Z_RANGE) / (2 * Z_RANGE) * bar.height
        draw.text((bar.right + 5, min(max(y, bar.top + 6), bar.bottom - 6)), f"{value:g}", fill=INK, font=small,
                  anchor="lm")

    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=3)  # zlib level 1: 15 % larger than 6, five times faster
    return buffer.getvalue()
