"""The training variants (restore_train/augment.py): what moves, what stays silence."""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.augment import VARIANTS, real_columns, variant_mel  # noqa: E402


def _mel(seed=0):
    rng = np.random.default_rng(seed)
    mel = rng.uniform(-0.9, 0.9, (2, 80, 848)).astype(np.float16)
    mel[:, :, 800:] = -1                                  # padding silence at the end
    mel[:, 70:, :] = -1                                   # a band-limited top
    return mel


def test_variant_zero_is_the_clip():
    mel = _mel()
    assert VARIANTS[0] == (0, 0.0)
    np.testing.assert_array_equal(variant_mel(mel, 0, 0.0, -100.0), mel)


def test_shift_moves_audio_earlier_and_pads_with_silence():
    mel = _mel()
    out = variant_mel(mel, 8, 0.0, -100.0)
    np.testing.assert_array_equal(out[..., :840], mel[..., 8:])
    assert (out[..., 840:] == -1).all()
    assert out.dtype == mel.dtype and out.shape == mel.shape


def test_gain_moves_levels_by_decibels_and_keeps_silence_silent():
    mel = _mel()
    up = variant_mel(mel, 0, 6.0, -100.0)
    step = 2 * 6.0 / 120                                  # [-1, 1] spans 120 dB
    sound = mel > -1
    np.testing.assert_allclose(up[sound].astype(np.float32), np.clip(mel[sound].astype(np.float32) + step, -1, 1), atol=1e-3)
    assert (up[~sound] == -1).all()                       # the band-limited top and padding stay floor
    down = variant_mel(mel, 0, -6.0, -100.0)
    assert (down <= mel).all() and (down >= -1).all()


def test_real_columns_follow_the_shift():
    assert real_columns(10.0, 0) == 53
    assert real_columns(1.0, 0) == 6                      # 86.1 frames
    assert real_columns(1.0, 12) == 5                     # 74.1 frames
    assert real_columns(0.01, 12) == 1                    # never fewer than one column


def _corpus(tmp_path, clips=6):
    """A corpus folder with stored token grids and two variant files, as tokenize_corpus.py writes them."""
    import json
    cache = tmp_path / "cache"
    (cache / "variants").mkdir(parents=True)
    meta = {"tokenizer_sha256": "abc", "clips": clips}
    (cache / "tokens.json").write_text(json.dumps(meta))
    rng = np.random.default_rng(1)
    stored = rng.integers(0, 1024, (clips, 5, 53)).astype(np.int16)
    variants = []
    for k, (shift, gain) in enumerate([(8, 0.0), (0, -6.0)]):
        name = f"shift{shift}_gain{gain:+g}"
        np.save(cache / "variants" / f"{name}.npy", stored + k + 1)
        variants.append({"name": name, "shift": shift, "gain_db": gain})
    (cache / "variants" / "variants.json").write_text(json.dumps({"meta": meta, "variants": variants}))
    lines = [{"duration": d} for d in (10.0, 1.0, 2.5, 0.3, 10.0, 6.0)][:clips]
    return stored, lines


def test_training_draws_whole_variants_with_their_real_audio(tmp_path):
    import torch
    from train_transformer import Variants
    stored, lines = _corpus(tmp_path)
    seq = torch.from_numpy(stored.astype(np.int64)).permute(0, 2, 1).reshape(len(lines), -1)   # column-major
    v = Variants(tmp_path, seq, lines)
    assert v.specs == [(0, 0.0), (8, 0.0), (0, -6.0)] and v.seq.shape == (3, 6, 265)
    torch.testing.assert_close(v.seq[0].long(), seq)
    torch.testing.assert_close(v.seq[1].long(), seq + 1)                 # same column-major order as the stored grids
    # The 1 s clip keeps 6 columns as stored and 5 once moved 8 frames earlier (78.1 frames).
    assert int(v.real[0, 1].sum()) == 6 * 5 and int(v.real[1, 1].sum()) == 5 * 5 and int(v.real[2, 1].sum()) == 6 * 5
    g = torch.Generator().manual_seed(0)
    idx = torch.arange(6).repeat(50)
    assert (v.draw(idx, 0.0, g) == 0).all()
    which = v.draw(idx, 0.5, g)
    assert 0.3 < float((which > 0).float().mean()) < 0.7 and set(which.tolist()) == {0, 1, 2}
    mel = _mel()
    moved = v.mel(mel, torch.tensor([0, 1]), -100.0)
    np.testing.assert_array_equal(moved[0], mel[0])
    np.testing.assert_array_equal(moved[1], variant_mel(mel[1], 8, 0.0, -100.0))


