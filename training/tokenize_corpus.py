#!/usr/bin/env python3
"""Token grids of every clip of a prepared corpus with a tokenizer's f16 export (the weights
the Swift runtime uses): <data>/cache/tokens.npy, (clips, 5, 53) int16 in manifest order,
plus tokens.json recording which export made them. Skipped when up to date.

    .venv/bin/python training/tokenize_corpus.py --data training/data/v2-db100 \
        --tokenizer training/checkpoints/tokenizer-v1-db100-long.safetensors

The corpus must be normalised with the tokenizer's own floor (its config's db_min)."""
import argparse
import hashlib
import json
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.corpus import DATA  # noqa: E402
from restore_train.manifest import manifest_lines  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from train_tokenizer import EXPORT, load_export  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=pathlib.Path, default=DATA, help="corpus folder (manifest.jsonl, shards/)")
    ap.add_argument("--tokenizer", type=pathlib.Path, default=EXPORT)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    digest = hashlib.sha256(args.tokenizer.read_bytes()).hexdigest()
    (args.data / "cache").mkdir(parents=True, exist_ok=True)
    meta_path = args.data / "cache" / "tokens.json"
    lines = manifest_lines(args.data)
    if meta_path.exists() and json.loads(meta_path.read_text()) == {"tokenizer_sha256": digest, "clips": len(lines)}:
        print("tokens up to date")
        return
    torch.set_num_threads(args.threads)
    cfg = TokenizerConfig(**json.loads(load_safetensors(args.tokenizer)[1]["config"]))
    model = Tokenizer(cfg)
    load_export(model, args.tokenizer)
    model.eval()
    shards = {}
    out = np.zeros((len(lines), cfg.rows, 848 // 16), dtype=np.int16)
    batch, rows = [], []
    with torch.no_grad():
        for i, e in enumerate(lines):
            s = e["shard"]
            if s not in shards:
                shards[s] = np.load(args.data / "shards" / f"shard-{s:05d}.npy", mmap_mode="r")
            batch.append(np.asarray(shards[s][e["index"]], dtype=np.float32))
            rows.append(i)
            if len(batch) == 64 or i == len(lines) - 1:
                codes = model.encode(torch.from_numpy(np.stack(batch))[:, None])
                out[rows] = codes.numpy().astype(np.int16)
                batch, rows = [], []
    np.save(args.data / "cache" / "tokens.npy", out)
    meta_path.write_text(json.dumps({"tokenizer_sha256": digest, "clips": len(lines)}))
    print(f"tokenized {len(lines)} clips")


if __name__ == "__main__":
    main()
