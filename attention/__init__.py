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

# Lessons 2-4: trainable weights, causal attention and dropout, multi-head attention.
from attention.causal import (
    CausalAttention,
    CausalSteps,
    DropoutResult,
    apply_dropout,
    causal_attention,
    init_linear_qkv,
)
from attention.multihead import (
    MultiHeadAttention,
    MultiHeadAttentionWrapper,
    MultiHeadSteps,
    SelfAttentionHead,
    from_wrapper,
    init_multihead,
    init_wrapper,
    multi_head_attention,
)
from attention.scaled import causal_mask, merge_heads, scaled_dot_product, split_heads
from attention.trainable import (
    QKVWeights,
    QueryLoop,
    SelfAttentionV1,
    SelfAttentionV2,
    TrainableSteps,
    VarianceCurve,
    copy_v2_into_v1,
    dot_product_variance,
    init_qkv_weights,
    query_attention_loop,
    trainable_attention,
    variance_curve,
)

__all__ += [
    "CausalAttention",
    "CausalSteps",
    "DropoutResult",
    "MultiHeadAttention",
    "MultiHeadAttentionWrapper",
    "MultiHeadSteps",
    "QKVWeights",
    "QueryLoop",
    "SelfAttentionHead",
    "SelfAttentionV1",
    "SelfAttentionV2",
    "TrainableSteps",
    "VarianceCurve",
    "apply_dropout",
    "causal_attention",
    "causal_mask",
    "copy_v2_into_v1",
    "dot_product_variance",
    "from_wrapper",
    "init_linear_qkv",
    "init_multihead",
    "init_qkv_weights",
    "init_wrapper",
    "merge_heads",
    "multi_head_attention",
    "query_attention_loop",
    "scaled_dot_product",
    "split_heads",
    "trainable_attention",
    "variance_curve",
]
