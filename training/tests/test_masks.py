"""The training masks of train_transformer.py: each objective's mask has the shape and share
it promises."""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from train_transformer import band_mask, generation_mask, short_span_mask  # noqa: E402


def test_generation_mask_masks_nine_tenths_or_more():
    g = torch.Generator().manual_seed(0)
    m = generation_mask(64, 5, 53, generator=g)
    share = m.float().mean(1)
    assert m.shape == (64, 265)
    assert bool((share >= 0.9 - 1 / 265).all()) and bool((share <= 1).all())
    # Uniform over [0.9, 1]: the mean share is near 0.95, and some clips are wholly masked.
    assert abs(float(share.mean()) - 0.95) < 0.01
    assert bool((m.sum(1) == 265).any()) or float(share.max()) > 0.99


def test_short_spans_are_whole_columns_and_band_masks_whole_rows():
    g = torch.Generator().manual_seed(1)
    s = short_span_mask(16, 5, 53, generator=g).reshape(16, 53, 5)
    assert bool((s.all(2) == s.any(2)).all())                      # a column is all masked or not at all
    cols = s.any(2).sum(1)
    assert bool((cols >= 1).all()) and bool((cols <= 12).all())
    b = band_mask(16, 5, 53, generator=g).reshape(16, 53, 5)
    assert bool((b == b[:, :1, :]).all())                          # the same rows in every column
    assert bool(b[:, 0, 4].all()) and not bool(b[:, 0, 0].any())   # the top row always, the bottom never
