#!/usr/bin/env python3
"""Golden fixtures of spectral band replication (restore_train.sbr) for the Swift tests:
1.5 s of noise with a 1/f tilt and a few decaying tones, low-passed at 4 kHz with the same
Kaiser FIR (fixed seed), at 22 050 and 16 000 Hz; the reference output in float64, with one
slope per file (the baseline) and the engine's band estimate (sbr.ENGINE_SLOPE: half the
slope of 4 frames, half the file's).

    .venv/bin/python training/make_sbr_fixtures.py
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from restore_train import sbr  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "Tests" / "RestoreCoreTests" / "Fixtures" / "sbr"
SEED = 20261130


def signal(sr: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    n = int(1.5 * sr)
    t = np.arange(n) / sr
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / sr), 20)
    noise = np.fft.irfft(spec / np.sqrt(f), n=n)
    noise *= 0.05 / noise.std()
    tones = sum(0.2 * np.sin(2 * np.pi * f0 * t) * np.exp(-3 * t) for f0 in (220, 660, 1500, 3100))
    x = noise + tones
    return sbr.zero_phase(x, sbr.kaiser_lowpass(4000, sr)).astype(np.float32)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for sr in (22050, 16000):
        x = signal(sr)
        y = sbr.spectral_band_replication(x.astype(np.float64), sr, 4000.0)
        np.save(OUT / f"input{sr}.npy", x)
        np.save(OUT / f"output{sr}.npy", y.astype(np.float32))
        y4 = sbr.spectral_band_replication(x.astype(np.float64), sr, 4000.0, **sbr.ENGINE_SLOPE)
        np.save(OUT / f"output{sr}-engine.npy", y4.astype(np.float32))
        first, end = sbr.source_band(4000.0, sr)
        b = sbr.slope(sbr.stft(x.astype(np.float64)), first, end, sr)
        print(f"{sr} Hz: source bins [{first}, {end}), slope {b:.4f}, output rms {np.sqrt(np.mean(y ** 2)):.5f}")


if __name__ == "__main__":
    main()
