"""Every input of ../shared/BAD_INPUTS.md, through every entry path it applies to.

For each: the app keeps running, says what is wrong in plain words (never echoing markup),
keeps the last good view and the user's other edits, and never renders the input as markup.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_support import chart, open_app
from bad_input_items import MARKUP, SPREADSHEET
from streamlit.testing.v1 import AppTest

from lessons.validate import MAX_TOKENS, MAX_UPLOAD_BYTES, InputError, apply_edits, parse_tokens

ROOT = Path(__file__).resolve().parents[1]
SEED = json.loads((ROOT / "tests" / "data" / "seed.json").read_text())["simple"]

ODD_ACCEPTED = ["😀 🎉", "e\u0301 a\u0308", "שלום עולם", "👩\u200d💻", "first\nsecond", "\tlead"]
ODD_REFUSED = ["a\u202eb", "a\u200bb", "a\x00b", "x" * 10_000]


def weights_z(at: AppTest) -> list[list[float]]:
    return chart(at, "weights_heatmap")["data"][0]["z"]


def rendered_markdown(at: AppTest) -> str:
    """All text the page renders as Markdown (titles, text, messages)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [m.value for kind in ("error", "warning", "info", "success") for m in at.get(kind)]
    parts += [h.value for h in at.header] + [t.value for t in at.title]
    return "\n".join(parts)


def assert_not_rendered(at: AppTest, text: str) -> None:
    """The text may appear in plain-text elements (code, tables, inputs), never as Markdown."""
    rendered = rendered_markdown(at)
    for piece in text.split():
        if any(not char.isascii() or char in "<>*[]$&=@+!()" for char in piece):
            assert piece not in rendered, f"{piece!r} reached Markdown"


# Token text box -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", MARKUP + SPREADSHEET + ODD_ACCEPTED + ["the cat the"])
def test_tokens_are_accepted_and_shown_only_as_plain_text(text):
    at = open_app()
    at.text_input(key="w_tokens_text").input(text).run()
    assert not at.exception
    assert not at.sidebar.error
    tokens = text.split()
    assert at.session_state["ax_tokens"] == tokens
    assert len(weights_z(at)) == len(tokens)
    assert_not_rendered(at, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one token"),
        ("   ", "at least one token"),
        (" ".join(["t"] * (MAX_TOKENS + 1)), f"at most {MAX_TOKENS}"),
        *[(text, "Token 1") for text in ODD_REFUSED],
    ],
)
def test_bad_tokens_get_a_message_and_keep_the_last_good_view(text, message):
    at = open_app()
    at.number_input(key="w_dim").set_value(4).run()  # another edit that must survive
    before = weights_z(at)
    at.text_input(key="w_tokens_text").input(text).run()
    assert not at.exception
    assert message in at.sidebar.error[0].value
    assert "<" not in at.sidebar.error[0].value
    assert weights_z(at) == before
    assert at.number_input(key="w_dim").value == 4
    assert at.text_input(key="w_tokens_text").value == text


def test_one_token_and_the_maximum():
    at = open_app()
    at.text_input(key="w_tokens_text").input("alone").run()
    assert weights_z(at) == [[1.0]]
    at.text_input(key="w_tokens_text").input(" ".join(f"t{i}" for i in range(MAX_TOKENS))).run()
    assert not at.exception and len(weights_z(at)) == MAX_TOKENS


def test_identical_tokens_give_identical_rows():
    at = open_app()
    at.text_input(key="w_tokens_text").input("the cat the").run()
    z = weights_z(at)
    assert z[0] == z[2] and z[0][0] == z[0][2]


# Numbers (editor cells, links, files) ---------------------------------------------------------

NUMBERS_REFUSED = ["NaN", "inf", "-inf", "1e38", "-1e38", "1e20", "", "abc", None]
NUMBERS_ACCEPTED = {"5e-324": 5e-324, "-0.0": 0.0, "0,5": 0.5, "0.5": 0.5}


@pytest.mark.parametrize("value", NUMBERS_REFUSED)
def test_editor_cells_refuse_bad_numbers_and_keep_the_other_edits(value):
    rows, messages = apply_edits(
        [[0.1, 0.2], [0.3, 0.4]], {0: {"dim 1": 9.0}, 1: {"dim 2": value}}, ["dim 1", "dim 2"]
    )
    assert rows == [[9.0, 0.2], [0.3, 0.4]]
    assert len(messages) == 1 and "Row 2, column dim 2" in messages[0]


@pytest.mark.parametrize(("text", "expected"), NUMBERS_ACCEPTED.items())
def test_editor_cells_accept_odd_but_valid_numbers(text, expected):
    rows, messages = apply_edits([[0.1]], {0: {"dim 1": text}}, ["dim 1"])
    assert messages == [] and rows == [[expected]]


def test_scores_that_overflow_the_naive_softmax_are_a_lesson_not_a_crash():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["tokens"] = "big bigger"
    at.query_params["x"] = "10,0;12,0"
    at.run()
    assert not at.exception
    assert any("naive softmax overflowed" in w.value for w in at.warning)
    z = weights_z(at)
    assert all(abs(sum(row) - 1) < 1e-6 for row in z)


