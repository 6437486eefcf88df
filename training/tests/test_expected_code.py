"""The expected-code loss (restore_train.transformer.expected_code_loss): zero for a certain,
right prediction, about 1 for a uniform one over a codebook centred at its mean, larger for a
certain wrong one, and differentiable."""
import sys
import pathlib

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from restore_train.transformer import expected_code_loss  # noqa: E402


def setup():
    g = torch.Generator().manual_seed(0)
    book = torch.randn(64, 8, generator=g)
    targets = torch.randint(0, 64, (3, 20), generator=g)
    masked = torch.rand(3, 20, generator=g) < 0.5
    return book, targets, masked


def test_certain_right_prediction_scores_zero():
    book, t, m = setup()
    logits = torch.full((3, 20, 64), -1e4)
    logits.scatter_(2, t[..., None], 0.0)
    assert float(expected_code_loss(logits, t, m, book)) < 1e-6


def test_uniform_prediction_scores_about_one_and_a_wrong_certainty_more():
    book, t, m = setup()
    uniform = float(expected_code_loss(torch.zeros(3, 20, 64), t, m, book))
    assert 0.7 < uniform < 1.4, uniform
    wrong = torch.full((3, 20, 64), -1e4)
    wrong.scatter_(2, ((t + 1) % 64)[..., None], 0.0)
    assert float(expected_code_loss(wrong, t, m, book)) > uniform


def test_gradient_reaches_the_logits_of_masked_positions_only():
    book, t, m = setup()
    logits = torch.zeros(3, 20, 64, requires_grad=True)
    expected_code_loss(logits, t, m, book).backward()
    g = logits.grad.abs().sum(-1)
    assert (g[m] > 0).all() and (g[~m] == 0).all()
