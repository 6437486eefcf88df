#!/usr/bin/env python3
"""Restoration quality on the validation split (never training data), engine.md §4:

* BWE from a 4 kHz low-pass: LSD, LSD-HF (> 4 kHz) and LSD-LF of `restore bwe --lfr`, of the
  low-pass input itself, and of a blind spectral-band-replication baseline.
* 0.5 s gaps: gap SNR and gap LSD of `restore fill-gap`, of silence, and of a Burg-LPC fill.

The Swift binary does the restoring; references are the clips' own audio (22 050 Hz).

    .venv/bin/python bench/restoration.py [--clips 16] [--threads 2]
Writes bench/results/restoration.json and prints the tables.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.signal
import soundfile as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from baselines import lpc_fill, spectral_band_replication  # noqa: E402
from validation import RESTORE, ROOT, Loader, manifest, pick  # noqa: E402
from restore_train.metrics import lsd  # noqa: E402

SR = 22050
CUTOFF = 4000.0
GAP = 0.5


def gap_snr(ref, est):
    return float(10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - est) ** 2), 1e-20)))


def gap_position(x, rng):
    """A 0.5 s gap inside active audio: among candidate starts, the one with most energy."""
    n = int(GAP * SR)
    starts = rng.integers(int(0.5 * SR), max(int(0.5 * SR) + 1, len(x) - n - int(0.5 * SR)), size=8)
    return int(max(starts, key=lambda s: float(np.sum(x[s:s + n] ** 2))))


def run(args):
    return json.loads(subprocess.run([RESTORE, *args, "--json", "--quiet"], check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=16)
    args = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "restore"], cwd=ROOT, check=True, capture_output=True)
    loader = Loader()
    chosen = pick(manifest(), args.clips, seed=1, min_duration=4.0)
    tmp = pathlib.Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    sos = scipy.signal.butter(16, CUTOFF, fs=SR, output="sos")
    common = ["--threads", str(args.threads), "--iterations", str(args.iterations), "--encoding", "float", "--overwrite"]
    bwe_rows, gap_rows = [], []
    t_bwe = t_gap = audio_seconds = 0.0
    for k, e in enumerate(chosen):
        x = loader.audio(e)
        audio_seconds += len(x) / SR
        # Bandwidth extension from a zero-phase 4 kHz low-pass.
        low = scipy.signal.sosfiltfilt(sos, x).astype(np.float32)
        src = tmp / f"low{k}.wav"
        sf.write(src, low, SR, subtype="FLOAT")
        t0 = time.time()
        run(["bwe", str(src), "--cutoff", str(CUTOFF), "-o", str(tmp / f"bwe{k}.wav"), *common])
        t_bwe += time.time() - t0
        y, _ = sf.read(tmp / f"bwe{k}.wav", dtype="float32")
        sbr = spectral_band_replication(low, SR, CUTOFF)
        row = {"kind": e["kind"], "caption": e["caption"], "seconds": len(x) / SR}
        for name, est in (("model", y), ("lowpass", low), ("sbr", sbr)):
            row[name] = {b: lsd(x, est, sr=SR, cutoff=CUTOFF, band=b) for b in ("all", "hf", "lf")}
        bwe_rows.append(row)
        # A 0.5 s gap of digital silence.
        s = gap_position(x, rng)
        n = int(GAP * SR)
        holed = x.copy()
        holed[s:s + n] = 0
        src = tmp / f"gap{k}.wav"
        sf.write(src, holed, SR, subtype="FLOAT")
        t0 = time.time()
        run(["fill-gap", str(src), "--at", f"{s / SR:.6f}", "--length", f"{GAP}", "-o", str(tmp / f"fill{k}.wav"), *common])
        t_gap += time.time() - t0
        f, _ = sf.read(tmp / f"fill{k}.wav", dtype="float32")
        lp = lpc_fill(holed, s, s + n)
        ref = x[s:s + n]
        grow = {"kind": e["kind"], "caption": e["caption"], "start": s / SR}
        for name, est in (("model", f), ("silence", holed), ("lpc", lp)):
            seg = est[s:s + n]
            grow[name] = {"snr": gap_snr(ref, seg), "lsd": lsd(ref, seg, sr=SR)}
        gap_rows.append(grow)
        print(f"{k + 1}/{len(chosen)} {e['kind']:7s} BWE LSD-HF model {row['model']['hf']:.2f} sbr {row['sbr']['hf']:.2f} "
              f"lowpass {row['lowpass']['hf']:.2f} | gap LSD model {grow['model']['lsd']:.2f} lpc {grow['lpc']['lsd']:.2f} "
              f"silence {grow['silence']['lsd']:.2f}", flush=True)

    def mean(rows, path):
        vals = [r for r in rows]
        for p in path:
            vals = [v[p] for v in vals]
        return float(np.mean(vals))

    meta = subprocess.run([sys.executable, "-c", "import sys,json;sys.path.insert(0,'training');"
                           "from restore_train.safetensors_io import load_safetensors as l;"
                           "print(l('Models/default/transformer.safetensors')[1].get('steps'))"],
                          cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    result = {
        "clips": len(chosen), "iterations": args.iterations, "threads": args.threads, "transformer_steps": meta,
        "bwe": {m: {b: mean(bwe_rows, (m, b)) for b in ("all", "hf", "lf")} for m in ("model", "lowpass", "sbr")},
        "gap": {m: {q: mean(gap_rows, (m, q)) for q in ("snr", "lsd")} for m in ("model", "silence", "lpc")},
        "bwe_by_kind": {kd: {m: mean([r for r in bwe_rows if r["kind"] == kd], (m, "hf")) for m in ("model", "lowpass", "sbr")}
                        for kd in sorted({r["kind"] for r in bwe_rows})},
        "gap_by_kind": {kd: {m: mean([r for r in gap_rows if r["kind"] == kd], (m, "lsd")) for m in ("model", "silence", "lpc")}
                        for kd in sorted({r["kind"] for r in gap_rows})},
        "seconds": {"bwe_total": t_bwe, "fill_gap_total": t_gap, "audio": audio_seconds},
        "bwe_rows": bwe_rows, "gap_rows": gap_rows,
    }
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/restoration.json").write_text(json.dumps(result, indent=1))
    print(f"\n{len(chosen)} validation clips, transformer steps {meta}, {args.iterations} iterations")
    print("\n| BWE from 4 kHz low-pass | LSD | LSD-HF | LSD-LF |\n|---|---|---|---|")
    for m, label in (("model", "restore bwe --lfr"), ("sbr", "spectral band replication"), ("lowpass", "low-pass input")):
        v = result["bwe"][m]
        print(f"| {label} | {v['all']:.3f} | {v['hf']:.3f} | {v['lf']:.3f} |")
    print("\n| 0.5 s gap | gap LSD | gap SNR (dB) |\n|---|---|---|")
    for m, label in (("model", "restore fill-gap"), ("lpc", "Burg LPC fill"), ("silence", "silence")):
        v = result["gap"][m]
        print(f"| {label} | {v['lsd']:.3f} | {v['snr']:.2f} |")
    print(f"\nBWE {t_bwe:.0f} s, fill-gap {t_gap:.0f} s for {audio_seconds:.0f} s of audio")


if __name__ == "__main__":
    main()
