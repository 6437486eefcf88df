#!/usr/bin/env python3
"""Writes the golden fixtures of the mel front end (engine.md §1) for the Swift tests.

Fixed 3 s signals at 22 050 Hz (chirp, white noise, silence, 1 kHz tone) from a
fixed seed; the reference mel is computed in float64 by restore_train.mel; the
filterbank fixture is librosa's own (librosa is needed only to run this script).

    .venv/bin/python training/make_frontend_fixtures.py
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from restore_train import mel  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "Tests" / "RestoreCoreTests" / "Fixtures" / "frontend"
SEED = 20261122


def signals() -> dict[str, np.ndarray]:
    sr, n = mel.SAMPLE_RATE, 3 * mel.SAMPLE_RATE
    t = np.arange(n) / sr
    rng = np.random.default_rng(SEED)
    f0, f1 = 50.0, 10000.0   # exponential chirp 50 Hz → 10 kHz
    k = np.log(f1 / f0) / 3.0
    chirp = 0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
    return {
        "chirp": chirp.astype(np.float32),
        "noise": (0.1 * rng.standard_normal(n)).astype(np.float32),
        "silence": np.zeros(n, dtype=np.float32),
        "tone1k": (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32),
    }


def main() -> None:
    import librosa

    OUT.mkdir(parents=True, exist_ok=True)
    fb_ref = librosa.filters.mel(sr=mel.SAMPLE_RATE, n_fft=mel.N_FFT, n_mels=mel.N_MELS,
                                 fmin=mel.F_MIN, fmax=mel.F_MAX, htk=False, norm="slaney")
    ours = mel.mel_filterbank()
    err = np.abs(ours - fb_ref).max() / np.abs(fb_ref).max()
    assert err < 1e-6, f"numpy filterbank differs from librosa: {err}"
    np.save(OUT / "filterbank.npy", fb_ref.astype(np.float32))
    for name, x in signals().items():
        np.save(OUT / f"{name}.signal.npy", x)
        m = mel.magnitude_mel(x.astype(np.float64))
        np.save(OUT / f"{name}.mel.npy", m.astype(np.float32))
        if name in ("chirp", "noise"):
            np.save(OUT / f"{name}.logmel.npy", np.log(np.maximum(m, mel.FLOOR)).astype(np.float32))
            np.save(OUT / f"{name}.normalized.npy", mel.normalize_db(m).astype(np.float32))
            np.save(OUT / f"{name}.normalized-db100.npy", mel.normalize_db(m, -100.0).astype(np.float32))
        print(f"{name}: mel {m.shape}, range {m.min():.3g}..{m.max():.3g}")
    print(f"fixtures written to {OUT}")


if __name__ == "__main__":
    main()
