"""A transformer encoder over IR tokens, one chunk per function.

Only non-empty chunks go through the transformer (gathered, encoded, scattered
back), so padding chunks cost nothing and never produce NaN.

    USAGE: tokens = torch.stack([chunk_tokens(fns, 32, 128) for fns in modules])
           enc = TokenEncoder(vocab_size); out = enc(tokens)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from irpipe.data.examples import chunk_ids
from irpipe.errors import ModelError


@dataclass
class TokenEncoding:
    """What :class:`TokenEncoder` returns: ``module`` [B, hidden], ``function``
    [B, C, hidden] (zeros for empty chunks) and ``function_mask`` [B, C]
    (True where the chunk has at least one token)."""

    module: Tensor
    function: Tensor
    function_mask: Tensor


def chunk_tokens(functions: list[list[int]], max_chunks: int, chunk_len: int) -> Tensor:
    """Pack per-function token ids into a ``[max_chunks, chunk_len]`` LongTensor.

    Each function's ids are truncated to ``chunk_len`` and right-padded with 0.
    The ids must already be >= 1: 0 is reserved for padding (a tokenizer's ids
    shifted by one), and a ValueError says so otherwise.  With more than
    ``max_chunks`` functions an evenly spaced subset is kept, first and last
    included, in their original order (deterministic); unused rows stay all 0,
    which :class:`TokenEncoder` treats as empty chunks.  (The numpy packing is
    :func:`irpipe.data.examples.chunk_ids`.)
    """
    return torch.from_numpy(chunk_ids(functions, max_chunks, chunk_len))


class TokenEncoder(nn.Module):
    r"""A pre-norm transformer encoder over IR tokens, one chunk per function,
    pooled into function and module embeddings.

    A chunk's embedding is the mean of its encoded tokens, projected to
    ``hidden``; the module's is ``Linear(cat(mean, max))`` over its non-empty
    chunks (zeros if it has none).  Token id 0 is padding; an all-zero chunk
    is empty and is never run through the transformer.

    Args:
        vocab_size (int): number of token ids, padding (0) included.
        hidden (int, optional): output width. (default: :obj:`64`)
        d_model (int, optional): transformer width. (default: :obj:`128`)
        heads (int, optional): attention heads. (default: :obj:`4`)
        layers (int, optional): transformer layers. (default: :obj:`2`)
        ff (int, optional): feed-forward width. (default: :obj:`256`)
        chunk_len (int, optional): longest chunk, the size of the learned
            positional embedding. (default: :obj:`128`)
        dropout (float, optional): dropout inside the transformer.
            (default: :obj:`0.0`)

    Shapes:
        - **input:** tokens :math:`(B, C, L)` with :math:`L \le` ``chunk_len``
        - **output:** :class:`TokenEncoding`: ``module`` :math:`(B, H)`,
          ``function`` :math:`(B, C, H)`, ``function_mask`` :math:`(B, C)`
    """

    def __init__(self, vocab_size: int, hidden: int = 64, d_model: int = 128, heads: int = 4,
                 layers: int = 2, ff: int = 256, chunk_len: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        self.vocab_size, self.hidden, self.d_model, self.chunk_len = vocab_size, hidden, d_model, chunk_len
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.position = nn.Parameter(torch.randn(chunk_len, d_model) * 0.02)   # [chunk_len, D]
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        # pre-norm layers need a final norm; nested tensors do not apply to norm_first
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.chunk = nn.Linear(d_model, hidden)
        self.module = nn.Linear(2 * hidden, hidden)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.vocab_size}, hidden={self.hidden}, "
                f"d_model={self.d_model}, chunk_len={self.chunk_len})")

    def forward(self, tokens: Tensor) -> TokenEncoding:
        B, C, L = tokens.shape
        if L > self.chunk_len:
            raise ModelError(f"chunks of {L} tokens exceed chunk_len={self.chunk_len}")
        flat = tokens.reshape(B * C, L)                              # [B*C, L]
        pad = flat == 0                                              # [B*C, L]
        mask = ~pad.all(dim=1)                                       # [B*C] non-empty chunks
        rows = mask.nonzero().squeeze(1)                             # [n]
        function = self.embed.weight.new_zeros(B * C, self.hidden)   # [B*C, H]
        if rows.numel():
            x = self.embed(flat[rows]) + self.position[:L]           # [n, L, D]
            x = self.encoder(x, src_key_padding_mask=pad[rows])      # [n, L, D]
            keep = ~pad[rows].unsqueeze(-1)                          # [n, L, 1]
            x = x.masked_fill(~keep, 0.0).sum(1) / keep.sum(1)       # [n, D], >= 1 token each
            function = function.index_copy(0, rows, self.chunk(x))  # [B*C, H]
        function, mask = function.view(B, C, self.hidden), mask.view(B, C)

        m = mask.unsqueeze(-1)                                       # [B, C, 1]
        count = m.sum(1)                                             # [B, 1]
        mean = (function * m).sum(1) / count.clamp(min=1)            # [B, H]
        top = function.masked_fill(~m, float("-inf")).amax(1) if C else mean
        has = count > 0                                              # [B, 1]
        top = torch.where(has, top, torch.zeros_like(top))           # no -inf into the Linear
        module = self.module(torch.cat([mean, top], dim=-1))         # [B, H]
        module = torch.where(has, module, torch.zeros_like(module))
        return TokenEncoding(module, function, mask)
