#!/usr/bin/env python3
"""How well can the new band's per-frame level be known from the band below the cutoff?

BWE's score depends most on the new band's envelope (with the true envelope our output scores
0.948 against 1.101), and today that envelope is band replication's: the top octave below the
cutoff copied up with a spectral slope. This study fits a ridge regression, on training clips,
from the log-mel of the band below the cutoff (the frame, its neighbourhood and the clip's
mean) to the correction of band replication's estimate of the band above it (in log-mel), and compares its per-frame sub-band envelope error
on validation clips with band replication's (the engine's slope rule), in the mel domain the
engine works in.

    .venv/bin/python bench/envelope_study.py --train-clips 800 --val-clips 64 --out bench/results/envelope-study.json
"""
import argparse
import collections
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "training"))
from validation import CACHE_V2, _jsonl, clip_audio, clips  # noqa: E402
from restore_train import sbr  # noqa: E402
from restore_train.mel import magnitude_mel, mel_filterbank  # noqa: E402

SR = 22050


def mel_db(x):
    return 20 * np.log10(np.maximum(magnitude_mel(np.asarray(x, np.float64)), 1e-5))       # (80, frames)


def bands(cutoff):
    """Mel bins wholly below 0.95 × cutoff (features) and bins centred above the cutoff (targets)."""
    fb = mel_filterbank()
    f = np.arange(fb.shape[1]) * SR / 1024
    top = np.array([f[row > 0].max() for row in fb])
    centre = (fb * f).sum(1) / fb.sum(1)
    return np.nonzero(top <= 0.95 * cutoff)[0], np.nonzero(centre > cutoff)[0]


def smooth(m, half=4):
    """Moving mean over ±half frames (edges: the frames that exist)."""
    c = np.cumsum(np.pad(m, ((0, 0), (1, 0))), axis=1)
    t = m.shape[1]
    lo = np.clip(np.arange(t) - half, 0, t)
    hi = np.clip(np.arange(t) + half + 1, 0, t)
    return (c[:, hi] - c[:, lo]) / (hi - lo)


def features(low_db, sbr_db):
    """Per frame: the low band's log-mel, its ±4-frame mean, the clip's mean, band replication's
    estimate of the high band and its ±4-frame mean, and a bias."""
    t = low_db.shape[1]
    return np.concatenate([low_db, smooth(low_db), np.repeat(low_db.mean(1, keepdims=True), t, 1),
                           sbr_db, smooth(sbr_db), np.ones((1, t))]).T


def envelope_error(ref_db, est_db, groups=4):
    """Per frame, the energy (dB) of `groups` equal runs of target bins, estimate minus
    reference; mean |error| over frames within 60 dB of each group's loudest frame."""
    errs = []
    for g in np.array_split(np.arange(ref_db.shape[0]), groups):
        er = 10 * np.log10((10 ** (ref_db[g] / 10)).sum(0) + 1e-20)
        ee = 10 * np.log10((10 ** (est_db[g] / 10)).sum(0) + 1e-20)
        keep = er >= er.max() - 60
        errs.append(np.abs(ee - er)[keep])
    return float(np.mean(np.concatenate(errs)))


def train_clips(n, seed=0):
    plan = [c for c in _jsonl(CACHE_V2 / "plan.jsonl") if c["split"] == "train" and c["samples"] >= 4 * SR]
    recs = {r["key"]: r for r in _jsonl(CACHE_V2 / "decoded.jsonl") if "error" not in r}
    plan = [c for c in plan if c["type"] == "window" and recs.get(c["key"], {}).get("bandwidth_hz", 0) >= 7500]
    rng = np.random.default_rng(seed)
    by_kind = collections.defaultdict(list)
    for c in plan:
        by_kind[c["kind"]].append(c)
    cache, out = {}, []

    def pcm(key):
        if key not in cache:
            cache[key] = np.load(CACHE_V2 / "pcm" / f"{key}.npy").astype(np.float32)
        return cache[key]
    kinds = sorted(by_kind)
    for i in range(n):
        pool = by_kind[kinds[i % len(kinds)]]
        c = pool[int(rng.integers(len(pool)))]
        x = clip_audio(c, pcm)
        if np.sqrt(np.mean(x ** 2)) >= 1e-3:
            out.append({"kind": c["kind"], "audio": x})
        if len(cache) > 64:
            cache.clear()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-clips", type=int, default=800)
    ap.add_argument("--val-clips", type=int, default=64)
    ap.add_argument("--cutoff", type=float, default=4000.0)
    ap.add_argument("--ridge", type=float, default=10.0)
    ap.add_argument("--out", type=pathlib.Path)
    args = ap.parse_args()
    low_bins, high_bins = bands(args.cutoff)
    h = sbr.kaiser_lowpass(args.cutoff, SR)
    t0 = time.time()
    X, Y = [], []
    for c in train_clips(args.train_clips):
        low = sbr.zero_phase(c["audio"].astype(np.float64), h)
        est = mel_db(low + sbr.high_band(low, SR, args.cutoff, **sbr.ENGINE_SLOPE))[high_bins]
        X.append(features(mel_db(low)[low_bins], est))
        Y.append((mel_db(c["audio"])[high_bins] - est).T)
    X, Y = np.concatenate(X), np.concatenate(Y)
    print(f"train: {len(X)} frames, {X.shape[1]} features, {Y.shape[1]} targets ({time.time() - t0:.0f} s)", flush=True)
    reg = args.ridge * len(X) / 1e4 * np.eye(X.shape[1])
    reg[-1, -1] = 0
    W = np.linalg.solve(X.T @ X + reg, X.T @ Y)
    rows = []
    for c in clips(args.val_clips, seed=5, full_band_only=True):
        x = c["audio"].astype(np.float64)
        low = sbr.zero_phase(x, h)
        ref = mel_db(x)[high_bins]
        est_sbr = mel_db(low + sbr.high_band(low, SR, args.cutoff, **sbr.ENGINE_SLOPE))[high_bins]
        est_file = mel_db(low + sbr.high_band(low, SR, args.cutoff))[high_bins]
        est_ridge = est_sbr + (features(mel_db(low)[low_bins], est_sbr) @ W).T
        rows.append({"kind": c["kind"], "sbr_engine_slope": envelope_error(ref, est_sbr), "sbr_file_slope": envelope_error(ref, est_file),
                     "ridge": envelope_error(ref, est_ridge)})
    table = {}
    for kind in sorted({r["kind"] for r in rows}) + ["all"]:
        sel = [r for r in rows if kind == "all" or r["kind"] == kind]
        table[kind] = {m: float(np.mean([r[m] for r in sel])) for m in ("sbr_engine_slope", "sbr_file_slope", "ridge")} | {"clips": len(sel)}
        print(kind, {k: round(v, 2) for k, v in table[kind].items()}, flush=True)
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "table": table, "per_clip": rows}, indent=1))


if __name__ == "__main__":
    main()
