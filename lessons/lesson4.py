"""Lesson 4: multi-head attention, built two ways that agree, and the code that computes it.

Pure Python and torch (no Streamlit). Shape legend: T tokens, d_in embedding size,
h num_heads, hd head_dim, d_out = h * hd.

The code the page shows and the "As PyTorch code" script are made from one list of lines,
`code_lines(settings)`; `run_code` executes exactly those lines on the page's numbers, so the
page can check them against both builds (and the tests exec the whole script).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from attention.multihead import MultiHeadSteps, from_wrapper, init_wrapper
from lessons import export
from lessons.export import LessonData, Matrix
from lessons.question import Question

DEFAULT_NUM_HEADS = 2
DEFAULT_HEAD_DIM = 2
DEFAULT_SEED = 123  # the book's torch.manual_seed(123) before MultiHeadAttention
DEFAULT_CAUSAL = True
MAX_NUM_HEADS = 8
MAX_HEAD_DIM = 8

BUILDS_ON = (
    "This lesson builds on lessons 2 and 3: one **head** is the attention of lesson 2 (its own "
    "W_query, W_key and W_value, scores scaled by √d_k), with lesson 3's causal mask "
    + (
        "(on by default; switch it off with *Causal mask* below)."
        if DEFAULT_CAUSAL
        else "(off by default; switch it on with *Causal mask* below)."
    )
    + " The idea: each head can learn its own "
    "way of relating tokens. **Multi-head attention** runs several heads side by side on the "
    "same tokens, each with its own weights; their context vectors are concatenated and mixed "
    "by one more matrix, the **output projection**."
)
STEPS = [
    "Each head's attention weights",
    "Concatenate the heads, then project",
    "The code, for these settings",
    "Two ways to build it",
    "One head, one query",
]
SOURCE = (
    'Source: Sebastian Raschka, "Build a Large Language Model (From Scratch)", chapter 3 '
    "(MultiHeadAttentionWrapper and MultiHeadAttention). Where the app differs: in the book the "
    "wrapper's d_out is the size of each head and the wrapper has no output projection; here "
    "d_out = num_heads × head_dim is the total size for both builds and the stack of heads gets "
    "the same output projection, so both give the same shapes. In the book the two builds draw "
    "their own random weights and print different numbers; here the weights of build 1 are "
    "copied into build 2, so the two must agree. The book passes a dropout rate (0.0 in its "
    "examples); here there is no dropout (eval mode). The book works on a batch of two copies "
    "of its six-token sentence; here on one sequence, your tokens. The book's MultiHeadAttention "
    "example uses d_out = 2 with 2 heads (head_dim = 1); the app starts at head_dim = 2 "
    "(d_out = 4)."
)

# The weights the code uses, in x @ W orientation (rows = inputs), and their shapes.
WEIGHT_NAMES = ("W_query", "W_key", "W_value", "W_out", "b_out")


class Settings(NamedTuple):
    """The lesson's settings; d_out = num_heads * head_dim."""

    num_heads: int = DEFAULT_NUM_HEADS
    head_dim: int = DEFAULT_HEAD_DIM
    seed: int = DEFAULT_SEED
    causal: bool = DEFAULT_CAUSAL

    @property
    def d_out(self) -> int:
        return self.num_heads * self.head_dim


class Weights(NamedTuple):
    """Build 2's weights as the code uses them: W_query, W_key, W_value (d_in, d_out) are the
    nn.Linear weights transposed; W_out (d_out, d_out) is out_proj.weight transposed;
    b_out (d_out,) is out_proj.bias."""

    W_query: torch.Tensor
    W_key: torch.Tensor
    W_value: torch.Tensor
    W_out: torch.Tensor
    b_out: torch.Tensor


class Lesson4(NamedTuple):
    """Everything the page shows.

    stacked: build 1 (a stack of single heads); split: build 2 (one module, heads split by
    view + transpose), each MultiHeadSteps with attn_weights (h, T, T), concat_context and
    output (T, d_out); weights: build 2's, as the code uses them; code: the lines that ran;
    code_result: what those lines computed (attn_weights, concat_context, output);
    builds_difference / code_difference: largest absolute differences (build 1 vs build 2;
    the code vs build 2) over output and weights.
    """

    settings: Settings
    stacked: MultiHeadSteps
    split: MultiHeadSteps
    weights: Weights
    code: str
    code_result: dict[str, torch.Tensor]
    builds_difference: float
    code_difference: float