# URL parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"tokens": "a b", "x": "1,2;3"},
        {"tokens": "a b", "x": "nan,1;2,3"},
        {"tokens": "a b", "x": "inf,1;2,3"},
        {"tokens": "a b", "x": "1%ZZ,1;2,3"},
        {"tokens": "a " * 5000},
        {"tokens": " ".join(["t"] * (MAX_TOKENS + 1))},
        {"tokens": "<script>alert(1)</script> b", "x": "1,2"},
        {"tokens": "a", "q": "9"},
    ],
)
def test_bad_links_show_a_message_and_the_seed(params):
    at = open_app(**params)
    assert at.warning[0].value.startswith("This link could not be opened")
    assert "<script" not in rendered_markdown(at)
    assert at.session_state["ax_tokens"] == SEED["tokens"]


def test_unknown_link_keys_are_ignored():
    at = open_app(tokens="a b", utm_source="<b>x</b>")
    assert not [w for w in at.warning if w.value.startswith("This link")]
    assert at.session_state["ax_tokens"] == ["a", "b"]
    assert "<b>" not in rendered_markdown(at)


def test_markup_in_a_link_is_plain_text():
    at = open_app(tokens="<img src=x onerror=alert(1)> **x**", x="1,0;0,1;1,1;0,0")
    assert at.session_state["ax_tokens"] == ["<img", "src=x", "onerror=alert(1)>", "**x**"]
    assert not [w for w in at.warning if w.value.startswith("This link")]
    assert_not_rendered(at, "<img src=x onerror=alert(1)> **x**")


# Uploaded embeddings file ---------------------------------------------------------------------


def upload(data: bytes) -> AppTest:
    at = open_app()
    at.text_input(key="w_tokens_text").input("keep these tokens").run()
    at.get("file_uploader")[0].set_value(("vectors.csv", data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def at_limit() -> bytes:
    """64 tokens whose values are written with many zeros: exactly MAX_UPLOAD_BYTES bytes."""
    rows = 64
    value_chars = (MAX_UPLOAD_BYTES - rows * len(b"t,\n")) // rows
    extra = MAX_UPLOAD_BYTES - rows * (len(b"t,\n") + value_chars)
    lines = []
    for i in range(rows):
        width = value_chars + (extra if i == 0 else 0)
        lines.append(b"t," + b"0." + b"0" * (width - 3) + b"5\n")
    return b"".join(lines)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"token,dim 1,dim 2\n", "only one row"),
        (b"cat|0.1|0.2\ndog|0.3|0.4\n", "token and at least one number"),
        (b"cat,0.1,0.2\ndog,0.3\n", "same number of values"),
        (b"\xff\xfe\x00c,\x001", "not UTF-8"),
        (b'"ca\nt",0.1\n', "one word"),
        (b"a,1\n" * 1_000_000, "the limit is"),
        (at_limit() + b"x", "the limit is"),
        (b"cat,0.1\ndog,abc\n", "not a number"),
        (b"cat,nan\ndog,0.1\n", "finite"),
        (b"a,1\n" * (MAX_TOKENS + 1), f"at most {MAX_TOKENS}"),
        (b"<img src=x onerror=alert(1)>,1\n", "one word"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(data, message):
    at = upload(data)
    errors = [e.value for e in at.sidebar.error]
    assert errors and message in errors[0], errors
    assert "<img" not in errors[0]
    assert at.session_state["ax_tokens"] == ["keep", "these", "tokens"]


@pytest.mark.parametrize(
    ("data", "tokens"),
    [
        (b"token,d1,d2\ncat,0.1,0.2\ndog,0.3,0.4\n", ["cat", "dog"]),
        (b"\xef\xbb\xbfcat,0.1,0.2\ndog,0.3,0.4\n", ["cat", "dog"]),
        (b"cat;0,1;0,2\ndog;0,3;0,4\n", ["cat", "dog"]),
        (b"cat\t0.1\ndog\t0.3\n", ["cat", "dog"]),
        (b'=HYPERLINK("x"),0.1\n+1,0.2\n', ['=HYPERLINK("x")', "+1"]),
    ],
)
def test_good_files_replace_tokens_and_vectors(data, tokens):
    at = upload(data)
    assert not at.sidebar.error
    assert at.session_state["ax_tokens"] == tokens
    assert at.text_input(key="w_tokens_text").value == " ".join(tokens)
    assert len(weights_z(at)) == len(tokens)


def test_a_file_exactly_at_the_limit_is_read():
    data = at_limit()
    assert len(data) == MAX_UPLOAD_BYTES
    at = upload(data)
    assert not at.sidebar.error
    assert at.session_state["ax_tokens"] == ["t"] * 64


# The pretrained lesson's sentence box --------------------------------------------------------


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "**x** $x^2$", "a\u202eb 😀"])
def test_the_sentence_box_shows_markup_as_tokens(text):
    at = open_app("pages/5_Pretrained_transformer.py")
    at.text_input(key="w_l5_text").input(text).run()
    assert not at.exception and not at.error
    assert_not_rendered(at, text)


def test_the_sentence_box_refuses_empty_and_too_long_text():
    at = open_app("pages/5_Pretrained_transformer.py")
    before = at.code[0].value
    for text, message in (
        ("  ", "empty"),
        ("\u200b", "no words"),
        ("x " * 300, "the limit is 128"),
    ):
        at.text_input(key="w_l5_text").input(text).run()
        assert not at.exception
        assert message in at.error[0].value
        assert at.code[0].value == before


def test_input_error_messages_never_contain_markup():
    for text in MARKUP:
        with pytest.raises(InputError) as error:
            parse_tokens(text + " " + "y" * 100)
        assert "<" not in str(error.value) and "*" not in str(error.value)
