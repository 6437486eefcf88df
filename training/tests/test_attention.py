"""The transformer block's written-out attention is nn.MultiheadAttention's, on its own weights."""
import pathlib
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.transformer import Block, TransformerConfig  # noqa: E402


@pytest.mark.parametrize("width,heads", [(32, 2), (64, 4)])
def test_block_attention_equals_multihead_attention(width, heads):
    torch.manual_seed(width)
    block = Block(TransformerConfig(width=width, heads=heads, ffn=2 * width))
    with torch.no_grad():
        block.attn.in_proj_bias.normal_(std=0.1)
        block.attn.out_proj.bias.normal_(std=0.1)
    h = torch.randn(3, 17, width)
    want = block.attn(h, h, h, need_weights=False)[0]
    got = block.attention(h)
    assert got.shape == want.shape
    assert float((got - want).detach().norm() / want.detach().norm()) < 1e-5
    # Gradients reach the same weights.
    got.square().sum().backward()
    mine = {n: p.grad.clone() for n, p in block.attn.named_parameters()}
    block.zero_grad()
    want.square().sum().backward()
    for n, p in block.attn.named_parameters():
        assert float((mine[n] - p.grad).norm() / p.grad.norm()) < 1e-4, n


def test_block_attention_under_bf16_autocast_stays_close():
    torch.manual_seed(0)
    block = Block(TransformerConfig(width=64, heads=4, ffn=128))
    h = torch.randn(2, 40, 64)
    with torch.no_grad():
        want = block.attn(h, h, h, need_weights=False)[0]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = block.attention(h).float()
    assert float((got - want).norm() / want.norm()) < 2e-2
