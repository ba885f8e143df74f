"""The answerability head: the feature it reads and the logistic layer it ships as."""

from __future__ import annotations

import torch

from eval._reader_head import HeadConfig, fit_head, question_mean


def test_question_mean_reads_only_the_first_segment():
    hidden = torch.arange(2 * 5 * 2, dtype=torch.float32).reshape(2, 5, 2)
    types = torch.tensor([[0, 0, 1, 1, 1], [0, 0, 0, 1, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])  # the second row's last position is padding
    got = question_mean(hidden, types, mask)
    assert torch.allclose(got[0], hidden[0, :2].mean(0))
    assert torch.allclose(got[1], hidden[1, :3].mean(0))


def test_head_learns_a_separable_rule_and_folds_its_scaling_into_the_layer():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g) * torch.tensor([1.0, 10.0, 0.1, 1.0, 1.0, 1.0]) + 3.0
    y = x[:, 1] > 3.0  # only the second feature (on its own scale) decides
    layer, stats = fit_head(x, y, HeadConfig(l2=1e-4))
    logits = layer(x).squeeze(-1)
    assert ((logits > 0) == y).float().mean() > 0.97
    assert stats["train_accuracy"] > 0.97
    assert abs(layer.weight[0, 1]) == max(abs(w) for w in layer.weight[0])
