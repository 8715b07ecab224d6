"""irpipe.nn.transformer: shapes, padding chunks, batching agreement, chunk_tokens."""

from __future__ import annotations

import pytest
import torch

from irpipe.nn.transformer import TokenEncoder, TokenEncoding, chunk_tokens

V, H, L = 50, 8, 6


def encoder(**kw) -> TokenEncoder:
    return TokenEncoder(V, hidden=H, d_model=16, heads=2, layers=1, ff=32, chunk_len=L, **kw).eval()


def tokens() -> torch.Tensor:
    """Two modules of three chunks: module 0 has an empty middle chunk, module 1 none."""
    t = torch.zeros(2, 3, L, dtype=torch.long)
    t[0, 0, :4] = torch.tensor([5, 6, 7, 8])
    t[0, 2, :2] = torch.tensor([9, 3])
    t[1, 0, :6] = torch.arange(10, 16)
    t[1, 1, :1] = 4
    t[1, 2, :3] = torch.tensor([20, 21, 22])
    return t


def test_repr() -> None:
    assert repr(TokenEncoder(100, hidden=8, d_model=16, chunk_len=32)) == \
        "TokenEncoder(100, hidden=8, d_model=16, chunk_len=32)"


def test_shapes_and_mask() -> None:
    out = encoder()(tokens())
    assert isinstance(out, TokenEncoding)
    assert out.module.shape == (2, H) and out.function.shape == (2, 3, H)
    assert out.function_mask.tolist() == [[True, False, True], [True, True, True]]
    assert (out.function[0, 1] == 0).all() and torch.isfinite(out.function).all()


def test_padding_chunks_change_nothing() -> None:
    enc, t = encoder(), tokens()
    padded = torch.zeros(2, 6, L, dtype=torch.long)
    padded[:, [0, 2, 5]] = t                       # empty chunks before, between and after
    a, b = enc(t), enc(padded)
    torch.testing.assert_close(a.module, b.module, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.function, b.function[:, [0, 2, 5]], atol=1e-5, rtol=0)
    trimmed = enc(t[:1, :, :4])                    # module 0 without its trailing token padding
    torch.testing.assert_close(trimmed.module[0], a.module[0], atol=1e-5, rtol=0)


def test_batch_matches_single() -> None:
    enc, t = encoder(), tokens()
    both = enc(t).module
    alone = torch.cat([enc(t[i : i + 1]).module for i in range(2)])
    torch.testing.assert_close(both, alone, atol=1e-5, rtol=0)


def test_empty_module_is_zero_and_gradients_are_finite() -> None:
    enc = TokenEncoder(V, hidden=H, d_model=16, heads=2, layers=1, ff=32, chunk_len=L, dropout=0.1)
    t = tokens()
    t = torch.cat([t, torch.zeros(1, 3, L, dtype=torch.long)])       # module 2: nothing at all
    out = enc(t)
    assert (out.module[2] == 0).all() and not out.function_mask[2].any()
    (out.module.square().sum() + out.function.square().sum()).backward()
    assert enc.embed.weight.grad is not None and enc.position.grad is not None
    assert enc.encoder.layers[0].self_attn.in_proj_weight.grad is not None
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert (enc(torch.zeros(2, 4, L, dtype=torch.long)).module == 0).all()   # no chunk at all


def test_too_long_chunks_are_refused() -> None:
    with pytest.raises(ValueError, match="chunk_len"):
        encoder()(torch.ones(1, 1, L + 1, dtype=torch.long))


def test_chunk_tokens_truncates_and_pads() -> None:
    out = chunk_tokens([[1, 2, 3, 4, 5], [], [7]], max_chunks=4, chunk_len=3)
    assert out.dtype == torch.long and out.tolist() == [[1, 2, 3], [0, 0, 0], [7, 0, 0], [0, 0, 0]]


def test_chunk_tokens_subsamples_evenly_in_order() -> None:
    functions = [[i + 1] for i in range(10)]
    out = chunk_tokens(functions, max_chunks=4, chunk_len=2)
    assert out[:, 0].tolist() == [1, 4, 7, 10]     # functions 0, 3, 6, 9: first and last kept
    assert chunk_tokens(functions, max_chunks=1, chunk_len=2).tolist() == [[1, 0]]
    picked = chunk_tokens([[i + 1] for i in range(100)], max_chunks=7, chunk_len=1)[:, 0]
    assert picked.tolist() == sorted(set(picked.tolist())) and len(picked) == 7
    assert chunk_tokens(functions, max_chunks=0, chunk_len=2).shape == (0, 2)


def test_chunk_tokens_refuses_padding_ids() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        chunk_tokens([[3, 0, 2]], max_chunks=1, chunk_len=4)
