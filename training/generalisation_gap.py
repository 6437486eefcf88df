#!/usr/bin/env python3
"""What limits the transformer — data or capacity? The run's own validation metrics
(masked-token accuracy and loss, on positions inside real audio) computed on the same number
of training clips and validation clips, with the same masks. A large train − validation gap
says the model memorises its 11.7 k clips (data limits it); a small one says it has not yet
fitted even its training data (size, steps or tokens limit it).

    .venv/bin/python training/generalisation_gap.py MODEL_DIR [--data training/data/v2-db100] [--clips 320]
Prints JSON and writes bench/results/generalisation-gap-<model dir name>.json.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.manifest import manifest_lines  # noqa: E402
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig  # noqa: E402
from train_transformer import MelStore, load_data, validate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=pathlib.Path)
    ap.add_argument("--data", type=pathlib.Path, default=ROOT / "training" / "data" / "v2-db100")
    ap.add_argument("--clips", type=int, default=320)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tensors, meta = load_safetensors(args.model / "transformer.safetensors")
    model = MaskedTransformer(TransformerConfig(**json.loads(meta["config"])))
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    seq, cond, train, val, _, real, _ = load_data(args.data)
    tok = args.model / "tokenizer.safetensors"
    codebook = torch.from_numpy(load_safetensors(tok)[0]["quantizer.codebook"].astype(np.float32)) if tok.exists() else None
    store = MelStore(args.data, manifest_lines(args.data)) if model.cfg.patch_conditioning else None
    counts = torch.bincount(seq[train].flatten(), minlength=model.cfg.codebook_size).float()
    unigram = counts / counts.sum()
    pick = lambda ids: ids[torch.linspace(0, len(ids) - 1, min(args.clips, len(ids))).round().long()]  # noqa: E731
    out = {"model": str(args.model), "steps": meta.get("steps"), "training_minutes": meta.get("training_minutes"), "clips": args.clips}
    with torch.no_grad():
        for name, ids in (("train", pick(train)), ("validation", pick(val))):
            out[name] = validate(model, seq, cond, ids, unigram, real, store=store, codebook=codebook)
    keys = ("real_acc@0.1", "real_acc@0.5", "real_acc@0.9", "loss@0.5", "real_code_err@0.5", "bwe4k_acc")
    out["gap"] = {k: out["train"][k] - out["validation"][k] for k in keys if k in out["train"]}
    path = ROOT / "bench" / "results" / f"generalisation-gap-{args.model.name}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("steps", "gap")} | {s: {k: out[s][k] for k in keys if k in out[s]} for s in ("train", "validation")}, indent=1))


if __name__ == "__main__":
    main()
