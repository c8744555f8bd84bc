"""The glossary: the lessons' words, in plain text, alphabetical. Pure text (no Streamlit)."""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """One glossary word and what it means in these lessons."""

    term: str
    meaning: str


_ENTRIES: tuple[Entry, ...] = (
    Entry(
        "attention weights a(i, j)",
        "How much token i takes from token j when its context vector is built. In the lessons "
        "each row comes from a softmax over that row's scores: no weight is negative and the "
        "row adds up to 1 (dropout, in lesson 3, changes that during training).",
    ),
    Entry(
        "causal mask",
        "A rule that lets token i look only at tokens 1 to i, never at later ones: the later "
        "scores are set to −∞ before the softmax, so their weights are 0 (lesson 3).",
    ),
    Entry(
        "context vector z(i)",
        "The output of attention for token i: the weighted sum Σⱼ a(i, j) · v(j) of the "
        "value vectors (in lesson 1, of the inputs x(j) themselves).",
    ),
    Entry(
        "contrastive objective",
        "A training goal that pulls the vectors of matching pairs (for example a question and "
        "its answer) closer together than the vectors of pairs that do not match. Lesson 5's "
        "model was fine-tuned this way.",
    ),
    Entry(
        "d, d_in, d_out, d_k",
        "Sizes of vectors. d or d_in: the length of each input vector x(i). d_out: the "
        "length of the queries, keys and values after the projection. d_k: the length of "
        "the keys (and queries), the d_k in the scaling by √d_k (lesson 2).",
    ),
    Entry(
        "dot product",
        "a · b = a₁b₁ + a₂b₂ + …, which also equals |a| |b| cos θ: it grows with the lengths "
        "of both vectors and with how closely they point the same way (θ is the angle "
        "between them).",
    ),
    Entry(
        "dropout",
        "During training, each attention weight is set to 0 independently with probability "
        "p, and the weights that are kept are multiplied by 1/(1 − p). It is switched off "
        "when the model is used (lesson 3).",
    ),
    Entry(
        "embedding",
        "The vector x(i) that stands for a token. A real model learns a table of them in "
        "training; in lessons 1 to 4 you can type them, and typed tokens get made-up ones.",
    ),
    Entry(
        "eval mode",
        "model.eval() in PyTorch: the model is used rather than trained, so layers such as "
        "dropout are switched off. model.train() switches them back on.",
    ),
    Entry(
        "feed-forward block (GELU)",
        "The part of a transformer layer that works on each token's vector on its own: a "
        "linear layer that widens it (in lesson 5's model from 384 to 1536 numbers), the GELU "
        "function (GELU(x) = x · Φ(x), with Φ the standard normal distribution function: a "
        "smooth curve close to max(0, x)), and a linear layer back to the first size.",
    ),
    Entry(
        "head",
        "One attention with its own W_query, W_key and W_value. Multi-head attention runs "
        "several heads side by side and joins their context vectors (lesson 4).",
    ),
    Entry(
        "LayerNorm",
        "Layer normalisation: each token's vector is shifted and rescaled so that its numbers "
        "have mean 0 and variance close to 1, then multiplied by a learned scale and shifted "
        "by a learned offset (one of each per position in the vector).",
    ),
    Entry(
        "nn.Linear",
        "PyTorch's layer that computes x Wᵀ + b, where the stored weight W has shape "
        "(d_out, d_in) and b is an optional bias. With bias=False it is one matrix product.",
    ),
    Entry(
        "one-hot",
        "A row with one entry 1 and every other entry 0. A softmax row comes close to one-hot "
        "when one score is far above the others.",
    ),
    Entry(
        "query, key, value q(i), k(j), v(j)",
        "Three vectors made from each input by multiplying it with W_query, W_key and "
        "W_value. The query of token i is compared with the key of every token j to give "
        "the scores; the values are what the weighted sum adds up (lesson 2).",
    ),
    Entry(
        "residual connection",
        "Adding a block's input to its output, x + block(x): the block changes the vector "
        "rather than replacing it (lesson 5).",
    ),
    Entry(
        "scores ω(i, j)",
        "How well token i matches token j before any normalising: a dot product, x(i) · x(j) "
        "in lesson 1 and q(i) · k(j) from lesson 2 on.",
    ),
    Entry(
        "softmax",
        "Turns a row of scores into weights: exp(ω(i, j)) divided by the sum of exp over "
        "the row. The weights add up to 1, a larger score never gets a smaller weight, and in "
        "exact arithmetic every weight is above 0 (in float32 a tiny one can round to 0).",
    ),
    Entry(
        "T",
        "The number of tokens in the example.",
    ),
    Entry(
        "token",
        "One piece of the text that gets its own vector: here a word you type; in a real "
        "model often a piece of a word.",
    ),
    Entry(
        "view, transpose",
        "PyTorch reshapes. view gives the same numbers a new shape, for example (T, d_out) "
        "as (T, heads, head_dim); transpose swaps two dimensions. Lesson 4 uses them to "
        "split one big attention into heads.",
    ),
    Entry(
        "WordPiece",
        "The way the model in lesson 5 splits text into tokens: common words stay whole, "
        "rarer words are split into pieces (a piece that continues a word starts with ##).",
    ),
    Entry(
        "attention sink",
        "A finding about trained decoders (Xiao et al., 2023): many heads put a large share of "
        "their weight on the first token whatever it is, as if parking it there (lesson 6).",
    ),
    Entry(
        "grouped-query attention",
        "Several query heads share one key/value head, so fewer keys and values are computed "
        "and stored (lesson 6's model: 9 query heads, 3 key/value heads).",
    ),
    Entry(
        "KV cache",
        "While a decoder writes text, the keys and values of the tokens so far are kept, so "
        "each new token computes only its own query, key and value (lesson 6).",
    ),
    Entry(
        "logit",
        "A decoder's raw score for each possible next token; the softmax of the logits gives "
        "the probability of each token (lesson 6).",
    ),
    Entry(
        "RMSNorm",
        "Like LayerNorm, but it only divides each vector by its root mean square (no mean is "
        "subtracted), then scales each entry by a learned weight (lesson 6).",
    ),
    Entry(
        "RoPE (rotary position embedding)",
        "Position enters by rotating pairs of entries of each query and key by an angle that "
        "grows with the token's position; for the same two vectors, q · k then depends on how "
        "far apart the two tokens are, not on where they stand (lesson 6).",
    ),
)
ENTRIES: tuple[Entry, ...] = tuple(sorted(_ENTRIES, key=lambda entry: entry.term.lower()))


def lookup(term: str) -> Entry:
    """The entry whose term starts with `term` (case-insensitive)."""
    wanted = term.lower()
    for entry in ENTRIES:
        if entry.term.lower().startswith(wanted):
            return entry
    raise KeyError(term)


def as_markdown() -> str:
    """Every entry as one Markdown text: the term in bold, then its meaning."""
    return "\n\n".join(f"**{entry.term}**: {entry.meaning}" for entry in ENTRIES)
