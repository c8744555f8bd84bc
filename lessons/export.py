"""Exports of a lesson's numbers: CSV for spreadsheets, JSON for programs, and a PyTorch script
that recomputes them. Pure Python and torch (no Streamlit), so the tests can call it directly.

Shape legend: T tokens, d (or d_in) embedding size, d_out projected size, h heads,
hd head_dim.

Numbers keep their full float32 precision: each is written with the fewest digits that read
back as the same float32 (0.12 rather than 0.11999999731779099). Text (tokens, labels) that a
spreadsheet would run as a formula is escaped with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from attention.causal import CausalSteps
from attention.multihead import MultiHeadAttention, MultiHeadSteps
from attention.simple import AttentionSteps
from attention.trainable import QKVWeights, TrainableSteps

APP_NAME = "Attention Explorer"
# A spreadsheet treats a cell that starts with one of these as a formula (or strips it first).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE_NOTE = (
    "Text (tokens, labels) that starts with =, +, -, @, a tab or a carriage return is written "
    "with a ' in front, so a spreadsheet shows it as text instead of running it as a formula. "
    "Numbers are never changed."
)
NUMBERS_NOTE = (
    "Numbers are the app's float32 values, each written with the fewest digits that give back "
    "exactly the same float32. The app rounds them to 4 decimals on screen."
)
NON_FINITE_NOTE = (
    "A value that is not a finite number is an empty cell in the CSV and null in the JSON: "
    "in masked_scores that is −∞, a future position the query may not see."
)
DROPOUT_NOTE = (
    "Dropout is not included: its random draws depend on the random number generator, so it "
    "could give other numbers on another machine or PyTorch version. These are the weights "
    "with dropout switched off, as at inference (model.eval())."
)


class Matrix(NamedTuple):
    """One named 2-D table: values (R, C) with a label per row and per column.

    row_title names the label column (e.g. "token" or "input").
    """

    name: str
    values: torch.Tensor
    rows: list[str]
    columns: list[str]
    row_title: str = "token"


@dataclass(frozen=True)
class LessonData:
    """Everything one lesson exports: its number and title, the tokens, the matrices in display
    order, the settings that produced them (e.g. seed, num_heads), notes for the reader, and a
    caveat for the page when something on it is not exported."""

    number: int
    title: str
    tokens: list[str]
    matrices: list[Matrix]
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    caveat: str = ""

    @property
    def file_stem(self) -> str:
        """Base name of the downloaded files, e.g. attention-lesson1."""
        return f"attention-lesson{self.number}"

    def matrix(self, name: str) -> Matrix:
        """The matrix called `name`."""
        for matrix in self.matrices:
            if matrix.name == name:
                return matrix
        raise KeyError(name)


# Building the data of each lesson -------------------------------------------------------------


def _dims(prefix: str, n: int) -> list[str]:
    return [f"{prefix} {j + 1}" for j in range(n)]


def _token_matrix(name: str, values: torch.Tensor, tokens: list[str], columns: list[str]) -> Matrix:
    return Matrix(name, values, list(tokens), list(columns))


def _weight_matrices(weights: Sequence[torch.Tensor], names: Sequence[str]) -> list[Matrix]:
    """Weight matrices in x @ W orientation: rows are the input dimensions (d_in, d_out)."""
    return [
        Matrix(name, W, _dims("dim", W.shape[0]), _dims("out", W.shape[1]), row_title="input")
        for name, W in zip(names, weights, strict=True)
    ]


def lesson1_data(tokens: Sequence[str], inputs: torch.Tensor, steps: AttentionSteps) -> LessonData:
    """Lesson 1's export data; it lives in lessons/lesson1.py (imported here when called)."""
    from lessons.lesson1 import lesson1_data as build

    return build(tokens, inputs, steps)


def _qkv_matrices(
    tokens: list[str], inputs: torch.Tensor, weights: QKVWeights, steps: TrainableSteps
) -> list[Matrix]:
    out = _dims("out", weights.W_query.shape[1])
    return [
        _token_matrix("inputs", inputs, tokens, _dims("dim", inputs.shape[1])),
        *_weight_matrices(weights, QKVWeights._fields),
        _token_matrix("queries", steps.queries, tokens, out),
        _token_matrix("keys", steps.keys, tokens, out),
        _token_matrix("values", steps.values, tokens, _dims("out", steps.values.shape[1])),
        _token_matrix("attn_scores", steps.attn_scores, tokens, tokens),
    ]


