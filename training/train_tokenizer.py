#!/usr/bin/env python3
"""Trains the spectrogram tokenizer on the prepared corpus; resumable, logged, time-boxed.

    nohup .venv/bin/python training/train_tokenizer.py --minutes 60 &
    tail -f training/logs/tokenizer.log

Resumes from training/checkpoints/tokenizer.pt, else from the committed export
Models/default/tokenizer.safetensors (optimizer state rebuilt), else from scratch.
Exports Models/default/tokenizer.safetensors (f16, config and metrics in metadata)
at the end and whenever validation improves.

Candidates of the v2 study (issue 16; training/tokenizer_study.py lists them):

    nohup .venv/bin/python training/train_tokenizer.py --candidate gs --minutes 20 --bf16 &

keep everything apart: checkpoint training/checkpoints/tokenizer-<name>.pt (resumable: rerun
the same line), log training/logs/tokenizer-<name>.log, best export
training/checkpoints/tokenizer-<name>.safetensors (never Models/default). A new candidate
starts from the shipped export wherever tensor names and shapes match (a taller decoder
kernel gets the shipped one as its centre row); codebooks whose meaning changed (gain-shape,
a new K, the residual level) are initialised from data.
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
from restore_train.cpu import use_bf16  # noqa: E402
from restore_train.history import append_validation  # noqa: E402
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from tokenizer_study import CANDIDATE_LOSS, CANDIDATES, candidate_config, reconstruction_loss  # noqa: E402

CKPT = ROOT / "training" / "checkpoints" / "tokenizer.pt"
EXPORT = ROOT / "Models" / "default" / "tokenizer.safetensors"
LOG = ROOT / "training" / "logs" / "tokenizer.log"
log = logging.getLogger("tokenizer")


@torch.no_grad()
def validate(model: Tokenizer, val: Corpus, limit: int = 160) -> dict:
    """On real-audio frames of `limit` validation clips: normalised-mel L1 (all rows and the
    rows above 4 kHz, 3–4), the mel-domain LSD (5·mean_t RMS_b Δ, log10-power units), and
    codebook use per level."""
    model.eval()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(val))[:limit]
    l1s, hi, lsds = [], [], []
    counts = [np.zeros(k) for k in model.cfg.level_sizes]
    for i in idx:
        x = torch.from_numpy(val.mel(int(i)))[None, None]
        levels = model.encode_levels(x)
        y = model.decode_levels(levels).clamp(-1, 1)
        f = max(16, val.audio_frames(int(i)))
        d = (y - x)[..., :f]
        l1s.append(float(d.abs().mean()))
        hi.append(float(d[:, :, 48:].abs().mean()))
        lsds.append(float(5 * torch.sqrt((d ** 2).mean(dim=2)).mean()))
        for c, lv in zip(counts, levels):
            np.add.at(c, lv[..., :(f + 15) // 16].flatten().numpy(), 1)
    model.train()
    out = {"val_l1": float(np.mean(l1s)), "val_l1_rows34": float(np.mean(hi)), "val_lsd_mel": float(np.mean(lsds))}
    for n, c in enumerate(counts):
        p = c / c.sum()
        nz = p[p > 0]
        sfx = "" if n == 0 else f"_level{n + 1}"
        out["codes_used" + sfx] = float((c > 0).mean())
        out["perplexity" + sfx] = float(np.exp(-(nz * np.log(nz)).sum()))
    return out


def export(model: Tokenizer, step: int, metrics: dict, path: pathlib.Path = EXPORT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).numpy() for k, v in model.export_tensors().items()}
    # only the shipped architecture carries the format the Swift runtime loads
    fmt = "restore.tokenizer" if model.cfg.variant == "v1" and model.cfg.decoder_row_kernel == 1 else "restore.tokenizer.candidate"
    save_safetensors(path, tensors, {"format": fmt, "config": model.cfg.to_json(),
                                     "steps": str(step), "metrics": json.dumps(metrics, sort_keys=True)})


def load_any(path: pathlib.Path) -> Tokenizer:
    """A tokenizer from an f16 export (any variant) or a training checkpoint (.pt)."""
    path = pathlib.Path(path)
    if path.suffix == ".pt":
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = Tokenizer(TokenizerConfig(**json.loads(ck["config"])))
        model.load_state_dict(ck["model"])
    else:
        _, meta = load_safetensors(path)
        model = Tokenizer(TokenizerConfig(**json.loads(meta["config"])))
        load_export(model, path)
    return model.eval()


def load_partial(model: Tokenizer, path: pathlib.Path, keep_codebook: bool) -> list[str]:
    """Warm start from an export: every tensor whose name and shape match; a decoder kernel
    taller than the export's gets it as its centre row (the rest zero). Returns the names
    left at their initial values."""
    tensors, _ = load_safetensors(path)
    sd = model.state_dict()
    fresh = []
    for k, v in sd.items():
        t = tensors.get(k)
        if k.startswith("quantizer") and not (keep_codebook and k == "quantizer.codebook"):
            if k in ("quantizer.codebook", "quantizer2.codebook"):
                fresh.append(k)
            continue
        if t is None:
            fresh.append(k)
            continue
        t = torch.from_numpy(t.astype(np.float32))
        if t.shape == v.shape:
            v.copy_(t)
        elif t.dim() == 4 and v.dim() == 4 and t.shape[2] == 1 and v.shape[2] > 1 and t.shape[3] == v.shape[3]:
            v.zero_()
            v[:, :, v.shape[2] // 2:v.shape[2] // 2 + 1] = t
        else:
            fresh.append(k)
    if keep_codebook:
        q = model.quantizer
        q.embed_sum.copy_(q.codebook)
        q.cluster_size.fill_(1.0)
        q.initialised.fill_(1)
    return fresh


def load_export(model: Tokenizer, path: pathlib.Path) -> int:
    tensors, meta = load_safetensors(path)
    sd = model.state_dict()
    for k, v in tensors.items():
        sd[k].copy_(torch.from_numpy(v.astype(np.float32)))
    for q in (model.quantizer, getattr(model, "quantizer2", None)):
        if q is not None:
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
    ap.add_argument("--candidate", choices=sorted(CANDIDATES), help="a v2-study candidate (own checkpoint, log, export)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast on the CPU (quantiser stays float32)")
    ap.add_argument("--loss", choices=["v1", "lsd"], default=None, help="lsd: adds the mel-domain LSD term (default: the candidate's)")
    ap.add_argument("--max-steps", type=int, default=0, help="also stop at this many steps in this run (equal-compute comparisons)")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--val-clips", type=int, default=160)
    ap.add_argument("--init", default=str(EXPORT), help="warm start of a new candidate (an f16 export)")
    ap.add_argument("--data", default=None, help="another prepared corpus directory (the study's interim or renormalised corpora, tests)")
    ap.add_argument("--run", default=None, help="name of the checkpoint/log/export (default: the candidate's); "
                    "a run continues from tokenizer-<run>.pt when it exists")
    ap.add_argument("--checkpoints", default=None, help="another directory for candidate checkpoints and logs (tests)")
    args = ap.parse_args()
    if args.loss is None:
        args.loss = CANDIDATE_LOSS.get(args.candidate, "v1")
    ckpt, export_path, log_path = CKPT, EXPORT, LOG
    if args.candidate:
        ck_dir = pathlib.Path(args.checkpoints) if args.checkpoints else ROOT / "training" / "checkpoints"
        run = args.run or args.candidate
        ckpt = ck_dir / f"tokenizer-{run}.pt"
        export_path = ckpt.with_suffix(".safetensors")
        log_path = (ck_dir if args.checkpoints else ROOT / "training" / "logs") / f"tokenizer-{run}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(log_path), logging.StreamHandler()])
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = {"data": pathlib.Path(args.data)} if args.data else {}
    train, val = Corpus("train", **data), Corpus("validation", **data)
    log.info("corpus: %d train clips, %d validation clips", len(train), len(val))
    log.info("args: %s", json.dumps(vars(args), sort_keys=True))
    args.bf16 = use_bf16(args.bf16, log)

    cfg = candidate_config(args.candidate) if args.candidate else TokenizerConfig(width=args.width)
    model = Tokenizer(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=1e-4)
    step, best, trained_s = 0, math.inf, 0.0
    if ckpt.exists():
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best, trained_s = ck["step"], ck["best"], ck.get("trained_seconds", 0.0)
        log.info("resumed from %s at step %d (%.1f min trained)", ckpt, step, trained_s / 60)
        if (ck.get("args") or {}).get("data") != args.data:
            best = math.inf       # another validation set: its numbers are not comparable
            log.info("corpus changed (%s -> %s): best validation reset", (ck.get("args") or {}).get("data"), args.data)
    elif args.candidate and pathlib.Path(args.init).exists():
        keep = cfg.variant in ("v1", "rvq") and cfg.codebook_size == TokenizerConfig.codebook_size
        fresh = load_partial(model, pathlib.Path(args.init), keep_codebook=keep)
        _, meta = load_safetensors(pathlib.Path(args.init))
        step = int(meta.get("steps", 0))
        log.info("warm start from %s at step %d; fresh: %s", args.init, step, ", ".join(fresh) or "none")
    elif EXPORT.exists() and not args.candidate:
        step = load_export(model, EXPORT)
        log.info("resumed from the f16 export %s at step %d (optimizer rebuilt)", EXPORT, step)
    params = sum(p.numel() for p in model.parameters())
    log.info("model: %.2f M parameters, config %s", params / 1e6, model.cfg.to_json())
    start_step = step

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    rng = np.random.default_rng(step)
    deadline = time.time() + args.minutes * 60
    t0, seen, run_loss = time.time(), 0, 0.0

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "config": model.cfg.to_json(), "trained_seconds": trained_s + time.time() - t0,
                    "args": vars(args)}, ckpt.with_suffix(".tmp"))
        ckpt.with_suffix(".tmp").replace(ckpt)

    def checkpoint(label):
        """Validates, exports when validation improved, and saves the resumable state."""
        nonlocal best
        m = validate(model, val, args.val_clips)
        m["train_minutes"] = round((trained_s + time.time() - t0) / 60, 2)
        log.info("%s %d  validation %s", label, step, json.dumps(m))
        append_validation(log_path.with_name(log_path.stem + ".validation.jsonl"), step, m["train_minutes"],
                          m, label.startswith("final"))
        if m["val_l1"] < best:
            best = m["val_l1"]
            export(model, step, m, export_path)
            log.info("exported %s (best validation L1 %.4f)", export_path, best)
        save()

    model.train()
    while time.time() < deadline and not stop["now"] and not (args.max_steps and step - start_step >= args.max_steps):
        idx = rng.integers(0, len(train), args.batch)
        x = torch.from_numpy(np.stack([train.crop(int(i), args.frames, rng) for i in idx]))[:, None]
        if x.shape[-1] < args.frames:
            continue
        warm = min(1.0, (step - start_step + 1) / max(1, args.warmup)) if args.candidate else min(1.0, (step + 1) / 500)
        for g in opt.param_groups:
            g["lr"] = args.lr * warm
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            y, codes, commit = model.forward_levels(x, step)
        y = y.float()
        rec = reconstruction_loss(y, x, args.loss)
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
            log.info("step %d  train L1 %.4f  commit %.4f  %.1f clips/s", step, run_loss / 50, float(commit.detach()), rate)
            run_loss = 0.0
        if step % args.validate_every == 0:
            checkpoint("step")
    checkpoint("final step")


if __name__ == "__main__":
    main()
