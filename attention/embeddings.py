"""Made-up embedding vectors for tokens, and the seed notebook's example.

A new token gets a vector seeded from the token's own UTF-8 bytes (SHA-256), so the same word
always gets the same vector in every process and on every machine. The vector for dimension d is
the first d values of one fixed 16-value sequence, so raising or lowering d keeps the values a
token already had.
"""

from __future__ import annotations

import hashlib

import torch

MAX_DIM = 16
VALUE_RANGE = (-1.0, 1.0)

SEED_TOKENS = ("Attention", "Mechanism", "drives", "Contextual", "Embedding")
# The notebook's inputs: one 3-d row per token.
SEED_INPUTS = (
    (0.12, 0.45, 0.67),
    (0.34, 0.56, 0.78),
    (0.23, 0.57, 0.91),
    (0.76, 0.88, 0.45),
    (0.54, 0.12, 0.34),
)


def seed_inputs() -> torch.Tensor:
    """The seed example's embeddings, (5, 3) float32."""
    return torch.tensor(SEED_INPUTS, dtype=torch.float32)


def token_embedding(token: str, d: int) -> torch.Tensor:
    """A deterministic vector for `token`: (d,) float32, values in -1..1 with 2 decimals."""
    if not 1 <= d <= MAX_DIM:
        raise ValueError(f"d must be between 1 and {MAX_DIM}, got {d}")
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    low, high = VALUE_RANGE
    values = torch.rand(MAX_DIM, generator=generator, dtype=torch.float64) * (high - low) + low
    return torch.round(values[:d], decimals=2).to(torch.float32)


def embed_tokens(tokens: list[str] | tuple[str, ...], d: int) -> torch.Tensor:
    """Stack `token_embedding` for each token: (T, d)."""
    if not tokens:
        return torch.empty(0, d)
    return torch.stack([token_embedding(token, d) for token in tokens])