def lesson2_data(
    tokens: Sequence[str],
    inputs: torch.Tensor,
    weights: QKVWeights,
    steps: TrainableSteps,
    seed: int | None = None,
) -> LessonData:
    """Lesson 2 (trainable weights): inputs, W_query, W_key, W_value (d_in, d_out), queries,
    keys, values (T, d_out), attn_scores, scaled_scores, attn_weights (T, T), context_vecs.
    `steps` is trainable_attention(inputs, weights)."""
    tokens = list(tokens)
    d_k = weights.W_key.shape[1]
    return LessonData(
        2,
        "Lesson 2: self-attention with trainable weights",
        tokens,
        [
            *_qkv_matrices(tokens, inputs, weights, steps),
            _token_matrix("scaled_scores", steps.scaled_scores, tokens, tokens),
            _token_matrix("attn_weights", steps.attn_weights, tokens, tokens),
            _token_matrix(
                "context_vecs", steps.context_vecs, tokens, _dims("out", steps.values.shape[1])
            ),
        ],
        settings={"T": len(tokens), "d_in": inputs.shape[1], "d_out": d_k, "seed": seed},
        notes=[
            "queries = inputs @ W_query (likewise keys, values); attn_scores = queries @ keys.T; "
            f"scaled_scores = attn_scores / sqrt(d_k) with d_k = {d_k}; attn_weights = softmax "
            "of each row; context_vecs = attn_weights @ values. The W matrices are the ones on "
            "the page, including your edits."
        ],
    )


def lesson3_data(
    tokens: Sequence[str],
    inputs: torch.Tensor,
    weights: QKVWeights,
    steps: CausalSteps,
    seed: int | None = None,
) -> LessonData:
    """Lesson 3 (causal attention): lesson 2's matrices plus the mask (T, T; 1 = future,
    hidden) and masked_scores (scaled, −∞ in the future); attn_weights and context_vecs are
    causal. Dropout is left out (see DROPOUT_NOTE). `steps` is causal_attention(inputs, *weights).
    """
    tokens = list(tokens)
    d_k = weights.W_key.shape[1]
    scaled_scores = steps.attn_scores * (1.0 / math.sqrt(d_k))  # as scaled_dot_product does
    return LessonData(
        3,
        "Lesson 3: causal attention",
        tokens,
        [
            *_qkv_matrices(tokens, inputs, weights, steps),
            _token_matrix("scaled_scores", scaled_scores, tokens, tokens),
            _token_matrix("mask", steps.mask.to(torch.int64), tokens, tokens),
            _token_matrix("masked_scores", steps.masked_scores, tokens, tokens),
            _token_matrix("attn_weights", steps.attn_weights, tokens, tokens),
            _token_matrix(
                "context_vecs", steps.context_vecs, tokens, _dims("out", steps.values.shape[1])
            ),
        ],
        settings={"T": len(tokens), "d_in": inputs.shape[1], "d_out": d_k, "seed": seed},
        notes=[
            "As lesson 2, then mask: 1 where the key comes after the query (the future). "
            "masked_scores = scaled_scores with the future set to −∞; attn_weights = softmax "
            "of each row of masked_scores; context_vecs = attn_weights @ values.",
            DROPOUT_NOTE,
        ],
        caveat="The dropout above is not in the files or the code: its random draws could "
        "differ on another machine. They hold the causal weights without dropout, as a model "
        "uses them after training.",
    )


