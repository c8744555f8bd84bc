"""AppTest: the softmax lab shows the golden example, follows the scale, shows where sum
normalisation and the naive softmax break, survives bad input, and reveals computed answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from app_support import chart, open_app, page_markdown, step_label
from app_support import charts as all_charts
from lab_support import expected as expected_by_method
from streamlit.testing.v1 import AppTest

from lessons import softmax_lab as lab
from lessons.catalog import PAGES

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "data" / "seed.json").read_text())
EXAMPLE = GOLDEN["softmax_example"]
TOL = GOLDEN["tolerance"]
PAGE = "pages/6_Softmax_lab.py"
METHODS = ("sum normalisation", "naive softmax", "softmax (stable)")


def open_lab(**params: str) -> AppTest:
    """The lab, reached from app.py: opened directly, AppTest makes the page its entry point
    and the sidebar's st.page_link("app.py") cannot resolve."""
    return open_app(PAGE, **params)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def type_scores(at: AppTest, text: str) -> AppTest:
    at.text_input(key="w_softmax_scores_text").input(text)
    return rerun(at)


def bars(at: AppTest) -> dict[str, list]:
    """The y values of the side-by-side chart, by method (None where a value is not finite)."""
    spec = chart(at, "softmax_lab_bars")
    assert spec["layout"]["title"]["text"].startswith("Weights of the row")
    return {trace["name"]: trace["y"] for trace in spec["data"]} | {
        "marks": [a["text"] for a in spec["layout"].get("annotations", [])]
    }


TABLES = {  # a column only that table has (read-only tables carry no key in AppTest)
    "softmax_lab_table": "stable",
    "softmax_lab_naive_table": "exp(m·ω)",
    "softmax_lab_stable_table": "exp(m·ω − max)",
}


def table(at: AppTest, key: str) -> dict[str, list[float]]:
    """A text table, its cells parsed back into floats ('NaN', 'inf' included)."""
    frames = [df.value for df in at.dataframe if TABLES[key] in df.value.columns]
    assert len(frames) == 1, f"no table {key!r}"
    frame = frames[0]
    return {column: [float(cell) for cell in frame[column]] for column in frame.columns[1:]}


def weights_table(at: AppTest) -> dict[str, list[float]]:
    """The weights table without its last row (the column sums), plus the sums apart; its
    narrow headers named after the methods."""
    names = {"m·ω": "m·ω", "sum": "sum normalisation", "naive": "naive softmax"}
    names["stable"] = "softmax (stable)"
    columns = {names[name]: values for name, values in table(at, "softmax_lab_table").items()}
    return {name: values[:-1] for name, values in columns.items()} | {
        f"sum of {name}": values[-1] for name, values in columns.items()
    }


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def expected(scores: list[float], scale: float = 1.0) -> dict[str, torch.Tensor]:
    """The three normalisations by their names on the page, computed independently."""
    return {lab.METHODS[m]: w for m, w in expected_by_method(scores, scale).items()}


def assert_close(actual, wanted, atol: float) -> None:
    torch.testing.assert_close(
        torch.tensor([math.nan if v is None else v for v in actual], dtype=torch.float64),
        torch.as_tensor(wanted, dtype=torch.float64),
        atol=atol,
        rtol=0,
        equal_nan=True,
    )


def test_the_lab_is_in_the_sidebar_before_about():
    paths = [path for path, _label, _icon in PAGES]
    assert paths.index(PAGE) == paths.index("pages/1_About_attention.py") - 1
    assert (PAGE, "Softmax lab", ":material/science:") in PAGES