def _shape(*dims: int) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def code_lines(settings: Settings, T: int, d_in: int) -> list[str]:
    """The lesson's computation as Python lines, for these settings (with the mask lines only
    when causal), with shape comments for these sizes. Expects in scope: torch, inputs
    (T, d_in) and the Weights fields; defines queries, keys, values, attn_scores,
    attn_weights (h, T, T), context, concat_context and output (T, d_out)."""
    h, hd, d_out = settings.num_heads, settings.head_dim, settings.d_out
    lines = [
        f"num_heads, head_dim = {h}, {hd}",
        f"d_out = num_heads * head_dim  # {d_out}",
        f"T = inputs.shape[0]  # {T} tokens",
        f"queries = inputs @ W_query  # (T, d_in) x (d_in, d_out) -> {_shape(T, d_out)}",
        f"keys = inputs @ W_key  # (T, d_in) x (d_in, d_out) -> {_shape(T, d_out)}",
        f"values = inputs @ W_value  # (T, d_in) x (d_in, d_out) -> {_shape(T, d_out)}",
        "# Split into heads: (T, d_out) -> (T, num_heads, head_dim) -> (num_heads, T, head_dim)",
        f"queries = queries.view(T, num_heads, head_dim).transpose(0, 1)  # {_shape(h, T, hd)}",
        f"keys = keys.view(T, num_heads, head_dim).transpose(0, 1)  # {_shape(h, T, hd)}",
        f"values = values.view(T, num_heads, head_dim).transpose(0, 1)  # {_shape(h, T, hd)}",
        f"attn_scores = queries @ keys.transpose(1, 2)  # one (T, T) per head: {_shape(h, T, T)}",
    ]
    if settings.causal:
        lines += [
            "mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = future",
            "attn_scores = attn_scores.masked_fill(mask, -torch.inf)  # hide the future",
        ]
    lines += [
        f"attn_weights = torch.softmax(attn_scores / head_dim**0.5, dim=-1)  # {_shape(h, T, T)}",
        f"context = attn_weights @ values  # (h, T, T) x (h, T, hd) -> {_shape(h, T, hd)}",
        "concat_context = context.transpose(0, 1).reshape(T, d_out)  # heads side by side: "
        + _shape(T, d_out),
        f"output = concat_context @ W_out + b_out  # (T, d_out) x (d_out, d_out) -> "
        f"{_shape(T, d_out)}",
    ]
    return lines


def run_code(code: str, inputs: torch.Tensor, weights: Weights) -> dict[str, torch.Tensor]:
    """Execute `code` (made by code_lines, never user text) on these tensors; returns the
    tensors it defines: attn_weights (h, T, T), concat_context and output (T, d_out)."""
    scope: dict = {"torch": torch, "inputs": inputs, **weights._asdict()}
    with torch.no_grad():
        exec(compile(code, "<lesson 4 code>", "exec"), scope)  # our own lines, numbers only
    return {name: scope[name] for name in ("attn_weights", "concat_context", "output")}


def _max_difference(a: dict[str, torch.Tensor], b: MultiHeadSteps) -> float:
    return max(
        float((a[name] - getattr(b, name)).abs().max())
        for name in ("attn_weights", "concat_context", "output")
    )


def compute(inputs: torch.Tensor, settings: Settings) -> Lesson4:
    """Both builds from the seed, the code run on build 2's weights, and their differences.

    inputs: (T, d_in)."""
    T, d_in = inputs.shape
    wrapper = init_wrapper(
        d_in, settings.num_heads, settings.head_dim, seed=settings.seed, causal=settings.causal
    )
    module = from_wrapper(wrapper)  # build 1's weights copied into build 2
    with torch.no_grad():
        stacked = wrapper.steps(inputs)  # build 1: a stack of single-head modules
        split = module.steps(inputs)  # build 2: one module, heads split by view + transpose
        weights = Weights(
            module.W_query.weight.detach().T,  # (d_in, d_out)
            module.W_key.weight.detach().T,  # (d_in, d_out)
            module.W_value.weight.detach().T,  # (d_in, d_out)
            module.out_proj.weight.detach().T,  # (d_out, d_out)
            module.out_proj.bias.detach().clone(),  # (d_out,)
        )
    code = "\n".join(code_lines(settings, T, d_in))
    code_result = run_code(code, inputs, weights)
    builds_difference = _max_difference(stacked._asdict(), split)
    return Lesson4(
        settings,
        stacked,
        split,
        weights,
        code,
        code_result,
        builds_difference,
        _max_difference(code_result, split),
    )


def weights_max(result: Lesson4) -> float:
    """The largest weight over every head: one colour range 0..this for all head charts."""
    return float(result.split.attn_weights.max())


# Predict, then reveal ------------------------------------------------------------------------


