"""Lesson 6: a real decoder-only language model (SmolLM2-135M-Instruct) writing text.

The forward pass of a Llama-style decoder, written out with the lessons' own pieces
(`scaled_dot_product`, `split_heads`, `merge_heads`), so the attention weights a student sees are
computed by the function lesson 3 teaches. What is new compared with lessons 1-5:
- a causal mask: position p only sees positions 0..p;
- RoPE: queries and keys are rotated by an angle that grows with the position, instead of adding
  a learned position vector to the input;
- RMSNorm instead of LayerNorm (no mean subtracted, no bias);
- grouped-query attention: 9 query heads share 3 key/value heads (query head i uses key/value
  head i // 3), so the KV cache is 3 times smaller;
- a SwiGLU MLP: down(silu(gate(x)) * up(x));
- tied embeddings: the output layer reuses the token embedding matrix.

The weights stay 4-bit (as stored in the GGUF file) and are unpacked one layer at a time into
buffers allocated once, so the model costs about the size of its file in memory.

Shape legend: L layers (30), h query heads (9), g key/value heads (3), hd head size (64),
C model width (576 = h * hd), F MLP width (1536), V vocabulary (49152), T tokens,
T_new tokens fed in this step, T_total tokens seen so far (cache + new).
Weights are in nn.Linear orientation: W (out, in), so a projection is x @ W.T.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from attention.gguf import (
    BLOCK_LAYOUT,
    GGML_Q4_1,
    GGUFFile,
    PackedQ4_1,
    Q4_1Scratch,
    TensorInfo,
    dequantize_into,
)
from attention.scaled import merge_heads, scaled_dot_product, split_heads
from attention.simple import AttentionSteps

MAX_NEW_TOKENS = 100  # the lesson's limit on generated tokens
MAX_PROMPT_TOKENS = 200  # the lesson's limit on prompt tokens
LM_HEAD_CHUNK = 2048  # vocabulary rows unpacked at a time for the output layer
DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
FLOAT32_BYTES = 4


# ---------------------------------------------------------------------------------------------
# Configuration and weights


@dataclass(frozen=True)
class DecoderConfig:
    """The numbers the forward pass needs, read from the GGUF metadata (`llama.*` keys)."""

    num_layers: int  # L
    d_model: int  # C
    num_heads: int  # h
    num_kv_heads: int  # g
    head_dim: int  # hd
    ffn_dim: int  # F
    vocab_size: int  # V
    rope_theta: float
    rms_norm_eps: float
    context_length: int
    bos_token_id: int
    eos_token_id: int

    @classmethod
    def from_metadata(cls, metadata: dict) -> DecoderConfig:
        arch = metadata["general.architecture"]
        if arch != "llama":
            raise ValueError(f"expected a llama-architecture GGUF file, got {arch!r}")
        num_heads = int(metadata["llama.attention.head_count"])
        d_model = int(metadata["llama.embedding_length"])
        return cls(
            num_layers=int(metadata["llama.block_count"]),
            d_model=d_model,
            num_heads=num_heads,
            num_kv_heads=int(metadata.get("llama.attention.head_count_kv", num_heads)),
            head_dim=d_model // num_heads,
            ffn_dim=int(metadata["llama.feed_forward_length"]),
            vocab_size=len(metadata["tokenizer.ggml.tokens"]),
            rope_theta=float(metadata.get("llama.rope.freq_base", 10000.0)),
            rms_norm_eps=float(metadata["llama.attention.layer_norm_rms_epsilon"]),
            context_length=int(metadata["llama.context_length"]),
            bos_token_id=int(metadata["tokenizer.ggml.bos_token_id"]),
            eos_token_id=int(metadata["tokenizer.ggml.eos_token_id"]),
        )


class LayerWeights(NamedTuple):
    """One decoder layer's weights as float32 (C = h * hd, g * hd = key/value width).

    W_query: (h * hd, C); W_key, W_value: (g * hd, C); W_out: (C, h * hd);
    W_gate, W_up: (F, C); W_down: (C, F); attn_norm, mlp_norm: (C,) RMSNorm gains.
    """

    W_query: torch.Tensor
    W_key: torch.Tensor
    W_value: torch.Tensor
    W_out: torch.Tensor
    W_gate: torch.Tensor
    W_up: torch.Tensor
    W_down: torch.Tensor
    attn_norm: torch.Tensor
    mlp_norm: torch.Tensor


_GGUF_NAMES = {  # LayerWeights field -> tensor name in the GGUF file (blk.{i}.<name>.weight)
    "W_query": "attn_q",
    "W_key": "attn_k",
    "W_value": "attn_v",
    "W_out": "attn_output",
    "W_gate": "ffn_gate",
    "W_up": "ffn_up",
    "W_down": "ffn_down",
    "attn_norm": "attn_norm",
    "mlp_norm": "ffn_norm",
}
_MATRIX_FIELDS = ("W_query", "W_key", "W_value", "W_out", "W_gate", "W_up", "W_down")


def unpermute_rope_rows(rows: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Undo llama.cpp's row order for W_query / W_key (any trailing dims are carried along).

    llama.cpp rotates adjacent pairs (dims 2i, 2i+1) of each head, so its converter reorders each
    head's rows from the Hugging Face order [first halves | second halves] to interleaved pairs.
    This puts them back, so RoPE here rotates dim i with dim i + hd/2 (the `rotate_half` form).
    rows: (n_heads * hd, ...) in file order -> same shape, Hugging Face order.
    """
    n_rows = rows.shape[0]
    hd = n_rows // n_heads
    x = rows.reshape(n_heads, hd // 2, 2, *rows.shape[1:])  # (h, hd/2, 2, ...) file order
    x = x.transpose(1, 2)  # (h, 2, hd/2, ...): first elements of pairs, then second elements
    return x.reshape(rows.shape).contiguous()


class QuantizedDecoderWeights:
    """The model's weights kept as stored (4-bit blocks) and unpacked on demand.

    `layer(i)` unpacks layer i's matrices into buffers allocated once (shared by all layers) and
    returns views of them: use them before asking for the next layer.
    """

    def __init__(self, gguf: GGUFFile, config: DecoderConfig) -> None:
        self.gguf, self.config = gguf, config
        c = config
        # The two RMSNorm gains per layer are tiny float32 vectors: unpack them once.
        self._norms = [
            (gguf.tensor(f"blk.{i}.attn_norm.weight"), gguf.tensor(f"blk.{i}.ffn_norm.weight"))
            for i in range(c.num_layers)
        ]
        # A layer's matrices lie one after another in the file. Each run of same-type matrices
        # is read once into private memory (W_query / W_key rows put back in Hugging Face order)
        # and unpacked in one go into a flat float32 buffer, allocated once and shared by every
        # layer with the same layout; the layer's weights are views into that buffer.
        self._buffers: dict[tuple, torch.Tensor] = {}
        self._runs: list[list[tuple[PackedQ4_1 | torch.Tensor, int, torch.Tensor]]] = []
        self._views: list[dict[str, torch.Tensor]] = []
        heads = {"W_query": c.num_heads, "W_key": c.num_kv_heads}
        max_blocks = 0
        for i in range(c.num_layers):
            infos = sorted(
                ((gguf.tensors[f"blk.{i}.{_GGUF_NAMES[f]}.weight"], f) for f in _MATRIX_FIELDS),
                key=lambda pair: pair[0].offset,
            )
            groups: list[list[tuple[TensorInfo, str]]] = []
            for info, field in infos:
                last = groups[-1][-1][0] if groups else None
                if (
                    last
                    and last.ggml_type == info.ggml_type
                    and last.offset + last.n_bytes == info.offset
                ):
                    groups[-1].append((info, field))
                else:
                    groups.append([(info, field)])
            runs, views = [], {}
            for group in groups:
                first, ggml_type = group[0][0], group[0][0].ggml_type
                n_bytes = sum(info.n_bytes for info, _ in group)
                n_values = sum(math.prod(info.shape) for info, _ in group)
                key = (ggml_type, tuple((f, info.shape) for info, f in group))
                if key not in self._buffers:
                    self._buffers[key] = torch.empty(n_values)
                flat = self._buffers[key]  # (n_values,)
                block_values, block_bytes = BLOCK_LAYOUT[ggml_type]
                raw = gguf.read_bytes(first.offset, n_bytes)  # (n_bytes,) private copy
                for info, field in group:
                    if field in heads:  # llama.cpp's RoPE row order -> Hugging Face order
                        rows = raw[info.offset - first.offset :][: info.n_bytes]
                        rows = rows.view(info.shape[0], -1)  # (R, bytes per row)
                        rows.copy_(unpermute_rope_rows(rows, heads[field]))
                blocks = raw.view(-1, block_bytes)  # (n_blocks, block_bytes)
                if ggml_type == GGML_Q4_1:
                    max_blocks = max(max_blocks, blocks.shape[0])
                    runs.append((PackedQ4_1(blocks), ggml_type, flat.view(-1, block_values)))
                else:
                    runs.append((blocks[:, None], ggml_type, flat.view(-1, block_values)))
                start = 0
                for info, field in group:
                    size = math.prod(info.shape)
                    views[field] = flat[start : start + size].view(info.shape)
                    start += size
            self._runs.append(runs)
            self._views.append(views)
        self._scratch = Q4_1Scratch(max_blocks)
        self.token_embd_raw = gguf.raw("token_embd.weight")  # (V, C / 32, block_bytes)
        self.token_embd_type = gguf.tensors["token_embd.weight"].ggml_type
        self.output_norm = gguf.tensor("output_norm.weight")  # (C,)
        if "output.weight" in gguf.tensors:  # untied output layer (not in SmolLM2)
            self.lm_head_raw = gguf.raw("output.weight")
            self.lm_head_type = gguf.tensors["output.weight"].ggml_type
        else:  # tied: the output layer is the token embedding matrix
            self.lm_head_raw, self.lm_head_type = self.token_embd_raw, self.token_embd_type
        self._lm_chunk = torch.empty(LM_HEAD_CHUNK, c.d_model)  # (chunk, C)

    def layer(self, i: int) -> LayerWeights:
        """Layer i's weights as float32 (shared buffers, overwritten by the next call)."""
        for raw, ggml_type, out in self._runs[i]:
            if isinstance(raw, PackedQ4_1):  # (n_blocks, 32) float32 from 4-bit blocks
                raw.unpack_into(out, self._scratch.sized(raw.n_blocks))
            else:
                dequantize_into(raw, ggml_type, out)  # (n_blocks, 1, bytes) -> (n_blocks, 32)
        attn_norm, mlp_norm = self._norms[i]
        return LayerWeights(**self._views[i], attn_norm=attn_norm, mlp_norm=mlp_norm)

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        """token_ids: (T,) -> token embeddings (T, C), a new tensor."""
        out = torch.empty(token_ids.shape[0], self.config.d_model)
        dequantize_into(self.token_embd_raw[token_ids], self.token_embd_type, out)
        return out

    def lm_head(self, x: torch.Tensor) -> torch.Tensor:
        """x: (T, C) final hidden states -> logits (T, V), unpacked LM_HEAD_CHUNK rows at a time."""
        V = self.lm_head_raw.shape[0]
        logits = torch.empty(x.shape[0], V)
        for start in range(0, V, LM_HEAD_CHUNK):
            stop = min(start + LM_HEAD_CHUNK, V)
            rows = self._lm_chunk[: stop - start]  # (chunk, C)
            dequantize_into(self.lm_head_raw[start:stop], self.lm_head_type, rows)
            torch.matmul(x, rows.T, out=logits[:, start:stop])  # (T, C) x (C, chunk)
        return logits

    def dequantized_state(self) -> dict[str, torch.Tensor]:
        """Every weight as a new float32 tensor (for tests and exports; about 540 MB)."""
        state = {"token_embd": self.embed(torch.arange(self.config.vocab_size))}
        for i in range(self.config.num_layers):
            for field, tensor in self.layer(i)._asdict().items():
                state[f"layers.{i}.{field}"] = tensor.clone()
        state["output_norm"] = self.output_norm.clone()
        return state


# ---------------------------------------------------------------------------------------------
# The pieces of one layer


def rms_norm(x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) * gain over the last axis. x: (..., C), gain: (C,)."""
    mean_square = x.pow(2).mean(-1, keepdim=True)  # (..., 1)
    return gain * (x * torch.rsqrt(mean_square + eps))  # (..., C)


def rope_angles(
    positions: torch.Tensor, head_dim: int, theta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotation angles, each (T, hd).

    Pair (i, i + hd/2) of a head is rotated by angle position * theta^(-2i / hd): fast for the
    first dims, slow for the last. positions: (T,) int.
    """
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, 1) x (1, hd/2) -> (T, hd/2)
    angles = torch.cat((angles, angles), dim=-1)  # (T, hd): each angle used for a pair of dims
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_i, x_{i+hd/2}) by its angle. x: (..., T, hd); cos, sin: (T, hd).

    Equivalent to: for each i < hd/2,
        x_i'        = x_i * cos(a_i) - x_{i+hd/2} * sin(a_i)
        x_{i+hd/2}' = x_{i+hd/2} * cos(a_i) + x_i * sin(a_i)
    """
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)  # (..., T, hd)
    return x * cos + rotated * sin


def decoder_causal_mask(T_new: int, T_total: int) -> torch.Tensor:
    """(T_new, T_total) bool, True = blocked: the new tokens sit at positions
    T_total - T_new .. T_total - 1 and may not see later positions."""
    return torch.triu(torch.ones(T_new, T_total, dtype=torch.bool), diagonal=T_total - T_new + 1)


def grouped_query_attention(
    queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
) -> AttentionSteps:
    """Causal attention where h query heads share g key/value heads (h a multiple of g).

    Query head j reads key/value head j // (h / g): with h = 9, g = 3, heads 0-2 share kv head 0.
    Equivalent to copying each key/value head h / g times, then ordinary multi-head attention.
    queries: (h, T_new, hd); keys, values: (g, T_total, hd); mask: (T_new, T_total), True = blocked.
    Returns AttentionSteps(attn_scores, attn_weights (h, T_new, T_total), context_vecs
    (h, T_new, hd)).
    """
    group = queries.shape[0] // keys.shape[0]  # query heads per key/value head
    keys = keys.repeat_interleave(group, dim=0)  # (g, T_total, hd) -> (h, T_total, hd)
    values = values.repeat_interleave(group, dim=0)  # (g, T_total, hd) -> (h, T_total, hd)
    # (h, T_new, hd) x (h, hd, T_total) -> (h, T_new, T_total); softmax; x (h, T_total, hd)
    return scaled_dot_product(queries, keys, values, mask=mask)


def grouped_query_attention_loop(
    queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
) -> AttentionSteps:
    """grouped_query_attention one query head at a time (the loop form; same shapes)."""
    h, g = queries.shape[0], keys.shape[0]
    per_head = []
    for j in range(h):
        kv = j // (h // g)  # the key/value head this query head reads
        per_head.append(scaled_dot_product(queries[j], keys[kv], values[kv], mask=mask))
    return AttentionSteps(*(torch.stack(parts) for parts in zip(*per_head, strict=True)))


class KVCache:
    """Keys and values of every layer for the tokens seen so far (one row per token).

    keys[l], values[l]: (g, capacity, hd) preallocated; the first `length` rows are filled.
    """

    def __init__(self, config: DecoderConfig, capacity: int) -> None:
        self.config = config
        self.capacity = capacity
        shape = (config.num_kv_heads, capacity, config.head_dim)  # (g, capacity, hd)
        self.keys = [torch.zeros(shape) for _ in range(config.num_layers)]
        self.values = [torch.zeros(shape) for _ in range(config.num_layers)]
        self.length = 0

    def append(
        self, layer: int, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this step's keys/values (g, T_new, hd) after the cached ones; return all of them,
        (g, T_total, hd) each. `length` moves on only after the last layer (see `advance`)."""
        T_new = keys.shape[-2]
        stop = self.length + T_new
        if stop > self.capacity:
            raise ValueError(f"the KV cache holds {self.capacity} tokens; {stop} were asked for")
        self.keys[layer][:, self.length : stop] = keys
        self.values[layer][:, self.length : stop] = values
        return self.keys[layer][:, :stop], self.values[layer][:, :stop]

    def advance(self, T_new: int) -> None:
        self.length += T_new

    @property
    def nbytes(self) -> int:
        """Bytes the filled part holds: length x kv_cache_bytes_per_token."""
        return self.length * kv_cache_bytes_per_token(self.config)


