#!/usr/bin/env python3
"""Bandwidth extension on the validation split (never training data), per kind, with each
of `restore bwe`'s level options beside the DSP baselines:

* from a 4 kHz low-pass (Kaiser FIR, 1025 taps, beta 8.6, forward and backward) of 22 050 Hz
  clips: LSD (0–11 kHz), LSD-HF (> 4 kHz), the level bias of 4–8 kHz (dB, median over clips)
  and the per-frame sub-band envelope error (4–5, 5–6.5, 6.5–8, 8–11 kHz), for
  `restore bwe --cutoff 4000` with each option set, spectral band replication (SBR) and the
  low-pass input itself;
* telephone speech: validation speech resampled to 8 kHz, `restore bwe` with the automatic
  cutoff (written at 22 050 Hz) beside SBR from 3.9 kHz and the plain upsampled input:
  LSD 0–8 kHz and the 4–8 kHz level bias;
* above the engine's 8 kHz: validation clips whose source file (an installed package's)
  has content above 11 kHz, at 44.1 kHz, low-passed at 4 kHz: LSD over 8–16 kHz of
  `restore bwe` (defaults: `--above-8k auto`, replication above the engine's Nyquist; and
  `--above-8k none`) beside SBR and the empty band.

    .venv/bin/python bench/bwe.py [--clips 24] [--options "plain;prior;guard;prior+guard;fuse;defaults"] [--model DIR --out NAME.json]
Writes bench/results/bwe.json (or --out) and prints the tables.
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import scipy.signal
import soundfile as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from validation import RESTORE, ROOT, clips  # noqa: E402
from restore_train import sbr  # noqa: E402
from restore_train.metrics import _power, band_energy, envelope_error, level_bias, lsd  # noqa: E402

SR = 22050
CUTOFF = 4000.0
# Each set names every level option, so that the table does not move with the defaults.
OPTION_SETS = {
    "plain": ["--prior", "none", "--level-guard", "off", "--fuse", "none"],
    "prior": ["--prior", "sbr", "--level-guard", "off", "--fuse", "none"],
    "guard": ["--prior", "none", "--level-guard", "0", "--fuse", "none"],
    "guard6": ["--prior", "none", "--level-guard", "6", "--fuse", "none"],
    "prior+guard": ["--prior", "sbr", "--level-guard", "0", "--fuse", "none"],
    "fuse": ["--prior", "none", "--level-guard", "off", "--fuse", "sbr"],
    "fuse+guard3": ["--prior", "sbr", "--level-guard", "3", "--fuse", "sbr"],
    "fuse+guard6": ["--prior", "sbr", "--level-guard", "6", "--fuse", "sbr"],
    "defaults": [],
}


def lowpass(x, sr, cutoff):
    return sbr.zero_phase(np.asarray(x, dtype=np.float64), sbr.kaiser_lowpass(cutoff, sr)).astype(np.float32)


def scores(ref, est, cutoff=CUTOFF):
    return {"lsd": lsd(ref, est), "lsd_hf": lsd(ref, est, cutoff=cutoff, band="hf"),
            "bias_db": level_bias(ref, est), "envelope_db": envelope_error(ref, est)}


def run_bwe(inputs, out_dir, extra, threads):
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([RESTORE, "bwe", *map(str, inputs), "-o", str(out_dir) + "/", "--overwrite", "--quiet",
                    "--encoding", "float", "--threads", str(threads), *extra], check=True, capture_output=True)
    return [sf.read(out_dir / p.name, dtype="float32")[0] for p in inputs]


def fit(y, n):
    """y cut or zero-padded to n samples."""
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def band_lsd(ref, est, sr, lo, hi):
    """LSD over bins in [lo, hi) Hz (2048-point frames, as `lsd`)."""
    p, q = _power(ref), _power(est[: len(ref)])
    f = np.arange(p.shape[1]) * sr / 2048
    m = (f >= lo) & (f < hi)
    return float(np.mean(np.sqrt(np.mean((np.log10(q[:, m]) - np.log10(p[:, m])) ** 2, axis=1))))


def installed_file(source, rel, cache={}):
    """The path of an installed package's file (the manifest names it by absolute path, or
    relative to the package's data folder), or None."""
    if rel.startswith("/"):
        return rel if os.path.isfile(rel) else None
    if source not in cache:
        r = subprocess.run(["dpkg", "-L", source], capture_output=True, text=True)
        cache[source] = r.stdout.splitlines() if r.returncode == 0 else []
    return next((p for p in cache[source] if p.endswith("/" + rel) and os.path.isfile(p)), None)