def test_default_shows_the_golden_softmax_example():
    at = open_lab()
    assert at.title[0].value == "Softmax lab"
    assert at.text_input(key="w_softmax_scores_text").value == "0.12, -0.24, 0.36, -0.82, 0.45"
    assert at.select_slider(key="w_softmax_scale").value == 1.0
    chart = bars(at)
    assert_close(chart["softmax (stable)"], EXAMPLE["softmax"], TOL)
    assert_close(chart["naive softmax"], EXAMPLE["softmax"], TOL)
    shown = weights_table(at)
    assert_close(shown["softmax (stable)"], EXAMPLE["softmax"], TOL)
    assert_close(shown["m·ω"], EXAMPLE["scores"], TOL)
    assert shown["sum of softmax (stable)"] == pytest.approx(1.0, abs=1e-4)
    # The golden scores add up to -0.13, so sum normalisation already breaks.
    assert_close(chart["sum normalisation"], expected(EXAMPLE["scores"])["sum normalisation"], 1e-6)
    assert min(shown["sum normalisation"]) < 0
    assert "negative" in texts(at.warning)
    assert chart["marks"] == []
    stable = table(at, "softmax_lab_stable_table")
    assert_close(stable["softmax (stable)"], EXAMPLE["softmax"], TOL)
    assert_close(stable["m·ω − max"], [s - 0.45 for s in EXAMPLE["scores"]], TOL)
    assert "No overflow" in texts(at.info)
    assert "m·ω − max      = [-0.3300, -0.6900, -0.0900, -1.2700, 0]" in at.code[0].value


def test_the_scale_changes_the_weights_as_torch_computes_them():
    at = open_lab()
    before = bars(at)["softmax (stable)"]
    for scale in (2.0, 0.1, 20.0):
        at.select_slider(key="w_softmax_scale").set_value(scale)
        rerun(at)
        chart, wanted = bars(at), expected(EXAMPLE["scores"], scale)
        for method in METHODS:
            assert_close(chart[method], wanted[method], 1e-6)
        assert chart["softmax (stable)"] != before
        assert_close(weights_table(at)["m·ω"], [v * scale for v in EXAMPLE["scores"]], 1e-4)
    # A larger scale sharpens the weights, a smaller one flattens them.
    at.select_slider(key="w_softmax_scale").set_value(5.0)
    sharp = max(bars(rerun(at))["softmax (stable)"])
    at.select_slider(key="w_softmax_scale").set_value(0.2)
    flat = max(bars(rerun(at))["softmax (stable)"])
    assert flat < max(EXAMPLE["softmax"]) < sharp


@pytest.mark.parametrize("how", ["preset", "scale"])
def test_large_scores_break_the_naive_softmax_but_not_the_stable_one(how):
    at = open_lab()
    if how == "preset":
        at.button(key="w_softmax_preset_large").click()
        rerun(at)
        scores, scale = [100.0, 85.0, 103.0, 60.0, 101.0], 1.0
        assert at.text_input(key="w_softmax_scores_text").value == "100, 85, 103, 60, 101"
    else:
        at.select_slider(key="w_softmax_scale").set_value(1000.0)
        rerun(at)
        scores, scale = EXAMPLE["scores"], 1000.0
    wanted = expected(scores, scale)
    assert not bool(wanted["naive softmax"].isfinite().all())  # the float32 overflow is real
    naive = table(at, "softmax_lab_naive_table")
    assert math.inf in naive["exp(m·ω)"]
    assert any(math.isnan(v) for v in naive["naive softmax"])
    assert_close(naive["naive softmax"], wanted["naive softmax"], 1e-6)
    stable = table(at, "softmax_lab_stable_table")
    assert all(math.isfinite(v) for v in stable["softmax (stable)"])
    assert_close(stable["softmax (stable)"], wanted["softmax (stable)"], 1e-4)
    assert max(stable["exp(m·ω − max)"]) == 1.0 and stable["m·ω − max"].count(0.0) >= 1
    chart = bars(at)
    assert None in chart["naive softmax"] and "NaN" in chart["marks"]
    assert sum(chart["softmax (stable)"]) == pytest.approx(1.0, abs=1e-6)
    assert_close(chart["softmax (stable)"], wanted["softmax (stable)"], 1e-6)
    assert "overflowed" in texts(at.warning)
    assert "Gaps in the chart: naive softmax" in texts(at.caption)
    assert f"max            = {max(scores) * scale:.4f}" in at.code[0].value


def test_underflow_is_named_too():
    at = type_scores(open_lab(), "-200, -300, -250")
    assert "underflowed" in texts(at.warning)
    assert all(math.isnan(v) for v in table(at, "softmax_lab_naive_table")["naive softmax"])
    assert_close(
        bars(at)["softmax (stable)"], expected([-200.0, -300.0, -250.0])["softmax (stable)"], 1e-6
    )


