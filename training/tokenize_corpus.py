#!/usr/bin/env python3
"""Token grids of every clip of a prepared corpus with a tokenizer's f16 export (the weights
the Swift runtime uses): <data>/cache/tokens.npy, (clips, 5, 53) int16 in manifest order,
plus tokens.json recording which export made them. Skipped when up to date.

--variants also tokenizes each clip moved in time and level (restore_train/augment.py), one
file per variant, cache/variants/shift<k>_gain<g>.npy, with variants.json naming the variants
and the export; training draws them with --augment. Each variant file is written when done,
so an interrupted run resumes at the next variant. Training can instead tokenize the variants a
batch draws as it draws them (train_transformer.py --augment-online), which skips this step.

    .venv/bin/python training/tokenize_corpus.py --data training/data/v2-db100 \
        --tokenizer training/campaign/tokenizer-v2.safetensors

The corpus must be normalised with the tokenizer's own floor (its config's db_min)."""
import argparse
import hashlib
import json
import pathlib
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.augment import VARIANTS, variant_mel, variant_name  # noqa: E402
from restore_train.corpus import DATA  # noqa: E402
from restore_train.manifest import manifest_lines  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from train_tokenizer import EXPORT, load_export  # noqa: E402


def tokenize(model, data: pathlib.Path, lines: list[dict], rows: int, transform=None) -> np.ndarray:
    """(clips, rows, 53) int16 token grids in manifest order; `transform` maps a batch of
    normalised mel (batch, 80, 848) to the mel to tokenize."""
    shards = {}
    out = np.zeros((len(lines), rows, 848 // 16), dtype=np.int16)
    batch, idx = [], []
    with torch.no_grad():
        for i, e in enumerate(lines):
            s = e["shard"]
            if s not in shards:
                shards[s] = np.load(data / "shards" / f"shard-{s:05d}.npy", mmap_mode="r")
            batch.append(np.asarray(shards[s][e["index"]], dtype=np.float32))
            idx.append(i)
            if len(batch) == 64 or i == len(lines) - 1:
                mel = np.stack(batch)
                if transform is not None:
                    mel = transform(mel)
                out[idx] = model.encode(torch.from_numpy(np.ascontiguousarray(mel))[:, None]).numpy().astype(np.int16)
                batch, idx = [], []
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=pathlib.Path, default=DATA, help="corpus folder (manifest.jsonl, shards/)")
    ap.add_argument("--tokenizer", type=pathlib.Path, default=EXPORT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", action="store_true", help="also tokenize the time- and level-moved variants (augment.py)")
    args = ap.parse_args()
    digest = hashlib.sha256(args.tokenizer.read_bytes()).hexdigest()
    (args.data / "cache").mkdir(parents=True, exist_ok=True)
    meta_path = args.data / "cache" / "tokens.json"
    lines = manifest_lines(args.data)
    torch.set_num_threads(args.threads)
    cfg = TokenizerConfig(**json.loads(load_safetensors(args.tokenizer)[1]["config"]))
    model = Tokenizer(cfg)
    load_export(model, args.tokenizer)
    model.eval()
    meta = {"tokenizer_sha256": digest, "clips": len(lines)}
    if meta_path.exists() and json.loads(meta_path.read_text()) == meta:
        print("tokens up to date")
    else:
        np.save(args.data / "cache" / "tokens.npy", tokenize(model, args.data, lines, cfg.rows))
        meta_path.write_text(json.dumps(meta))
        print(f"tokenized {len(lines)} clips")
    if not args.variants:
        return
    folder = args.data / "cache" / "variants"
    folder.mkdir(exist_ok=True)
    done_path = folder / "variants.json"
    done = json.loads(done_path.read_text()) if done_path.exists() else {}
    if done.get("meta") != meta:
        done = {"meta": meta, "variants": []}
    for shift, gain in VARIANTS[1:]:
        name = variant_name(shift, gain)
        if name in [v["name"] for v in done["variants"]]:
            continue
        t0 = time.time()
        grids = tokenize(model, args.data, lines, cfg.rows,
                         transform=lambda mel, s=shift, g=gain: variant_mel(mel, s, g, cfg.db_min))
        np.save(folder / f"{name}.npy", grids)
        done["variants"].append({"name": name, "shift": shift, "gain_db": gain})
        done_path.write_text(json.dumps(done, indent=1))
        print(f"variant {name}: {len(lines)} clips in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
