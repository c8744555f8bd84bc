"""AppTest: the home page (lesson 1) and every page run, show the seed's numbers, and react."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from app_support import chart, open_app
from streamlit.testing.v1 import AppTest

from lessons.catalog import PAGES
from lessons.numbers import NUMBER_WORDS
from ui import lazy

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "data" / "seed.json").read_text())
SIMPLE = GOLDEN["simple"]
TOL = GOLDEN["tolerance"]


def close(actual, expected, tol: float = TOL) -> bool:
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(
            close(a, e, tol) for a, e in zip(actual, expected, strict=True)
        )
    return abs(actual - expected) <= tol


def frame_by_columns(at: AppTest, *columns: str):
    for df in at.dataframe:
        if all(column in df.value.columns for column in columns):
            return df.value
    raise AssertionError(f"no table with columns {columns}")


def test_home_page_defaults_to_the_seed_example():
    at = open_app()
    assert at.title[0].value == "Simple self-attention"
    editor = frame_by_columns(at, "token", "dim 1")
    assert editor["token"].tolist() == SIMPLE["tokens"]
    assert close(editor[["dim 1", "dim 2", "dim 3"]].values.tolist(), SIMPLE["inputs"], 1e-6)


def test_home_page_shows_every_seed_value_of_the_query_steps():
    at = open_app()
    # Step 1: the worked dot products, term by term.
    worked = at.code[0].value.splitlines()
    assert worked[0].startswith("ω(1,1) = 0.12×0.12 + 0.45×0.45 + 0.67×0.67 = 0.6658")
    printed = [float(line.split(" = ")[-1].split()[0]) for line in worked]
    assert close(printed, SIMPLE["query_scores"])
    assert close(chart(at, "query_scores_bar")["data"][0]["y"], SIMPLE["query_scores"])
    # Step 2: three normalisations, in the table and in the grouped bars.
    table = frame_by_columns(at, "score", "sum normalisation", "naive softmax")
    assert close(table["score"].tolist(), SIMPLE["query_scores"])
    assert close(table["sum normalisation"].tolist(), SIMPLE["query_weights_sum"])
    assert close(table["naive softmax"].tolist(), SIMPLE["query_weights_naive_softmax"])
    assert close(table["softmax (stable)"].tolist(), SIMPLE["query_weights_softmax"])
    bars = chart(at, "query_weights_bars")["data"]
    assert [b["name"] for b in bars] == ["sum normalisation", "naive softmax", "softmax (stable)"]
    assert close(bars[2]["y"], SIMPLE["query_weights_softmax"])
    sums = next(c.value for c in at.caption if c.value.startswith("Sum of the weights"))
    assert sums.count("= 1.0000") == 3
    # Step 3: the weighted sum ends with the context vector z(1).
    weighted = at.code[1].value.splitlines()
    assert weighted[-1] == "= z(1) = [0.3897, 0.5495, 0.6587]"
    # The flat picture is the default; the 3-D one draws the raw vectors and z(1).
    assert "projected to 2-D (PCA)" in chart(at, "vectors_plot")["layout"]["title"]["text"]
    at.toggle(key="w_vectors_3d").set_value(True).run()
    vectors = chart(at, "vectors_plot")["data"]
    context_trace = vectors[-1]
    assert close([context_trace[a][0] for a in "xyz"], SIMPLE["query_context"])
    points = [list(p) for p in zip(*(vectors[1][a] for a in "xyz"), strict=True)]
    assert close(points, SIMPLE["inputs"], 1e-6)


def test_home_page_shows_the_seed_matrices():
    at = open_app(opened=[lazy.opened_key("l1", "rows")])
    assert close(chart(at, "scores_heatmap")["data"][0]["z"], SIMPLE["scores"])
    weights = chart(at, "weights_heatmap")
    assert close(weights["data"][0]["z"], SIMPLE["weights"])
    # The colour range runs from 0 to just above the largest weight, so the pattern shows.
    largest = max(max(row) for row in SIMPLE["weights"])
    assert (
        weights["data"][0]["zmin"] == 0 and largest <= weights["data"][0]["zmax"] < largest + 0.01
    )
    assert weights["data"][0]["y"] == [f"{i + 1}: {t}" for i, t in enumerate(SIMPLE["tokens"])]
    context = frame_by_columns(at, "z dim 1")
    assert close(context[["z dim 1", "z dim 2", "z dim 3"]].values.tolist(), SIMPLE["context"])
    per_query = chart(at, "weights_by_query")
    assert len(per_query["data"]) == len(SIMPLE["weights"])
    for trace, row in zip(per_query["data"], SIMPLE["weights"], strict=True):
        assert close(trace["y"], row)
    assert per_query["layout"]["sliders"][0]["active"] == 0  # starts at the picked query
    assert any(
        s.value.startswith("Check: row 1 of Z equals the step-by-step z(1)") for s in at.success
    )
    assert not at.error


def test_changing_the_query_changes_what_is_shown():
    at = open_app()
    at.selectbox(key="w_query").select(2).run()
    assert not at.exception
    assert at.code[0].value.startswith("ω(3,1) = 0.23×0.12")
    scores = chart(at, "query_scores_bar")["data"][0]["y"]
    assert close(scores, SIMPLE["scores"][2])
    assert at.code[1].value.splitlines()[-1] == (
        "= z(3) = [" + ", ".join(f"{v:.4f}" for v in SIMPLE["context"][2]) + "]"
    )


def test_changing_the_tokens_keeps_known_vectors_and_recomputes():
    at = open_app()
    at.text_input(key="w_tokens_text").input("drives Attention new").run()
    assert not at.exception
    editor = frame_by_columns(at, "token", "dim 1")
    assert editor["token"].tolist() == ["drives", "Attention", "new"]
    rows = editor[["dim 1", "dim 2", "dim 3"]].values.tolist()
    assert close(rows[0], SIMPLE["inputs"][2], 1e-6)
    assert close(rows[1], SIMPLE["inputs"][0], 1e-6)
    assert all(-1 <= v <= 1 for v in rows[2])
    heatmap = chart(at, "weights_heatmap")
    assert heatmap["data"][0]["y"] == ["1: drives", "2: Attention", "3: new"]
    assert len(heatmap["data"][0]["z"]) == 3


def test_bad_tokens_keep_the_last_good_view_and_the_typed_text():
    at = open_app()
    at.text_input(key="w_tokens_text").input("   ").run()
    assert not at.exception
    assert "at least one token" in at.sidebar.error[0].value
    assert at.text_input(key="w_tokens_text").value == "   "
    assert close(chart(at, "weights_heatmap")["data"][0]["z"], SIMPLE["weights"])


def test_dimension_change_and_reset():
    at = open_app()
    at.number_input(key="w_dim").set_value(5).run()
    assert not at.exception
    editor = frame_by_columns(at, "token", "dim 5")
    assert close(editor["dim 1"].tolist(), [row[0] for row in SIMPLE["inputs"]], 1e-6)
    assert "projected to 2-D (PCA)" in chart(at, "vectors_plot")["layout"]["title"]["text"]
    next(b for b in at.sidebar.button if b.label == "Reset to the seed example").click().run()
    assert close(chart(at, "weights_heatmap")["data"][0]["z"], SIMPLE["weights"])
    assert at.text_input(key="w_tokens_text").value == " ".join(SIMPLE["tokens"])


@pytest.mark.parametrize("path", [path for path, _label, _icon in PAGES[1:]])
def test_every_page_runs(path):
    at = open_app()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{path} has no title"
    # The shared sidebar is on every page, with the current tokens.
    assert at.text_input(key="w_tokens_text").value == " ".join(SIMPLE["tokens"])


# Share links ---------------------------------------------------------------------------------


def test_a_share_link_opens_the_lesson_with_its_numbers():
    at = open_app(tokens="the cat the", x="0.1,0.2;0.3,-0.4;0.1,0.2", q="1")
    assert at.text_input(key="w_tokens_text").value == "the cat the"
    assert (
        at.code[0].value.splitlines()[0] == "ω(2,1) = 0.3×0.1 + (-0.4)×0.2 = -0.0500    (cat · the)"
    )
    weights = chart(at, "weights_heatmap")["data"][0]["z"]
    assert weights[0] == weights[2]  # identical tokens, identical rows
    assert dict(at.query_params) == {
        "tokens": "the cat the",
        "x": "0.1,0.2;0.3,-0.4;0.1,0.2",
        "q": "1",
    }


def test_the_address_follows_the_example():
    at = open_app()
    assert at.query_params["tokens"] == " ".join(SIMPLE["tokens"])
    assert at.query_params["x"].startswith("0.12,0.45,0.67;0.34,0.56,0.78;")
    at.selectbox(key="w_query").select(3).run()
    assert at.query_params["q"] == "3"


@pytest.mark.parametrize(
    "params",
    [
        {"tokens": "<img src=x onerror=alert(1)>", "x": "nan,1"},
        {"tokens": "a b", "x": "1,2;3"},
        {"tokens": "a b", "q": "7"},
        {"tokens": "a " * 5000},
        {"x": "1,2"},
    ],
)
def test_a_bad_link_shows_a_message_and_the_seed_example(params):
    at = open_app(**params)
    assert at.warning and at.warning[0].value.startswith("This link could not be opened")
    assert "<img" not in at.warning[0].value
    assert close(chart(at, "weights_heatmap")["data"][0]["z"], SIMPLE["weights"])


def _agreement_page(difference: float) -> None:
    from ui.show import agreement

    agreement("Both agree", difference)


@pytest.mark.parametrize(("difference", "passed"), [(0.0, True), (6e-8, True), (1e-3, False)])
def test_an_agreement_check_can_fail(difference, passed):
    at = AppTest.from_function(_agreement_page, args=(difference,)).run()
    assert bool(at.success) is passed
    assert bool(at.error) is not passed


# Lessons that lead on, the glossary, the About page -------------------------------------------


def page_links(at: AppTest) -> list[str]:
    """The pages the links in the page itself (not the sidebar) point to, in order."""
    return [link.proto.page for link in at.main.get("page_link")]


def test_the_home_page_is_the_start_and_leads_on():
    at = open_app()
    links = page_links(at)
    assert links[0] == "About_attention"  # background, offered before the lesson starts
    assert "Softmax_lab" in links  # from the weights step
    assert links[-1] == "Trainable_weights"  # the last thing on the page: the next lesson
    assert at.main.get("page_link")[-1].proto.label.startswith("Next")


def test_the_glossary_is_in_the_header_of_the_lessons_and_on_the_about_page():
    for path in (None, "pages/1_About_attention.py"):
        at = open_app(path)
        popovers = [p for p in at.get("popover") if p.proto.popover.label == "Glossary"]
        assert len(popovers) == 1, path


def test_the_sidebar_says_typed_tokens_get_made_up_vectors():
    at = open_app()
    assert any("made-up" in caption.value for caption in at.sidebar.caption)


def test_the_about_page_counts_its_distances_exactly():
    at = open_app("pages/1_About_attention.py")
    numbers = list(NUMBER_WORDS)
    checked = 0
    for block in at.markdown:
        text = block.value.replace("*", "")
        match = re.search(
            r"in (The [^,]+), the verb (\w+) agrees with (\w+), (\w+) words back", text
        )
        if match:
            words = match[1].split()
            assert words.index(match[2]) - words.index(match[3]) == numbers.index(match[4])
            between = re.search(r"\((\w+) words stand between them\)", text)
            assert numbers.index(between[1]) == numbers.index(match[4]) - 1
            checked += 1
    assert checked == 1
    assert page_links(at) == [""]  # one link, to the home page (lesson 1): its path is ""


def test_the_prediction_is_revealed_from_the_current_numbers():
    at = open_app()
    radio = next(r for r in at.radio if r.key.startswith("w_predict_l1_top_score"))
    radio.set_value(True).run()  # "the query itself"
    at.button(key="w_reveal_l1_top_score").click().run()
    assert at.info and any(i.value.startswith("Not quite") for i in at.info)
    # A query that scores highest with itself: make x(1) the longest vector.
    at = open_app(tokens="a b", x="2,0;0.5,0.5", q="0")
    radio = next(r for r in at.radio if r.key.startswith("w_predict_l1_top_score"))
    radio.set_value(True).run()
    at.button(key="w_reveal_l1_top_score").click().run()
    assert any(s.value.startswith("Right") for s in at.success)


def test_shuffling_is_checked_on_the_page():
    at = open_app(
        opened=[lazy.opened_key("l1", "shuffle")],
        tokens="the cat sat on the mat",
        x="0.1,0.2;0.3,-0.4;0.5,0.1;-0.2,0.9;0.1,0.2;1,1",
    )
    checks = [s.value for s in at.success if "shuffled" in s.value]
    assert len(checks) == 1
    shuffled = chart(at, "shuffled_weights_heatmap")["data"][0]
    original = chart(at, "weights_heatmap")["data"][0]
    # Every row of weights reappears, reordered: compare the sorted rows as sets of numbers.
    rows = sorted(sorted(row) for row in shuffled["z"])
    expected = sorted(sorted(row) for row in original["z"])
    assert close(rows, expected, 1e-6)
