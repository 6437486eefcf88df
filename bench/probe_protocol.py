#!/usr/bin/env python3
"""How much of the probe gate is the probe? The validation probe (bench/validate.py) fits one
multinomial logistic regression per feature set with a fixed L2 (1e-2) and 500 gradient steps at
a fixed step size, whatever the features' dimension: 80 values for MFCC, 2 560 for the engine's
rows side by side. This study embeds the gate's own clips once per feature set and scores each
set with that probe and with a tuned one — L2 chosen from a grid by inner cross-validation
(split by source file, inside each outer training part), the solver run to convergence with a
step size from the data's largest singular value — so that every feature set gets the probe
that suits it, as linear-probe benchmarks do (HEAR, SpecMaskGIT's own probes tune on validation).

    .venv/bin/python bench/probe_protocol.py [--model Models/default] [--features engine,mfcc]
Writes bench/results/probe_protocol-NAME.json and prints a table.
"""
import argparse
import json
import pathlib
import sys
import tempfile

import numpy as np
import soundfile as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import validate as V  # noqa: E402
from validation import ROOT, clips  # noqa: E402

L2_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def fit_converged(X, y, classes, l2, steps=1500):
    """The gate's model (standardised features, balanced class weights, multinomial, L2) solved
    to convergence: in the span of the training rows (ridge is rotation-invariant, so fitting
    on the n principal coordinates is exact when n < dimension), with Nesterov steps of 1/L."""
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z = (X - mu) / sd
    U, S, Vt = np.linalg.svd(Z, full_matrices=False)
    keep = S > 1e-6 * S[0]
    P_ = Vt[keep].T                              # d × r
    A = Z @ P_                                   # n × r
    Y = np.eye(classes)[y]
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    sw = (len(y) / (classes * np.maximum(counts, 1)))[y][:, None]
    L = 0.5 * sw.max() * S[0] ** 2 / len(y) + l2
    W, b = np.zeros((A.shape[1], classes)), np.zeros(classes)
    Wm, bm, t = W.copy(), b.copy(), 1.0
    for _ in range(steps):
        G = sw * (V.softmax_rows(A @ Wm + bm) - Y) / len(y)
        W_new, b_new = Wm - (A.T @ G + l2 * Wm) / L, bm - G.sum(0) / L
        t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
        Wm, bm = W_new + (t - 1) / t_new * (W_new - W), b_new + (t - 1) / t_new * (b_new - b)
        W, b, t = W_new, b_new, t_new
    Wf = P_ @ W
    return lambda Xn: V.softmax_rows(((Xn - mu) / sd) @ Wf + b)


def macro_auc(P, y, classes):
    per = [V.roc_auc(P[:, c], (y == c).astype(int)) for c in range(classes)]
    per = [a for a in per if a == a]
    return float(np.mean(per)) if per else float("nan")


def tuned(X, y, classes, groups):
    """L2 by 3-fold inner cross-validation over source files, then the converged fit."""
    fold = np.array([V.stable("inner", g) % 3 for g in groups])
    best, best_l2 = -1.0, L2_GRID[0]
    for l2 in L2_GRID:
        s = []
        for f in range(3):
            te = fold == f
            if te.all() or not te.any() or len(set(y[~te])) < classes:
                continue
            s.append(macro_auc(fit_converged(X[~te], y[~te], classes, l2, steps=400)(X[te]), y[te], classes))
        if s and np.mean(s) > best:
            best, best_l2 = float(np.mean(s)), l2
    return fit_converged(X, y, classes, best_l2), best_l2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=pathlib.Path, default=ROOT / "Models" / "default")
    ap.add_argument("--name")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--probe-clips", type=int, default=240)
    ap.add_argument("--features", default="engine,mfcc",
                    help="comma list of `restore embed --features` values (engine, latents, engine+latents, mfcc)")
    args = ap.parse_args()
    model = args.model.resolve()
    name = args.name or model.name
    probe_clips = clips(args.probe_clips, seed=3, min_seconds=2.0)
    music = clips(args.probe_clips, seed=4, min_seconds=2.0, kinds={"music"})
    kind_count, everything = len(probe_clips), list(probe_clips) + list(music)
    tmp = pathlib.Path(tempfile.mkdtemp())
    paths = []
    for k, c in enumerate(everything):
        p = tmp / f"c{k:04d}.wav"
        sf.write(p, c["audio"], V.SR, subtype="FLOAT")
        paths.append(p)
    feats = {}
    for spec in args.features.split(","):
        extra = [] if spec == "engine" else ["--features", spec]
        out = tmp / f"f{len(feats)}"
        out.mkdir()
        V.restore("embed", *paths, "-o", f"{out}/", *extra, model=model, threads=args.threads)
        feats[spec] = np.stack([np.load(out / f"{p.stem}.npy").reshape(-1) for p in paths])
        print(f"embedded {spec}: {feats[spec].shape[1]} values per clip", flush=True)
    music_idx = range(kind_count, len(everything))
    counts = {}
    for i in music_idx:
        counts[everything[i]["source"]] = counts.get(everything[i]["source"], 0) + 1
    keep = {s for s, n in counts.items() if n >= 10}
    tasks = {"kind": [(i, everything[i]["kind"]) for i in range(kind_count)],
             "music_source": [(i, everything[i]["source"]) for i in music_idx if everything[i]["source"] in keep]}
    result = {"model": str(model), "features": {s: int(f.shape[1]) for s, f in feats.items()}, "tasks": {}}
    for task, items in tasks.items():
        labels = sorted({l for _, l in items})
        idx = np.array([i for i, _ in items])
        y = np.array([labels.index(l) for _, l in items])
        groups = [everything[i]["source"] + "/" + everything[i]["file"] for i in idx]
        res = result["tasks"].setdefault(task, {"clips": len(idx), "classes": labels})
        for spec, F in feats.items():
            gate, tuned_auc, l2s = [], [], []
            for seed in range(5):
                test = np.array([V.stable(seed, everything[i]["source"], everything[i]["file"]) % 10 < 3 for i in idx])
                if test.all() or not test.any():
                    continue
                tr = ~test
                gate.append(macro_auc(V.fit_logistic(F[idx[tr]], y[tr], len(labels))(F[idx[test]]), y[test], len(labels)))
                pred, l2 = tuned(F[idx[tr]], y[tr], len(labels), [g for g, t in zip(groups, tr) if t])
                tuned_auc.append(macro_auc(pred(F[idx[test]]), y[test], len(labels)))
                l2s.append(l2)
            res[spec] = {"gate_probe": float(np.mean(gate)), "gate_std": float(np.std(gate)),
                         "tuned_probe": float(np.mean(tuned_auc)), "tuned_std": float(np.std(tuned_auc)), "l2": l2s}
            print(f"{task:13s} {spec:30s} gate probe {np.mean(gate):.3f} ± {np.std(gate):.3f}   "
                  f"tuned {np.mean(tuned_auc):.3f} ± {np.std(tuned_auc):.3f}  (L2 {l2s})", flush=True)
    out_path = ROOT / "bench" / "results" / f"probe_protocol-{name}.json"
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
