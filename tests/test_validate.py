"""The one validation layer every entry path uses."""

from __future__ import annotations

import math
import re

import pytest
from bad_input_items import MARKUP, SPREADSHEET
from hypothesis import given, settings
from hypothesis import strategies as st

from attention import SEED_INPUTS, SEED_TOKENS
from lessons.validate import (
    MAX_ABS_VALUE,
    MAX_TOKENS,
    InputError,
    apply_edits,
    carry_over,
    check_matrix,
    check_value,
    embedding_row,
    parse_share_params,
    parse_tokens,
    resize,
    share_params,
)

HOSTILE_TOKENS = MARKUP + SPREADSHEET


def test_tokens_split_on_any_whitespace_and_keep_repeats():
    assert parse_tokens("the cat\tthe\nend") == ["the", "cat", "the", "end"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_no_tokens_is_refused_with_a_plain_message(text):
    with pytest.raises(InputError, match="at least one token"):
        parse_tokens(text)


def test_token_count_limit():
    assert len(parse_tokens(" ".join(["a"] * MAX_TOKENS))) == MAX_TOKENS
    with pytest.raises(InputError, match=f"at most {MAX_TOKENS}"):
        parse_tokens(" ".join(["a"] * (MAX_TOKENS + 1)))


@pytest.mark.parametrize("token", HOSTILE_TOKENS)
def test_markup_is_kept_as_plain_text_and_never_echoed_in_messages(token):
    assert parse_tokens(f"{token} next") == [*token.split(), "next"]
    with pytest.raises(InputError) as error:
        parse_tokens(f"{token} " + "y" * 5000)
    assert token not in str(error.value) and "<" not in str(error.value)


@pytest.mark.parametrize("token", ["😀", "e\u0301", "שלום", "👩\u200d💻"])
def test_emoji_combining_marks_and_rtl_text_are_tokens(token):
    assert parse_tokens(token) == [token]


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("a\u202eb", "U+202E"),
        ("a\u200bb", "U+200B"),
        ("a\x00b", "U+0000"),
        ("x" * 10_000, "10,000"),
    ],
)
def test_invisible_characters_and_huge_tokens_are_refused(text, what):
    with pytest.raises(InputError, match=what.replace("+", r"\+")):
        parse_tokens(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.5, 0.5), ("0.5", 0.5), ("0,5", 0.5), (-0.0, 0.0), (5e-324, 5e-324), (1e4, 1e4)],
)
def test_valid_numbers(value, expected):
    result = check_value(value, "cell")
    assert result == expected and math.copysign(1, result) == math.copysign(1, expected or 1)


@pytest.mark.parametrize(
    "value", [None, "", "abc", float("nan"), float("inf"), -float("inf"), 1e38, -1e38, 1e20, True]
)
def test_invalid_numbers_are_refused(value):
    with pytest.raises(InputError, match="cell"):
        check_value(value, "cell")


def test_check_matrix_shapes():
    rows = check_matrix([list(row) for row in SEED_INPUTS], SEED_TOKENS)
    assert rows[0] == [0.12, 0.45, 0.67]
    with pytest.raises(InputError, match="5 tokens but 4 rows"):
        check_matrix([list(row) for row in SEED_INPUTS[:4]], SEED_TOKENS)
    with pytest.raises(InputError, match="same number"):
        check_matrix([[1.0, 2.0], [1.0]], ["a", "b"])
    with pytest.raises(InputError, match="Row 2, dimension 1"):
        check_matrix([[1.0], ["nan"]], ["a", "b"])


def test_apply_edits_applies_good_cells_and_keeps_the_rest():
    base = [[0.1, 0.2], [0.3, 0.4]]
    edits = {0: {"dim 1": 1.5}, 1: {"dim 2": None, "token": "x"}}
    rows, messages = apply_edits(base, edits, ["dim 1", "dim 2"])
    assert rows == [[1.5, 0.2], [0.3, 0.4]]
    assert len(messages) == 1 and "Row 2, column dim 2 is empty" in messages[0]
    assert base == [[0.1, 0.2], [0.3, 0.4]]


def test_carry_over_keeps_vectors_of_tokens_still_there():
    old = [[1.0], [2.0], [3.0]]
    rows = carry_over(["a", "b", "a"], old, ["b", "a", "a", "a", "new"])
    assert rows[:4] == [[2.0], [1.0], [3.0], [1.0]]
    assert rows[4] == embedding_row("new", 1)


