#!/usr/bin/env python3
"""Evaluates the shipped tokenizer on the validation split (never training data):
normalised-mel L1, codebook usage (perplexity, % of codes used), and the LSD of
vocoder(decoded mel) against the original audio next to vocoder(true mel), the oracle.
The round trips run through the Swift binary (`restore tokenize`, `restore vocode`).

    .venv/bin/python bench/tokenizer.py [--clips 24]
Writes bench/results/tokenizer.json and prints a table.
"""
import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from validation import RESTORE, ROOT, Loader, manifest, pick  # noqa: E402
from restore_train.metrics import lsd  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=24)
    args = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "restore"], cwd=ROOT, check=True, capture_output=True)
    loader = Loader()
    chosen = pick(manifest(), args.clips)
    tmp = pathlib.Path(tempfile.mkdtemp())
    rows = []
    counts = collections.Counter()
    for k, e in enumerate(chosen):
        x = loader.audio(e)
        src = tmp / f"clip{k}.wav"
        sf.write(src, x, 22050, subtype="FLOAT")
        tok = json.loads(subprocess.run([RESTORE, "tokenize", str(src), "-o", str(tmp / f"tok{k}.wav"), "--encoding", "float",
                                         "--tokens", str(tmp / f"tok{k}.npy"), "--json"], check=True, capture_output=True, text=True).stdout)
        subprocess.run([RESTORE, "vocode", str(src), "-o", str(tmp / f"voc{k}.wav"), "--encoding", "float"], check=True, capture_output=True)
        y_tok, _ = sf.read(tmp / f"tok{k}.wav", dtype="float32")
        y_voc, _ = sf.read(tmp / f"voc{k}.wav", dtype="float32")
        counts.update(np.load(tmp / f"tok{k}.npy").astype(int).flatten().tolist())
        rows.append({"kind": e["kind"], "caption": e["caption"], "mel_l1": tok["melL1"],
                     "lsd_tokens": lsd(x, y_tok), "lsd_oracle": lsd(x, y_voc)})
        print(f"{k + 1}/{len(chosen)} {e['kind']:7s} L1 {tok['melL1']:.3f}  LSD tokens {rows[-1]['lsd_tokens']:.3f}  oracle {rows[-1]['lsd_oracle']:.3f}", flush=True)
    meta = json.loads(subprocess.run([sys.executable, "-c", "import sys,json;sys.path.insert(0,'training');"
                                      "from restore_train.safetensors_io import load_safetensors as l;"
                                      "print(json.dumps(l('Models/default/tokenizer.safetensors')[1]))"],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    k_codes = json.loads(meta["config"])["codebook_size"]
    total = sum(counts.values())
    p = np.array([c / total for c in counts.values()])
    result = {
        "clips": len(rows), "codebook_size": k_codes,
        "mel_l1": float(np.mean([r["mel_l1"] for r in rows])),
        "codes_used_percent": 100 * len(counts) / k_codes,
        "perplexity": float(np.exp(-(p * np.log(p)).sum())),
        "lsd_tokens": float(np.mean([r["lsd_tokens"] for r in rows])),
        "lsd_oracle_vocoder": float(np.mean([r["lsd_oracle"] for r in rows])),
        "by_kind": {kd: {m: float(np.mean([r[m] for r in rows if r["kind"] == kd])) for m in ("mel_l1", "lsd_tokens", "lsd_oracle")}
                    for kd in sorted({r["kind"] for r in rows})},
        "tokenizer_steps": meta.get("steps"), "rows": rows,
    }
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/tokenizer.json").write_text(json.dumps(result, indent=1))
    print(f"\nvalidation clips: {result['clips']}, tokenizer steps {result['tokenizer_steps']}")
    print("| metric | value |\n|---|---|")
    print(f"| normalised-mel L1 | {result['mel_l1']:.4f} |")
    print(f"| codes used (of {k_codes}, on these clips) | {result['codes_used_percent']:.1f}% |")
    print(f"| perplexity | {result['perplexity']:.1f} |")
    print(f"| LSD vocoder(decoded tokens) | {result['lsd_tokens']:.3f} |")
    print(f"| LSD vocoder(true mel), oracle | {result['lsd_oracle_vocoder']:.3f} |")
    for kd, m in result["by_kind"].items():
        print(f"| {kd}: L1 / LSD tokens / LSD oracle | {m['mel_l1']:.3f} / {m['lsd_tokens']:.3f} / {m['lsd_oracle']:.3f} |")


if __name__ == "__main__":
    main()
