#!/usr/bin/env python3
"""Trains the spectrogram tokenizer on the prepared corpus; resumable, logged, time-boxed.

    nohup .venv/bin/python training/train_tokenizer.py --minutes 60 &
    tail -f training/logs/tokenizer.log

Resumes from training/checkpoints/tokenizer.pt, else from the committed export
Models/default/tokenizer.safetensors (optimizer state rebuilt), else from scratch.
Exports Models/default/tokenizer.safetensors (f16, config and metrics in metadata)
at the end and whenever validation improves.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import pathlib
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.corpus import Corpus  # noqa: E402
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402

CKPT = ROOT / "training" / "checkpoints" / "tokenizer.pt"
EXPORT = ROOT / "Models" / "default" / "tokenizer.safetensors"
LOG = ROOT / "training" / "logs" / "tokenizer.log"
log = logging.getLogger("tokenizer")


@torch.no_grad()
def validate(model: Tokenizer, val: Corpus, limit: int = 160) -> dict:
    model.eval()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(val))[:limit]
    l1s, counts = [], np.zeros(model.cfg.codebook_size)
    for i in idx:
        x = torch.from_numpy(val.mel(int(i)))[None, None]
        codes = model.encode(x)
        y = model.decode(codes).clamp(-1, 1)
        f = max(16, val.audio_frames(int(i)))
        l1s.append(float((y - x)[..., :f].abs().mean()))
        np.add.at(counts, codes.flatten().numpy(), 1)
    p = counts / counts.sum()
    nz = p[p > 0]
    model.train()
    return {"val_l1": float(np.mean(l1s)), "codes_used": float((counts > 0).mean()),
            "perplexity": float(np.exp(-(nz * np.log(nz)).sum()))}


def export(model: Tokenizer, step: int, metrics: dict, path: pathlib.Path = EXPORT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).numpy() for k, v in model.export_tensors().items()}
    save_safetensors(path, tensors, {"format": "restore.tokenizer", "config": model.cfg.to_json(),
                                     "steps": str(step), "metrics": json.dumps(metrics, sort_keys=True)})


def load_export(model: Tokenizer, path: pathlib.Path) -> int:
    tensors, meta = load_safetensors(path)
    sd = model.state_dict()
    for k, v in tensors.items():
        sd[k].copy_(torch.from_numpy(v.astype(np.float32)))
    q = model.quantizer
    q.embed_sum.copy_(q.codebook)
    q.cluster_size.fill_(1.0)
    q.initialised.fill_(1)
    return int(meta.get("steps", 0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--validate-every", type=int, default=400)
    ap.add_argument("--width", type=int, default=TokenizerConfig.width)
    args = ap.parse_args()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    CKPT.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(LOG), logging.StreamHandler()])
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train, val = Corpus("train"), Corpus("validation")
    log.info("corpus: %d train clips, %d validation clips", len(train), len(val))

    model = Tokenizer(TokenizerConfig(width=args.width))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=1e-4)
    step, best = 0, math.inf
    if CKPT.exists():
        ck = torch.load(CKPT, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best = ck["step"], ck["best"]
        log.info("resumed from %s at step %d", CKPT, step)
    elif EXPORT.exists():
        step = load_export(model, EXPORT)
        log.info("resumed from the f16 export %s at step %d (optimizer rebuilt)", EXPORT, step)
    params = sum(p.numel() for p in model.parameters())
    log.info("model: %.2f M parameters, config %s", params / 1e6, model.cfg.to_json())

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    rng = np.random.default_rng(step)
    deadline = time.time() + args.minutes * 60
    t0, seen, run_loss = time.time(), 0, 0.0

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}, CKPT.with_suffix(".tmp"))
        CKPT.with_suffix(".tmp").replace(CKPT)

    def checkpoint(label):
        """Validates, exports when validation improved, and saves the resumable state."""
        nonlocal best
        m = validate(model, val)
        log.info("%s %d  validation %s", label, step, json.dumps(m))
        if m["val_l1"] < best:
            best = m["val_l1"]
            export(model, step, m)
            log.info("exported %s (best validation L1 %.4f)", EXPORT, best)
        save()

    model.train()
    while time.time() < deadline and not stop["now"]:
        idx = rng.integers(0, len(train), args.batch)
        x = torch.from_numpy(np.stack([train.crop(int(i), args.frames, rng) for i in idx]))[:, None]
        if x.shape[-1] < args.frames:
            continue
        warm = min(1.0, (step + 1) / 500)
        for g in opt.param_groups:
            g["lr"] = args.lr * warm
        y, codes, commit = model(x, step)
        rec = F.l1_loss(y, x) + F.mse_loss(y, x)
        loss = rec + model.cfg.commitment * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += args.batch
        run_loss += float(F.l1_loss(y.detach(), x))
        if step % 50 == 0:
            rate = seen / (time.time() - t0)
            log.info("step %d  train L1 %.4f  commit %.4f  %.1f clips/s", step, run_loss / 50, float(commit), rate)
            run_loss = 0.0
        if step % args.validate_every == 0:
            checkpoint("step")
    checkpoint("final step")


if __name__ == "__main__":
    main()
