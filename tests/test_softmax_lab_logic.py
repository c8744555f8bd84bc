"""The softmax lab's pure logic (lessons/softmax_lab.py), without Streamlit: parsing, the
float32 columns of the three methods, the verdicts for negative, all-negative, zero-sum and
large scores, and the computed quiz answers."""

from __future__ import annotations

import math

import pytest
import torch
from lab_support import expected

from lessons import softmax_lab as lab
from lessons.validate import InputError


def close(actual: torch.Tensor, wanted, atol: float = 1e-6) -> None:
    torch.testing.assert_close(
        actual.double(), torch.as_tensor(wanted).double(), atol=atol, rtol=0, equal_nan=True
    )


# Parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scores"),
    [
        ("0.12, -0.24, 0.36", [0.12, -0.24, 0.36]),
        ("1 2 3 4", [1.0, 2.0, 3.0, 4.0]),
        ("0,5; -1,5; 2", [0.5, -1.5, 2.0]),
        (" -0 , 3 ", [0.0, 3.0]),
    ],
)
def test_parse_scores_reads_commas_spaces_and_semicolons(text, scores):
    assert lab.parse_scores(text) == pytest.approx(scores)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("5", "one score"),
        (", ".join(["1"] * 17), "17 scores"),
        ("1, nan", "Score 2"),
        ("1, inf", "Score 2"),
        ("1,,2", "Score 2"),
        ("1e38, 2", "Score 1"),
        ("<b>1</b>, 2", "Score 1"),
    ],
)
def test_parse_scores_refuses_bad_rows_with_a_plain_message(text, where):
    with pytest.raises(InputError) as error:
        lab.parse_scores(text)
    assert where in str(error.value)
    assert "<" not in str(error.value) and "*" not in str(error.value)


def test_scores_text_round_trips_through_the_parser():
    for _name, (_label, scores) in lab.PRESETS.items():
        assert lab.parse_scores(lab.scores_text(scores)) == pytest.approx(scores)


# The float32 columns ---------------------------------------------------------------------------


def test_the_golden_row_gives_the_notebooks_softmax(golden):
    example = golden["softmax_example"]
    row = lab.compute(example["scores"])
    close(row.weights["softmax"], example["softmax"], golden["tolerance"])
    close(row.weights["naive_softmax"], example["softmax"], golden["tolerance"])
    close(row.shifted, [s - 0.45 for s in example["scores"]], 1e-6)
    assert float(row.exp_stable.max()) == 1.0


@pytest.mark.parametrize("scale", [0.1, 1.0, 2.0, 20.0, 1000.0])
def test_every_method_is_what_torch_computes_in_float32(scale):
    scores = [0.12, -0.24, 0.36, -0.82, 0.45]
    row = lab.compute(scores, scale)
    assert row.row.dtype == torch.float32
    for method, wanted in expected(scores, scale).items():
        close(row.weights[method], wanted)
    assert bool(row.weights["softmax"].isfinite().all())
    assert float(row.weights["softmax"].sum()) == pytest.approx(1.0, abs=1e-6)


def test_the_tables_show_the_columns_with_totals():
    row = lab.compute([1.0, 2.0, 3.0])
    table = lab.weights_table(row)
    assert table["entry"] == ["ω1", "ω2", "ω3", "total"]
    assert [float(v) for v in table["sum"]] == pytest.approx([1 / 6, 2 / 6, 3 / 6, 1.0], abs=1e-4)
    assert float(table["m·ω"][-1]) == pytest.approx(6.0)
    stable = lab.stable_table(row)
    assert [float(v) for v in stable["m·ω − max"]] == [-2.0, -1.0, 0.0]
    naive = lab.naive_table(lab.compute([100.0, 85.0, 103.0], 1.0))
    assert naive["exp(m·ω)"][0] == "inf" and naive["naive softmax"][0] == "NaN"


def test_sum_normalisation_ignores_the_scale_and_softmax_sharpens():
    scores = [0.12, -0.24, 0.36, -0.82, 0.45]
    close(lab.compute(scores, 5.0).weights["sum"], lab.compute(scores).weights["sum"], 1e-5)
    sharp = float(lab.compute(scores, 5.0).weights["softmax"].max())
    flat = float(lab.compute(scores, 0.2).weights["softmax"].max())
    assert flat < float(lab.compute(scores).weights["softmax"].max()) < sharp


# Verdicts --------------------------------------------------------------------------------------


def test_all_negative_scores_are_called_out_although_the_weights_look_fine():
    row = lab.compute([-0.5, -2.0, -1.0, -0.25])
    weights = row.weights["sum"]
    # The trap: every weight lies in 0..1 and they add up to 1 ...
    assert bool(((weights > 0) & (weights < 1)).all())
    assert float(weights.sum()) == pytest.approx(1.0, abs=1e-6)
    # ... but the order is reversed, and the verdict says so, naming the right entries.
    assert int(weights.argmax()) == int(row.row.argmin()) == 1
    verdict = lab.sum_verdict(row)
    assert (verdict.case, verdict.kind) == ("all_negative", "warning")
    assert "lowest score (ω2) gets the largest weight" in verdict.text
    assert "highest score (ω4) the smallest" in verdict.text


def test_a_negative_sum_flips_the_order_and_the_signs():
    row = lab.compute([0.5, -1.0, 0.25, -0.25])
    close(row.weights["sum"], [-1.0, 2.0, -0.5, 0.5])
    verdict = lab.sum_verdict(row)
    assert (verdict.case, verdict.kind) == ("negative_sum", "warning")
    assert "2 of the 4 scores are negative" in verdict.text
    assert "2 of the 4 weights are negative" in verdict.text
    assert "1 is above 1" in verdict.text
    assert "(ω2) gets the largest weight" in verdict.text


