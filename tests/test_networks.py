import pytest
import torch

from mmgap.networks import ResidualMLP, default_depth, default_width


def inputs(b=7, dx=3, dy=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, dx, generator=g), torch.randn(b, generator=g) * 4,
            torch.randn(b, dy, generator=g))


def randomise(net):
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return net


def test_shapes_and_defaults():
    net = ResidualMLP(3, 2)
    z, lam, y = inputs()
    out = net(z, lam, y, torch.ones(7))
    assert out.shape == (7, 3)
    assert net.width == default_width(3, 2) == 128 and net.depth == default_depth(3, 2) == 2
    assert default_width(25, 25) == 128 and default_depth(25, 25) == 3
    # the output layer starts at zero
    assert torch.all(out == 0)


def test_width_and_depth_are_used():
    net = ResidualMLP(3, 2, width=32, depth=4)
    assert len(net.blocks) == 4
    assert net.embed_z.out_features == 32
    n_small = sum(p.numel() for p in ResidualMLP(3, 2, width=16, depth=1).parameters())
    n_big = sum(p.numel() for p in net.parameters())
    assert n_big > n_small


def test_keep_mask_withholds_y():
    net = randomise(ResidualMLP(3, 2))
    z, lam, y = inputs()
    y2 = torch.randn_like(y)
    keep0, keep1 = torch.zeros(7), torch.ones(7)
    # unconditional pass: y has no influence at all
    assert torch.equal(net(z, lam, y, keep0), net(z, lam, y2, keep0))
    # conditional pass depends on y, and differs from the unconditional one at y = 0
    assert not torch.allclose(net(z, lam, y, keep1), net(z, lam, y2, keep1))
    zero = torch.zeros_like(y)
    assert not torch.allclose(net(z, lam, zero, keep1), net(z, lam, zero, keep0))
    # mixed masks act per row
    mixed = torch.tensor([1.0, 0, 1, 0, 1, 0, 1])
    out = net(z, lam, y, mixed)
    assert torch.allclose(out[mixed == 1], net(z, lam, y, keep1)[mixed == 1])
    assert torch.allclose(out[mixed == 0], net(z, lam, y, keep0)[mixed == 0])


def test_context_slot():
    net = randomise(ResidualMLP(3, 2, dim_context=4))
    z, lam, y = inputs()
    c = torch.randn(7, 4)
    keep0 = torch.zeros(7)
    # the context is never withheld
    assert not torch.allclose(net(z, lam, y, keep0, c), net(z, lam, y, keep0, c + 1))
    with pytest.raises(ValueError, match="context"):
        net(z, lam, y, keep0)


def test_bad_sizes():
    with pytest.raises(ValueError, match="width"):
        ResidualMLP(1, 1, width=0)
