"""Lesson 5's explore logic (lessons/lesson5_explore.py) and its chart (charts/layers.py),
without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attention.analysis import HEAD_CATEGORIES, MIXED, summarize_heads, swap_order
from attention.pretrained import encoder_forward, load_model
from charts import alt_text
from charts.layers import position_similarity_heatmap
from lessons import lesson5_explore as lx

TEXT = "The attention mechanism drives contextual embeddings."


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def analysis(model):
    return lx.analyse(TEXT, model)


def numpy_rollout(weights: np.ndarray) -> np.ndarray:
    """Rollout written independently: (L, h, T, T) -> (T, T)."""
    T = weights.shape[-1]
    result = np.eye(T)
    for layer in weights:
        mixed = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(T)
        mixed /= mixed.sum(axis=1, keepdims=True)
        result = mixed @ result
    return result


def test_analysis_matches_the_forward_pass_and_an_independent_rollout(model, analysis):
    ids = torch.tensor(analysis.token_ids)
    expected = encoder_forward(model, ids).attn_weights
    torch.testing.assert_close(analysis.states.attn_weights, expected, atol=1e-6, rtol=0)
    weights = analysis.states.attn_weights.double().numpy()
    np.testing.assert_allclose(analysis.rollout[-1].numpy(), numpy_rollout(weights), atol=1e-6)
    np.testing.assert_allclose(analysis.rollout[1].numpy(), numpy_rollout(weights[:2]), atol=1e-6)
    np.testing.assert_allclose(analysis.rollout.sum(-1).numpy(), 1.0, atol=1e-9)


def test_the_groups_hold_every_head_once_with_its_label(analysis):
    summary = summarize_heads(analysis.states.attn_weights, analysis.tokens)
    assert list(analysis.groups) == [*HEAD_CATEGORIES, MIXED]
    pairs = [pair for members in analysis.groups.values() for pair in members]
    assert sorted(pairs) == [(layer, head) for layer in range(6) for head in range(12)]
    for label, members in analysis.groups.items():
        assert all(summary.labels[layer][head] == label for layer, head in members)


def test_words_are_whole_words_and_a_swap_moves_their_tokens(analysis):
    # [CLS] the attention mechanism drives context ##ual em ##bed ##ding ##s . [SEP]
    labels = lx.word_labels(analysis.tokens, analysis.spans)
    assert labels[4] == "5: contextual" and labels[5] == "6: embeddings" and len(labels) == 7

    swapped = lx.swapped_tokens(analysis.tokens, swap_order(analysis.spans, 1, 4, 13))
    assert swapped[:7] == ["[CLS]", "the", "context", "##ual", "mechanism", "drives", "attention"]
    assert swapped[-1] == "[SEP]"


def test_swapping_words_changes_the_weights_and_the_difference_is_other_minus_original(
    model, analysis
):
    same = lx.swap_words(model, analysis, 2, 2)
    assert float(same.difference.abs().max()) == 0.0
    comparison = lx.swap_words(model, analysis, 1, 3)
    ids = torch.tensor(analysis.token_ids)[torch.tensor(comparison.order)]
    direct = encoder_forward(model, ids).attn_weights  # the swapped sentence, its own order
    back = torch.tensor(comparison.order).argsort()
    torch.testing.assert_close(comparison.other, direct[:, :, back][:, :, :, back])
    torch.testing.assert_close(
        comparison.difference, comparison.other - comparison.original, atol=0, rtol=0
    )
    assert float(comparison.difference[0].abs().max()) > 0.01  # position embeddings at work


def test_position_figures_are_cosines_with_their_means(model):
    figures = lx.position_figures(model, lx.positions_shown(13))
    S = figures.similarity
    assert S.shape == (32, 32)
    torch.testing.assert_close(S.diagonal(), torch.ones(32, dtype=S.dtype))
    torch.testing.assert_close(S, S.T)
    P = model.embeddings.position[:32].double().numpy()
    k = figures.distances.index(1)
    cos = [P[p] @ P[p + 1] / np.linalg.norm(P[p]) / np.linalg.norm(P[p + 1]) for p in range(31)]
    assert figures.mean_at[k] == pytest.approx(float(np.mean(cos)), abs=1e-9)
    assert lx.positions_shown(100) == 100


def test_norms_sentence_reports_measured_shares(model, analysis):
    layer, head = lx.heaviest_on(analysis.summary, "[CLS]")
    norms = lx.head_passes_on(model, analysis, layer, head)
    text = lx.norms_sentence(norms, layer, head)
    weight = 100 * float(norms.attn_weights[:, 0].mean())
    carried = norms.attn_weights[:, 0].double() * float(norms.transformed_norms[0])
    lengths = norms.transformed_norms.double()
    passed = 100 * float(carried.sum() / (norms.attn_weights.double() * lengths).sum())
    assert f"{weight:.1f} % of the weight and {passed:.1f} %" in text
    assert weight > 50 > 20 > passed  # this sentence: much weight on [CLS], little carried
    assert analysis.tokens[4] not in text  # positions only, never token text


def test_position_heatmap_shows_the_matrix_on_a_fixed_range():
    similarity = torch.tensor([[1.0, 0.5, -0.2], [0.5, 1.0, 0.1], [-0.2, 0.1, 1.0]])
    figure = position_similarity_heatmap(similarity, title="t", present=True)
    data = figure.data[0]
    np.testing.assert_allclose(np.array(data.z, dtype=float), similarity.numpy(), atol=1e-7)
    assert (data.zmin, data.zmax) == (-1.0, 1.0) and list(data.x) == [1, 2, 3]
    assert "0.30 at distance 1" in alt_text(figure)  # (0.5 + 0.1) / 2


def test_the_head_heaviest_on_a_category_has_the_largest_share(analysis):
    layer, head = lx.heaviest_on(analysis.summary, "[SEP]")
    shares = analysis.summary.shares[..., analysis.summary.categories.index("[SEP]")]
    assert float(shares[layer, head]) == float(shares.max())
    T = len(analysis.tokens)
    on_sep = analysis.states.attn_weights[..., T - 1].double().mean(-1)  # (L, h)
    assert (layer, head) == divmod(int(on_sep.flatten().argmax()), 12)