def lesson4_data(
    tokens: Sequence[str],
    inputs: torch.Tensor,
    module: MultiHeadAttention,
    steps: MultiHeadSteps,
    seed: int | None = None,
) -> LessonData:
    """Lesson 4 (multi-head attention): inputs, the weights in x @ W orientation (W_query,
    W_key, W_value (d_in, d_out), W_out (d_out, d_out), b_out (1, d_out)), one attn_weights
    (T, T) per head, concat_context (T, d_out) and output (T, d_out).
    `steps` is module.steps(inputs) for an unbatched (T, d_in) input."""
    tokens = list(tokens)
    h, hd, d_out = module.num_heads, module.head_dim, module.d_out
    head_columns = [f"head {i + 1} · {j + 1}" for i in range(h) for j in range(hd)]
    with torch.no_grad():
        W = [getattr(module, name).weight.detach().T for name in QKVWeights._fields]
        W_out = module.out_proj.weight.detach().T  # (d_out, d_out), x @ W_out orientation
        b_out = module.out_proj.bias.detach()[None, :]  # (1, d_out)
    weights = [
        Matrix(name, W_i, _dims("dim", W_i.shape[0]), head_columns, row_title="input")
        for name, W_i in zip(QKVWeights._fields, W, strict=True)
    ]
    out = _dims("out", d_out)
    return LessonData(
        4,
        "Lesson 4: multi-head attention",
        tokens,
        [
            _token_matrix("inputs", inputs, tokens, _dims("dim", inputs.shape[1])),
            *weights,
            Matrix("W_out", W_out, head_columns, out, row_title="concat"),
            Matrix("b_out", b_out, ["bias"], out, row_title=""),
            *(
                _token_matrix(f"attn_weights head {i + 1}", steps.attn_weights[i], tokens, tokens)
                for i in range(h)
            ),
            _token_matrix("concat_context", steps.concat_context, tokens, head_columns),
            _token_matrix("output", steps.output, tokens, out),
        ],
        settings={
            "T": len(tokens),
            "d_in": inputs.shape[1],
            "num_heads": h,
            "head_dim": hd,
            "d_out": d_out,
            "causal": module.causal,
            "seed": seed,
        },
        notes=[
            "queries = inputs @ W_query (likewise keys, values), split into num_heads slices of "
            "head_dim columns; per head attn_weights = softmax(queries @ keys.T / sqrt(head_dim))"
            + (" with the future masked" if module.causal else "")
            + "; concat_context puts the heads' attn_weights @ values side by side; "
            "output = concat_context @ W_out + b_out. The W matrices are the module's nn.Linear "
            "weights transposed (out_proj.weight.T for W_out).",
            DROPOUT_NOTE,
        ],
    )


# Text and numbers -----------------------------------------------------------------------------


def escape_text(text: str) -> str:
    """`text` with a ' in front when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def shortest_float32(value: float) -> float:
    """The float with the fewest significant digits that rounds to the same float32 as `value`
    (0.11999999731779099 -> 0.12). NumPy prints a float32 that way."""
    return float(str(np.float32(value)))


def _cells(values: torch.Tensor) -> list[list[float | int | None]]:
    """A 2-D tensor as rows of JSON-ready numbers: int for integer/bool tensors, the shortest
    float32 text for float32, repr precision for float64, None for non-finite values."""
    values = values.detach().cpu()
    if not values.is_floating_point():
        return [[int(v) for v in row] for row in values.to(torch.int64).tolist()]
    if values.dtype == torch.float64:
        rows = values.tolist()
    else:
        array = values.to(torch.float32).numpy()
        rows = [[float(str(v)) for v in row] for row in array]  # shortest float32 digits
    return [[v if math.isfinite(v) else None for v in row] for row in rows]


def _number_text(value: float | int | None) -> str:
    return "" if value is None else repr(value)


def _meta(data: LessonData) -> dict[str, Any]:
    return {
        "app": APP_NAME,
        "lesson_number": data.number,
        "settings": data.settings,
        "notes": [escape_text(note) for note in data.notes],
        "numbers": NUMBERS_NOTE,
        "non_finite": NON_FINITE_NOTE,
        "text_escaping": ESCAPE_NOTE,
    }


# CSV and JSON ---------------------------------------------------------------------------------


def to_csv(data: LessonData) -> str:
    """One CSV: a few `key,value` lines about the lesson, then one block per matrix: a line
    naming it (name, "R rows x C columns"), a header row (row title, column labels), and one
    row per label. Blocks are separated by an empty line; non-finite values are empty cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; quotes \r and \n
    meta = _meta(data)
    writer.writerow([APP_NAME, escape_text(data.title)])
    writer.writerow(["tokens", *(escape_text(token) for token in data.tokens)])
    for key, value in data.settings.items():
        writer.writerow([key, "" if value is None else str(value)])
    for note in meta["notes"]:
        writer.writerow(["note", note])
    for key in ("numbers", "non_finite", "text_escaping"):
        writer.writerow(["note", meta[key]])
    for matrix in data.matrices:
        rows, columns = matrix.values.shape
        writer.writerow([])
        writer.writerow([escape_text(matrix.name), f"{rows} rows x {columns} columns"])
        writer.writerow([escape_text(matrix.row_title), *map(escape_text, matrix.columns)])
        for label, row in zip(matrix.rows, _cells(matrix.values), strict=True):
            writer.writerow([escape_text(label), *map(_number_text, row)])
    return buffer.getvalue()


def to_json(data: LessonData) -> str:
    """{"lesson", "tokens", "matrices": {name: {"rows", "columns", "values"}}, "meta"} as strict
    JSON (non-finite numbers are null), indented for reading."""
    document = {
        "lesson": escape_text(data.title),
        "tokens": [escape_text(token) for token in data.tokens],
        "matrices": {
            escape_text(matrix.name): {
                "rows": [escape_text(label) for label in matrix.rows],
                "columns": [escape_text(label) for label in matrix.columns],
                "values": _cells(matrix.values),
            }
            for matrix in data.matrices
        },
        "meta": _meta(data),
    }
    return _dumps(document) + "\n"