def kv_cache_bytes_per_token(config: DecoderConfig, num_kv_heads: int | None = None) -> int:
    """layers x 2 (keys and values) x KV heads x head_dim x 4 bytes (float32).

    num_kv_heads: default the model's (3); pass num_heads (9) for the cache the model would need
    if every query head had its own keys and values.
    """
    g = config.num_kv_heads if num_kv_heads is None else num_kv_heads
    return config.num_layers * 2 * g * config.head_dim * FLOAT32_BYTES


class MultiplyAdds(NamedTuple):
    """Multiply-adds of one forward step, by part (each summed over all layers)."""

    projections: int  # query, key, value and output projections
    attention: int  # Q K^T and weights x V
    mlp: int  # gate, up and down
    lm_head: int  # final hidden state(s) x the vocabulary matrix
    total: int


def count_multiply_adds(
    config: DecoderConfig, T_new: int, T_total: int, logits_rows: int = 1
) -> MultiplyAdds:
    """Multiply-adds to process T_new tokens when T_total tokens are visible (cache + new).

    With a KV cache a decoding step is T_new = 1; without one the whole text is fed again,
    T_new = T_total. Masked (future) pairs are counted, as the matrix product computes them.
    Norms, RoPE and softmax (a few operations per value) are left out.
    """
    c = config
    q_width, kv_width = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
    per_token_proj = c.d_model * q_width + 2 * c.d_model * kv_width + q_width * c.d_model
    projections = c.num_layers * T_new * per_token_proj
    # scores (h, T_new, hd) x (h, hd, T_total), then weights (h, T_new, T_total) x (h, T_total, hd)
    attention = c.num_layers * 2 * c.num_heads * T_new * T_total * c.head_dim
    mlp = c.num_layers * T_new * 3 * c.d_model * c.ffn_dim
    lm_head = logits_rows * c.d_model * c.vocab_size
    return MultiplyAdds(
        projections, attention, mlp, lm_head, projections + attention + mlp + lm_head
    )


