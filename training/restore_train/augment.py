"""Training-data variants of a clip: the same audio moved by a fraction of a token in time and
set louder or quieter, tokenized again.

Why: the bandwidth-extension rows are predicted right 25 % of the time on training clips and
12 % on validation clips (training/generalisation_gap.py): the band above 4 kHz is learned per
clip. The corpus cannot grow (the allowlist's effects are exhausted, MIDI is capped), but a
token is a 16×16 mel patch, so moving the audio by 4, 8 or 12 frames gives a different token
grid of the same sound, and a level offset gives different codes for the same shape.

Variants act on the normalised mel ([-1, 1] ↔ [db_min, 20] dB), the form the corpus stores:
- a shift of k frames drops the first k frames and pads the end with the floor (silence);
- a gain of g dB adds g in dB to every cell above the floor and clips to the range. Cells at the
  floor are silence (or padding) and stay there, so padding never turns into sound.
"""
from __future__ import annotations

import math

import numpy as np

from .mel import DB_MAX

# (shift in mel frames, gain in dB). Variant 0 is always the clip as stored.
VARIANTS: list[tuple[int, float]] = [(0, 0.0), (4, 0.0), (8, 0.0), (12, 0.0), (0, -6.0), (0, 6.0), (8, -6.0), (4, 6.0)]
FRAMES_PER_COLUMN = 16
SAMPLE_RATE, HOP = 22050, 256


def variant_name(shift: int, gain_db: float) -> str:
    """The variant's file and recipe name, e.g. shift8_gain-6."""
    return f"shift{shift}_gain{gain_db:+g}"


def variant_mel(mel: np.ndarray, shift: int, gain_db: float, db_min: float) -> np.ndarray:
    """`mel` (..., bands, frames) normalised; the variant, same shape and dtype."""
    out = np.full_like(mel, -1.0)
    frames = mel.shape[-1]
    out[..., :frames - shift] = mel[..., shift:]
    if gain_db:
        step = np.asarray(2 * gain_db / (DB_MAX - db_min), dtype=np.float32)
        silent = out <= -1
        out = np.clip(out.astype(np.float32) + step, -1, 1).astype(mel.dtype)
        out[silent] = -1
    return out


def real_columns(duration: float, shift: int, columns: int = 53) -> int:
    """Grid columns inside a clip's real audio once it has moved `shift` frames earlier."""
    frames = duration * SAMPLE_RATE / HOP - shift
    return min(columns, max(1, math.ceil(frames / FRAMES_PER_COLUMN)))
