#!/usr/bin/env python3
"""PyTorch side of bench/vocoder: the same converted weights, the same 10 s mel,
median of N after a warm-up, at a given thread count. Prints one JSON object."""
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
from export_hifigan import load_generator  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repetitions", type=int, default=5)
ap.add_argument("--seconds", type=float, default=10.0)
ap.add_argument("--weights", default=str(ROOT / "Models/pretrained/hifigan-universal.safetensors"))
args = ap.parse_args()
torch.set_num_threads(args.threads)
gen, _ = load_generator()
tensors, _ = load_safetensors(args.weights)
gen.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
frames = int(args.seconds * 22050) // 256
rng = np.random.default_rng(1)
mel = torch.from_numpy((rng.standard_normal((1, 80, frames)) - 5).astype(np.float32))
times = []
with torch.inference_mode():
    gen(mel)
    for _ in range(args.repetitions):
        t0 = time.perf_counter()
        gen(mel)
        times.append(time.perf_counter() - t0)
med = statistics.median(times)
print(json.dumps({"name": "pytorch_hifigan", "threads": args.threads, "repetitions": args.repetitions,
                  "medianSeconds": med, "minSeconds": min(times), "maxSeconds": max(times),
                  "audioSeconds": frames * 256 / 22050, "realTimeFactor": med / (frames * 256 / 22050),
                  "torch": torch.__version__}))
