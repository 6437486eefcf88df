"""The tokenizer's contracts (docs/engine.md §2, issue 16): the shipped v1 loads and encodes as the
Swift parity fixtures record; every study variant keeps the encoder frequency-local (a token
and its level codes depend only on their own row's 16 mel bins); the v1 config and export
are unchanged by the v2 fields; candidates train, resume and export."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from restore_train.safetensors_io import load_safetensors  # noqa: E402
from restore_train.tokenizer import Tokenizer, TokenizerConfig  # noqa: E402
from tokenizer_study import CANDIDATES, candidate_config  # noqa: E402

FIX = ROOT.parent / "Tests" / "RestoreCoreTests" / "Fixtures" / "tokenizer"
SHIPPED = ROOT.parent / "Models" / "default" / "tokenizer.safetensors"
SMALL = {"width": 16, "code_dim": 8}


def small(name: str) -> Tokenizer:
    cfg = candidate_config(name)
    cfg.width, cfg.code_dim = SMALL["width"], SMALL["code_dim"]
    if cfg.codebook_size > 64:
        cfg.codebook_size = 64
    torch.manual_seed(0)
    m = Tokenizer(cfg)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    x = torch.rand(2, 1, 80, 64) * 2 - 1
    m.train()
    m.forward_levels(x, 0)          # data-initialised codebooks
    return m.eval()


def test_v1_config_json_unchanged():
    _, meta = load_safetensors(FIX / "tiny.safetensors")
    assert TokenizerConfig(**json.loads(meta["config"])).to_json() == meta["config"]
    assert "variant" not in TokenizerConfig().to_json()


def test_v1_export_keys_unchanged():
    tensors, _ = load_safetensors(FIX / "tiny.safetensors")
    m = Tokenizer(TokenizerConfig(width=8, code_dim=4, codebook_size=16))
    assert sorted(m.export_tensors()) == sorted(tensors)


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped tokenizer")
def test_shipped_matches_swift_fixtures():
    from train_tokenizer import load_any
    m = load_any(SHIPPED)
    for name in ("chirp", "noise"):
        x = np.load(FIX / f"{name}.input.npy")
        f = x.shape[1]
        xp = np.full((80, (f + 15) // 16 * 16), -1.0, np.float32)
        xp[:, :f] = x
        codes = m.encode(torch.from_numpy(xp)[None, None])
        want = np.load(FIX / f"default.{name}.tokens.npy")
        assert (codes[0].numpy() == want).mean() > 0.99
        y = m.decode(codes)[0, 0, :, :f].numpy()
        assert np.abs(y - np.load(FIX / f"default.{name}.decoded.npy")).max() < 1e-3


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_encoder_is_frequency_local(name):
    """Changing the bins of rows above r leaves every level's codes of rows ≤ r identical."""
    m = small(name)
    torch.manual_seed(1)
    x = torch.rand(1, 1, 80, 96) * 2 - 1
    base = m.encode_levels(x)
    for r in range(4):
        y = x.clone()
        y[:, :, (r + 1) * 16:] = torch.rand_like(y[:, :, (r + 1) * 16:]) * 2 - 1
        for a, b in zip(base, m.encode_levels(y)):
            assert torch.equal(a[:, :r + 1], b[:, :r + 1]), (name, r)
    # and the grid is rows × frames/16, one grid per level
    assert [tuple(l.shape) for l in base] == [(1, 5, 6)] * m.cfg.levels


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_levels_round_trip(name):
    m = small(name)
    x = torch.rand(1, 1, 80, 64) * 2 - 1
    levels = m.encode_levels(x)
    assert all(int(l.max()) < k for l, k in zip(levels, m.cfg.level_sizes))
    y = m.decode_levels(levels)
    assert y.shape == x.shape and torch.isfinite(y).all()
    if m.cfg.levels == 1:
        assert torch.equal(m.encode(x), levels[0])


def test_gain_shape_level_is_the_patch_mean():
    m = small("gs")
    x = torch.full((1, 1, 80, 32), -1.0)
    x[:, :, 16:32, 16:32] = 0.0                  # row 1, column 1 at level 0
    lv = m.encode_levels(x)[1]
    assert lv[0, 0, 0] == 0 and lv[0, 1, 1] in (15, 16)


def _fake_corpus(d: pathlib.Path):
    (d / "shards").mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.save(d / "shards" / "shard-00000.npy", (rng.random((6, 80, 848)) * 2 - 1).astype(np.float16))
    lines = [{"split": "validation" if i < 2 else "train", "kind": "music", "shard": 0, "index": i, "duration": 10.0} for i in range(6)]
    (d / "manifest.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped tokenizer")
def test_candidate_trains_resumes_and_exports(tmp_path):
    _fake_corpus(tmp_path / "data")
    cmd = [sys.executable, str(ROOT / "train_tokenizer.py"), "--candidate", "gs", "--minutes", "0.05", "--batch", "2",
           "--frames", "64", "--threads", "1", "--val-clips", "2", "--bf16", "--data", str(tmp_path / "data"),
           "--checkpoints", str(tmp_path / "ck")]
    subprocess.run(cmd, check=True, capture_output=True)
    ck = torch.load(tmp_path / "ck" / "tokenizer-gs.pt", weights_only=False)
    first = ck["step"]
    subprocess.run(cmd, check=True, capture_output=True)
    assert torch.load(tmp_path / "ck" / "tokenizer-gs.pt", weights_only=False)["step"] > first
    from restore_train.history import read_validation
    history = read_validation(tmp_path / "ck" / "tokenizer-gs.validation.jsonl")
    assert [h["final"] for h in history] == [True, True] and history[1]["step"] > history[0]["step"]
    assert "val_l1" in history[0]["metrics"]
    tensors, meta = load_safetensors(tmp_path / "ck" / "tokenizer-gs.safetensors")
    assert meta["format"] == "restore.tokenizer.candidate" and "gain_embedding.weight" in tensors
    from train_tokenizer import load_any
    m = load_any(tmp_path / "ck" / "tokenizer-gs.safetensors")
    assert m.cfg.variant == "gs"