def test_scores_that_add_up_to_zero_or_below_break_sum_normalisation():
    at = open_lab()
    at.button(key="w_softmax_preset_zero_sum").click()
    rerun(at)
    shown = weights_table(at)
    assert shown["sum normalisation"][:2] == [math.inf, -math.inf]
    assert math.isnan(shown["sum normalisation"][2])
    assert "add up to exactly 0" in texts(at.warning)
    chart = bars(at)
    assert chart["sum normalisation"] == [None] * 5
    assert chart["marks"] == ["inf", "-inf", "NaN", "inf", "-inf"]
    assert "Gaps in the chart: sum normalisation" in texts(at.caption)
    assert_close(chart["softmax (stable)"], expected([2, -1, 0, 3, -4])["softmax (stable)"], 1e-6)

    # A negative sum flips every sign: the lowest score gets the largest weight.
    at = type_scores(at, "0.5, -1, 0.25, -0.25")
    shown = weights_table(at)
    assert_close(shown["sum normalisation"], [-1.0, 2.0, -0.5, 0.5], 1e-6)
    warning = texts(at.warning)
    assert "2 of the 4 weights are negative" in warning
    assert "the lowest score (ω2) gets the largest weight" in warning

    # All positive: sum normalisation works, and the page says so.
    at = type_scores(at, "1, 2, 3")
    assert_close(bars(at)["sum normalisation"], [1 / 6, 2 / 6, 3 / 6], 1e-6)
    assert_close(weights_table(at)["sum normalisation"], [1 / 6, 2 / 6, 3 / 6], 1e-4)
    assert "sum normalisation gives weights in 0..1" in texts(at.success)


BAD_INPUTS = {
    "NaN": "only finite numbers",
    "1, nan, 2": "Score 2 is nan",
    "1, inf": "Score 2 is inf",
    "abc": "not a number",
    "1, abc, 2": "Score 2 is not a number",
    "": "The scores are empty",
    "   ": "The scores are empty",
    "1e38, 2": "Score 1 is 1e+38; values must lie between -10000 and 10000",
    "1, -1e38": "values must lie between",
    "5": "That is one score",
    ", ".join(["1"] * 17): "That is 17 scores",
    "1,,2": "Score 2 is empty",
    "<b>1</b>, 2": "Score 1 is not a number",
    "**2**, [x](javascript:alert(1))": "is not a number",
}


def test_bad_input_shows_a_message_and_keeps_the_last_good_numbers():
    at = type_scores(open_lab(), "1, 2, 3")
    good = expected([1.0, 2.0, 3.0])["softmax (stable)"]
    assert_close(bars(at)["softmax (stable)"], good, 1e-6)
    assert not at.error
    for text, message in BAD_INPUTS.items():
        at = type_scores(at, text)
        assert len(at.error) == 1, text
        assert message in at.error[0].value, (text, at.error[0].value)
        assert "<" not in at.error[0].value and "*" not in at.error[0].value  # no user text
        assert "last good scores: 1, 2, 3" in texts(at.caption), text
        assert_close(bars(at)["softmax (stable)"], good, 1e-6)
        assert_close(weights_table(at)["softmax (stable)"], good, 1e-4)
        assert at.text_input(key="w_softmax_scores_text").value == text  # the typing stays
    # A good row clears the message; semicolons allow a decimal comma.
    at = type_scores(at, "0,5; -1,5; 2")
    assert not at.error
    assert_close(bars(at)["softmax (stable)"], expected([0.5, -1.5, 2.0])["softmax (stable)"], 1e-6)
    at = type_scores(at, "1 2 3 4")
    assert_close(bars(at)["softmax (stable)"], expected([1, 2, 3, 4])["softmax (stable)"], 1e-6)


def test_scores_and_scale_survive_a_page_switch():
    at = type_scores(open_lab(), "3, 1, 2")
    at.select_slider(key="w_softmax_scale").set_value(2.0)
    rerun(at)
    at.switch_page("app.py")
    rerun(at)
    at.switch_page(PAGE)
    rerun(at)
    assert at.text_input(key="w_softmax_scores_text").value == "3, 1, 2"
    assert at.select_slider(key="w_softmax_scale").value == 2.0
    assert_close(bars(at)["softmax (stable)"], expected([3, 1, 2], 2.0)["softmax (stable)"], 1e-6)