# ---------------------------------------------------------------------------------------------
# The forward pass


class PromptPass(NamedTuple):
    """The first item iter_generate yields: the prompt's attention, (L, h, T_prompt, T_prompt)."""

    attn_weights: torch.Tensor


class DecoderOutput(NamedTuple):
    """logits: (logits_rows, V), the last rows' next-token scores;
    attn_weights: (L, h, attn_rows, T_total), every layer's attention of the last new tokens
    (all T_new of them by default)."""

    logits: torch.Tensor
    attn_weights: torch.Tensor


class SmolLM2:
    """SmolLM2-135M-Instruct read from its GGUF file: config, tokenizer and forward pass."""

    def __init__(self, path: str | Path) -> None:
        self.gguf = GGUFFile(path)
        self.config = DecoderConfig.from_metadata(self.gguf.metadata)
        self.weights = QuantizedDecoderWeights(self.gguf, self.config)
        self.tokenizer = build_tokenizer(self.gguf.metadata)
        self.chat_template: str = self.gguf.metadata.get("tokenizer.chat_template", "")

    def forward(
        self,
        token_ids: torch.Tensor,
        cache: KVCache | None = None,
        logits_rows: int | None = None,
        attn_rows: int | None = None,
    ) -> DecoderOutput:
        """Run the decoder on token_ids (T_new,), after the cache's tokens if a cache is given.

        Equivalent to, per layer:
            a = x + attention(rms_norm(x))   (causal, RoPE on queries and keys, grouped heads)
            x = a + W_down (silu(W_gate rms_norm(a)) * W_up rms_norm(a))
        then logits = rms_norm(x) @ token_embedding.T.
        logits_rows: how many final positions get logits (default all T_new);
        attn_rows: how many final query rows of attention are kept (default all T_new).
        Returns DecoderOutput(logits (logits_rows, V), attn_weights (L, h, attn_rows, T_total)).
        The cache, if given, gains T_new rows per layer.
        """
        c = self.config
        T_new = token_ids.shape[0]
        start = cache.length if cache is not None else 0
        T_total = start + T_new
        positions = torch.arange(start, T_total)  # (T_new,)
        cos, sin = rope_angles(positions, c.head_dim, c.rope_theta)  # (T_new, hd) each
        mask = decoder_causal_mask(T_new, T_total)  # (T_new, T_total)

        x = self.weights.embed(token_ids)  # (T_new,) -> (T_new, C)
        kept = T_new if attn_rows is None else attn_rows
        attn_weights = torch.empty(c.num_layers, c.num_heads, kept, T_total)
        for i in range(c.num_layers):
            W = self.weights.layer(i)
            h = rms_norm(x, W.attn_norm, c.rms_norm_eps)  # (T_new, C)
            queries = split_heads(h @ W.W_query.T, c.num_heads)  # (T_new, C) -> (h, T_new, hd)
            keys = split_heads(h @ W.W_key.T, c.num_kv_heads)  # (T_new, C) -> (g, T_new, hd)
            values = split_heads(h @ W.W_value.T, c.num_kv_heads)  # (g, T_new, hd)
            queries = apply_rope(queries, cos, sin)  # (h, T_new, hd)
            keys = apply_rope(keys, cos, sin)  # (g, T_new, hd)
            if cache is not None:
                keys, values = cache.append(i, keys, values)  # (g, T_total, hd) each
            # (h, T_new, hd) x (g -> h, hd, T_total) -> (h, T_new, T_total); x (h, T_total, hd)
            steps = grouped_query_attention(queries, keys, values, mask)
            attn_weights[i] = steps.attn_weights[:, T_new - kept :]  # (h, kept, T_total)
            context = merge_heads(steps.context_vecs)  # (h, T_new, hd) -> (T_new, C)
            x = x + context @ W.W_out.T  # (T_new, C) x (C, C) -> (T_new, C)
            h = rms_norm(x, W.mlp_norm, c.rms_norm_eps)  # (T_new, C)
            gate = F.silu(h @ W.W_gate.T)  # (T_new, C) x (C, F) -> (T_new, F)
            up = h @ W.W_up.T  # (T_new, C) x (C, F) -> (T_new, F)
            x = x + (gate * up) @ W.W_down.T  # (T_new, F) x (F, C) -> (T_new, C)
        if cache is not None:
            cache.advance(T_new)
        rows = T_new if logits_rows is None else logits_rows
        x = rms_norm(x[T_new - rows :], self.weights.output_norm, c.rms_norm_eps)  # (rows, C)
        logits = self.weights.lm_head(x)  # (rows, C) x (C, V) -> (rows, V)
        return DecoderOutput(logits, attn_weights)

    # -- text in, text out ----------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """Token ids of text (special tokens such as <|im_start|> are recognised; no BOS added)."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, token_ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=False)

    def generate(self, prompt_ids: Sequence[int], **options) -> Generation:
        """Every step of iter_generate collected into a Generation (same options)."""
        steps: list[DecodeStep] = []
        prompt_attn = torch.empty(0)
        for item in self.iter_generate(prompt_ids, **options):
            if isinstance(item, PromptPass):
                prompt_attn = item.attn_weights
            else:
                steps.append(item)
        return Generation(list(prompt_ids), steps, prompt_attn)

    def iter_generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int = 20,
        use_cache: bool = True,
        temperature: float = 0.0,
        top_k: int | None = None,
        seed: int = 0,
        stop_at_eos: bool = True,
    ) -> Iterator[PromptPass | DecodeStep]:
        """Generate token by token; yields a PromptPass (the prompt's attention) first, then one
        DecodeStep per new token.

        The first step runs the whole prompt; each later step feeds only the newest token (with a
        cache) or the whole text again (use_cache=False: same tokens, more work).
        temperature 0 = greedy (always the most likely token); > 0 samples from
        softmax(logits / temperature), restricted to the top_k most likely tokens if given, with a
        torch.Generator seeded with `seed`.
        """
        c = self.config
        if not prompt_ids:
            raise ValueError("the prompt has no tokens")
        if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
            raise ValueError(f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS}")
        if len(prompt_ids) > MAX_PROMPT_TOKENS:
            raise ValueError(f"the prompt has {len(prompt_ids)} tokens; the limit is "
                             f"{MAX_PROMPT_TOKENS}")  # fmt: skip
        generator = torch.Generator().manual_seed(seed)
        tokens = list(prompt_ids)
        cache = KVCache(c, len(tokens) + max_new_tokens) if use_cache else None
        new_ids: list[int] = []
        for step in range(max_new_tokens):
            t0 = time.perf_counter()
            # the whole text on the first step and without a cache, else only the newest token
            feed = torch.tensor(tokens if cache is None or step == 0 else tokens[-1:])
            # the first step keeps the prompt's whole attention, later steps only the last row
            out = self.forward(feed, cache, logits_rows=1, attn_rows=None if step == 0 else 1)
            next_id = pick_next_token(out.logits[0], temperature, top_k, generator)
            elapsed = time.perf_counter() - t0
            if step == 0:
                yield PromptPass(out.attn_weights)  # (L, h, T_prompt, T_prompt)
            T_total = len(tokens)
            new_ids.append(next_id)
            text = self.decode(new_ids)
            yield DecodeStep(
                index=step,
                token_id=next_id,
                token_text=self.decode([next_id]),
                text=text,
                position=T_total - 1,
                attn_row=out.attn_weights[:, :, -1, :].clone(),  # (L, h, T_total)
                seconds=elapsed,
                fed_tokens=feed.shape[0],
                multiply_adds_cached=count_multiply_adds(c, 1 if step else T_total, T_total).total,
                multiply_adds_uncached=count_multiply_adds(c, T_total, T_total).total,
                kv_cache_bytes=T_total * kv_cache_bytes_per_token(c),
            )
            tokens.append(next_id)
            if stop_at_eos and next_id == c.eos_token_id:
                break