def heads_question(attn_weights: torch.Tensor) -> Question | None:
    """Do heads 1 and 2 give the last query's largest weight to the same key? For
    attn_weights (h, T, T); None with one head."""
    if attn_weights.shape[0] < 2:
        return None
    T = attn_weights.shape[-1]
    first, second = (int(attn_weights[h, -1].argmax()) for h in (0, 1))
    return Question(
        f"Predict: for the last query q({T}), do heads 1 and 2 give their largest weight to "
        "the same key?",
        {"same": "the same key", "different": "different keys"},
        {"same" if first == second else "different"},
        f"head 1 gives q({T})'s largest weight to key k({first + 1}), "
        f"head 2 to key k({second + 1}).",
        "Same tokens, other weights: each head's W_query and W_key make its own scores, so "
        "heads can attend to different tokens. That is the motivation for having several "
        "(Vaswani et al., 2017).",
    )


# Exported numbers and the script -----------------------------------------------------------------


def head_columns(settings: Settings) -> list[str]:
    """Column labels of the concatenated heads: "head 1 · 1", ..."""
    return [
        f"head {i + 1} · {j + 1}"
        for i in range(settings.num_heads)
        for j in range(settings.head_dim)
    ]


def lesson_data(tokens: Sequence[str], inputs: torch.Tensor, result: Lesson4) -> LessonData:
    """The numbers lesson 4 exports: inputs, W_query, W_key, W_value (d_in, d_out), W_out
    (d_out, d_out), b_out (1, d_out), one attn_weights (T, T) per head, concat_context and
    output (T, d_out)."""
    tokens = list(tokens)
    s, w, steps = result.settings, result.weights, result.split
    heads = head_columns(s)
    out = export.dims("out", s.d_out)
    return LessonData(
        4,
        "Lesson 4: multi-head attention",
        tokens,
        [
            export.token_matrix("inputs", inputs, tokens, export.dims("dim", inputs.shape[1])),
            *(
                Matrix(name, W, export.dims("dim", W.shape[0]), heads, row_title="input")
                for name, W in zip(WEIGHT_NAMES[:3], w[:3], strict=True)
            ),
            Matrix("W_out", w.W_out, heads, out, row_title="concat"),
            Matrix("b_out", w.b_out[None, :], ["bias"], out, row_title=""),
            *(
                export.token_matrix(
                    f"attn_weights head {i + 1}", steps.attn_weights[i], tokens, tokens
                )
                for i in range(s.num_heads)
            ),
            export.token_matrix("concat_context", steps.concat_context, tokens, heads),
            export.token_matrix("output", steps.output, tokens, out),
        ],
        settings={
            "T": len(tokens),
            "d_in": inputs.shape[1],
            "num_heads": s.num_heads,
            "head_dim": s.head_dim,
            "d_out": s.d_out,
            "causal": s.causal,
            "seed": s.seed,
        },
        notes=[
            "queries = inputs @ W_query (likewise keys, values), split into num_heads slices of "
            "head_dim columns; per head attn_weights = softmax(queries @ keys.T / sqrt(head_dim))"
            + (" with the future masked" if s.causal else "")
            + "; concat_context puts the heads' attn_weights @ values side by side; "
            "output = concat_context @ W_out + b_out. The W matrices are the module's nn.Linear "
            "weights transposed (out_proj.weight.T for W_out).",
            export.DROPOUT_NOTE,
        ],
    )


def settings_of(data: LessonData) -> Settings:
    """The settings a lesson-4 export was made with."""
    s = data.settings
    return Settings(s["num_heads"], s["head_dim"], s["seed"], bool(s["causal"]))


def script(data: LessonData) -> str:
    """The lesson as a self-contained PyTorch script: the inputs and weights as literals, then
    exactly the lines the page shows and runs (code_lines), then the printed results."""
    T, d_in = data.matrix("inputs").values.shape
    settings = settings_of(data)
    d_out = settings.d_out
    W_shape = f"(d_in, d_out) = ({d_in}, {d_out})"
    literals = export.literal_block(
        data,
        ["inputs", "W_query", "W_key", "W_value", "W_out", "b_out"],
        {
            "inputs": f"(T, d_in) = ({T}, {d_in})",
            "W_query": W_shape + ", W_query.weight.T",
            "W_key": W_shape + ", W_key.weight.T",
            "W_value": W_shape + ", W_value.weight.T",
            "W_out": f"(d_out, d_out) = ({d_out}, {d_out}), out_proj.weight.T",
            "b_out": f"(1, d_out) = (1, {d_out}), out_proj.bias",
        },
    )
    return "\n".join(
        [
            export.script_header(data),
            literals,
            "",
            *code_lines(settings, T, d_in),
            export.SHOW_FUNCTION,
            "for h in range(num_heads):",
            '    show(f"attn_weights head {h + 1}", attn_weights[h])',
            export.show_lines(["concat_context", "output"]),
            "",
        ]
    )