def _dumps(value: Any, indent: str = "") -> str:
    """Strict JSON, indented, with each list of numbers or strings on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{_dumps(str(k))}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(
        isinstance(v, list | dict) or (isinstance(v, str) and len(v) > 60) for v in value
    ):
        items = [inner + _dumps(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


# The PyTorch script ---------------------------------------------------------------------------


def _literal(value: float) -> str:
    """A float32 value as Python source: shortest digits, or float("inf") and the like."""
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(shortest_float32(value))


def _tensor_literal(name: str, matrix: torch.Tensor, comment: str, per_line: int = 8) -> str:
    """`name = torch.tensor([...], dtype=torch.float32)`, one row per line (long rows wrapped)."""
    lines = [f"{name} = torch.tensor(  # {comment}", "    ["]
    for row in matrix.detach().cpu().double().tolist():
        parts = [_literal(v) for v in row]
        chunks = [", ".join(parts[i : i + per_line]) for i in range(0, len(parts), per_line)]
        if len(chunks) == 1:
            lines.append(f"        [{chunks[0]}],")
        else:
            lines.append("        [")
            lines.extend(f"            {chunk}," for chunk in chunks)
            lines.append("        ],")
    lines.append("    ],")
    lines.append("    dtype=torch.float32,")
    lines.append(")")
    return "\n".join(lines)


_SHOW = '''

def show(name, matrix):
    """Print a matrix the way the app shows it: 4 decimals, one row per line."""
    rows, columns = matrix.shape
    print(f"{name} ({rows} x {columns})")
    for i, row in enumerate(matrix.tolist()):
        print(f"{i + 1:>4}  " + " ".join(f"{value:10.4f}" for value in row))

'''


def _header(data: LessonData) -> str:
    tokens = "[" + ", ".join(repr(token) for token in data.tokens) + "]"
    return "\n".join(
        [
            f'"""{APP_NAME}, lesson {data.number}: your numbers, recomputed with PyTorch.',
            "",
            "Run it with Python 3 and PyTorch installed: python this_file.py",
            "It prints the matrices the app shows, rounded to 4 decimals.",
            '"""',
            "",
            "import torch",
            "",
            "# Row i of inputs (and printed row i + 1 of every result) belongs to tokens[i].",
            f"tokens = {tokens}",
        ]
    )


def _literal_block(data: LessonData, names: Sequence[str], comments: dict[str, str]) -> str:
    return "\n\n".join(
        _tensor_literal(name, data.matrix(name).values, comments[name]) for name in names
    )


def _shows(names: Iterable[str]) -> str:
    return "\n".join(f'show("{name}", {name})' for name in names)


def _snippet_lesson1(data: LessonData) -> str:
    from lessons.lesson1 import pytorch_script  # lesson 1's script lives with its lesson

    return pytorch_script(data)


def _qkv_code(data: LessonData) -> list[str]:
    T, d_in = data.matrix("inputs").values.shape
    d_out = data.matrix("W_query").values.shape[1]
    shape = f"(d_in, d_out) = ({d_in}, {d_out})"
    return [
        _header(data),
        _literal_block(
            data,
            ["inputs", "W_query", "W_key", "W_value"],
            {
                "inputs": f"(T, d_in) = ({T}, {d_in})",
                "W_query": shape,
                "W_key": shape,
                "W_value": shape,
            },
        ),
        "",
        "queries = inputs @ W_query  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
        "keys = inputs @ W_key  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
        "values = inputs @ W_value  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
        "attn_scores = queries @ keys.T  # (T, d_out) x (d_out, T) -> (T, T)",
        "d_k = keys.shape[-1]",
        "scaled_scores = attn_scores * (1 / d_k**0.5)  # divide by sqrt(d_k)",
    ]


def _snippet_lesson2(data: LessonData) -> str:
    return "\n".join(
        [
            *_qkv_code(data),
            "attn_weights = torch.softmax(scaled_scores, dim=-1)  # (T, T): each row sums to 1",
            "context_vecs = attn_weights @ values  # (T, T) x (T, d_out) -> (T, d_out)",
            _SHOW,
            _shows(
                [
                    "queries",
                    "keys",
                    "values",
                    "attn_scores",
                    "scaled_scores",
                    "attn_weights",
                    "context_vecs",
                ]
            ),
            "",
        ]
    )


