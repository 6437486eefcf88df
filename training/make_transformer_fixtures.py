#!/usr/bin/env python3
"""Golden fixtures for the Swift transformer and sampler: a tiny random transformer
(committed, f32), its logits for a conditional and an unconditional row, and sampler
runs with injected uniform and Gumbel noise (which the Swift test replays); the same for
a tiny hybrid model (patch conditioning) given mel patches (hybrid_*).

    .venv/bin/python training/make_transformer_fixtures.py
"""
import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train.safetensors_io import save_safetensors  # noqa: E402
from restore_train.transformer import MaskedTransformer, TransformerConfig, sample  # noqa: E402

OUT = ROOT / "Tests" / "RestoreCoreTests" / "Fixtures" / "transformer"
SEED = 20261122


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    cfg = TransformerConfig(codebook_size=32, rows=5, columns=4, width=16, depth=2, heads=2, ffn=32)
    model = MaskedTransformer(cfg)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    model.eval()
    save_safetensors(OUT / "tiny.safetensors", {k: v.detach().numpy() for k, v in model.state_dict().items()},
                     {"format": "restore.transformer", "config": cfg.to_json()})
    n = cfg.positions
    tokens = rng.integers(0, cfg.codebook_size, n)
    masked = rng.random(n) < 0.5
    cond = rng.standard_normal(cfg.cond_dim).astype(np.float32)
    with torch.no_grad():
        t = torch.from_numpy(tokens)[None].repeat(2, 1)
        m = torch.from_numpy(masked)[None].repeat(2, 1)
        c = torch.stack([torch.from_numpy(cond), model.uncond_embedding.detach()])
        logits = model(t, m, c).numpy()
    np.save(OUT / "tokens.npy", tokens.astype(np.float32))
    np.save(OUT / "masked.npy", masked.astype(np.float32))
    np.save(OUT / "cond.npy", cond)
    np.save(OUT / "logits.npy", logits.astype(np.float32))             # (2, N, K)

    iterations = 6
    uniform = rng.random((iterations, n)).astype(np.float32)
    gumbel = (-np.log(-np.log(np.clip(rng.random((iterations, n)), 1e-20, 1)))).astype(np.float32)
    np.save(OUT / "uniform.npy", uniform)
    np.save(OUT / "gumbel.npy", gumbel)
    known = ~masked
    for name, c in (("cond", torch.from_numpy(cond)), ("uncond", None)):
        out = sample(model, torch.from_numpy(tokens), torch.from_numpy(known), cond=c, iterations=iterations,
                     guidance=3.0, temperature=1.5,
                     noise=lambda i: (torch.from_numpy(uniform[i]), torch.from_numpy(gumbel[i])))
        np.save(OUT / f"sampled_{name}.npy", out.numpy().astype(np.float32))
        print(name, "changed", int((out.numpy() != tokens).sum()), "of", int(masked.sum()), "masked")

    # Hybrid conditioning: known positions also read a projection of their (here 8-value) patch.
    torch.manual_seed(SEED + 1)
    hcfg = TransformerConfig(codebook_size=32, rows=5, columns=4, width=16, depth=2, heads=2, ffn=32,
                             patch_conditioning=True, patch_size=8)
    hybrid = MaskedTransformer(hcfg)
    with torch.no_grad():
        for _, p in hybrid.named_parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    hybrid.eval()
    save_safetensors(OUT / "hybrid.safetensors", {k: v.detach().numpy() for k, v in hybrid.state_dict().items()},
                     {"format": "restore.transformer", "config": hcfg.to_json()})
    patches = rng.uniform(-1, 1, (n, hcfg.patch_size)).astype(np.float32)
    patches[rng.random(n) < 0.3] = 0                    # known positions without a true patch
    np.save(OUT / "hybrid_patches.npy", patches)
    with torch.no_grad():
        t = torch.from_numpy(tokens)[None].repeat(2, 1)
        m = torch.from_numpy(masked)[None].repeat(2, 1)
        c = torch.stack([torch.from_numpy(cond), hybrid.uncond_embedding.detach()])
        pt = torch.from_numpy(patches)[None].repeat(2, 1, 1)
        np.save(OUT / "hybrid_logits.npy", hybrid(t, m, c, patches=pt).numpy().astype(np.float32))
    out = sample(hybrid, torch.from_numpy(tokens), torch.from_numpy(known), cond=torch.from_numpy(cond), iterations=iterations,
                 guidance=3.0, temperature=1.5, patches=torch.from_numpy(patches),
                 noise=lambda i: (torch.from_numpy(uniform[i]), torch.from_numpy(gumbel[i])))
    np.save(OUT / "hybrid_sampled_cond.npy", out.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