def test_resize_keeps_prefixes_and_fills_from_the_embedding():
    rows = resize(["a", "b"], [[0.5, 0.6], [0.7, 0.8]], 4)
    assert [row[:2] for row in rows] == [[0.5, 0.6], [0.7, 0.8]]
    assert rows[0][2:] == embedding_row("a", 4)[2:]
    assert resize(["a", "b"], rows, 1) == [[0.5], [0.7]]
    with pytest.raises(InputError):
        resize(["a"], [[1.0]], 0)


@settings(deadline=None, max_examples=200)
@given(st.text())
def test_any_text_either_parses_or_raises_input_error(text):
    try:
        tokens = parse_tokens(text)
    except InputError as error:
        assert str(error)
    else:
        assert 1 <= len(tokens) <= MAX_TOKENS and all(tokens)


@settings(deadline=None, max_examples=200)
@given(st.one_of(st.text(), st.floats(allow_nan=True), st.integers(), st.none()))
def test_any_value_either_checks_or_raises_input_error(value):
    try:
        number = check_value(value, "cell")
    except InputError:
        return
    assert math.isfinite(number) and abs(number) <= MAX_ABS_VALUE


# Share links ---------------------------------------------------------------------------------


def test_share_params_round_trip_exactly():
    tokens = ["the", "<b>x</b>", "the"]
    rows = [[0.12, -0.00001, 3.0], [1234.5678, -0.0, 1e-7], [0.12, -0.00001, 3.0]]
    params = share_params(tokens, rows, 2)
    assert params["x"] == "0.12,-0.00001,3;1234.5678,0,0.0000001;0.12,-0.00001,3"
    assert "e" not in params["x"]
    parsed = parse_share_params({key: [value] for key, value in params.items()})
    assert parsed == (tokens, [[0.12, -0.00001, 3.0], [1234.5678, 0.0, 1e-7], rows[2]], 2)


def test_share_params_readme_example():
    parsed = parse_share_params(
        {"tokens": ["Attention Mechanism"], "x": ["0.12,0.45,0.67;0.34,0.56,0.78"], "q": ["1"]}
    )
    assert parsed == (["Attention", "Mechanism"], [[0.12, 0.45, 0.67], [0.34, 0.56, 0.78]], 1)


def test_links_without_share_keys_are_not_links_and_unknown_keys_are_ignored():
    assert parse_share_params({}) is None
    assert parse_share_params({"utm_source": ["x"]}) is None
    assert parse_share_params({"tokens": ["a b"], "other": ["1", "2"]})[0] == ["a", "b"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tokens": ["a b", "c"]}, "'tokens' 2 times"),
        ({"x": ["1,2"]}, "no 'tokens'"),
        ({"tokens": ["a " * 5000]}, "the limit is 8,192"),
        ({"tokens": ["a b"], "x": ["1,2;3"]}, "same number of values"),
        ({"tokens": ["a b"], "x": ["1,2"]}, "2 tokens but 1 rows"),
        ({"tokens": ["a b"], "x": ["nan,1;2,3"]}, "finite"),
        ({"tokens": ["a b"], "x": ["inf,1;2,3"]}, "finite"),
        ({"tokens": ["a b"], "x": ["1%ZZ,1;2,3"]}, "not a number"),
        ({"tokens": ["a b"], "q": ["2"]}, "from 0 to 1"),
        ({"tokens": ["a b"], "q": ["-1"]}, "from 0 to 1"),
        ({"tokens": [" ".join(["t"] * (MAX_TOKENS + 1))]}, f"at most {MAX_TOKENS}"),
        ({"tokens": ["<script>alert(1)</script> \u202e"]}, "U+202E"),
    ],
)
def test_bad_links_are_refused_with_a_plain_message(params, message):
    with pytest.raises(InputError, match=re.escape(message)):
        parse_share_params(params)


@settings(deadline=None, max_examples=200)
@given(
    st.dictionaries(st.sampled_from(["tokens", "x", "q", "zz"]), st.lists(st.text(), max_size=2))
)
def test_any_link_either_parses_or_raises_input_error(params):
    try:
        parsed = parse_share_params(params)
    except InputError as error:
        assert str(error)
    else:
        assert parsed is None or len(parsed[0]) == len(parsed[1])
