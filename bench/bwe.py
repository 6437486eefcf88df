#!/usr/bin/env python3
"""Bandwidth extension on the validation split (never training data), per kind, with each
of `restore bwe`'s level options beside the DSP baselines:

* from a 4 kHz low-pass (Kaiser FIR, 1025 taps, beta 8.6, forward and backward) of 22 050 Hz
  clips: LSD (0–11 kHz), LSD-HF (> 4 kHz), the level bias of 4–8 kHz (dB, median over clips)
  and the per-frame sub-band envelope error (4–5, 5–6.5, 6.5–8, 8–11 kHz), for
  `restore bwe --cutoff 4000` with each option set, spectral band replication (SBR) and the
  low-pass input itself;
* telephone speech: validation speech resampled to 8 kHz, `restore bwe` with the automatic
  cutoff (written at 22 050 Hz) beside SBR from the 8 kHz file's Nyquist and the plain
  upsampled input: LSD 0–8 kHz and the 4–8 kHz level bias.

    .venv/bin/python bench/bwe.py [--clips 24] [--options "none;prior;guard;prior+guard"] [--model DIR --out NAME.json]
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
from restore_train.metrics import envelope_error, level_bias, lsd  # noqa: E402

SR = 22050
CUTOFF = 4000.0
OPTION_SETS = {
    "none": [],
    "prior": ["--prior", "sbr"],
    "guard": ["--level-guard", "6"],
    "prior+guard": ["--prior", "sbr", "--level-guard", "6"],
    "prior+guard3": ["--prior", "sbr", "--level-guard", "3"],
    "above8k": ["--above-8k", "sbr"],
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--options", default="none;prior;guard;prior+guard;above8k")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-telephone", action="store_true")
    ap.add_argument("--model", help="model folder (default: the shipped Models/default)")
    ap.add_argument("--out", default="bwe.json", help="result file name under bench/results/")
    args = ap.parse_args()
    model = ["--model", args.model] if args.model else []
    if "RESTORE" not in os.environ:
        subprocess.run(["swift", "build", "-c", "release", "--product", "restore"], cwd=ROOT, check=True, capture_output=True)
    chosen = clips(args.clips, full_band_only=True)
    tmp = pathlib.Path(tempfile.mkdtemp())
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
        # Partial results survive an interrupted run.
        partial = ROOT / "bench" / "results" / "bwe.partial.json"
        partial.write_text(json.dumps({"per_clip": rows}, indent=1) + "\n")
    result = {"clips": len(rows), "cutoff_hz": CUTOFF, "per_clip": rows,
              "table": table(rows, ["lsd", "lsd_hf", "bias_db", "envelope_db"], "BWE from 4 kHz (22 050 Hz clips; bias = median)")}

    if not args.no_telephone:
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
                methods = {"upsampled input": up, "SBR": sbr.spectral_band_replication(up, SR, 3900.0), "bwe auto": y[: len(x)]}
                tel_rows.append({"kind": "speech", "id": speech[k]["id"], "methods": {
                    m: {"lsd_0_8k": lsd(x, v, cutoff=8000, band="lf"), "bias_db": level_bias(x, v)} for m, v in methods.items()}})
            result["telephone"] = {"clips": len(tel_rows), "per_clip": tel_rows,
                                   "table": table(tel_rows, ["lsd_0_8k", "bias_db"], "Telephone speech (8 kHz) to 22 050 Hz")}
    out = ROOT / "bench" / "results" / args.out
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
