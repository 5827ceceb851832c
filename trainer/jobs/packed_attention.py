"""Attention for padding-free packed batches without flash attention: one causal SDPA call per example.

TRL's padding-free collator flattens a batch into one row and passes the examples' boundaries
(`cu_seq_lens_q`, as flash attention's variable-length kernels take them). Plain `sdpa` ignores them
and attends through a dense block-diagonal mask over the whole row: for a 512-token block of
70-token examples that is ~7x the attention work needed, and its backward was a fifth of a CPU
step. Here each example runs its own causal SDPA, so examples still cannot attend to each other
and no score outside an example is computed. Anything else (padded batches, generation) goes
through transformers' own `sdpa` path unchanged.
"""

from __future__ import annotations

import torch
from torch.nn import functional
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

PACKED_SDPA = "packed_sdpa"
MATH_KERNEL_MAX_TOKENS = 512
ALL_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH]


def packed_sdpa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    cu_seq_lens_q: torch.Tensor | None = None,
    cu_seq_lens_k: torch.Tensor | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    packed = (
        cu_seq_lens_q is not None
        and query.shape[0] == 1
        and query.shape[2] == key.shape[2]
        and (cu_seq_lens_k is None or torch.equal(cu_seq_lens_q, cu_seq_lens_k))
    )
    if not packed:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    # query (1, heads, tokens, dim); key/value (1, kv_heads, tokens, dim): grouped-query heads are shared.
    # `split`, not slicing: each slice's backward would write its gradient into a zeroed full-length tensor
    # (examples x tokens of work per layer, a third of a CPU step with 25 examples in a row).
    lengths = cu_seq_lens_q.diff().tolist()
    gqa = query.shape[1] != key.shape[1]
    # Short examples on CPU: the math kernel's backward was ~2x faster than the CPU flash kernel's (70-token
    # examples); long ones keep the memory-saving kernels, since math holds every (tokens x tokens) score for backward.
    short = query.device.type == "cpu" and max(lengths) <= MATH_KERNEL_MAX_TOKENS
    backends = [SDPBackend.MATH] if short else ALL_BACKENDS
    with sdpa_kernel(backends):
        pieces = [
            functional.scaled_dot_product_attention(
                q, k, v, dropout_p=dropout if module.training else 0.0, is_causal=True, scale=scaling, enable_gqa=gqa
            )
            for q, k, v in zip(query.split(lengths, dim=2), key.split(lengths, dim=2), value.split(lengths, dim=2))
        ]
    output = torch.cat(pieces, dim=2)
    return output.transpose(1, 2).contiguous(), None


def register() -> str:
    """Make `packed_sdpa` an attention implementation (masks as for `sdpa`); returns its name."""
    AttentionInterface.register(PACKED_SDPA, packed_sdpa_attention)
    AttentionMaskInterface.register(PACKED_SDPA, sdpa_mask)
    return PACKED_SDPA
