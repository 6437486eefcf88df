#!/usr/bin/env python3
"""Validation of the shipped transformer export (the metrics train_transformer.py logs),
including accuracy on positions inside real audio; prints JSON."""
import json
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig  # noqa: E402
from train_transformer import EXPORT, load_data, validate  # noqa: E402

torch.set_num_threads(2)
tensors, meta = load_safetensors(EXPORT)
model = MaskedTransformer(TransformerConfig(**json.loads(meta["config"])))
model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
seq, cond, train, val, weight, real, _ = load_data()
counts = torch.bincount(seq[train].flatten(), minlength=model.cfg.codebook_size).float()
m = validate(model, seq, cond, val, counts / counts.sum(), real)
result = {"steps": meta.get("steps"), "training_minutes": meta.get("training_minutes"), **m}
(ROOT / "bench" / "results").mkdir(exist_ok=True)
(ROOT / "bench" / "results" / "transformer.json").write_text(json.dumps(result, indent=1) + "\n")
print(json.dumps(result, indent=1))