def pick_next_token(
    logits: torch.Tensor,
    temperature: float = 0.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> int:
    """logits: (V,) -> a token id: argmax if temperature is 0, else a seeded sample."""
    if temperature < 0:
        raise ValueError("temperature must be 0 (greedy) or positive")
    if temperature == 0:
        return int(torch.argmax(logits))
    scaled = logits / temperature  # (V,)
    if top_k is not None:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        kth = torch.topk(scaled, min(top_k, scaled.shape[0])).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)  # (V,)
    return int(torch.multinomial(probs, 1, generator=generator))


@dataclass(frozen=True)
class DecodeStep:
    """One generated token.

    The query at the last fed position (`position`, 0-based) attended over positions
    0..position (attn_row, (L, h, position + 1)); its output chose `token_id`, which sits at
    position + 1. `seconds` is this step's wall time; the multiply-add counts are for this step
    with a KV cache (1 token fed, or the whole prompt on the first step) and without one (the
    whole text fed); kv_cache_bytes is the cache size after this step (position + 1 tokens).
    """

    index: int
    token_id: int
    token_text: str
    text: str  # all generated text so far
    position: int
    attn_row: torch.Tensor
    seconds: float
    fed_tokens: int
    multiply_adds_cached: int
    multiply_adds_uncached: int
    kv_cache_bytes: int


