"""irpipe.nn.heads: shapes, broadcasting against a loop, empty pipelines."""

from __future__ import annotations

import torch

from irpipe.nn.heads import CostHead, GlobalFeatures, PipelineEncoder, PolicyHead

H = 8


def test_reprs() -> None:
    assert repr(PipelineEncoder(5, hidden=H, max_len=4)) == "PipelineEncoder(5, hidden=8, max_len=4)"
    assert repr(CostHead(hidden=H)) == "CostHead(hidden=8, objectives=2)"
    assert repr(PolicyHead(3, hidden=H)) == "PolicyHead(3, hidden=8, objectives=2)"
    assert repr(GlobalFeatures(56, hidden=H)) == "GlobalFeatures(56, hidden=8)"


def test_pipeline_encoder() -> None:
    enc = PipelineEncoder(5, hidden=H, max_len=4).eval()
    actions = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 0], [5, 0, 0, 0], [1, 2, 3, 4]])
    out = enc(actions)
    assert out.shape == (4, H) and torch.isfinite(out).all()
    torch.testing.assert_close(out[1], enc.empty)                    # "verify": no actions
    wider = torch.cat([actions, torch.zeros(4, 3, dtype=torch.long)], dim=1)
    torch.testing.assert_close(enc(wider), out)                      # padding changes nothing
    longer = torch.tensor([[1, 2, 3, 4, 5, 5]])
    torch.testing.assert_close(enc(longer), out[3:])                 # truncated to max_len
    assert enc(torch.zeros(2, 0, dtype=torch.long)).shape == (2, H)
    alone = torch.cat([enc(actions[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(alone, out, atol=1e-6, rtol=0)


def test_pipeline_encoder_gradients() -> None:
    enc = PipelineEncoder(5, hidden=H)
    enc(torch.tensor([[1, 2, 0], [0, 0, 0]])).square().sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_cost_head_broadcast_equals_loop() -> None:
    head = CostHead(hidden=H, objectives=3).eval()
    m, p = torch.randn(2, H), torch.randn(4, H)
    out = head(m, p)
    assert out.shape == (2, 4, 3)
    loop = torch.stack([torch.stack([head.mlp(torch.cat([m[b], p[k], m[b] * p[k]]))
                                     for k in range(4)]) for b in range(2)])
    torch.testing.assert_close(out, loop)
    assert head(m, p[:0]).shape == (2, 0, 3)


def test_policy_head() -> None:
    head = PolicyHead(5, hidden=H, objectives=2)
    assert head(torch.randn(3, H)).shape == (3, 2, 5)
    assert head(torch.randn(0, H)).shape == (0, 2, 5)


def test_global_features() -> None:
    feats = GlobalFeatures(56, hidden=H)
    x = torch.randint(0, 10**6, (3, 56))
    out = feats(x)
    assert out.shape == (3, H) and torch.isfinite(out).all()
    x[0, 0] = -1                                                     # clamped, not -inf
    assert torch.isfinite(feats(x)).all()
    feats(x.float()).sum().backward()
    assert feats.linear.weight.grad is not None and feats.norm.weight.grad is not None
