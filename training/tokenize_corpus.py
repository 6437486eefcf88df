#!/usr/bin/env python3
"""Token grids of every clip in the manifest with the shipped f16 tokenizer (the weights
the Swift runtime uses): training/data/cache/tokens.npy, (clips, 5, 53) int16 in manifest
order, plus tokens.json recording which tokenizer export made them."""
import hashlib
import json
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.corpus import DATA  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from train_tokenizer import EXPORT, load_export  # noqa: E402


def main():
    digest = hashlib.sha256(EXPORT.read_bytes()).hexdigest()
    meta_path = DATA / "cache" / "tokens.json"
    lines = [json.loads(l) for l in (DATA / "manifest.jsonl").read_text().splitlines()]
    if meta_path.exists() and json.loads(meta_path.read_text()) == {"tokenizer_sha256": digest, "clips": len(lines)}:
        print("tokens up to date")
        return
    torch.set_num_threads(2)
    cfg = TokenizerConfig(**json.loads(load_safetensors(EXPORT)[1]["config"]))
    model = Tokenizer(cfg)
    load_export(model, EXPORT)
    model.eval()
    shards = {}
    out = np.zeros((len(lines), cfg.rows, 848 // 16), dtype=np.int16)
    batch, rows = [], []
    for i, e in enumerate(lines):
        s = e["shard"]
        if s not in shards:
            shards[s] = np.load(DATA / "shards" / f"shard-{s:05d}.npy", mmap_mode="r")
        batch.append(np.asarray(shards[s][e["index"]], dtype=np.float32))
        rows.append(i)
        if len(batch) == 64 or i == len(lines) - 1:
            codes = model.encode(torch.from_numpy(np.stack(batch))[:, None])
            out[rows] = codes.numpy().astype(np.int16)
            batch, rows = [], []
    np.save(DATA / "cache" / "tokens.npy", out)
    meta_path.write_text(json.dumps({"tokenizer_sha256": digest, "clips": len(lines)}))
    print(f"tokenized {len(lines)} clips")


if __name__ == "__main__":
    main()
