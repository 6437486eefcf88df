#!/usr/bin/env python3
"""Seconds per training step of the campaign's transformer (6×256, batch 32, bf16 autocast where the
CPU multiplies bf16 natively), with the block's written-out attention (`Block.attention`, what training
uses) or through nn.MultiheadAttention's fused kernel, alternating so that a noisy host hits both alike:

    .venv/bin/python bench/train_step.py --rounds 3 --steps 7 --threads 2

Warm-up steps are not timed; each round prints the median. Pause a running training job first
(kill -STOP PID, then kill -CONT PID): two jobs on two cores measure nothing. Synthetic tokens and
patches: the step's cost does not depend on the data.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train import transformer as T  # noqa: E402
from restore_train.cpu import native_bf16  # noqa: E402


def module_attention(self, h):
    return self.attn(h, h, h, need_weights=False)[0]


def step_seconds(kind: str, steps: int, warmup: int, bf16: bool) -> list[float]:
    original = T.Block.attention
    if kind == "module":
        T.Block.attention = module_attention
    try:
        torch.manual_seed(0)
        cfg = T.TransformerConfig(codebook_size=1024, width=256, depth=6, heads=4, ffn=1024, patch_conditioning=True)
        model = T.MaskedTransformer(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95))
        x = torch.randint(0, cfg.codebook_size, (32, cfg.positions))
        masked = T.random_mask(32, cfg.rows, cfg.columns)
        cond, patches = torch.randn(32, cfg.cond_dim), torch.randn(32, cfg.positions, cfg.patch_size)
        times = []
        for i in range(warmup + steps):
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(x, masked, cond, patches=patches)
            loss = T.masked_loss(logits.float(), x, masked)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i >= warmup:
                times.append(time.perf_counter() - t)
        return times
    finally:
        T.Block.attention = original


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bf16 = native_bf16()
    rows = {"written-out": [], "module": []}
    for _ in range(args.rounds):
        for kind, key in (("module", "module"), ("written", "written-out")):
            rows[key].append(statistics.median(step_seconds(kind, args.steps, args.warmup, bf16)))
    if args.json:
        print(json.dumps({"bf16": bf16, "threads": args.threads, "median_seconds_per_round": rows}))
        return
    print(f"seconds per step (median of {args.steps} after {args.warmup} warm-up; bf16 {bf16}; {args.threads} threads)")
    for key, v in rows.items():
        print(f"{key:12s} " + " ".join(f"{s:.2f}" for s in v))


if __name__ == "__main__":
    main()
