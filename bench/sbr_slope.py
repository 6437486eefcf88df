#!/usr/bin/env python3
"""Study: spectral band replication with a slope per frame instead of one per file.

The SBR baseline (training/restore_train/sbr.py) scales each copied bin by
(f_target / f_source)^b with one slope b for the whole file, fitted on the time-averaged
magnitudes of the octave under the cutoff. Where the content above the cutoff
changes from frame to frame (hi-hats over chords in the demo clip), one slope fits neither.
Here b is fitted per STFT frame on magnitudes smoothed over `smooth` frames, clipped as before,
alone or half and half with the file's slope (what the engine's band estimate uses,
sbr.ENGINE_SLOPE).

    .venv/bin/python bench/sbr_slope.py [--clips 48]
Prints and writes bench/results/sbr-slope.json: the demo's 4–8 kHz level beside the original's,
and LSD (validation split, from a 4 kHz low-pass, per kind) for the global and per-frame slopes.
"""
import argparse
import collections
import json
import pathlib
import sys

import numpy as np
import soundfile as sf

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "bench"))
from restore_train import sbr  # noqa: E402


def band_db(x, sr, lo, hi):
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float(10 * np.log10(power[(f >= lo) & (f < hi)].sum() / len(x) ** 2 * 2 + 1e-20))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=48)
    args = ap.parse_args()
    import validate
    from validation import clips

    result = {"demo": {}, "lsd": {}}
    orig, sr = sf.read(ROOT / "Examples" / "chords.flac", dtype="float64")
    low, _ = sf.read(ROOT / "Examples" / "chords-lowpass-4k.flac", dtype="float64")
    orig, low = (a.mean(1) if a.ndim > 1 else a for a in (orig, low))
    result["demo"]["original"] = band_db(orig, sr, 4000, 8000)
    result["demo"]["global"] = band_db(low + sbr.high_band(low, sr, 4016), sr, 4000, 8000)
    variants = {"per-frame 4": (4, 1.0), "per-frame 16": (16, 1.0), "half per-frame 4": (4, 0.5), "half per-frame 8": (8, 0.5)}
    for name, (smooth, share) in variants.items():
        result["demo"][name] = band_db(low + sbr.high_band(low, sr, 4016, slope_frames=smooth, frame_share=share), sr, 4000, 8000)

    rate = 22050
    scores = collections.defaultdict(list)
    for c in clips(args.clips, full_band_only=True, seed=0):
        x = c["audio"].astype(np.float64)
        low = sbr.zero_phase(x, sbr.kaiser_lowpass(4000, rate))
        outputs = {"global": low + sbr.high_band(low, rate, 4000)}
        for name, (smooth, share) in variants.items():
            outputs[name] = low + sbr.high_band(low, rate, 4000, slope_frames=smooth, frame_share=share)
        for name, y in outputs.items():
            s = validate.lsd(x.astype(np.float32), y.astype(np.float32))
            scores[(c["kind"], name)].append(s)
            scores[("all", name)].append(s)
    for (kind, name), v in sorted(scores.items()):
        result["lsd"].setdefault(kind, {})[name] = float(np.mean(v))
    out = ROOT / "bench" / "results" / "sbr-slope.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