def test_negative_scores_with_a_positive_sum_give_negative_weights():
    row = lab.compute([2.0, -1.0, 1.0])
    close(row.weights["sum"], [1.0, -0.5, 0.5])
    verdict = lab.sum_verdict(row)
    assert (verdict.case, verdict.kind) == ("negative_scores", "warning")
    assert "1 of the 3 scores is negative" in verdict.text
    assert "1 of the 3 weights is negative" in verdict.text


def test_the_golden_row_has_negative_scores_and_the_verdict_says_so():
    verdict = lab.sum_verdict(lab.compute([0.12, -0.24, 0.36, -0.82, 0.45]))
    assert verdict.case == "negative_sum" and verdict.kind == "warning"


def test_a_zero_sum_is_a_division_by_zero():
    row = lab.compute([2.0, -1.0, 0.0, 3.0, -4.0])
    weights = row.weights["sum"].tolist()
    assert weights[:2] == [math.inf, -math.inf] and math.isnan(weights[2])
    assert lab.sum_verdict(row).case == "zero_sum"
    assert lab.nonfinite_methods(row) == ["sum normalisation"]


@pytest.mark.parametrize("scores", [[1.0, 2.0, 3.0], [0.0, 1.0], [5.0, 5.0, 5.0]])
def test_scores_of_zero_or_above_are_fine_for_sum_normalisation(scores):
    row = lab.compute(scores)
    assert bool(((row.weights["sum"] >= 0) & (row.weights["sum"] <= 1)).all())
    verdict = lab.sum_verdict(row)
    assert (verdict.case, verdict.kind) == ("ok", "success")


@pytest.mark.parametrize(
    ("scores", "scale"), [([100.0, 85.0, 103.0, 60.0, 101.0], 1.0), ([0.12, 0.45], 1000.0)]
)
def test_large_scores_overflow_the_naive_softmax_only(scores, scale):
    row = lab.compute(scores, scale)
    assert math.inf in row.exp_naive.tolist()
    assert any(math.isnan(v) for v in row.weights["naive_softmax"].tolist())
    verdict = lab.naive_verdict(row)
    assert (verdict.case, verdict.kind) == ("overflow", "warning")
    overflowed = int(row.exp_naive.isinf().sum())
    assert f"{overflowed} of the {len(scores)} values" in verdict.text
    close(row.weights["softmax"], expected(scores, scale)["softmax"], 1e-6)
    assert lab.nonfinite_methods(row) == ["naive softmax"]
    assert lab.stable_steps(row).startswith(f"max            = {max(scores) * scale:.4f}")


def test_very_negative_scores_underflow_the_naive_softmax():
    row = lab.compute([-200.0, -300.0, -250.0])
    assert float(row.exp_naive.sum()) == 0.0
    assert lab.naive_verdict(row).case == "underflow"
    close(row.weights["softmax"], expected([-200.0, -300.0, -250.0])["softmax"])


def test_moderate_scores_do_not_overflow():
    verdict = lab.naive_verdict(lab.compute([0.12, -0.24, 0.36, -0.82, 0.45]))
    assert (verdict.case, verdict.kind) == ("ok", "info")


def test_the_verdicts_never_call_the_scores_z_or_the_temperature_t():
    rows = [lab.compute(scores) for _label, scores in lab.PRESETS.values()]
    texts = [lab.sum_verdict(r).text + lab.naive_verdict(r).text for r in rows]
    texts += [lab.scale_sentence(s) for s in (0.5, 1.0, 2.0)]
    for text in texts:
        assert " z " not in text and "z(" not in text and "T = " not in text
    assert "τ = 0.5" in lab.scale_sentence(2.0)


# Predict, then reveal --------------------------------------------------------------------------


def test_the_doubling_answers_are_computed_from_the_row():
    scores = [3.0, -1.0, 2.0]
    top, largest = lab.doubling_questions(lab.compute(scores))
    doubled = torch.softmax(2 * torch.tensor(scores), dim=0)
    assert top.right == {int(doubled.argmax())} == {0}
    assert f"{float(doubled[0]):.4f}" in top.answer
    assert largest.right == {"up"}
    before = float(torch.softmax(torch.tensor(scores), 0).max())
    assert f"{before:.4f} before doubling, {float(doubled.max()):.4f} after" in largest.answer


def test_equal_scores_keep_the_largest_weight_and_tie():
    top, largest = lab.doubling_questions(lab.compute([1.5, 1.5, 1.5]))
    assert top.right == {0, 1, 2} and "tie for" in top.answer
    assert largest.right == {"same"} and "1/3" in largest.explanation


def test_a_saturated_row_stays_the_same():
    top, largest = lab.doubling_questions(lab.compute([0.0, 500.0]))
    assert top.right == {1}
    assert largest.right == {"same"}


def test_the_bars_text_alternative_names_the_largest_weights():
    text = lab.bars_alt(lab.compute([0.12, -0.24, 0.36, -0.82, 0.45]))
    assert "softmax (stable): from 0.0822 to 0.2928, largest for ω5" in text
    assert "sum normalisation: from -3.4615 to 6.3077, largest for ω4" in text
    assert "naive softmax: inf or NaN" in lab.bars_alt(lab.compute([100.0, 103.0]))


def test_tied_scores_are_all_named():
    verdict = lab.sum_verdict(lab.compute([-1.0, -1.0, -0.5]))
    assert verdict.case == "all_negative"
    assert "(ω1 and ω2) gets the largest weight" in verdict.text
    assert "(ω3) the smallest" in verdict.text
