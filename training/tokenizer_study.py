#!/usr/bin/env python3
"""Tokenizer v2 study (issue 16): the candidates, their training-speed measurement and the
transformer-cost accounting.

    .venv/bin/python training/tokenizer_study.py time [--threads 1] [--steps 6]
        step time of each candidate, float32 vs bf16 autocast, on random data
    .venv/bin/python training/tokenizer_study.py cost
        the transformer's cost per 10 s for each candidate against today's

Candidates are trained by `training/train_tokenizer.py --candidate NAME` and evaluated by
`bench/token_oracle.py`; the table is training/logs/tokenizer-study.md.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402

# name -> (config overrides, description). Every candidate starts from the shipped export
# wherever tensor shapes match (encoder, decoder), so each gets the same head start.
# Training defaults per candidate (the trainer's flags override them):
CANDIDATE_LOSS = {"v1-lsd": "lsd", "gs-lsd": "lsd"}
CANDIDATES: dict[str, tuple[dict, str]] = {
    "v1": ({}, "shipped architecture (control), K = 1024"),
    "gs": ({"variant": "gs", "gain_levels": 32}, "gain-shape: K = 1024 shape codes + 32 patch-level classes"),
    "rvq": ({"variant": "rvq", "residual_codebook_size": 256}, "two-level residual: K = 1024 + 256 second-level codes"),
    "k4096": ({"codebook_size": 4096}, "one larger codebook, K = 4096"),
    "xrow": ({"decoder_row_kernel": 3}, "v1 codes, decoder mixing neighbouring rows (kernel height 3)"),
    "gs-xrow": ({"variant": "gs", "gain_levels": 32, "decoder_row_kernel": 3}, "gain-shape with the cross-row decoder"),
    "v1-lsd": ({}, "shipped architecture, loss + mel-domain LSD (vocoder scale)"),
    "v1-db100": ({"db_min": -100.0}, "shipped architecture, normalisation floor -100 dB (the vocoder's) instead of -80"),
    "gs-db100": ({"variant": "gs", "gain_levels": 32, "db_min": -100.0}, "gain-shape with the -100 dB floor"),
    "gs-lsd": ({"variant": "gs", "gain_levels": 32}, "gain-shape, loss + mel-domain LSD (vocoder scale)"),
}


def normalize(m, db_min: float = -80.0, db_max: float = 20.0):
    """Magnitude mel -> [-1, 1] with the given dB range (restore_train.mel.normalize_db at -80)."""
    import numpy as np
    db = np.clip(20 * np.log10(np.maximum(m, 1e-5)), db_min, db_max)
    return 2 * (db - db_min) / (db_max - db_min) - 1


def denormalize_to_log_mel(n, db_min: float = -80.0, db_max: float = 20.0):
    import numpy as np
    db = (np.clip(n, -1, 1) + 1) / 2 * (db_max - db_min) + db_min
    return db * np.log(10) / 20


def candidate_config(name: str) -> TokenizerConfig:
    return TokenizerConfig(**CANDIDATES[name][0])


def reconstruction_loss(y, x, kind: str = "v1"):
    """v1: L1 + L2 on the normalised mel. "lsd": adds the mel-domain log-spectral distance,
    5·mean_t sqrt(mean_b Δ²) (Δ in normalised units; 5 converts to log10 power, the LSD unit),
    the vocoder-scale error that LSD measures (per-frame RMS, so quiet frames count fully)."""
    rec = F.l1_loss(y, x) + F.mse_loss(y, x)
    if kind == "lsd":
        rec = rec + 0.2 * 5 * torch.sqrt(((y - x) ** 2).mean(dim=2) + 1e-6).mean()
    return rec


def step_time(cfg: TokenizerConfig, bf16: bool, steps: int, batch: int = 24, frames: int = 256) -> float:
    torch.manual_seed(0)
    m = Tokenizer(cfg)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    x = torch.rand(batch, 1, 80, frames) * 2 - 1
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y, _, commit = m.forward_levels(x, i)
        loss = reconstruction_loss(y.float(), x) + 0.25 * commit
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def cmd_time(args):
    torch.set_num_threads(args.threads)
    out = {}
    for name in args.candidates:
        cfg = candidate_config(name)
        # interleaved, so load from other jobs hits both alike
        f32, b16 = [], []
        for _ in range(args.rounds):
            f32.append(step_time(cfg, False, args.steps))
            b16.append(step_time(cfg, True, args.steps))
        out[name] = {"fp32_s": min(f32), "bf16_s": min(b16), "speedup": min(f32) / min(b16)}
        print(name, json.dumps(out[name]), flush=True)
    res = {"threads": args.threads, "batch": 24, "frames": 256, "torch": torch.__version__, "steps": out}
    p = ROOT / "bench" / "results" / "tokenizer_bf16.json"
    p.write_text(json.dumps(res, indent=1))
    print("wrote", p)


# --------------------------------------------------------------- transformer cost

def transformer_dims() -> dict:
    from restore_train.safetensors_io import load_safetensors
    _, meta = load_safetensors(ROOT / "Models" / "default" / "transformer.safetensors")
    return json.loads(meta["config"])


def transformer_macs(positions: int, head_classes: list[int], d: dict) -> float:
    """Multiply-accumulates of one forward pass: blocks (QKV, attention, projection, FFN)
    on `positions` + 1 condition token, the token embeddings (free: lookups) and one output
    head per level (width × classes per position)."""
    n = positions + 1
    w, f, L = d["width"], d["ffn"], d["depth"]
    block = n * (4 * w * w + 2 * w * f) + 2 * n * n * w
    heads = positions * w * sum(head_classes)
    return L * block + heads


def cmd_cost(args):
    d = transformer_dims()
    cols = 53
    today = transformer_macs(5 * cols, [1024], d)
    rows = []
    for name, (ov, desc) in CANDIDATES.items():
        cfg = candidate_config(name)
        sizes = cfg.level_sizes
        macs = transformer_macs(cfg.rows * cols, sizes, d)
        rows.append({"candidate": name, "description": desc, "sequence": cfg.rows * cols, "heads": sizes,
                     "brief_cost": (cfg.rows * cols * sum(sizes)) / (5 * cols * 1024),
                     "heads_counted_whole": (cfg.rows * cols * len(sizes)) / (5 * cols),
                     "macs_ratio": macs / today})
    # the two full heads that the 1.5× budget rules out
    rows.append({"candidate": "rvq-1024x2 (ruled out)", "description": "two full heads of 1024", "sequence": 5 * cols,
                 "heads": [1024, 1024], "brief_cost": 2.0, "heads_counted_whole": 2.0,
                 "macs_ratio": transformer_macs(5 * cols, [1024, 1024], d) / today})
    print(f"transformer {d}; today {today / 1e9:.3f} GMAC per 10 s window")
    for r in rows:
        print(f"{r['candidate']:24s} seq {r['sequence']:4d} heads {r['heads']}  sequence×classes {r['brief_cost']:.3f}×  "
              f"heads counted whole {r['heads_counted_whole']:.2f}×  MACs {r['macs_ratio']:.3f}×")
    (ROOT / "bench" / "results" / "tokenizer_cost.json").write_text(json.dumps({"transformer": d, "today_macs": today, "rows": rows}, indent=1))


def cmd_table(args):
    """bench/results/tokenizer_study.json and the markdown table (training/logs/tokenizer-study.md)
    from bench/results/token_oracle.json, the cost accounting, the bf16 timing and each
    candidate's training checkpoint."""
    res = ROOT / "bench" / "results"
    oracle = json.loads((res / args.oracle).read_text())
    cost = {r["candidate"]: r for r in json.loads((res / "tokenizer_cost.json").read_text())["rows"]}
    bf16 = json.loads((res / "tokenizer_bf16.json").read_text()) if (res / "tokenizer_bf16.json").exists() else None
    base = oracle["baselines"]
    kinds = [k for k in base if k != "all"]
    study = {"clips": oracle["clips"], "cutoff_hz": oracle["cutoff_hz"], "excerpt_seconds": oracle["excerpt_seconds"],
             "baselines": base, "candidates": {}, "bf16": bf16}
    for label, c in oracle["candidates"].items():
        name = label if label in CANDIDATES else "v1"
        ck = ROOT / "training" / "checkpoints" / f"tokenizer-{label}.pt"
        train = {}
        if ck.exists():
            d = torch.load(ck, map_location="cpu", weights_only=False)
            train = {"steps": d["step"], "minutes": round(d.get("trained_seconds", 0) / 60, 1), "args": d.get("args")}
        study["candidates"][label] = {**c, "cost": cost.get(name), "training": train}
    (res / "tokenizer_study.json").write_text(json.dumps(study, indent=1))

    per_kind = ", ".join(f"{k} {base[k]['clips']}" for k in kinds)
    L = ["# Tokenizer v2 study (issue 16)", "",
         f"{oracle['clips']} validation clips of the v2 corpus ({per_kind}), "
         f"a {oracle['excerpt_seconds']:.2f} s excerpt of each; bandwidth extension from a {oracle['cutoff_hz'] / 1000:g} kHz low-pass; "
         "LSD (STFT 2048/512, 22 050 Hz) against the clean excerpt. Lower is better. Produced by bench/token_oracle.py and "
         "`training/tokenizer_study.py table`.", "",
         "## Bandwidth extension ceilings, LSD (full band / above 4 kHz)", "",
         "| | " + " | ".join(["all"] + kinds) + " |", "|---" * (len(kinds) + 2) + "|"]

    def cells(get):
        return " | ".join(get(k) for k in ["all"] + kinds)
    L.append("| low-pass input | " + cells(lambda k: f"{base[k]['lsd_input']:.3f} / {base[k]['lsd_input_hf']:.3f}") + " |")
    L.append("| SBR (DSP baseline) | " + cells(lambda k: f"{base[k]['lsd_sbr']:.3f} / {base[k]['lsd_sbr_hf']:.3f}") + " |")
    L.append("| true-mel oracle (vocoder + LFR) | " + cells(lambda k: f"{base[k]['lsd_truemel_bwe']:.3f} / {base[k]['lsd_truemel_bwe_hf']:.3f}") + " |")
    if "lsd_clipmel_bwe" in base["all"]:
        L.append("| perfect tokens of a -80 dB normalisation (true mel clipped to [-80, 20] dB) | "
                 + cells(lambda k: f"{base[k]['lsd_clipmel_bwe']:.3f} / {base[k]['lsd_clipmel_bwe_hf']:.3f}") + " |")
    for label, c in study["candidates"].items():
        s_ = c["summary"]
        L.append(f"| token oracle: **{label}** | " + cells(lambda k: f"{s_[k]['lsd_token_bwe']:.3f} / {s_[k]['lsd_token_bwe_hf']:.3f}") + " |")
    L += ["", "## Round trip through tokens, LSD (vocoder-only in the first row)", "",
          "| | " + " | ".join(["all"] + kinds) + " | ratio to vocoder-only |", "|---" * (len(kinds) + 3) + "|"]
    L.append("| vocoder(true mel) | " + cells(lambda k: f"{base[k]['lsd_vocoder']:.3f}") + " | 1.00 |")
    for label, c in study["candidates"].items():
        s_ = c["summary"]
        L.append(f"| vocoder(decoded tokens): **{label}** | " + cells(lambda k: f"{s_[k]['lsd_roundtrip']:.3f}") + f" | {c['roundtrip_ratio']:.2f} |")
    L += ["", "## Candidates", "",
          "| candidate | description | steps (+ in this study) | wall min (shared CPU) | token oracle − true mel | round-trip ratio | mel L1 dB / rows 3–4 dB | codes used, perplexity per level | transformer cost: seq×classes / heads whole / MACs |",
          "|---|---|---|---|---|---|---|---|---|"]
    for label, c in study["candidates"].items():
        s_ = c["summary"]["all"]
        desc = ("Models/default/tokenizer.safetensors as shipped" if label == "shipped" else
                "the winner's long run (v1 architecture, −100 dB floor) on corpus v2" if label.endswith("-long") else
                CANDIDATES.get(label, ({}, "an export outside the study"))[1])
        tr = c["training"]
        args_ = (tr.get("args") or {})
        steps = f"{tr['steps']} (+{tr['steps'] - 5020})" if tr else c.get("steps") or ""
        span = (20 - c["config"].get("db_min", -80.0)) / 2      # normalised units -> dB
        codes = "; ".join(f"{u['used_percent']:.0f}% of {u['size']}, {u['perplexity']:.0f}" for u in c["codes"])
        co = c["cost"] or {}
        cst = f"{co.get('brief_cost', 1):.2f}× / {co.get('heads_counted_whole', 1):.0f}× / {co.get('macs_ratio', 1):.3f}×" if co else "1.00× / 1× / 1.000×"
        L.append(f"| {label} | {desc} | {steps} | {(tr.get('minutes') or '') if tr else ''} | {c['token_minus_truemel']:+.3f} | {c['roundtrip_ratio']:.2f} | "
                 f"{s_['mel_l1'] * span:.2f} / {s_['mel_l1_rows34'] * span:.2f} | {codes} | {cst} |")
    if bf16:
        L += ["", f"bf16 autocast, tokenizer training step (batch 24 × 256 frames, {bf16['threads']} thread(s), torch {bf16['torch']}): " +
              ", ".join(f"{k} {v['fp32_s']:.2f} s → {v['bf16_s']:.2f} s ({v['speedup']:.2f}×)" for k, v in bf16["steps"].items())]
    text = "\n".join(L) + "\n"
    out = ROOT / "training" / "logs" / "tokenizer-study.md"
    # The hand-written sections after the tables (findings, command lines, the long run's
    # exports) are kept; only the generated tables are replaced.
    old = out.read_text() if out.exists() else ""
    kept = old[old.index("## Findings"):] if "## Findings" in old else ""
    out.write_text(text + ("\n" + kept if kept else ""))
    (res / "tokenizer_study.md").write_text(text)
    print(text)


