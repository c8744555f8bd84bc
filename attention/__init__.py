"""The math of Attention Explorer, in PyTorch. No user-interface imports here.

Shape legend used across the package: T tokens, d (or d_in) embedding dimension,
d_out projected dimension.
"""

from attention.embeddings import (
    MAX_DIM,
    SEED_INPUTS,
    SEED_TOKENS,
    embed_tokens,
    seed_inputs,
    token_embedding,
)
from attention.projection import Projection, pca_2d
from attention.simple import (
    NORMALIZATIONS,
    AttentionSteps,
    DotProduct,
    Normalization,
    Normalized,
    QueryWalkthrough,
    attn_scores_loop,
    context_vecs_loop,
    normalize,
    query_walkthrough,
    simple_attention,
)

__all__ = [
    "MAX_DIM",
    "NORMALIZATIONS",
    "SEED_INPUTS",
    "SEED_TOKENS",
    "AttentionSteps",
    "DotProduct",
    "Normalization",
    "Normalized",
    "Projection",
    "QueryWalkthrough",
    "attn_scores_loop",
    "context_vecs_loop",
    "embed_tokens",
    "normalize",
    "pca_2d",
    "query_walkthrough",
    "seed_inputs",
    "simple_attention",
    "token_embedding",
]
