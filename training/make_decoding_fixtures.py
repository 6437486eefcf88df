#!/usr/bin/env python3
"""Golden fixtures for expected-code decoding (DESIGN: the engine decodes generated cells
from Σ p(c)·e(c) when asked): the committed tiny hybrid transformer's per-position
distributions at commit time under replayed noise, and the committed tiny tokenizer's
decode of a grid where some cells carry seeded random distributions.

    .venv/bin/python training/make_decoding_fixtures.py
"""
import json
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig, sample  # noqa: E402
from train_tokenizer import load_export  # noqa: E402

FIX = ROOT / "Tests" / "RestoreCoreTests" / "Fixtures"
OUT = FIX / "decoding"
SEED = 20261201


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    # 1. What the sampler commits: the hybrid fixture's conditional run, as TransformerTests replays it.
    tensors, meta = load_safetensors(FIX / "transformer" / "hybrid.safetensors")
    model = MaskedTransformer(TransformerConfig(**json.loads(meta["config"])))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    model.eval()
    load = lambda name: torch.from_numpy(np.load(FIX / "transformer" / name))  # noqa: E731
    tokens, masked = load("tokens.npy").long(), load("masked.npy").bool()
    uniform, gumbel = load("uniform.npy"), load("gumbel.npy")
    committed = np.zeros((tokens.shape[0], model.cfg.codebook_size), dtype=np.float32)

    def keep(positions, probs):
        committed[positions.numpy()] = probs.numpy()

    with torch.no_grad():
        out = sample(model, tokens, ~masked, cond=load("cond.npy"), iterations=uniform.shape[0], guidance=3.0, temperature=1.5,
                     patches=load("hybrid_patches.npy"), noise=lambda i: (uniform[i], gumbel[i]), on_commit=keep)
    assert (out.numpy() == np.load(FIX / "transformer" / "hybrid_sampled_cond.npy")).all()
    np.save(OUT / "hybrid_committed.npy", committed)                        # (N, K), zero rows where known
    print("committed", int((committed.sum(1) > 0).sum()), "of", int(masked.sum()), "masked positions")

    # 2. The tokenizer's expected-code decode.
    tcfg = TokenizerConfig(**json.loads(load_safetensors(FIX / "tokenizer" / "tiny.safetensors")[1]["config"]))
    tok = Tokenizer(tcfg)
    load_export(tok, FIX / "tokenizer" / "tiny.safetensors")
    tok.eval()
    rng = np.random.default_rng(SEED)
    codes = np.load(FIX / "tokenizer" / "tiny.noise.tokens.npy").astype(np.int64)          # (5, 16)
    generated = rng.random(codes.shape) < 0.4
    logits = rng.normal(0, 2, codes.shape + (tcfg.codebook_size,))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    probs = np.where(generated[..., None], probs, 0).astype(np.float32)
    mel = tok.decode_expected(torch.from_numpy(codes)[None], torch.from_numpy(probs)[None], torch.from_numpy(generated)[None])
    np.save(OUT / "tiny_expected_probs.npy", probs)                          # (5, C, K), zero where not generated
    np.save(OUT / "tiny_expected_decoded.npy", mel[0, 0].numpy().astype(np.float32))
    print("expected decode", mel.shape, "cells", int(generated.sum()))


if __name__ == "__main__":
    main()