def above_8k(args, model, tmp, rate=44100):
    """LSD over 8–16 kHz at 44.1 kHz (see the module's docstring)."""
    rows, refs, inputs = [], [], []
    for c in clips(8 * args.clips, full_band_only=True):
        if len(rows) >= args.clips // 2 or c["type"] != "window":
            continue
        path = installed_file(c["source"], c["file"])
        if path is None:
            continue
        try:
            y, sr = sf.read(path, dtype="float32", always_2d=True)
        except Exception:
            continue
        if sr < rate:
            continue
        y = y.mean(axis=1)
        if sr != rate:
            g = np.gcd(sr, rate)
            y = scipy.signal.resample_poly(y, rate // g, sr // g).astype(np.float32)
        a = int(round(c["offset"] * rate))
        x = y[a:a + int(len(c["audio"]) * rate / SR)]
        s = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / rate)
        # A usable reference has content above 11 kHz: within 50 dB of 0–11 kHz, per hertz.
        if len(x) < rate or s[(f >= 11000) & (f < 16000)].mean() < 1e-5 * s[f < 11000].mean():
            continue
        p = tmp / f"wide{len(rows):03d}.wav"
        sf.write(p, lowpass(x, rate, CUTOFF), rate, subtype="FLOAT")
        refs.append(x)
        inputs.append(p)
        rows.append({"kind": c["kind"], "id": c["id"], "methods": {}})
    if not rows:
        return {"clips": 0}
    runs = {"bwe defaults": run_bwe(inputs, tmp / "wide-defaults", ["--cutoff", str(int(CUTOFF)), *model], args.threads),
            "bwe --above-8k none": run_bwe(inputs, tmp / "wide-none", ["--cutoff", str(int(CUTOFF)), "--above-8k", "none", *model], args.threads)}
    for k, x in enumerate(refs):
        low = sf.read(inputs[k], dtype="float32")[0]
        methods = {"low-pass input": low, "SBR": sbr.spectral_band_replication(low, rate, CUTOFF)}
        methods.update({m: fit(v[k], len(x)) for m, v in runs.items()})
        rows[k]["methods"] = {m: {"lsd_8_16k": band_lsd(x, v, rate, 8000, 16000),
                                  "bias_8_16k_db": level_bias(x, v, sr=rate, lo=8000, hi=16000)} for m, v in methods.items()}
    return {"clips": len(rows), "rate": rate, "per_clip": rows,
            "table": table(rows, ["lsd_8_16k", "bias_8_16k_db"], "Above 8 kHz: 44.1 kHz clips from 4 kHz, LSD 8–16 kHz")}


def demo(model, threads, tmp):
    """The README's example: Examples/chords-lowpass-4k.flac through `restore bwe` (auto
    cutoff, defaults); the mean-square power in 4–8 and 8–16 kHz (dB, both channels)
    beside the original's."""
    ex = ROOT / "Examples"
    out = tmp / "demo"
    out.mkdir(exist_ok=True)
    subprocess.run([RESTORE, "bwe", str(ex / "chords-lowpass-4k.flac"), "-o", str(out / "chords-lowpass-4k.wav"), "--overwrite", "--quiet",
                    "--encoding", "float", "--threads", str(threads), *model], check=True, capture_output=True)
    signals = {"original": sf.read(ex / "chords.flac", dtype="float32")[0], "low-pass input": sf.read(ex / "chords-lowpass-4k.flac", dtype="float32")[0],
               "bwe": sf.read(out / "chords-lowpass-4k.wav", dtype="float32")[0]}
    sr = sf.info(str(ex / "chords.flac")).samplerate

    def level(x, lo, hi):
        e = sum(band_energy(x[:, c], sr, lo, hi) / len(x) ** 2 * 2 for c in range(x.shape[1]))
        return float(10 * np.log10(e / x.shape[1] + 1e-20))
    res = {m: {"4_8k_db": level(x, 4000, 8000), "8_16k_db": level(x, 8000, 16000)} for m, x in signals.items()}
    print("\nDemo (Examples/chords-lowpass-4k.flac): " + "; ".join(f"{m} {v['4_8k_db']:.1f} / {v['8_16k_db']:.1f} dB" for m, v in res.items()))
    return res


