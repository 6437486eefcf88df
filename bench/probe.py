#!/usr/bin/env python3
"""Linear-probe benchmark on the validation split only (engine.md §4, issue: probe):

  (a) instrument families of MIDI renders (multi-label, GM families),
  (b) the effect category of 0ad sounds (multi-class, top-level category),
  (c) speech vs music vs effects (multi-class; MIDI renders count as music).

Features: `restore embed` clip vectors of every transformer block and the default (the
mean of the last two), all with the default pooling (rows side by side, mean and standard
deviation over time); the old pooling (rows averaged, mean over time) as an ablation; and
the MFCC baseline (`restore embed --features mfcc`, mean and std over time).

Task (a) uses fresh instrument draws of the validation scores (bench/midi_renders.py): the
corpus's own MIDI clips carry one draw per score, 11 label sets in all; they are kept as the
supplementary task midi_families_corpus.

Each task splits its clips 70/30 by source file (train/test) --splits times with different
seeds (the probe seed follows the split); the probe carves its early-stopping validation set
from the train part. A single split is too noisy to rank features: the MIDI task has 11 source
files, so its test part is 3 files. Reported: mean ± std over splits of test ROC-AUC and mAP.
Everything runs through the Swift binary.

    .venv/bin/python bench/probe.py [--splits 10]
Writes bench/results/probe.json and prints the table.
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
import midi_renders  # noqa: E402
from validation import RESTORE, ROOT, Loader, manifest  # noqa: E402


def split_of(e, seed):
    h = int(hashlib.sha1(f"{seed}:{e['source']}:{e['file']}".encode()).hexdigest(), 16)
    return "test" if h % 10 < 3 else "train"


def tasks(val, renders):
    out = {}
    out["midi_families"] = ("multi-label", [(e, fams) for e, _, fams in renders])
    out["effect_category"] = ("multi-class", [(e, [e["category"].split("/")[0]]) for e in val
                                              if e["kind"] == "effect" and e["source"] == "0ad-data" and e.get("category")])
    out["speech_music_effect"] = ("multi-class", [(e, ["music" if e["kind"] in ("music", "midi") else e["kind"]]) for e in val])
    # Supplementary: the corpus's own MIDI clips, one instrument draw per score (11 label sets).
    out["midi_families_corpus"] = ("multi-label", [(e, e["families"]) for e in val if e["kind"] == "midi" and e.get("families")])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--midi-draws", type=int, default=16, help="instrument draws per validation score for task (a)")
    ap.add_argument("--work", help="keep audio and embeddings in this folder (reused when present)")
    args = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "restore"], cwd=ROOT, check=True, capture_output=True)
    val = [e for e in manifest() if e["split"] == "validation"]
    renders = midi_renders.clips(manifest(), draws=args.midi_draws, excerpts=1)
    tmp = pathlib.Path(args.work) if args.work else pathlib.Path(tempfile.mkdtemp())
    (tmp / "audio").mkdir(parents=True, exist_ok=True)
    loader = Loader()
    names = {e["id"]: e["id"] for e in val} | {e["id"]: e["id"] for e, _, _ in renders}
    for e in val:
        path = tmp / "audio" / f"{e['id']}.wav"
        if not path.exists():
            sf.write(path, loader.audio(e), 22050, subtype="FLOAT")
    for e, x, _ in renders:
        path = tmp / "audio" / f"{e['id']}.wav"
        if not path.exists():
            sf.write(path, x, 22050, subtype="FLOAT")
    wavs = sorted(str(p) for p in (tmp / "audio").glob("*.wav"))
    common = ["--quiet", "--threads", str(args.threads), "--format", "safetensors"]
    for folder, extra in (("engine", []), ("engine-avg", ["--rows", "average", "--pool", "mean"]), ("mfcc", ["--features", "mfcc"])):
        todo = [w for w in wavs if not (tmp / folder / (pathlib.Path(w).stem + ".safetensors")).exists()]
        if todo:
            subprocess.run([RESTORE, "embed", *extra, *todo, "-o", str(tmp / folder) + "/", *common], check=True, capture_output=True)
    depth = int(json.loads(subprocess.run([sys.executable, "-c", "import sys,json;sys.path.insert(0,'training');"
                                           "from restore_train.safetensors_io import load_safetensors as l;"
                                           "print(l('Models/default/transformer.safetensors')[1]['config'])"],
                                          cwd=ROOT, check=True, capture_output=True, text=True).stdout)["depth"])
    features = [("mfcc", "mfcc", "clip")] + [(f"block{i}", "engine", f"clip.block{i}") for i in range(depth)] + [("last2 (default)", "engine", "clip"),
                                                                                               ("last2, rows averaged, mean", "engine-avg", "clip")]
    steps = subprocess.run([sys.executable, "-c", "import sys;sys.path.insert(0,'training');"
                            "from restore_train.safetensors_io import load_safetensors as l;"
                            "print(l('Models/default/transformer.safetensors')[1].get('steps'))"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    results = {"transformer_steps": steps}
    for task, (kind, rows) in tasks(val, renders).items():
        col = "labels" if kind == "multi-label" else "label"
        results[task] = {"kind": kind, "clips": len(rows), "files": len({(e["source"], e["file"]) for e, _ in rows}),
                         "splits": args.splits, "features": {}}
        for label, folder, tensor in features:
            runs = []
            for seed in range(args.splits):
                labels = tmp / f"{task}-{seed}.csv"
                if not labels.exists():
                    with open(labels, "w") as f:
                        f.write(f"file,{col},split\n")
                        for e, ls in rows:
                            f.write(f"{names[e['id']]},{';'.join(ls)},{split_of(e, seed)}\n")
                probe = tmp / f"{task}-{label.split()[0]}-{seed}.safetensors"
                subprocess.run([RESTORE, "probe", "train", "--embeddings", str(tmp / folder), "--tensor", tensor, "--labels", str(labels),
                                "-o", str(probe), "--seed", str(seed), "--overwrite"], check=True, capture_output=True)
                line = json.loads(subprocess.run([RESTORE, "probe", "eval", str(probe), "--embeddings", str(tmp / folder), "--tensor", tensor,
                                                  "--labels", str(labels), "--split", "test", "--json"], check=True, capture_output=True, text=True).stdout)
                # The JSON line's report is snake_case; the results file keeps its own names.
                ev = dict(line["report"])
                ev["rocAUC"], ev["meanAveragePrecision"] = ev.pop("roc_auc"), ev.pop("mean_average_precision")
                runs.append(ev)
                if label.startswith("last2 (default)") and seed == 0 and task in ("speech_music_effect", "effect_category"):
                    # The default-feature probes bench/prompts.py reads (50–75 KB each).
                    (ROOT / "bench/results/probes").mkdir(parents=True, exist_ok=True)
                    (ROOT / f"bench/results/probes/{task}.safetensors").write_bytes(probe.read_bytes())
            summary = {}
            for metric in ("rocAUC", "meanAveragePrecision"):
                v = np.array([r[metric] for r in runs], dtype=float)
                summary[metric] = {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v)), "per_split": v.tolist()}
            summary["test_examples"] = [r["examples"] for r in runs]
            results[task]["features"][label] = summary
            print(f"{task:20s} {label:28s} ROC-AUC {summary['rocAUC']['mean']:.3f} ± {summary['rocAUC']['std']:.3f}  "
                  f"mAP {summary['meanAveragePrecision']['mean']:.3f} ± {summary['meanAveragePrecision']['std']:.3f}", flush=True)
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/probe.json").write_text(json.dumps(results, indent=1))
    labels = [f[0] for f in features]
    names = [t for t in results if t != "transformer_steps"]
    print(f"\ntransformer steps {steps}; mean ± std over {args.splits} splits by source file")
    print("\n| features | " + " | ".join(f"{t} ROC-AUC / mAP" for t in names) + " |")
    print("|---|" + "---|" * len(names))

    def cell(t, lab):
        f = results[t]["features"][lab]
        return f"{f['rocAUC']['mean']:.3f} ± {f['rocAUC']['std']:.3f} / {f['meanAveragePrecision']['mean']:.3f}"
    for lab in labels:
        print(f"| {lab} | " + " | ".join(cell(t, lab) for t in names) + " |")
    print("\n" + ", ".join(f"{t}: {results[t]['clips']} clips from {results[t]['files']} files" for t in names))
    for t in names:
        feats = results[t]["features"]
        best = max((lab for lab in labels if lab != "mfcc"), key=lambda lab: feats[lab]["rocAUC"]["mean"])
        # Paired by split: the same train/test files for both features.
        for lab in dict.fromkeys([best, "last2 (default)"]):
            d = np.array(feats[lab]["rocAUC"]["per_split"]) - np.array(feats["mfcc"]["rocAUC"]["per_split"])
            d = d[~np.isnan(d)]
            feats[lab]["vs_mfcc"] = {"mean_difference": float(d.mean()), "splits_won": int((d > 0).sum()), "splits": int(d.size)}
            print(f"{t}: {'best ' if lab == best else ''}{lab} {feats[lab]['rocAUC']['mean']:.3f} vs MFCC {feats['mfcc']['rocAUC']['mean']:.3f}: "
                  f"{d.mean():+.3f} on average, better on {(d > 0).sum()} of {d.size} splits")
    (ROOT / "bench/results/probe.json").write_text(json.dumps(results, indent=1))

if __name__ == "__main__":
    main()