@dataclass(frozen=True)
class Generation:
    """prompt_ids, steps (one per new token) and prompt_attn (L, h, T_prompt, T_prompt)."""

    prompt_ids: list[int]
    steps: list[DecodeStep]
    prompt_attn: torch.Tensor

    @property
    def new_ids(self) -> list[int]:
        return [s.token_id for s in self.steps]

    def attention_matrix(self, layer: int) -> torch.Tensor:
        """(h, T, T) causal attention over all T = prompt + fed generated tokens, zeros above the
        diagonal. The last generated token has no row: it was never fed back."""
        T_prompt = len(self.prompt_ids)
        T = T_prompt + len(self.steps) - 1
        h = self.prompt_attn.shape[1]
        matrix = torch.zeros(h, T, T)
        matrix[:, :T_prompt, :T_prompt] = self.prompt_attn[layer]
        for step in self.steps[1:]:
            matrix[:, step.position, : step.position + 1] = step.attn_row[layer]
        return matrix


# ---------------------------------------------------------------------------------------------
# Tokenizer and chat format


def build_tokenizer(metadata: dict) -> Tokenizer:
    """A byte-level BPE `tokenizers.Tokenizer` from the GGUF metadata (tokenizer.ggml.*).

    Pre-tokenizer as llama.cpp's `smollm` type: every digit on its own, then GPT-2's byte-level
    split; tokens the file marks as control (type 3, e.g. <|im_start|>) are special and kept whole.
    """
    if metadata.get("tokenizer.ggml.model") != "gpt2":
        raise ValueError("expected a byte-level BPE ('gpt2') tokenizer in the GGUF metadata")
    tokens: list[str] = metadata["tokenizer.ggml.tokens"]
    vocab = {token: i for i, token in enumerate(tokens)}
    merges = [tuple(m.split(" ", 1)) for m in metadata["tokenizer.ggml.merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    token_types = metadata.get("tokenizer.ggml.token_type", [])
    control = [t for t, kind in zip(tokens, token_types, strict=True) if kind == 3]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    return tokenizer


def chat_prompt(
    messages: Sequence[dict[str, str]],
    add_generation_prompt: bool = True,
    default_system: str = DEFAULT_SYSTEM_PROMPT,
) -> str:
    """SmolLM2's ChatML format (the template in the file's metadata, written out):

        <|im_start|>system\\n{system}<|im_end|>\\n     (default system text if none is given)
        <|im_start|>{role}\\n{content}<|im_end|>\\n    for each message
        <|im_start|>assistant\\n                       if add_generation_prompt
    messages: [{"role": "user", "content": "..."}, ...].
    """
    parts = []
    if messages and messages[0]["role"] != "system":
        parts.append(f"<|im_start|>system\n{default_system}<|im_end|>\n")
    for message in messages:
        parts.append(f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n")
    if add_generation_prompt:
        parts.append("<|im_start|>assistant\n")
    return "".join(parts)