def _snippet_lesson3(data: LessonData) -> str:
    return "\n".join(
        [
            *_qkv_code(data),
            "T = inputs.shape[0]",
            "# True above the diagonal: key j comes after query i (the future), so it is hidden.",
            "mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # (T, T)",
            'masked_scores = scaled_scores.masked_fill(mask, float("-inf"))  # (T, T)',
            "attn_weights = torch.softmax(masked_scores, dim=-1)  # (T, T): 0 in the future",
            "context_vecs = attn_weights @ values  # (T, T) x (T, d_out) -> (T, d_out)",
            "# Dropout is left out: its random draws can differ between machines and versions.",
            _SHOW,
            _shows(
                [
                    "queries",
                    "keys",
                    "values",
                    "attn_scores",
                    "scaled_scores",
                    "mask",
                    "masked_scores",
                    "attn_weights",
                    "context_vecs",
                ]
            ),
            "",
        ]
    )


def _snippet_lesson4(data: LessonData) -> str:
    T, d_in = data.matrix("inputs").values.shape
    s = data.settings
    h, hd, d_out = s["num_heads"], s["head_dim"], s["d_out"]
    W_shape = f"(d_in, d_out) = ({d_in}, {d_out})"
    return "\n".join(
        [
            _header(data),
            f"num_heads, head_dim = {h}, {hd}",
            f"d_out = num_heads * head_dim  # {d_out}",
            f"causal = {bool(s['causal'])!r}",
            "",
            _literal_block(
                data,
                ["inputs", "W_query", "W_key", "W_value", "W_out", "b_out"],
                {
                    "inputs": f"(T, d_in) = ({T}, {d_in})",
                    "W_query": W_shape,
                    "W_key": W_shape,
                    "W_value": W_shape,
                    "W_out": f"(d_out, d_out) = ({d_out}, {d_out}), the output projection",
                    "b_out": f"(1, d_out) = (1, {d_out}), its bias",
                },
            ),
            "",
            "T = inputs.shape[0]",
            "queries = inputs @ W_query  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
            "keys = inputs @ W_key  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
            "values = inputs @ W_value  # (T, d_in) x (d_in, d_out) -> (T, d_out)",
            "# Split into heads: (T, d_out) -> (T, num_heads, head_dim) -> (num_heads, T, hd)",
            "queries = queries.view(T, num_heads, head_dim).transpose(0, 1)",
            "keys = keys.view(T, num_heads, head_dim).transpose(0, 1)",
            "values = values.view(T, num_heads, head_dim).transpose(0, 1)",
            "# (num_heads, T, head_dim) x (num_heads, head_dim, T) -> (num_heads, T, T)",
            "scores = (queries @ keys.transpose(1, 2)) * (1 / head_dim**0.5)",
            "if causal:",
            "    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # the future",
            '    scores = scores.masked_fill(mask, float("-inf"))',
            "attn_weights = torch.softmax(scores, dim=-1)  # (num_heads, T, T)",
            "# (num_heads, T, T) x (num_heads, T, head_dim) -> (num_heads, T, head_dim)",
            "context = attn_weights @ values",
            "concat_context = context.transpose(0, 1).reshape(T, d_out)  # heads side by side",
            "output = concat_context @ W_out + b_out  # (T, d_out) x (d_out, d_out) -> (T, d_out)",
            _SHOW,
            "for h in range(num_heads):",
            '    show(f"attn_weights head {h + 1}", attn_weights[h])',
            _shows(["concat_context", "output"]),
            "",
        ]
    )


_SNIPPETS = {1: _snippet_lesson1, 2: _snippet_lesson2, 3: _snippet_lesson3, 4: _snippet_lesson4}


def pytorch_snippet(data: LessonData) -> str:
    """A self-contained Python script (it imports torch only) with the lesson's inputs and
    weights as literals that recomputes the lesson the way the notebook writes it and prints
    the computed matrices, 4 decimals, one row per line under a line "name (R x C)".

    Tokens appear only as Python string literals made with repr(); they are never printed."""
    try:
        build = _SNIPPETS[data.number]
    except KeyError:
        raise ValueError(f"no PyTorch script for lesson {data.number}") from None
    return build(data)


def printed_names(data: LessonData) -> list[str]:
    """The matrices pytorch_snippet(data) prints, in order (the computed ones)."""
    given = {"inputs", "W_query", "W_key", "W_value", "W_out", "b_out"}
    return [m.name for m in data.matrices if m.name not in given]
