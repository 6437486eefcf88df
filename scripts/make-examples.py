#!/usr/bin/env python3
"""Synthesises the example clips in Examples/ (made by the project, small, deterministic).

    make examples        # or: .venv/bin/python scripts/make-examples.py

chords.flac              6 s, 44.1 kHz stereo: plucked chords with bright harmonics and hi-hats
chords-lowpass-4k.flac   the same, low-passed at 4 kHz (input for `restore bwe`)
chords-gap.flac          the same with 0.4 s of digital silence at 1.2 s (input for `restore fill-gap`)
"""
import pathlib

import numpy as np
import soundfile as sf

SR = 44100
SECONDS = 6.0
OUT = pathlib.Path(__file__).resolve().parents[1] / "Examples"
rng = np.random.default_rng(1234)


def pluck(freq, start, dur, n):
    t = np.arange(int(dur * SR)) / SR
    tone = np.zeros_like(t)
    for k in range(1, 40):
        if k * freq > 16000:
            break
        tone += np.sin(2 * np.pi * k * freq * t + rng.uniform(0, 2 * np.pi)) / k * np.exp(-t * (1.5 + 0.6 * k))
    out = np.zeros(n)
    i = int(start * SR)
    seg = tone[: n - i]
    out[i:i + len(seg)] = seg
    return out


def hihat(start, n):
    t = np.arange(int(0.08 * SR)) / SR
    burst = rng.standard_normal(len(t)) * np.exp(-t * 60)
    burst = np.diff(burst, prepend=0)  # tilt towards the treble
    out = np.zeros(n)
    i = int(start * SR)
    out[i:i + len(burst)] = burst[: n - i]
    return out


def synth():
    n = int(SECONDS * SR)
    chords = [[220.0, 277.18, 329.63], [196.0, 246.94, 293.66], [174.61, 220.0, 261.63], [196.0, 246.94, 311.13]]
    left, right = np.zeros(n), np.zeros(n)
    for c, chord in enumerate(chords):
        for j, f in enumerate(chord):
            note = pluck(f, c * 1.5 + 0.02 * j, 1.6, n)
            pan = 0.3 + 0.2 * j
            left += (1 - pan) * note
            right += pan * note
    for b in range(int(SECONDS / 0.375)):
        h = hihat(b * 0.375, n) * (0.5 if b % 2 else 0.8)
        left += 0.35 * h
        right += 0.25 * h
    x = np.stack([left, right], axis=1)
    return 0.7 * x / np.abs(x).max()


def lowpass(x, cutoff, taps=1023):
    m = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff / SR * np.sinc(2 * cutoff / SR * m) * np.blackman(taps)
    h /= h.sum()
    return np.stack([np.convolve(x[:, k], h, mode="same") for k in range(x.shape[1])], axis=1)


def main():
    OUT.mkdir(exist_ok=True)
    x = synth()
    sf.write(OUT / "chords.flac", x, SR, subtype="PCM_16")
    sf.write(OUT / "chords-lowpass-4k.flac", lowpass(x, 4000), SR, subtype="PCM_16")
    g = x.copy()
    g[int(1.2 * SR):int(1.6 * SR)] = 0
    sf.write(OUT / "chords-gap.flac", g, SR, subtype="PCM_16")
    for p in sorted(OUT.glob("*.flac")):
        print(f"{p.name}: {p.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