def cmd_interim(args):
    """An interim corpus for the study while the v2 corpus's mel stage runs: 10 s windows of
    the files already decoded into training/data/cache/v2/pcm, split by whole file with the
    v2 rule (prepare_v2.is_validation), mel exactly as prepare_v2's stage mel computes it,
    in the Corpus layout under training/checkpoints/interim-data (git-ignored). Only the
    tokenizer study's training uses it; the evaluation uses the real manifest."""
    import numpy as np
    sys.path.insert(0, str(ROOT / "training" / "data"))
    import prepare_v2 as pv2
    from restore_train import mel
    out = pathlib.Path(args.out)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    items = {pv2.item_key(e): e for e in pv2.all_items()}
    v1val = pv2.v1_validation()
    recs = [r for r in pv2.read_jsonl(pv2.CACHE / "decoded.jsonl") if "error" not in r and r.get("seconds", 0) >= 8 and r["key"] in items]
    rng = np.random.default_rng(20261130)
    rng.shuffle(recs)
    fb = mel.mel_filterbank().astype(np.float32)
    want = {"train": args.train, "validation": args.validation}
    lines, mels, seen_pcm, index = [], [], set(), []
    n = {"train": 0, "validation": 0}
    for r in recs:
        e = items[r["key"]]
        split = "validation" if pv2.is_validation(e, v1val) else "train"
        if n[split] >= want[split] or r["pcm_sha1"] in seen_pcm:
            continue
        seen_pcm.add(r["pcm_sha1"])
        y = np.load(pv2.CACHE / "pcm" / f"{r['key']}.npy").astype(np.float32)
        wins = max(1, len(y) // pv2.CLIP_N)
        for w in rng.permutation(wins)[:args.windows]:
            seg = y[w * pv2.CLIP_N:(w + 1) * pv2.CLIP_N]
            if len(seg) < 8 * pv2.SR or 20 * np.log10(np.sqrt(np.mean(seg ** 2)) + 1e-12) < -50:
                continue
            x = np.zeros(pv2.CLIP_N, np.float32)
            x[:len(seg)] = seg
            index.append({"key": r["key"], "start": int(w * pv2.CLIP_N), "samples": len(seg)})
            if args.index_only:
                mels.append(None)
            else:
                mels.append(normalize(fb @ mel.magnitude_spectrogram(x, np.float32).T, args.db_min)[:, :848].astype(np.float16))
            lines.append({"split": split, "kind": e["kind"], "source": e["source"], "file": e["file"],
                          "duration": round(len(seg) / pv2.SR, 4), "shard": (len(mels) - 1) // 256, "index": (len(mels) - 1) % 256})
            n[split] += 1
        if n["train"] >= want["train"] and n["validation"] >= want["validation"]:
            break
    # where each clip's audio is: training/data/cache/v2/pcm/<key>.npy[start:start + samples]
    (out / "clips.jsonl").write_text("".join(json.dumps({**l, **i}) + "\n" for l, i in zip(lines, index)))
    if args.index_only:
        return
    for s in range(0, len(mels), 256):
        np.save(out / "shards" / f"shard-{s // 256:05d}.npy", np.stack(mels[s:s + 256]))
    (out / "manifest.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    import collections
    print(json.dumps({sp: dict(collections.Counter(l["kind"] for l in lines if l["split"] == sp)) for sp in ("train", "validation")}))


def cmd_renorm(args):
    """The v2 corpus's mel shards again with another normalisation floor (the shards of
    prepare_v2 are clipped at -80 dB): every manifest clip's audio rebuilt from the decode
    cache (bench/token_oracle.ClipAudio), mel as prepare_v2 computes it, normalised to
    [args.db_min, 20] dB; same manifest lines, in the Corpus layout under args.out. Resumable
    per shard."""
    import numpy as np
    sys.path.insert(0, str(ROOT / "bench"))
    from token_oracle import ClipAudio, manifest
    from restore_train import mel
    out = pathlib.Path(args.out)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    lines = manifest()
    ca = ClipAudio()
    fb = mel.mel_filterbank().astype(np.float32)
    by_shard: dict = {}
    for e in lines:
        by_shard.setdefault(e["shard"], []).append(e)
    t0 = time.time()
    for s_, es in sorted(by_shard.items()):
        p = out / "shards" / f"shard-{s_:05d}.npy"
        if p.exists():
            continue
        n = max(e["index"] for e in es) + 1
        arr = np.full((n, 80, 848), -1.0, np.float16)
        for e in es:
            x = np.zeros(int(10 * mel.SAMPLE_RATE), np.float32)
            a = ca.audio(e)
            x[:len(a)] = a
            arr[e["index"]] = normalize(fb @ mel.magnitude_spectrogram(x, np.float32).T, args.db_min)[:, :848]
        np.save(p.with_suffix(".tmp.npy"), arr)
        p.with_suffix(".tmp.npy").replace(p)
        print(f"shard {s_} ({len(es)} clips) {time.time() - t0:.0f} s", flush=True)
    (out / "manifest.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in lines))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--steps", type=int, default=5)
    t.add_argument("--rounds", type=int, default=2)
    t.add_argument("--candidates", nargs="+", default=["v1", "gs", "rvq"])
    sub.add_parser("cost")
    tb = sub.add_parser("table")
    tb.add_argument("--oracle", default="tokenizer_oracle.json", help="bench/results/ summary of bench/token_oracle.py")
    rn = sub.add_parser("renorm")
    rn.add_argument("--out", default=str(ROOT / "training" / "data" / "v2-db100"))
    rn.add_argument("--db-min", type=float, default=-100.0)
    it = sub.add_parser("interim")
    it.add_argument("--out", default=str(ROOT / "training" / "checkpoints" / "interim-data"))
    it.add_argument("--train", type=int, default=3000)
    it.add_argument("--validation", type=int, default=120)
    it.add_argument("--windows", type=int, default=2, help="at most this many 10 s windows per file")
    it.add_argument("--index-only", action="store_true", help="only (re)write clips.jsonl, where each clip's audio is")
    it.add_argument("--db-min", type=float, default=-80.0, help="normalisation floor of the stored mels")
    args = ap.parse_args()
    {"time": cmd_time, "cost": cmd_cost, "table": cmd_table, "interim": cmd_interim, "renorm": cmd_renorm}[args.cmd](args)


if __name__ == "__main__":
    main()
