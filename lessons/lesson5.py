"""Lesson 5: the attention of lessons 1-4 inside a real pretrained transformer.

Pure: the default sentence, its validation, what the page shows (computed from the forward
pass in attention/pretrained.py, the one the app runs), and the lesson's sentences. Every
statement about the model below was checked against attention/pretrained.py and the packaged
model files (config.json, tokenizer.json, modules.json, README.md); see tests/test_lesson5.py.

Shape legend: L layers (6), h heads per layer (12), T WordPiece tokens incl. [CLS] and [SEP].
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from attention.pretrained import (
    MAX_PRETRAINED_TOKENS,
    MODEL_NAME,
    PretrainedModel,
    encoder_forward,
    load_model,
    pretrained_attention,
    tokenize,
)
from lessons.numbers import fmt
from lessons.question import Question
from lessons.validate import InputError

DEFAULT_TEXT = "The attention mechanism drives contextual embeddings."
MAX_SENTENCE_CHARS = 2000  # checked before tokenizing; 128 WordPieces are far fewer characters
RESTING = 0.5  # a head "rests" on a token that gets more than half of its weight on average

STEP_TITLES = [
    "What this model is",
    "The same attention, in a bigger machine",
    "Every head of one layer",
    "One head up close",
    "Reading attention maps with care",
]

BUILDS_ON = (
    "**Builds on lesson 4.** Each layer of this model runs lesson 4's multi-head attention: "
    "the app's own `multi_head_attention` function (the code behind lesson 4's "
    "MultiHeadAttention class), here on the model's trained weights. The weights you see are "
    "computed on this server; nothing is downloaded."
)

ABOUT_MODEL = (
    f"**{MODEL_NAME}** is a small pretrained encoder in the BERT family: 6 layers, each with "
    "12 attention heads over token vectors of 384 numbers (32 per head). It is a "
    "**sentence-embedding model**, not a general language model: it does not predict or "
    "generate words. Its makers took a 6-layer MiniLM (nreimers/MiniLM-L6-H384-uncased) and "
    "fine-tuned it on over a billion sentence pairs, so that each sentence's vector comes out "
    "closest to its partner's (a contrastive objective, as its model card says). In use, the "
    "last layer's vectors of all tokens are averaged into one vector for the whole sentence; "
    "this lesson stops before that step and shows the attention inside."
)

TOKENS_EXPLAINED = (
    "The tokenizer (WordPiece, *uncased*) first lower-cases the text and removes accents "
    "(Café becomes cafe), then splits it into pieces from a vocabulary of 30,522: common "
    "words stay whole, rare words are split, and ## marks a piece that continues a word. "
    "It adds two special tokens, **[CLS]** at the start and **[SEP]** at the end, which BERT "
    "models inherit from BERT's pre-training (its input could be a pair of texts, each "
    "closed by [SEP]). Both take part in attention like every other token."
)

# (topic, in lessons 1-4, in this model): every claim checked against attention/pretrained.py.
COMPARISON: list[tuple[str, str, str]] = [
    (
        "Inputs x(i)",
        "In lessons 1-4, one vector per token that you can type",
        "LayerNorm(word embedding + position embedding + token-type embedding, the same token "
        "type for every token): 384 numbers per token",
    ),
    (
        "Queries, keys, values",
        "In lessons 2-4, x W_query, x W_key and x W_value, with no bias",
        "the same products plus a bias vector each (b_query, b_key, b_value)",
    ),
    (
        "Heads",
        "In lesson 4, num_heads heads of size head_dim",
        "12 heads of head_dim = 32 in every layer",
    ),
    ("Scaling", "In lessons 2-4, ω / √d_k", "ω / √head_dim = ω / √32 ≈ ω / 5.66"),
    (
        "Mask",
        "In lesson 3, a causal mask hides later tokens",
        "no mask: every token attends to every token, earlier and later (a bidirectional encoder)",
    ),
    (
        "Dropout",
        "In lesson 3, dropout on the weights, a tool for training",
        "none: the model is run, not trained (as in eval mode)",
    ),
    (
        "After attention",
        "In lesson 4, the output projection W_out",
        "W_out too, then a residual connection (x + output) and LayerNorm, then a feed-forward "
        "block (384 → 1536 → 384 numbers, with GELU), again a residual connection and LayerNorm",
    ),
    (
        "Layers",
        "In lessons 1-4, one attention step",
        "6 layers in a row: from layer 2 on, attention runs over the previous layer's outputs "
        "(contextual vectors), not over the embeddings",
    ),
]


def comparison_markdown() -> str:
    """The comparison with lessons 1-4 as a Markdown list (the app's own text only)."""
    return "\n".join(
        f"- **{topic}.** {lessons}. Here: {model}." for topic, lessons, model in COMPARISON
    )


PATTERNS = (
    "Patterns reported for BERT, a larger model of the same family, by Clark et al. (2019, "
    "*What Does BERT Look At?*); check whether you find them here:\n"
    "- **Resting places.** Many heads put most of their weight on [SEP], [CLS] or "
    "punctuation. The authors' hypothesis: a head with nothing useful to do for a token "
    "parks its weight there, since each row must add up to 1. A hypothesis, about BERT.\n"
    "- **Neighbours.** Some heads look mostly at the previous or the next token: a diagonal "
    "stripe just below or above the main diagonal.\n"
    "- **Broad heads.** Some heads, in early layers, spread their weight over many tokens."
)

CAVEATS = (
    "**What a map does not tell you.** A weight a(i, j) says what share of token j's value "
    "vector goes into token i's output, not how large that vector is. Kobayashi et al. "
    "(2020, *Attention is Not Only a Weight*) found that in BERT the vectors these weights "
    "multiply (values after the output projection) are often small for [CLS], [SEP] and "
    "punctuation, so a large weight on them can change little. "
    "And a head's output passes through W_out, residual connections, LayerNorm, feed-forward "
    "blocks and later layers before it reaches the sentence vector. So an attention map shows "
    "where a head reads from; it is not an explanation of what the model computes or why."
)


class Lesson5(NamedTuple):
    """What the page shows for one sentence.

    tokens: T WordPiece strings; weights: (L, h, T, T) float32, rows sum to 1;
    future_share: (L,) the mean, over heads and queries, of the weight on later tokens (j > i);
    resting: (L, h, T) True where a head gives that token more than RESTING of its weight
    on average over the queries; order_change: (L,) the largest change of a weight when the
    sentence's tokens are reversed (compared after undoing the reversal), or None when the
    reversal changes nothing (fewer than two tokens, or a sentence that reads the same backwards).
    """

    tokens: list[str]
    weights: torch.Tensor
    future_share: torch.Tensor
    resting: torch.Tensor
    order_change: torch.Tensor | None


def check_sentence(text: str, model: PretrainedModel | None = None) -> str:
    """`text` if the model can take it; InputError with a plain message otherwise."""
    if not isinstance(text, str):
        raise InputError("The sentence must be text.")
    if len(text) > MAX_SENTENCE_CHARS:
        raise InputError(
            f"The text is {len(text):,} characters long; lesson 5 takes at most "
            f"{MAX_SENTENCE_CHARS:,} characters and {MAX_PRETRAINED_TOKENS} WordPiece tokens."
        )
    try:
        tokenize(text, model)
    except ValueError as error:
        raise InputError(str(error)) from None
    return text


def _reversed_change(
    model: PretrainedModel, token_ids: list[int], weights: torch.Tensor
) -> torch.Tensor | None:
    """(L,) the largest |change| of a weight when the tokens between [CLS] and [SEP] are
    reversed, after undoing the reversal; None if the reversal is the same sequence."""
    T = len(token_ids)
    order = [0, *range(T - 2, 0, -1), T - 1]  # position p of the reversed text holds token order[p]
    reversed_ids = [token_ids[p] for p in order]
    if reversed_ids == token_ids:
        return None
    with torch.inference_mode():
        other = encoder_forward(model, torch.tensor(reversed_ids)).attn_weights  # (L, h, T, T)
    back = torch.tensor(order).argsort()  # original position -> position in the reversed text
    other = other[:, :, back][:, :, :, back]  # (L, h, T, T) in the original order
    return (other - weights).abs().amax(dim=(1, 2, 3)).clone()  # (L,)


def compute(text: str, model: PretrainedModel | None = None) -> Lesson5:
    """Every head's weights for `text` and the summaries the page states. Raises InputError."""
    model = load_model() if model is None else model
    check_sentence(text, model)
    result = pretrained_attention(text, model)
    weights = result.weights  # (L, h, T, T)
    T = weights.shape[-1]
    later = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # (T, T) key j > query i
    future_share = (weights * later).sum(-1).mean(dim=(1, 2))  # (L, h, T) -> (L,)
    resting = weights.mean(dim=-2) > RESTING  # (L, h, T): mean over queries
    return Lesson5(
        result.tokens,
        weights,
        future_share,
        resting,
        _reversed_change(model, result.token_ids, weights),
    )


# Sentences computed from the result ------------------------------------------------------------


def no_mask_sentence(lesson: Lesson5, layer: int) -> str:
    """The weight on later tokens, which a causal mask would make exactly 0."""
    return (
        f"In layer {layer + 1}, on average {fmt(100 * float(lesson.future_share[layer]), 1)} % "
        "of each query's weight goes to tokens after it. With lesson 3's causal mask that "
        "share would be exactly 0."
    )


def order_sentence(lesson: Lesson5) -> str:
    """Word order: what reversing the sentence does, and why."""
    why = (
        "Without position information, attention is blind to word order: in lessons 1, 2 and "
        "4 (without a mask), shuffling the tokens only shuffles every output. This model adds "
        "a position embedding to each token's input, so the same word at another place gets "
        "another input vector."
    )
    if lesson.order_change is None:
        return why + (
            " Your sentence's tokens read the same reversed, so there is nothing to compare: "
            "type one that does not."
        )
    return (
        f"{why} Reverse the order of your sentence's WordPiece tokens (keeping [CLS] first "
        "and [SEP] last) and "
        f"the weights of layer 1 are not just the reversed ones: after undoing the reversal a "
        f"weight changes by up to {fmt(float(lesson.order_change[0]), 2)}. Without position "
        "embeddings every layer of this model would treat each token the same wherever it "
        "stands, and that change would be 0 (up to float32 rounding)."
    )


def resting_sentence(lesson: Lesson5) -> str:
    """How many heads rest on [CLS], on [SEP], on any token, for this sentence."""
    L, h, T = lesson.resting.shape
    any_token = int(lesson.resting.any(dim=-1).sum())
    cls = int(lesson.resting[..., 0].sum())
    sep = int(lesson.resting[..., T - 1].sum())
    return (
        f"In this model, on your sentence: {any_token} of the {L * h} heads give one token more "
        f"than half of their weight on average over the queries; that token is [CLS] in {cls} "
        f"heads and [SEP] in {sep}. A finding about one sentence, not a rule."
    )


QUESTION_LABELS = {
    "cls": "[CLS], the first token",
    "sep": "[SEP], the last token",
    "sentence": "one of the sentence's own tokens",
}


def most_attended_question(lesson: Lesson5, layer: int) -> Question:
    """Which token gets the most weight in `layer`, averaged over its heads and queries.

    The answer names positions, never token text (the quiz renders Markdown)."""
    received = lesson.weights[layer].mean(dim=(0, 1))  # (h, T, T) -> (T,) mean over heads, queries
    T = received.shape[0]
    top = int(received.argmax())
    right = "cls" if top == 0 else "sep" if top == T - 1 else "sentence"
    inner = received[1:-1]
    best_inner = int(inner.argmax()) + 1
    answer = (
        f"in layer {layer + 1} token {top + 1} gets the most: {fmt(float(received[top]))} of "
        f"each query's weight on average, against {fmt(float(received[0]))} for [CLS], "
        f"{fmt(float(received[-1]))} for [SEP] and at most {fmt(float(inner.max()))} for a "
        f"token of the sentence (token {best_inner})."
    )
    explanation = (
        "Each of the 12 heads gives every query's weights a sum of 1, so the average weight "
        f"per token is 1/{T} = {fmt(1 / T)}. A token far above that is a resting place for "
        "many heads; Clark et al. (2019) propose, for BERT, that such weight is parked there "
        "because the head has nothing to do for that query (a hypothesis). A large weight "
        "does not mean a large effect on the output (see below)."
    )
    return Question(
        f"In layer {layer + 1}, averaged over its 12 heads and over every query, which token "
        "gets the most weight?",
        QUESTION_LABELS,
        {right},
        answer,
        explanation,
    )


# Text alternatives for the charts (for screen readers; plain text) -----------------------------


def layer_alt(lesson: Lesson5, layer: int, heads: range) -> str:
    """What a row of head maps shows: for each head, the key token it gives most weight to on
    average over the queries."""
    received = lesson.weights[layer].mean(dim=-2)  # (h, T): mean over queries
    T = received.shape[-1]
    parts = []
    for head in heads:
        top = int(received[head].argmax())
        parts.append(
            f"head {head + 1}: token {top + 1} ({lesson.tokens[top]}), "
            f"{fmt(float(received[head, top]), 2)}"
        )
    return (
        f"Attention maps of layer {layer + 1}, heads {heads.start + 1} to {heads.stop}, "
        f"{T} by {T} tokens each. The key token with the most weight on average: "
        + "; ".join(parts)
        + "."
    )


def head_alt(lesson: Lesson5, layer: int, head: int, query: int) -> str:
    """What one head's heatmap shows, with the chosen query's strongest key."""
    row = lesson.weights[layer, head, query]  # (T,)
    top = int(row.argmax())
    T = row.shape[0]
    return (
        f"Heatmap of the attention weights of layer {layer + 1}, head {head + 1}: {T} query "
        f"tokens by {T} key tokens, each row adding up to 1. Query {query + 1} "
        f"({lesson.tokens[query]}) gives the most weight, {fmt(float(row[top]))}, to key "
        f"{top + 1} ({lesson.tokens[top]})."
    )
