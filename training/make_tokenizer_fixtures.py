#!/usr/bin/env python3
"""Golden fixtures for the Swift tokenizer: a tiny random model (committed, f32) and,
when they exist, the shipped Models/default/tokenizer.safetensors ("default") and the training
campaign's tokenizer training/campaign/tokenizer-v2.safetensors ("campaign", its −100 dB floor),
each run on two fixed normalised mels (from the front-end fixtures). Token ids and decoded
mels are saved.

    .venv/bin/python training/make_tokenizer_fixtures.py
Rerun whenever the shipped or the campaign tokenizer is replaced.
"""
import json
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import load_safetensors, save_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from train_tokenizer import EXPORT, load_export  # noqa: E402

FRONT = ROOT / "Tests" / "RestoreCoreTests" / "Fixtures" / "frontend"
OUT = ROOT / "Tests" / "RestoreCoreTests" / "Fixtures" / "tokenizer"
CAMPAIGN = ROOT / "training" / "campaign" / "tokenizer-v2.safetensors"
SEED = 20261122


def inputs():
    chirp = np.load(FRONT / "chirp.normalized.npy")[:, :250]     # not a multiple of 16: padding is tested
    noise = np.load(FRONT / "noise.normalized.npy")[:, :256]
    return {"chirp": chirp.astype(np.float32), "noise": noise.astype(np.float32)}


def run(model: Tokenizer, x: np.ndarray):
    frames = x.shape[1]
    padded = (frames + 15) // 16 * 16
    xp = np.full((80, padded), -1.0, dtype=np.float32)
    xp[:, :frames] = x
    t = torch.from_numpy(xp)[None, None]
    codes = model.encode(t)
    y = model.decode(codes)[0, 0, :, :frames]
    return codes[0].numpy().astype(np.float32), y.numpy().astype(np.float32)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    tiny = Tokenizer(TokenizerConfig(width=8, code_dim=4, codebook_size=16))
    with torch.no_grad():                      # random but non-trivial: every parameter drawn
        for name, p in tiny.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.1))
        x = torch.from_numpy(np.concatenate(list(inputs().values()), axis=1)[:, :496])[None, None]
        tiny.train()
        tiny.quantizer(tiny.encoder(x), 0)     # data-initialised codes
    tiny.eval()
    save_safetensors(OUT / "tiny.safetensors", {k: v.detach().numpy() for k, v in tiny.export_tensors().items()},
                     {"format": "restore.tokenizer", "config": tiny.cfg.to_json()})
    models = {"tiny": tiny}
    for name, path in (("default", EXPORT), ("campaign", CAMPAIGN)):
        if path.exists():
            model = Tokenizer(TokenizerConfig(**json.loads(load_safetensors(path)[1]["config"])))
            load_export(model, path)
            model.eval()
            models[name] = model
    for mname, model in models.items():
        for iname, x in inputs().items():
            codes, y = run(model, x)
            np.save(OUT / f"{iname}.input.npy", x)
            np.save(OUT / f"{mname}.{iname}.tokens.npy", codes)
            np.save(OUT / f"{mname}.{iname}.decoded.npy", y)
            print(f"{mname} {iname}: tokens {codes.shape}, {len(np.unique(codes))} distinct")


if __name__ == "__main__":
    main()
