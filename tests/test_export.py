"""Exports of the lessons: CSV and JSON content, spreadsheet escaping, the PyTorch script (run in a
fresh interpreter), and the download panel on every lesson page."""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from golden_data import REPO_ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from attention import SEED_TOKENS, embed_tokens, seed_inputs, simple_attention
from attention.causal import causal_attention, init_linear_qkv
from attention.multihead import init_wrapper
from attention.trainable import init_qkv_weights, trainable_attention
from lessons import lesson2, lesson3, lesson4
from lessons.export import (
    ESCAPE_NOTE,
    LessonData,
    Matrix,
    escape_text,
    lesson1_data,
    printed_names,
    pytorch_snippet,
    shortest_float32,
    to_csv,
    to_json,
)

TRIGGER_TOKENS = ['=HYPERLINK("https://example.com")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"]
HOSTILE = '\'"); import os; os.system("echo pwned") #'
# Tokens that try to end the string literal they are written into, in every way Python has.
HOSTILE_TOKENS = [HOSTILE, '"""', "'''", "back\\", "line\nbreak"]


# Helpers -------------------------------------------------------------------------------------


def seed_lesson(number: int, tokens: list[str] | None = None, **options) -> LessonData:
    """The lesson's data for the seed inputs, the page's default settings (or `options`)."""
    tokens = list(SEED_TOKENS) if tokens is None else tokens
    x = seed_inputs() if len(tokens) == 5 else embed_tokens(tokens, options.get("d", 3))
    if number == 1:
        return lesson1_data(tokens, x, simple_attention(x))
    if number == 2:
        weights = init_qkv_weights(x.shape[1], 2, 123)
        return lesson2.lesson_data(tokens, x, weights, trainable_attention(x, weights), seed=123)
    if number == 3:
        weights = init_linear_qkv(x.shape[1], 2, 789)
        return lesson3.lesson_data(tokens, x, weights, lesson3.compute(x, weights), seed=789)
    settings = lesson4.Settings(
        options.get("num_heads", 2), options.get("head_dim", 2), 123, options.get("causal", True)
    )
    return lesson4.lesson_data(tokens, x, lesson4.compute(x, settings))


def expected_results(number: int, x: torch.Tensor, **options) -> dict[str, torch.Tensor]:
    """The numbers the app shows, computed straight from the attention package."""
    if number == 1:
        steps = simple_attention(x)
        return {
            "attn_scores": steps.attn_scores,
            "attn_weights": steps.attn_weights,
            "context_vecs": steps.context_vecs,
        }
    if number == 2:
        s = trainable_attention(x, init_qkv_weights(x.shape[1], 2, 123))
        return {
            "queries": s.queries,
            "keys": s.keys,
            "values": s.values,
            "attn_scores": s.attn_scores,
            "scaled_scores": s.scaled_scores,
            "attn_weights": s.attn_weights,
            "context_vecs": s.context_vecs,
        }
    if number == 3:
        c = causal_attention(x, *init_linear_qkv(x.shape[1], 2, 789))
        return {
            "queries": c.queries,
            "keys": c.keys,
            "values": c.values,
            "attn_scores": c.attn_scores,
            "scaled_scores": c.attn_scores / math.sqrt(2),
            "mask": c.mask.float(),
            "masked_scores": c.masked_scores,
            "attn_weights": c.attn_weights,
            "context_vecs": c.context_vecs,
        }
    h = options.get("num_heads", 2)
    wrapper = init_wrapper(
        x.shape[1], h, options.get("head_dim", 2), seed=123, causal=options.get("causal", True)
    )
    with torch.inference_mode():
        m = wrapper.steps(x)  # the other build: a stack of single heads
    heads = {f"attn_weights head {i + 1}": m.attn_weights[i] for i in range(h)}
    return heads | {"concat_context": m.concat_context, "output": m.output}


def csv_blocks(text: str) -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    """(the lines before the first matrix, {matrix name: [header row, *rows]})."""
    rows = list(csv.reader(io.StringIO(text)))
    chunks: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            chunks[-1].append(row)
        else:
            chunks.append([])
    meta, blocks = chunks[0], {}
    for chunk in chunks[1:]:
        name_line, *table = chunk
        blocks[name_line[0]] = table
    return meta, blocks


def csv_numbers(table: list[list[str]]) -> list[list[float | None]]:
    return [[float(cell) if cell else None for cell in row[1:]] for row in table[1:]]


def assert_near(actual, expected, tol: float) -> None:
    torch.testing.assert_close(
        torch.as_tensor(actual, dtype=torch.float64),
        torch.as_tensor(expected, dtype=torch.float64),
        atol=tol,
        rtol=0,
    )


def strict_json(text: str):
    def refuse(constant: str):
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


# CSV and JSON for the seed example -----------------------------------------------------------


def test_csv_of_lesson_1_has_every_matrix_with_the_golden_numbers(golden):
    data = seed_lesson(1)
    meta, blocks = csv_blocks(to_csv(data))
    simple, tol = golden["simple"], golden["tolerance"]
    assert meta[0] == ["Attention Explorer", "Lesson 1: simple self-attention"]
    assert meta[1] == ["tokens", *simple["tokens"]]
    assert list(blocks) == ["inputs", "attn_scores", "attn_weights", "context_vecs"]
    for name, table in blocks.items():
        assert [row[0] for row in table[1:]] == simple["tokens"], name
    assert blocks["inputs"][0] == ["token", "dim 1", "dim 2", "dim 3"]
    assert blocks["attn_weights"][0] == ["token", *simple["tokens"]]
    assert blocks["inputs"][1] == ["Attention", "0.12", "0.45", "0.67"]  # as typed, not 0.1199…
    assert_near(csv_numbers(blocks["inputs"]), simple["inputs"], 1e-7)
    assert_near(csv_numbers(blocks["attn_scores"]), simple["scores"], tol)
    assert_near(csv_numbers(blocks["attn_weights"]), simple["weights"], tol)
    assert_near(csv_numbers(blocks["context_vecs"]), simple["context"], tol)
    assert_near(csv_numbers(blocks["context_vecs"])[0], [0.3897, 0.5495, 0.6587], 5e-5)


def test_json_of_lesson_1_has_every_matrix_with_the_golden_numbers(golden):
    document = strict_json(to_json(seed_lesson(1)))
    simple, tol = golden["simple"], golden["tolerance"]
    assert document["lesson"] == "Lesson 1: simple self-attention"
    assert document["tokens"] == simple["tokens"]
    matrices = document["matrices"]
    assert list(matrices) == ["inputs", "attn_scores", "attn_weights", "context_vecs"]
    for name, matrix in matrices.items():
        assert matrix["rows"] == simple["tokens"], name
        assert len(matrix["values"]) == 5 and all(
            len(r) == len(matrix["columns"]) for r in matrix["values"]
        )
    assert matrices["inputs"]["values"][0] == [0.12, 0.45, 0.67]
    assert matrices["attn_scores"]["columns"] == simple["tokens"]
    assert_near(matrices["attn_scores"]["values"], simple["scores"], tol)
    assert_near(matrices["attn_weights"]["values"], simple["weights"], tol)
    assert_near(matrices["context_vecs"]["values"], simple["context"], tol)
    assert_near(matrices["context_vecs"]["values"][0], [0.3897, 0.5495, 0.6587], 5e-5)
    assert document["meta"]["text_escaping"] == ESCAPE_NOTE
    assert "'" in document["meta"]["text_escaping"]


@pytest.mark.parametrize("number", [2, 3])
def test_csv_and_json_of_lessons_2_and_3_match_the_golden_numbers(golden, number):
    data = seed_lesson(number)
    _meta, blocks = csv_blocks(to_csv(data))
    matrices = strict_json(to_json(data))["matrices"]
    expected_names = [
        "inputs",
        "W_query",
        "W_key",
        "W_value",
        "queries",
        "keys",
        "values",
        "attn_scores",
        "scaled_scores",
        *(["mask", "masked_scores"] if number == 3 else []),
        "attn_weights",
        "context_vecs",
    ]
    assert list(blocks) == expected_names
    assert list(matrices) == expected_names
    section = golden["trainable" if number == 2 else "causal"]
    for name, key in (("attn_weights", "weights"), ("context_vecs", "context")):
        assert_near(csv_numbers(blocks[name]), section[key], golden["tolerance"])
        assert_near(matrices[name]["values"], section[key], golden["tolerance"])
    if number == 2:
        for name in ("W_query", "W_key", "W_value"):
            assert_near(matrices[name]["values"], section[name], golden["tolerance"])
            assert blocks[name][0] == ["input", "out 1", "out 2"]
            assert [row[0] for row in blocks[name][1:]] == ["dim 1", "dim 2", "dim 3"]


def test_lesson_3_exports_the_mask_and_minus_infinity_as_empty_or_null():
    data = seed_lesson(3)
    _meta, blocks = csv_blocks(to_csv(data))
    document = strict_json(to_json(data))
    future = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    assert document["matrices"]["mask"]["values"] == future.int().tolist()
    assert [row[1:] for row in blocks["mask"][1:]] == [
        [str(v) for v in row] for row in future.int().tolist()
    ]
    masked = document["matrices"]["masked_scores"]["values"]
    csv_masked = csv_numbers(blocks["masked_scores"])
    for i in range(5):
        for j in range(5):
            assert (masked[i][j] is None) == bool(future[i, j]) == (csv_masked[i][j] is None)
    meta = document["meta"]
    assert any("Dropout is not included" in note for note in meta["notes"])
    assert "null" in meta["non_finite"]


def test_lesson_4_exports_each_head_the_concatenation_and_the_output():
    data = seed_lesson(4, num_heads=3, head_dim=2, causal=False)
    document = strict_json(to_json(data))
    names = list(document["matrices"])
    assert names == [
        "inputs",
        "W_query",
        "W_key",
        "W_value",
        "W_out",
        "b_out",
        "attn_weights head 1",
        "attn_weights head 2",
        "attn_weights head 3",
        "concat_context",
        "output",
    ]
    assert list(csv_blocks(to_csv(data))[1]) == names
    expected = expected_results(4, seed_inputs(), num_heads=3, head_dim=2, causal=False)
    for name, values in expected.items():
        assert_near(document["matrices"][name]["values"], values, 1e-6)
    assert document["matrices"]["concat_context"]["columns"][2] == "head 2 · 1"
    assert document["meta"]["settings"] == {
        "T": 5,
        "d_in": 3,
        "num_heads": 3,
        "head_dim": 2,
        "d_out": 6,
        "causal": False,
        "seed": 123,
    }


def test_numbers_keep_full_float32_precision_in_both_files():
    data = seed_lesson(2)
    _meta, blocks = csv_blocks(to_csv(data))
    matrices = strict_json(to_json(data))["matrices"]
    for matrix in data.matrices:
        exact = matrix.values.to(torch.float32)
        assert torch.equal(torch.tensor(csv_numbers(blocks[matrix.name])), exact), matrix.name
        assert torch.equal(torch.tensor(matrices[matrix.name]["values"]), exact), matrix.name


def test_non_finite_numbers_become_empty_cells_and_null():
    values = torch.tensor([[float("nan"), float("inf")], [-float("inf"), -0.5]])
    data = LessonData(
        9,
        "odd numbers",
        ["a", "b"],
        [
            Matrix("odd", values, ["a", "b"], ["a", "b"]),
            Matrix("exact", torch.tensor([[0.1, -2.5]], dtype=torch.float64), ["r"], ["x", "y"]),
            Matrix("flags", torch.tensor([[True, False]]), ["r"], ["x", "y"]),
        ],
    )
    document = strict_json(to_json(data))
    assert document["matrices"]["odd"]["values"] == [[None, None], [None, -0.5]]
    assert document["matrices"]["exact"]["values"] == [[0.1, -2.5]]
    assert document["matrices"]["flags"]["values"] == [[1, 0]]
    _meta, blocks = csv_blocks(to_csv(data))
    assert blocks["odd"][1:] == [["a", "", ""], ["b", "", "-0.5"]]
    assert blocks["flags"][1:] == [["r", "1", "0"]]


def as_float32(value: float) -> float | None:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # beyond the largest float32
        return None


@settings(deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_shortest_float32_gives_the_same_float32_with_the_fewest_digits(value):
    shortest = shortest_float32(value)
    assert as_float32(shortest) == value
    assert math.copysign(1.0, shortest) == math.copysign(1.0, value)
    mantissa = repr(shortest).lstrip("-").split("e")[0].replace(".", "")
    digits = len(mantissa.strip("0")) or 1
    if digits > 1:
        assert as_float32(float(f"{value:.{digits - 1}g}")) != value


# Spreadsheet escaping ------------------------------------------------------------------------


@pytest.mark.parametrize("text", TRIGGER_TOKENS)
def test_escape_text_prefixes_formula_triggers(text):
    assert escape_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Attention", "1", "0.5", "a=b", "'quoted", "", " =x"])
def test_escape_text_leaves_other_text_alone(text):
    assert escape_text(text) == text


def trigger_lesson() -> LessonData:
    tokens = [*TRIGGER_TOKENS, "plain"]
    x = embed_tokens(tokens, 3)
    assert bool((x < 0).any()), "the test needs negative numbers"
    return lesson1_data(tokens, x, simple_attention(x))


def test_csv_escapes_formula_triggers_in_text_but_not_numbers():
    data = trigger_lesson()
    escaped = ["'" + token for token in TRIGGER_TOKENS] + ["plain"]
    meta, blocks = csv_blocks(to_csv(data))
    assert meta[1] == ["tokens", *escaped]
    negatives = 0
    for name, table in blocks.items():
        assert [row[0] for row in table[1:]] == escaped, name
        if table[0][1:] != ["dim 1", "dim 2", "dim 3"]:
            assert table[0] == ["token", *escaped], name
        for row in table[1:]:
            for cell in row[1:]:
                assert not cell.startswith("'"), (name, cell)
                float(cell)  # every number cell is a plain number
                negatives += cell.startswith("-")
    assert negatives > 0


def test_json_escapes_formula_triggers_in_text_but_not_numbers():
    data = trigger_lesson()
    escaped = ["'" + token for token in TRIGGER_TOKENS] + ["plain"]
    document = strict_json(to_json(data))
    assert document["tokens"] == escaped
    for name, matrix in document["matrices"].items():
        assert matrix["rows"] == escaped, name
        assert all(isinstance(v, float) for row in matrix["values"] for v in row), name
    assert document["matrices"]["attn_scores"]["columns"] == escaped
    assert any(v < 0 for row in document["matrices"]["inputs"]["values"] for v in row)


def test_a_token_with_a_comma_a_quote_and_a_newline_round_trips_through_csv():
    token = 'say, "hi"\nthere'
    tokens = [token, "next"]
    x = embed_tokens(tokens, 2)
    meta, blocks = csv_blocks(to_csv(lesson1_data(tokens, x, simple_attention(x))))
    assert meta[1] == ["tokens", token, "next"]
    assert blocks["attn_weights"][0] == ["token", token, "next"]
    assert [row[0] for row in blocks["context_vecs"][1:]] == tokens


# The PyTorch script --------------------------------------------------------------------------


def run_snippet(snippet: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "lesson.py"
    script.write_text(snippet, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,  # away from the repository: the script needs nothing of it
        env=env,
        timeout=120,
    )


def parse_printed(stdout: str) -> dict[str, torch.Tensor]:
    """The matrices the script printed: a line "name (R x C)", then R numbered rows."""
    lines = stdout.splitlines()
    printed, i = {}, 0
    while i < len(lines):
        match = re.fullmatch(r"(.+) \((\d+) x (\d+)\)", lines[i])
        assert match, f"unexpected line {lines[i]!r}"
        name, rows, columns = match[1], int(match[2]), int(match[3])
        table = []
        for r in range(rows):
            index, *cells = lines[i + 1 + r].split()
            assert int(index) == r + 1 and len(cells) == columns
            assert all(re.fullmatch(r"-?(\d+\.\d{4}|inf)", cell) for cell in cells), cells
            table.append([float(cell) for cell in cells])
        printed[name] = torch.tensor(table, dtype=torch.float64)
        i += 1 + rows
    return printed


SNIPPET_CASES = [
    pytest.param(1, HOSTILE_TOKENS, {}, id="lesson1"),
    pytest.param(2, HOSTILE_TOKENS, {}, id="lesson2"),
    pytest.param(3, HOSTILE_TOKENS, {}, id="lesson3"),
    pytest.param(4, HOSTILE_TOKENS, {}, id="lesson4-causal"),
    pytest.param(1, [*HOSTILE_TOKENS, "sixth", "seventh"], {"d": 16}, id="lesson1-long-rows"),
    pytest.param(
        4, HOSTILE_TOKENS, {"num_heads": 3, "head_dim": 3, "causal": False}, id="lesson4-3-heads"
    ),
]


@pytest.mark.parametrize(("number", "tokens", "options"), SNIPPET_CASES)
def test_the_pytorch_script_prints_the_apps_numbers(tmp_path, number, tokens, options):
    data = seed_lesson(number, tokens, **options)
    snippet = pytorch_snippet(data)
    result = run_snippet(snippet, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pwned" not in result.stdout + result.stderr
    printed = parse_printed(result.stdout)
    assert list(printed) == printed_names(data)
    x = data.matrix("inputs").values
    expected = expected_results(number, x, **options)
    assert list(printed) == list(expected)
    for name, values in expected.items():
        # Printed with 4 decimals: off by at most half of the last digit.
        assert_near(printed[name], values, 1e-4)


def test_the_pytorch_script_reproduces_the_golden_numbers(tmp_path, golden):
    result = run_snippet(pytorch_snippet(seed_lesson(1)), tmp_path)
    assert result.returncode == 0, result.stderr
    printed = parse_printed(result.stdout)
    assert_near(printed["attn_weights"], golden["simple"]["weights"], 1e-4)
    assert_near(printed["context_vecs"][0], [0.3897, 0.5495, 0.6587], 5e-5)


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_the_pytorch_script_imports_only_torch_and_holds_tokens_as_literals(number):
    data = seed_lesson(number, HOSTILE_TOKENS)
    tree = ast.parse(pytorch_snippet(data))
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported == ["torch"]
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    assignment = next(
        node
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "tokens"
    )
    assert ast.literal_eval(assignment.value) == HOSTILE_TOKENS
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & {"system", "eval", "exec", "__import__", "open"}


def test_the_script_keeps_the_weights_at_full_float32_precision():
    data = seed_lesson(2)
    namespace: dict = {}
    snippet = pytorch_snippet(data)
    literals = snippet.split("\nqueries = ")[0]  # up to the first computed line
    exec(compile(literals, "<snippet>", "exec"), {"torch": torch}, namespace)
    for name in ("inputs", "W_query", "W_key", "W_value"):
        assert torch.equal(namespace[name], data.matrix(name).values), name


def test_unknown_lessons_have_no_script():
    data = LessonData(9, "nine", ["a"], [])
    with pytest.raises(ValueError, match="lesson 9"):
        pytorch_snippet(data)


# Layering ------------------------------------------------------------------------------------


def test_the_export_module_does_not_import_streamlit():
    probe = "import sys, lessons.export; print('streamlit' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# The panel on the pages ----------------------------------------------------------------------

PAGES = [
    pytest.param(None, 1, "l1", id="lesson1"),
    pytest.param("pages/2_Trainable_weights.py", 2, "l2", id="lesson2"),
    pytest.param("pages/3_Causal_attention.py", 3, "l3", id="lesson3"),
    pytest.param("pages/4_Multi-head_attention.py", 4, "l4", id="lesson4"),
]


def open_page(page: str | None) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60).run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(("page", "number", "prefix"), PAGES)
def test_each_lesson_page_offers_the_downloads_and_its_script(page, number, prefix):
    at = open_page(page)
    assert "Take the numbers home" in [header.value for header in at.header]
    buttons = {button.key: button for button in at.get("download_button")}
    for kind, label in (("csv", "CSV"), ("json", "JSON"), ("py", ".py")):
        button = buttons[f"{prefix}_export_{kind}"]
        assert label in button.label
        assert button.proto.deferred_file_id  # the file is made when clicked
        assert button.proto.ignore_rerun  # a download does not rerun the lesson
    expander = at.get_by_key(f"{prefix}_export_code")
    assert expander.label == "As PyTorch code"
    code = expander.code
    assert len(code) == 1 and code[0].language == "python"
    # st.code drops the file's final newline
    assert code[0].value == pytorch_snippet(seed_lesson(number)).rstrip("\n")


def test_lesson_3_says_on_the_page_that_dropout_is_not_exported():
    at = open_page("pages/3_Causal_attention.py")
    assert any("dropout above is not in the files" in c.value for c in at.caption)


def test_formula_tokens_typed_in_the_sidebar_reach_the_script_as_literals():
    at = open_page(None)
    tokens = ['=HYPERLINK("https://example.com")', "+1", "-1", "@SUM(A1)"]
    at.text_input(key="w_tokens_text").set_value(" ".join(tokens)).run()
    assert not at.exception, [e.value for e in at.exception]
    code = at.get_by_key("l1_export_code").code[0].value
    assert "tokens = [" + ", ".join(map(repr, tokens)) + "]" in code.splitlines()


def test_the_script_on_the_page_follows_the_settings():
    at = open_page("pages/2_Trainable_weights.py")
    at.number_input(key="l2_seed").set_value(7).run()
    assert not at.exception
    weights = init_qkv_weights(3, 2, 7)
    x = seed_inputs()
    steps = trainable_attention(x, weights)
    expected = lesson2.lesson_data(list(SEED_TOKENS), x, weights, steps, seed=7)
    assert at.get_by_key("l2_export_code").code[0].value == pytorch_snippet(expected).rstrip()


def big_panel_app() -> None:
    import torch

    from attention import simple_attention
    from lessons.export import lesson1_data, pytorch_snippet
    from ui.export_widgets import export_panel

    x = torch.linspace(-1, 1, 64 * 384).reshape(64, 384)
    data = lesson1_data([f"t{i}" for i in range(64)], x, simple_attention(x))
    export_panel(data, pytorch_snippet(data), key_prefix="big")


def test_a_very_long_script_is_offered_as_a_file_instead_of_shown():
    at = AppTest.from_function(big_panel_app, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    expander = at.get_by_key("big_export_code")
    assert len(expander.code) == 0
    assert "too long to show" in expander.info[0].value
    assert at.get_by_key("big_export_py").proto.deferred_file_id
