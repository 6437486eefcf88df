#!/usr/bin/env python3
"""Linear-probe benchmark on the validation split only (DESIGN §4, issue: probe):

  (a) instrument families of MIDI renders (multi-label, GM families),
  (b) the effect category of 0ad sounds (multi-class, top-level category),
  (c) speech vs music vs effects (multi-class; MIDI renders count as music).

Features: `restore embed` clip vectors of every transformer block (and the default, the
mean of the last two), and the MFCC baseline (`restore embed --features mfcc`). Each task
splits its clips 70/30 by source file (train/test); the probe carves its early-stopping
validation set from the train part. Everything runs through the Swift binary.

    .venv/bin/python bench/probe.py [--seed 0]
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
    ap.add_argument("--seed", type=int, default=0)
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
        labels = tmp / f"{task}.csv"
        col = "labels" if kind == "multi-label" else "label"
        with open(labels, "w") as f:
            f.write(f"file,{col},split\n")
            for e, ls in rows:
                f.write(f"{names[e['id']]},{';'.join(ls)},{split_of(e, args.seed)}\n")
        counts = {"train": sum(split_of(e, args.seed) == "train" for e, _ in rows), "test": sum(split_of(e, args.seed) == "test" for e, _ in rows)}
        results[task] = {"kind": kind, "clips": len(rows), **counts, "features": {}}
        for label, folder, tensor in features:
            probe = tmp / f"{task}-{label.split()[0]}.safetensors"
            subprocess.run([RESTORE, "probe", "train", "--embeddings", str(tmp / folder), "--tensor", tensor, "--labels", str(labels),
                            "-o", str(probe), "--seed", str(args.seed), "--overwrite"], check=True, capture_output=True)
            ev = json.loads(subprocess.run([RESTORE, "probe", "eval", str(probe), "--embeddings", str(tmp / folder), "--tensor", tensor,
                                            "--labels", str(labels), "--split", "test", "--json"], check=True, capture_output=True, text=True).stdout)
            results[task]["features"][label] = ev
            if label.startswith("last2"):
                # The default-feature probes are kept for bench/prompts.py (a few KB each).
                (ROOT / "bench/results/probes").mkdir(parents=True, exist_ok=True)
                (ROOT / f"bench/results/probes/{task}.safetensors").write_bytes(probe.read_bytes())
            print(f"{task:20s} {label:16s} ROC-AUC {ev['rocAUC']:.3f}  mAP {ev['meanAveragePrecision']:.3f}"
                  + (f"  acc {ev['accuracy']:.3f}" if ev.get("accuracy") is not None else ""), flush=True)
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/probe.json").write_text(json.dumps(results, indent=1))
    labels = [f[0] for f in features]
    names = [t for t in results if t != "transformer_steps"]
    print(f"\ntransformer steps {steps}")
    print("\n| features | " + " | ".join(f"{t} ROC-AUC / mAP" for t in names) + " |")
    print("|---|" + "---|" * len(names))
    for lab in labels:
        print(f"| {lab} | " + " | ".join(f"{results[t]['features'][lab]['rocAUC']:.3f} / {results[t]['features'][lab]['meanAveragePrecision']:.3f}" for t in names) + " |")
    print("\n" + ", ".join(f"{t}: {results[t]['clips']} clips ({results[t]['train']} train / {results[t]['test']} test)" for t in names))


if __name__ == "__main__":
    main()
