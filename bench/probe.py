#!/usr/bin/env python3
"""Linear-probe benchmark on the validation split only (DESIGN §4, issue: probe):

  (a) instrument families of MIDI renders (multi-label, GM families),
  (b) the effect category of 0ad sounds (multi-class, top-level category),
  (c) speech vs music vs effects (multi-class; MIDI renders count as music).

Features: `restore embed` clip vectors of every transformer block (and the default, the
mean of the last two), and the MFCC baseline (`restore embed --features mfcc`). Each task
splits its clips 70/30 by source file (train/test), --splits times with different seeds
(the test sets are small: the mean over splits is reported, with the spread); the probe
carves its early-stopping validation set from the train part. Everything runs through the
Swift binary.

    .venv/bin/python bench/probe.py [--splits 5]
Writes bench/results/probe.json and prints a table of test ROC-AUC / mAP.
"""
import argparse
import hashlib
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from validation import RESTORE, ROOT, Loader, manifest  # noqa: E402


def split_of(e, seed):
    h = int(hashlib.sha1(f"{seed}:{e['source']}:{e['file']}".encode()).hexdigest(), 16)
    return "test" if h % 10 < 3 else "train"


def tasks(val):
    out = {}
    out["midi_families"] = ("multi-label", [(e, e["families"]) for e in val if e["kind"] == "midi" and e.get("families")])
    out["effect_category"] = ("multi-class", [(e, [e["category"].split("/")[0]]) for e in val
                                              if e["kind"] == "effect" and e["source"] == "0ad-data" and e.get("category")])
    out["speech_music_effect"] = ("multi-class", [(e, ["music" if e["kind"] in ("music", "midi") else e["kind"]]) for e in val])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "restore"], cwd=ROOT, check=True, capture_output=True)
    val = [e for e in manifest() if e["split"] == "validation"]
    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "audio").mkdir()
    loader = Loader()
    names = {}
    for e in val:
        name = e["id"]
        names[e["id"]] = name
        path = tmp / "audio" / f"{name}.wav"
        if not path.exists():
            sf.write(path, loader.audio(e), 22050, subtype="FLOAT")
    wavs = sorted(str(p) for p in (tmp / "audio").glob("*.wav"))
    common = ["--quiet", "--threads", str(args.threads), "--format", "safetensors"]
    subprocess.run([RESTORE, "embed", *wavs, "-o", str(tmp / "engine") + "/", *common], check=True, capture_output=True)
    subprocess.run([RESTORE, "embed", "--features", "mfcc", *wavs, "-o", str(tmp / "mfcc") + "/", *common], check=True, capture_output=True)
    depth = int(json.loads(subprocess.run([sys.executable, "-c", "import sys,json;sys.path.insert(0,'training');"
                                           "from restore_train.safetensors_io import load_safetensors as l;"
                                           "print(l('Models/default/transformer.safetensors')[1]['config'])"],
                                          cwd=ROOT, check=True, capture_output=True, text=True).stdout)["depth"])
    features = [("mfcc", "mfcc", "clip")] + [(f"block{i}", "engine", f"clip.block{i}") for i in range(depth)] + [("last2 (default)", "engine", "clip")]
    steps = subprocess.run([sys.executable, "-c", "import sys;sys.path.insert(0,'training');"
                            "from restore_train.safetensors_io import load_safetensors as l;"
                            "print(l('Models/default/transformer.safetensors')[1].get('steps'))"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    results = {"transformer_steps": steps}
    for task, (kind, rows) in tasks(val).items():
        col = "labels" if kind == "multi-label" else "label"
        results[task] = {"kind": kind, "clips": len(rows), "splits": args.splits, "features": {}}
        per = {label: [] for label, _, _ in features}
        for seed in range(args.splits):
            labels = tmp / f"{task}-{seed}.csv"
            with open(labels, "w") as f:
                f.write(f"file,{col},split\n")
                for e, ls in rows:
                    f.write(f"{names[e['id']]},{';'.join(ls)},{split_of(e, seed)}\n")
            if seed == 0:
                results[task]["train"] = sum(split_of(e, seed) == "train" for e, _ in rows)
                results[task]["test"] = sum(split_of(e, seed) == "test" for e, _ in rows)
            for label, folder, tensor in features:
                probe = tmp / f"{task}-{label.split()[0]}-{seed}.safetensors"
                subprocess.run([RESTORE, "probe", "train", "--embeddings", str(tmp / folder), "--tensor", tensor, "--labels", str(labels),
                                "-o", str(probe), "--seed", str(seed), "--overwrite"], check=True, capture_output=True)
                ev = json.loads(subprocess.run([RESTORE, "probe", "eval", str(probe), "--embeddings", str(tmp / folder), "--tensor", tensor,
                                                "--labels", str(labels), "--split", "test", "--json"], check=True, capture_output=True, text=True).stdout)
                per[label].append(ev)
                if label.startswith("last2") and seed == 0:
                    # The default-feature probes are kept for bench/prompts.py (a few KB each).
                    (ROOT / "bench/results/probes").mkdir(parents=True, exist_ok=True)
                    (ROOT / f"bench/results/probes/{task}.safetensors").write_bytes(probe.read_bytes())
        for label, evs in per.items():
            auc = [e["rocAUC"] for e in evs if e["rocAUC"] == e["rocAUC"]]
            ap_ = [e["meanAveragePrecision"] for e in evs if e["meanAveragePrecision"] == e["meanAveragePrecision"]]
            results[task]["features"][label] = {"rocAUC": float(np.mean(auc)), "rocAUC_std": float(np.std(auc)),
                                                "meanAveragePrecision": float(np.mean(ap_)), "mAP_std": float(np.std(ap_)),
                                                "per_split": evs}
            print(f"{task:20s} {label:16s} ROC-AUC {np.mean(auc):.3f} ± {np.std(auc):.3f}  mAP {np.mean(ap_):.3f} ± {np.std(ap_):.3f}", flush=True)
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/probe.json").write_text(json.dumps(results, indent=1))
    labels = [f[0] for f in features]
    names = [t for t in results if t != "transformer_steps"]
    print(f"\ntransformer steps {steps}")
    print("\n| features | " + " | ".join(f"{t} ROC-AUC / mAP" for t in names) + " |")
    print("|---|" + "---|" * len(names))
    for lab in labels:
        print(f"| {lab} | " + " | ".join(f"{results[t]['features'][lab]['rocAUC']:.3f} / {results[t]['features'][lab]['meanAveragePrecision']:.3f}" for t in names) + " |")
    print("\n" + ", ".join(f"{t}: {results[t]['clips']} clips (split 0: {results[t]['train']} train / {results[t]['test']} test)" for t in names)
          + f"; mean over {args.splits} splits by source file")


if __name__ == "__main__":
    main()
