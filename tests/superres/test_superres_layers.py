"""Shared super-resolution blocks: subpixel/superpixel shuffles and the TFiLM layer."""

from __future__ import annotations

import pytest
import torch

from audiorestore.models.layers import SubPixel1d, SuperPixel1d, TFiLM, subpixel_shuffle, superpixel


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_subpixel_and_superpixel_are_exact_inverses(factor: int) -> None:
    x = torch.randn(2, 3 * factor, 10)
    y = torch.randn(2, 3, 10 * factor)
    assert subpixel_shuffle(x, factor).shape == (2, 3, 10 * factor)
    assert torch.equal(superpixel(subpixel_shuffle(x, factor), factor), x)
    assert torch.equal(subpixel_shuffle(superpixel(y, factor), factor), y)
    assert torch.equal(SuperPixel1d(factor)(SubPixel1d(factor)(x)), x)


def test_subpixel_interleaves_channel_groups_in_time() -> None:
    # channels (c * r + i) -> sample i of each group: [a0 a1 | b0 b1] -> a0 b0 a1 b1
    x = torch.tensor([[[1.0, 2.0], [10.0, 20.0]]])
    assert subpixel_shuffle(x, 2).tolist() == [[[1.0, 10.0, 2.0, 20.0]]]


def test_shuffles_reject_bad_shapes_with_the_shape_in_the_message() -> None:
    with pytest.raises(ValueError, match="multiple of the factor"):
        subpixel_shuffle(torch.randn(1, 3, 4), 2)
    with pytest.raises(ValueError, match="multiple of the factor"):
        superpixel(torch.randn(1, 2, 5), 2)
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        superpixel(torch.randn(4, 5), 2)


@pytest.mark.parametrize("length", [1, 7, 8, 64, 129])
def test_tfilm_keeps_shapes_for_several_lengths(length: int) -> None:
    layer = TFiLM(6, block_size=8)
    torch.nn.init.normal_(layer.proj.weight, std=0.5)  # non-trivial modulation
    x = torch.randn(3, 6, length)
    y = layer(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert not torch.allclose(y, x)


def test_tfilm_starts_as_identity_and_modulates_per_block() -> None:
    layer = TFiLM(4, block_size=5)
    x = torch.randn(2, 4, 23)
    assert torch.equal(layer(x), x)  # zero read-out: gamma = 1, beta = 0
    torch.nn.init.normal_(layer.proj.bias, std=1.0)
    layer.rnn.weight_ih_l0.data.zero_()  # LSTM output then independent of the input ...
    layer.rnn.weight_hh_l0.data.zero_()  # ... and of the block index: one (gamma, beta) for all blocks
    with torch.no_grad():
        y = layer(x)
    gamma, beta = 1 + layer.proj.bias[:4], layer.proj.bias[4:]
    expected = gamma[None, :, None] * x + beta[None, :, None]
    assert torch.allclose(y, expected, atol=1e-6)


def test_tfilm_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match=r"\(batch, 4, time\)"):
        TFiLM(4)(torch.randn(1, 3, 16))
