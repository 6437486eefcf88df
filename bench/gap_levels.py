#!/usr/bin/env python3
"""Study: where the 0.5 s gap gate is lost. For the gate's own gaps (bench/validate.py: the
same clips, starts and seeds), the level of each model's fill beside the original's inside
the gap and the input's on either side (dB of mean power), with the fill's LSD.

    RESTORE=<binary> .venv/bin/python bench/gap_levels.py --model A [--model B …] [--seconds 0.5]
Writes bench/results/gap-levels.json and prints one row per clip.
"""
import argparse
import json
import pathlib
import sys
import tempfile

import numpy as np
import soundfile as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import validate  # noqa: E402
from validation import ROOT, clips  # noqa: E402
from restore_train.metrics import lsd  # noqa: E402

SR = validate.SR


def db(x):
    return float(10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2) + 1e-12))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    chosen = clips(args.clips, full_band_only=True, seed=0)
    rng = np.random.default_rng(int(args.seconds * 1000))
    n = int(args.seconds * SR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for k, c in enumerate(chosen):
            x = c["audio"]
            s = validate.gap_start(x, args.seconds, rng)
            holed = x.copy()
            holed[s:s + n] = 0
            src = tmp / f"gap-{k:03d}.wav"
            sf.write(src, holed, SR, subtype="FLOAT")
            row = {"kind": c["kind"], "id": c["id"], "start": s / SR, "original_db": db(x[s:s + n]),
                   "before_db": db(x[max(0, s - n):s]), "after_db": db(x[s + n:s + 2 * n]), "models": {}}
            for m in args.model:
                dst = tmp / f"fill-{k:03d}-{len(row['models'])}.wav"
                validate.restore("fill-gap", src, "--at", f"{s / SR:.6f}", "--length", f"{args.seconds}", "-o", dst,
                                 "--encoding", "float", model=m, threads=args.threads)
                y = sf.read(dst, dtype="float32")[0]
                row["models"][m] = {"fill_db": db(y[s:s + n]), "lsd": lsd(x[s:s + n], y[s:s + n])}
            rows.append(row)
            print(f"{c['kind']:7s} {c['id'][-42:]:42s} orig {row['original_db']:6.1f} around {row['before_db']:6.1f}/{row['after_db']:6.1f} "
                  + " ".join(f"| fill {v['fill_db']:6.1f} lsd {v['lsd']:.2f}" for v in row["models"].values()), flush=True)
    out = ROOT / "bench" / "results" / "gap-levels.json"
    out.write_text(json.dumps({"seconds": args.seconds, "models": args.model, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