def test_training_refuses_variants_of_another_tokenizer(tmp_path):
    import json
    import pytest
    import torch
    from train_transformer import Variants
    stored, lines = _corpus(tmp_path)
    (tmp_path / "cache" / "tokens.json").write_text(json.dumps({"tokenizer_sha256": "other", "clips": 6}))
    with pytest.raises(SystemExit, match="made by another tokenizer"):
        Variants(tmp_path, torch.zeros(6, 265, dtype=torch.long), lines)


def test_online_variants_are_the_offline_grids(tmp_path):
    """--augment-online tokenizes a drawn variant as tokenize_corpus.py --variants does: the same
    grid for the same clip and variant, and the same data hash."""
    import json
    import torch
    from tokenize_corpus import tokenize
    from train_transformer import MelStore, OnlineVariants, Variants, data_hash
    root = pathlib.Path(__file__).resolve().parents[2]
    export = root / "training" / "campaign" / "tokenizer-v2.safetensors"
    (tmp_path / "shards").mkdir()
    (tmp_path / "cache" / "variants").mkdir(parents=True)
    rng = np.random.default_rng(3)
    mel = np.clip(rng.normal(-0.3, 0.3, (3, 80, 848)), -1, 1).astype(np.float16)
    mel[1, :, 400:] = -1                                  # a clip that ends early
    np.save(tmp_path / "shards" / "shard-00000.npy", mel)
    lines = [{"shard": 0, "index": i, "duration": d} for i, d in enumerate((10.0, 4.5, 10.0))]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    from restore_train.tokenizer import Tokenizer, TokenizerConfig
    from restore_train.safetensors_io import load_safetensors
    from train_tokenizer import load_export
    cfg = TokenizerConfig(**json.loads(load_safetensors(export)[1]["config"]))
    tok = Tokenizer(cfg)
    load_export(tok, export)
    tok.eval()
    stored = tokenize(tok, tmp_path, lines, cfg.rows)
    meta = {"tokenizer_sha256": "e", "clips": 3}
    (tmp_path / "cache" / "tokens.json").write_text(json.dumps(meta))
    variants = []
    for shift, gain in VARIANTS[1:]:
        name = f"shift{shift}_gain{gain:+g}"
        np.save(tmp_path / "cache" / "variants" / f"{name}.npy",
                tokenize(tok, tmp_path, lines, cfg.rows, transform=lambda m, s=shift, g=gain: variant_mel(m, s, g, cfg.db_min)))
        variants.append({"name": name, "shift": shift, "gain_db": gain})
    (tmp_path / "cache" / "variants" / "variants.json").write_text(json.dumps({"meta": meta, "variants": variants}, indent=1))
    seq = torch.from_numpy(stored.astype(np.int64)).permute(0, 2, 1).reshape(3, -1)
    offline = Variants(tmp_path, seq, lines)
    online = OnlineVariants(tmp_path, seq, lines, export, MelStore(tmp_path, lines))
    assert online.specs == offline.specs and online.names == offline.names
    torch.testing.assert_close(online.real, offline.real)
    idx = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    which = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    got, want = online.tokens(idx, which), offline.tokens(idx, which)
    assert (got != seq[idx]).any()                        # the variants are not the stored grids
    assert float((got == want).float().mean()) >= 0.999   # conv round-off may flip a near-tie, nothing more
    assert data_hash(tmp_path, online) == data_hash(tmp_path, offline)
