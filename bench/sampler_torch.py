#!/usr/bin/env python3
"""PyTorch side of bench/sampler: N iterations of the reference sampler (with CFG) on a
265-token grid, for the shipped model and a random paper-size model. One JSON list."""
import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig, sample  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repetitions", type=int, default=3)
ap.add_argument("--iterations", type=int, default=16)
ap.add_argument("--default-only", action="store_true", help="skip the paper-size model")
args = ap.parse_args()
torch.set_num_threads(args.threads)
models = []
path = ROOT / "Models/default/transformer.safetensors"
if path.exists():
    tensors, meta = load_safetensors(path)
    m = MaskedTransformer(TransformerConfig(**json.loads(meta["config"])))
    m.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    models.append(("default", m))
if not args.default_only:
    models.append(("paper_24x768", MaskedTransformer(TransformerConfig(width=768, depth=24, heads=8, ffn=3072))))
rows = []
for name, m in models:
    m.eval()
    tokens = torch.zeros(265, dtype=torch.long)
    known = torch.zeros(265, dtype=torch.bool)
    cond = torch.full((384,), 0.05)
    g = torch.Generator().manual_seed(1)
    run = lambda: sample(m, tokens, known, cond=cond, iterations=args.iterations, generator=g)  # noqa: E731
    with torch.inference_mode():
        run()
        times = []
        for _ in range(args.repetitions):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    rows.append({"name": f"pytorch_{name}_{args.iterations}it", "threads": args.threads, "repetitions": args.repetitions,
                 "medianSeconds": statistics.median(times), "minSeconds": min(times), "maxSeconds": max(times)})
print(json.dumps(rows))