def predict(at: AppTest, question: str, choice, options: int) -> AppTest:
    at.radio(key=f"w_predict_{question}_{options}").set_value(choice)
    rerun(at)
    at.button(key=f"w_reveal_{question}").click()
    return rerun(at)


def top_entry(scores: list[float]) -> int:
    """Which entry gets the most weight after doubling, computed here."""
    return int(torch.argmax(torch.softmax(2 * torch.tensor(scores), dim=0)))


def test_reveal_checks_the_prediction_against_the_computed_answer():
    at = open_lab()
    assert at.radio(key="w_predict_top_5").value is None  # nothing preselected
    assert at.radio(key="w_predict_max_3").value is None
    assert at.button(key="w_reveal_top").disabled

    best = top_entry(EXAMPLE["scores"])
    assert best == 4
    wrong = (best + 1) % 5
    at = predict(at, "top", wrong, 5)
    assert f"Not quite: you picked “ω{wrong + 1}”, but after doubling, ω{best + 1} gets" in texts(
        at.info
    )
    at = predict(at, "top", best, 5)
    doubled = torch.softmax(2 * torch.tensor(EXAMPLE["scores"]), dim=0)
    assert f"Right, after doubling, ω5 gets the most weight ({float(doubled[4]):.4f})" in texts(
        at.success
    )

    # New scores: the answer shown so far is hidden, and the next reveal follows the new row.
    scores = [3.0, -1.0, 2.0]
    at = type_scores(at, "3, -1, 2")
    assert "The scores changed since you revealed" in texts(at.caption)
    assert "after doubling" not in texts(at.success) + texts(at.info)
    best = top_entry(scores)
    assert best == 0
    at = predict(at, "top", 2, 3)
    assert "but after doubling, ω1 gets the most weight" in texts(at.info)

    # The largest weight after doubling: up for unequal scores, the same for equal ones.
    before = float(torch.softmax(torch.tensor(scores), 0).max())
    after = float(torch.softmax(2 * torch.tensor(scores), 0).max())
    assert after > before
    at = predict(at, "max", "same", 3)
    assert f"but it goes up: {before:.4f} before doubling, {after:.4f} after" in texts(at.info)
    at = type_scores(at, "1.5, 1.5, 1.5")
    at = predict(at, "max", "same", 3)
    assert "Right, it stays the same: 0.3333 before doubling, 0.3333 after" in texts(at.success)
    assert "every weight is 1/3" in texts(at.markdown)


def test_all_negative_scores_are_called_out_on_the_page():
    at = open_lab()
    at.button(key="w_softmax_preset_all_negative").click()
    rerun(at)
    scores = [-0.5, -2.0, -1.0, -0.25]
    shown = weights_table(at)["sum normalisation"]
    assert all(0 < w < 1 for w in shown)  # the weights look fine ...
    assert shown.index(max(shown)) == scores.index(min(scores))  # ... but the order flips
    assert not at.success
    warning = texts(at.warning)
    assert "Every score is negative" in warning and "(ω2) gets the largest weight" in warning


def test_the_lab_opens_with_lesson_one_and_links_back():
    at = open_lab()
    assert "lesson 1" in page_markdown(at)[0]
    links = [e.proto for e in at.get("page_link")]
    assert [link.page for link in links if "lesson 1" in link.label]


@pytest.mark.parametrize(
    ("step", "charts", "tables"),
    [
        (0, set(), 0),
        (1, {"softmax_lab_bars"}, 1),
        (2, set(), 0),
        (3, set(), 2),
        (4, set(), 0),
    ],
)
def test_presentation_mode_shows_one_step_at_a_time(step, charts, tables):
    at = open_lab(present="true")
    for _ in range(step):
        at.button(key="present_next").click()
        rerun(at)
    assert step_label(at)[:2] == (step + 1, 5)
    shown = set(all_charts(at))
    assert shown == charts
    assert len(at.dataframe) == tables
    assert any(box.key == "w_softmax_scores_text" for box in at.text_input) == (step == 0)
    if step == 2:
        assert "negative" in texts(at.warning)  # the golden row's scores add up below 0
    if step == 4:
        assert at.radio(key="w_predict_top_5").value is None
