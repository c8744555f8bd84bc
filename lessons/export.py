"""What every lesson's export shares: LessonData (the numbers), the CSV and JSON writers, and
the pieces of the PyTorch scripts (literals, header, print helper). Each lesson builds its own
data and script in lessons/lessonN.py. Pure Python and torch (no Streamlit).

Shape legend: T tokens, d (or d_in) embedding size, d_out projected size.

Numbers keep their full float32 precision: each is written with the fewest digits that read
back as the same float32 (0.12 rather than 0.11999999731779099). Text (tokens, labels) that a
spreadsheet would run as a formula is escaped with a leading apostrophe.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from attention.simple import AttentionSteps

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
    caveat for the page when something on it is not exported, and what its script needs."""

    number: int
    title: str
    tokens: list[str]
    matrices: list[Matrix]
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    caveat: str = ""
    # What the PyTorch script needs to run, said above it on the page.
    script_needs: str = (
        "Needs only Python and PyTorch. Your inputs and weights are written out as numbers; "
        "the computation follows this lesson's steps, line by line."
    )

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


def dims(prefix: str, n: int) -> list[str]:
    """Labels "prefix 1" .. "prefix n"."""
    return [f"{prefix} {j + 1}" for j in range(n)]


def token_matrix(name: str, values: torch.Tensor, tokens: list[str], columns: list[str]) -> Matrix:
    """A matrix with one row per token: values (T, C)."""
    return Matrix(name, values, list(tokens), list(columns))


def weight_matrices(weights: Sequence[torch.Tensor], names: Sequence[str]) -> list[Matrix]:
    """Weight matrices in x @ W orientation: rows are the input dimensions (d_in, d_out)."""
    return [
        Matrix(name, W, dims("dim", W.shape[0]), dims("out", W.shape[1]), row_title="input")
        for name, W in zip(names, weights, strict=True)
    ]


_dims, _token_matrix = dims, token_matrix  # the names lesson 1's functions below use


def lesson1_data(tokens: Sequence[str], inputs: torch.Tensor, steps: AttentionSteps) -> LessonData:
    """Lesson 1's export data; it lives in lessons/lesson1.py (imported here when called)."""
    from lessons.lesson1 import lesson1_data as build

    return build(tokens, inputs, steps)


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


def tensor_literal(name: str, matrix: torch.Tensor, comment: str, per_line: int = 8) -> str:
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


SHOW_FUNCTION = '''

def show(name, matrix):
    """Print a matrix the way the app shows it: 4 decimals, one row per line."""
    rows, columns = matrix.shape
    print(f"{name} ({rows} x {columns})")
    for i, row in enumerate(matrix.tolist()):
        print(f"{i + 1:>4}  " + " ".join(f"{value:10.4f}" for value in row))

'''


def script_header(data: LessonData) -> str:
    """The script's docstring, import and tokens."""
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


def literal_block(data: LessonData, names: Sequence[str], comments: dict[str, str]) -> str:
    """The matrices `names` of `data` as tensor literals, each with its comment."""
    return "\n\n".join(
        tensor_literal(name, data.matrix(name).values, comments[name]) for name in names
    )


def show_lines(names: Iterable[str]) -> str:
    """One show("name", name) line per name."""
    return "\n".join(f'show("{name}", {name})' for name in names)


# the names lesson 1's script below uses
_header, _literal_block, _shows, _SHOW = script_header, literal_block, show_lines, SHOW_FUNCTION


def _snippet_lesson1(data: LessonData) -> str:
    from lessons.lesson1 import pytorch_script  # lesson 1's script lives with its lesson

    return pytorch_script(data)


_SNIPPETS = {1: _snippet_lesson1}
SCRIPT_LESSONS = (1, 2, 3, 4)  # lessons 2-4: the function script(data) in lessons/lessonN.py


def pytorch_snippet(data: LessonData) -> str:
    """A self-contained Python script (it imports torch only) with the lesson's inputs and
    weights as literals that recomputes the lesson the way the notebook writes it and prints
    the computed matrices, 4 decimals, one row per line under a line "name (R x C)".

    Tokens appear only as Python string literals made with repr(); they are never printed."""
    if data.number not in SCRIPT_LESSONS:
        raise ValueError(f"no PyTorch script for lesson {data.number}")
    if data.number in _SNIPPETS:
        return _SNIPPETS[data.number](data)
    # Imported here: the lesson modules import this one.
    return importlib.import_module(f"lessons.lesson{data.number}").script(data)


def printed_names(data: LessonData) -> list[str]:
    """The matrices pytorch_snippet(data) prints, in order (the computed ones)."""
    given = {"inputs", "W_query", "W_key", "W_value", "W_out", "b_out"}
    return [m.name for m in data.matrices if m.name not in given]