def table(rows, keys, title):
    kinds = sorted({r["kind"] for r in rows})
    print(f"\n{title}")
    print("| method | kind | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    out = {}
    for method in rows[0]["methods"]:
        for kind in kinds + ["all"]:
            sel = [r["methods"][method] for r in rows if kind == "all" or r["kind"] == kind]
            agg = {k: float(np.median([s[k] for s in sel])) if k == "bias_db" else float(np.mean([s[k] for s in sel])) for k in keys}
            out.setdefault(method, {})[kind] = agg
            print(f"| {method} | {kind} | " + " | ".join(f"{agg[k]:.3f}" for k in keys) + " |")
    return out


def main_table(args, model, tmp, partial):
    """Per-clip scores of every option set on the 4 kHz low-passes (saved to `partial` as
    each set finishes)."""
    chosen = clips(args.clips, full_band_only=True)
    refs, inputs = [], []
    for k, c in enumerate(chosen):
        x = c["audio"]
        refs.append(x)
        p = tmp / f"clip{k:03d}.wav"
        sf.write(p, lowpass(x, SR, CUTOFF), SR, subtype="FLOAT")
        inputs.append(p)
    rows = [{"kind": c["kind"], "id": c["id"], "methods": {}} for c in chosen]
    for k, x in enumerate(refs):
        low = sf.read(inputs[k], dtype="float32")[0]
        rows[k]["methods"]["low-pass input"] = scores(x, low)
        rows[k]["methods"]["SBR"] = scores(x, sbr.spectral_band_replication(low, SR, CUTOFF))
    for name in args.options.split(";"):
        outs = run_bwe(inputs, tmp / name, ["--cutoff", str(int(CUTOFF)), *OPTION_SETS[name], *model], args.threads)
        for k, (x, y) in enumerate(zip(refs, outs)):
            rows[k]["methods"][f"bwe {name}"] = scores(x, y)
        print(f"bwe {name}: done", flush=True)
        # Partial results survive an interrupted run (`--only main-from-partial` reads them).
        partial.write_text(json.dumps({"per_clip": rows}, indent=1) + "\n")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--options", default="plain;prior;guard;prior+guard;fuse;defaults")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-telephone", action="store_true")
    ap.add_argument("--no-44k", action="store_true")
    ap.add_argument("--only", default="main,telephone,44k,demo",
                    help="sections to run; the others are kept from the existing result file")
    ap.add_argument("--model", help="model folder (default: the shipped Models/default)")
    ap.add_argument("--out", default="bwe.json", help="result file name under bench/results/")
    args = ap.parse_args()
    model = ["--model", args.model] if args.model else []
    if "RESTORE" not in os.environ:
        subprocess.run(["swift", "build", "-c", "release", "--product", "restore"], cwd=ROOT, check=True, capture_output=True)
    only = set(args.only.split(","))
    out = ROOT / "bench" / "results" / args.out
    result = json.loads(out.read_text()) if out.exists() and only != set(ap.get_default("only").split(",")) else {}
    partial = ROOT / "bench" / "results" / "bwe.partial.json"

    def save():
        out.write_text(json.dumps(result, indent=1) + "\n")

    tmp = pathlib.Path(tempfile.mkdtemp())
    if "main" in only or "main-from-partial" in only:
        if "main-from-partial" in only:
            # The per-clip scores an interrupted run left (every option set it finished).
            rows = json.loads(partial.read_text())["per_clip"]
        else:
            rows = main_table(args, model, tmp, partial)
        result.update({"clips": len(rows), "cutoff_hz": CUTOFF, "per_clip": rows,
                       "table": table(rows, ["lsd", "lsd_hf", "bias_db", "envelope_db"], "BWE from 4 kHz (22 050 Hz clips; bias = median)")})
        save()
    if "telephone" in only and not args.no_telephone:
        speech = [c for c in clips(4 * args.clips, full_band_only=True) if c["kind"] == "speech"][: args.clips]
        tel_rows, tel_inputs, tel_refs = [], [], []
        for k, c in enumerate(speech):
            x = c["audio"]
            narrow = scipy.signal.resample_poly(x, 320, 882).astype(np.float32)      # 22 050 → 8 000 Hz
            p = tmp / f"phone{k:03d}.wav"
            sf.write(p, narrow, 8000, subtype="FLOAT")
            tel_inputs.append(p)
            tel_refs.append(x)
        if tel_inputs:
            outs = run_bwe(tel_inputs, tmp / "phone-out", model, args.threads)
            for k, (x, y) in enumerate(zip(tel_refs, outs)):
                narrow = sf.read(tel_inputs[k], dtype="float32")[0]
                up = scipy.signal.resample_poly(narrow, 882, 320).astype(np.float32)[: len(x)]
                methods = {"upsampled input": up, "SBR": sbr.spectral_band_replication(up, SR, 3900.0), "bwe auto": fit(y, len(x))}
                tel_rows.append({"kind": "speech", "id": speech[k]["id"], "methods": {
                    m: {"lsd_0_8k": lsd(x, v, cutoff=8000, band="lf"), "bias_db": level_bias(x, v)} for m, v in methods.items()}})
            result["telephone"] = {"clips": len(tel_rows), "per_clip": tel_rows,
                                   "table": table(tel_rows, ["lsd_0_8k", "bias_db"], "Telephone speech (8 kHz) to 22 050 Hz")}
            save()
    if "44k" in only and not args.no_44k:
        result["above_8k"] = above_8k(args, model, tmp)
        save()
    if "demo" in only:
        result["demo"] = demo(model, args.threads, tmp)
        save()
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
