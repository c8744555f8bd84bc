"""attention/analysis.py: one cell's arithmetic equals the matrix entry, rollout equals an
independent numpy implementation, head norms equal a brute-force loop, the head-summary rule on
hand-made matrices, word swaps and position-embedding similarity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from golden_data import load_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from attention import (
    QKVWeights,
    apply_dropout,
    causal_attention,
    init_linear_qkv,
    init_qkv_weights,
    simple_attention,
    trainable_attention,
)
from attention.analysis import (
    HEAD_CATEGORIES,
    MIXED,
    attention_rollout,
    category_shares,
    cell_arithmetic,
    encoder_states,
    head_norms,
    is_punctuation,
    label_of,
    max_gap,
    order_comparison,
    permute_tokens,
    position_similarity,
    rollout_layers,
    scale_for,
    summarize_heads,
    swap_order,
    word_spans,
)
from attention.pretrained import encoder_forward, load_model, tokenize

TOL = 1e-6


def seed_inputs() -> torch.Tensor:
    return torch.tensor(load_golden()["simple"]["inputs"], dtype=torch.float32)


def close(value: float, expected: float, tol: float = TOL, magnitude: float = 0.0) -> bool:
    """Equal within tol, scaled by the size of the float32 entry or of the terms it was summed
    from (`magnitude`, e.g. Σ|q_c k_c|): float32 rounds a sum to about 6e-8 of that."""
    if math.isinf(expected):
        return value == expected
    return abs(value - expected) <= tol * max(1.0, abs(expected), magnitude)


# ---- the cell arithmetic equals the matrix entry: the seed example, every cell --------------


def test_lesson1_every_cell_of_the_seed_example():
    x = seed_inputs()
    steps = simple_attention(x)
    T = x.shape[0]
    for i in range(T):
        for j in range(T):
            cell = cell_arithmetic(x, x, i, j)
            assert abs(cell.score - float(steps.attn_scores[i, j])) <= TOL
            assert cell.scaled_score == cell.score and cell.scale == 1.0
            assert abs(cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL
            assert torch.allclose(cell.products, x[i].double() * x[j].double())
            assert abs(cell.products.sum().item() - cell.score) <= 1e-12
            assert abs(cell.exp_term / cell.row_exp_sum - cell.attn_weight) <= 1e-12
    golden = load_golden()["simple"]["weights"]
    assert abs(cell_arithmetic(x, x, 1, 2).attn_weight - golden[1][2]) <= 5e-5


def test_lesson2_every_cell_of_the_seed_example():
    x = seed_inputs()
    steps = trainable_attention(x, init_qkv_weights(3, 2, 123))
    T = x.shape[0]
    for i in range(T):
        for j in range(T):
            cell = cell_arithmetic(steps.queries, steps.keys, i, j, scale=scale_for(2))
            assert abs(cell.score - float(steps.attn_scores[i, j])) <= TOL
            assert abs(cell.scaled_score - float(steps.scaled_scores[i, j])) <= TOL
            assert abs(cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL
            assert cell.scale == pytest.approx(1 / math.sqrt(2))


def test_lesson3_causal_every_cell_of_the_seed_example():
    x = seed_inputs()
    steps = causal_attention(x, *init_linear_qkv(3, 2, 789))
    T = x.shape[0]
    for i in range(T):
        for j in range(T):
            cell = cell_arithmetic(
                steps.queries, steps.keys, i, j, scale=scale_for(2), mask=steps.mask
            )
            assert cell.masked == (j > i)
            assert abs(cell.score - float(steps.attn_scores[i, j])) <= TOL
            assert close(cell.masked_score, float(steps.masked_scores[i, j]))
            assert abs(cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL
            if cell.masked:
                assert cell.masked_score == -math.inf
                assert cell.exp_term == 0.0 and cell.attn_weight == 0.0
            assert cell.row_hidden.tolist() == steps.mask[i].tolist()
    golden = load_golden()["causal"]["weights"]
    assert abs(cell_arithmetic(steps.queries, steps.keys, 1, 0, scale=scale_for(2),
                               mask=steps.mask).attn_weight - golden[1][0]) <= 5e-5  # fmt: skip


def test_dropout_note_matches_apply_dropout():
    x = seed_inputs()
    steps = causal_attention(x, *init_linear_qkv(3, 2, 789))
    p = 0.5
    dropped = apply_dropout(steps.attn_weights, p, seed=123)
    for i in range(5):
        for j in range(i + 1):
            kept = bool(dropped.mask_kept[i, j])
            cell = cell_arithmetic(
                steps.queries,
                steps.keys,
                i,
                j,
                scale=scale_for(2),
                mask=steps.mask,
                dropout_p=p,
                kept=kept,
            )
            assert cell.kept is kept
            assert abs(cell.dropped_weight - float(dropped.dropped_weights[i, j])) <= TOL
    no_draw = cell_arithmetic(x, x, 0, 0, dropout_p=p)
    assert no_draw.dropped_weight is None


def test_a_fully_hidden_row_gives_weight_zero_not_nan():
    x = seed_inputs()
    mask = torch.ones(5, 5, dtype=torch.bool)
    cell = cell_arithmetic(x, x, 2, 3, mask=mask)
    assert cell.attn_weight == 0.0 and cell.row_exp_sum == 0.0 and cell.masked


def test_cell_outside_the_matrix_raises():
    x = seed_inputs()
    with pytest.raises(IndexError):
        cell_arithmetic(x, x, 5, 0)


# ---- random inputs ---------------------------------------------------------------------------

values = st.floats(-2, 2, allow_nan=False, width=32)


def matrices(rows: int, cols: int):
    return st.lists(values, min_size=rows * cols, max_size=rows * cols).map(
        lambda v: torch.tensor(v, dtype=torch.float32).view(rows, cols)
    )


sizes = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 4))


@settings(deadline=None, max_examples=40)
@given(sizes.flatmap(lambda s: st.tuples(matrices(s[0], s[1]), st.just(s))))
def test_lesson1_random_inputs(data):
    x, (T, _d, _) = data
    steps = simple_attention(x)
    for i in range(T):
        for j in range(T):
            cell = cell_arithmetic(x, x, i, j)
            terms = float(cell.products.abs().sum())  # Σ|x_c x_c|: the float32 rounding scale
            assert close(cell.score, float(steps.attn_scores[i, j]), magnitude=terms)
            assert abs(cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL


@settings(deadline=None, max_examples=40)
@given(
    sizes.flatmap(
        lambda s: st.tuples(
            matrices(s[0], s[1]),
            st.tuples(*(matrices(s[1], s[2]) for _ in range(3))),
            st.just(s),
            st.booleans(),
        )
    )
)
def test_lessons_2_and_3_random_inputs(data):
    x, weights, (T, _d_in, d_out), causal = data
    if causal:
        steps = causal_attention(x, *weights)
        scaled, mask = steps.masked_scores, steps.mask
    else:
        steps = trainable_attention(x, QKVWeights(*weights))
        scaled, mask = steps.scaled_scores, None
    for i in range(T):
        for j in range(T):
            cell = cell_arithmetic(
                steps.queries, steps.keys, i, j, scale=scale_for(d_out), mask=mask
            )
            terms = float(cell.products.abs().sum())  # Σ|q_c k_c|: the float32 rounding scale
            assert close(cell.score, float(steps.attn_scores[i, j]), magnitude=terms)
            assert close(cell.masked_score, float(scaled[i, j]), magnitude=terms)
            assert abs(cell.attn_weight - float(steps.attn_weights[i, j])) <= TOL


# ---- word order helpers ----------------------------------------------------------------------


def test_permute_tokens_and_max_gap():
    m = torch.arange(9.0).view(3, 3)
    p = permute_tokens(m, [2, 0, 1], (0, 1))
    assert p[0, 0] == m[2, 2] and p[0, 1] == m[2, 0] and p[1, 2] == m[0, 1]
    assert max_gap(torch.tensor([-math.inf, 1.0]), torch.tensor([-math.inf, 1.5])) == 0.5
    assert max_gap(torch.tensor([-math.inf]), torch.tensor([0.0])) == math.inf
    assert max_gap(torch.tensor([math.nan]), torch.tensor([0.0])) == math.inf
    assert max_gap(torch.empty(0), torch.empty(0)) == 0.0


# ---- rollout ---------------------------------------------------------------------------------


def numpy_rollout(weights: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Abnar & Zuidema's rollout written independently: loop over layers, numpy only."""
    n_layers, _, T, _ = weights.shape
    result = np.eye(T)
    for layer in range(n_layers):
        A = weights[layer].mean(axis=0)
        A = (1 - residual) * A + residual * np.eye(T)
        A = A / A.sum(axis=-1, keepdims=True)
        result = A @ result
    return result


def random_weights(L: int, h: int, T: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(L, h, T, T, generator=g) * 3, dim=-1)


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 12), st.integers(0, 10_000))
def test_rollout_equals_numpy_and_rows_sum_to_one(L, h, T, seed):
    weights = random_weights(L, h, T, seed)
    rollout = attention_rollout(weights)
    expected = numpy_rollout(weights.double().numpy())
    assert rollout.shape == (T, T)
    assert np.allclose(rollout.numpy(), expected, atol=1e-6, rtol=0)
    assert torch.allclose(rollout.sum(-1), torch.ones(T, dtype=torch.float64), atol=1e-6)
    per_layer = rollout_layers(weights)
    assert per_layer.shape == (L, T, T)
    for layer in range(L):
        part = numpy_rollout(weights[: layer + 1].double().numpy())
        assert np.allclose(per_layer[layer].numpy(), part, atol=1e-6, rtol=0)


def test_rollout_of_identity_attention_is_identity():
    weights = torch.eye(4).expand(3, 2, 4, 4)
    assert torch.allclose(attention_rollout(weights), torch.eye(4, dtype=torch.float64))


# ---- the head summary rule on hand-made matrices ----------------------------------------------

TOKENS = ["[CLS]", "the", "cat", ",", "sat", ".", "[SEP]"]
T = len(TOKENS)


def previous_head() -> torch.Tensor:
    w = torch.zeros(T, T)
    w[0, 0] = 1.0  # [CLS] has no previous token: it looks at itself
    for i in range(1, T):
        w[i, i - 1] = 1.0
    return w


def column_head(j: int) -> torch.Tensor:
    w = torch.zeros(T, T)
    w[:, j] = 1.0
    return w


def test_a_pure_previous_token_head():
    shares = category_shares(previous_head(), TOKENS)
    assert shares[HEAD_CATEGORIES.index("previous")] == 1.0
    assert label_of(shares.tolist()) == "previous"


def test_a_next_token_and_a_same_token_head():
    nxt = torch.zeros(T, T)
    for i in range(T - 1):
        nxt[i, i + 1] = 1.0
    nxt[T - 1, T - 1] = 1.0
    assert label_of(category_shares(nxt, TOKENS).tolist()) == "next"
    assert label_of(category_shares(torch.eye(T), TOKENS).tolist()) == "same"


def test_a_cls_head_a_sep_head_and_a_punctuation_head():
    cls = category_shares(column_head(0), TOKENS)
    assert cls[HEAD_CATEGORIES.index("[CLS]")] == 1.0
    assert label_of(cls.tolist()) == "[CLS]"
    assert label_of(category_shares(column_head(T - 1), TOKENS).tolist()) == "[SEP]"
    punct = torch.zeros(T, T)
    punct[:, 3] = 0.5
    punct[:, 5] = 0.5
    shares = category_shares(punct, TOKENS)
    assert shares[HEAD_CATEGORIES.index("punctuation")] == pytest.approx(1.0)
    assert label_of(shares.tolist()) == "punctuation"


def test_a_mixed_head_and_the_threshold():
    uniform = torch.full((T, T), 1.0 / T)
    shares = category_shares(uniform, TOKENS)
    assert float(shares.max()) < 0.5
    assert label_of(shares.tolist()) == MIXED
    half = 0.5 * previous_head() + 0.5 * uniform
    share = float(category_shares(half, TOKENS)[0])
    assert share > 0.5
    assert label_of(category_shares(half, TOKENS).tolist(), threshold=share) == MIXED
    assert label_of(category_shares(half, TOKENS).tolist(), threshold=0.5) == "previous"


def test_summarize_heads_labels_every_head():
    weights = torch.stack(
        [
            torch.stack([previous_head(), column_head(0)]),
            torch.stack([torch.full((T, T), 1.0 / T), column_head(T - 1)]),
        ]
    )  # (2, 2, T, T)
    summary = summarize_heads(weights, TOKENS)
    assert summary.labels == [["previous", "[CLS]"], [MIXED, "[SEP]"]]
    assert summary.shares.shape == (2, 2, len(HEAD_CATEGORIES))
    assert bool(((summary.shares >= 0) & (summary.shares <= 1 + 1e-12)).all())


def test_punctuation_rule_and_token_count():
    assert is_punctuation(",") and is_punctuation("...") and is_punctuation("##.")
    assert not is_punctuation("a,") and not is_punctuation("$") and not is_punctuation("")
    with pytest.raises(ValueError):
        category_shares(torch.eye(3), ["a", "b"])


# ---- word swaps --------------------------------------------------------------------------------


def test_word_spans_and_swap_order():
    spans = word_spans([None, 0, 1, 1, 1, 2, None])  # [CLS] the xy##lo##ph cat [SEP]
    assert spans == [(1, 2), (2, 5), (5, 6)]
    order = swap_order(spans, 0, 1, 7)
    assert order == [0, 2, 3, 4, 1, 5, 6]
    assert swap_order(spans, 2, 0, 7) == [0, 5, 2, 3, 4, 1, 6]
    assert swap_order(spans, 1, 1, 7) == list(range(7))
    with pytest.raises(ValueError):
        swap_order([(1, 3), (2, 4)], 0, 1, 5)


# ---- the pretrained model --------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def sentence(model):
    encoding = tokenize("The cat sat on the mat, then the dog barked.", model)
    return encoding, torch.tensor(encoding.ids, dtype=torch.long)


def test_encoder_states_match_the_forward_pass(model, sentence):
    _, ids = sentence
    states = encoder_states(model, ids)
    reference = encoder_forward(model, ids)
    assert torch.equal(states.attn_weights, reference.attn_weights)
    assert torch.equal(states.last_hidden_state, reference.last_hidden_state)
    L = model.config.num_layers
    assert states.layer_inputs.shape == (L, len(ids), model.config.hidden_size)


@pytest.mark.parametrize(("layer", "head"), [(0, 0), (2, 5), (5, 11)])
def test_head_norms_equal_a_brute_force_loop(model, sentence, layer, head):
    _, ids = sentence
    states = encoder_states(model, ids)
    norms = head_norms(model, states, layer, head)
    w = model.layers[layer]
    C, h = model.config.hidden_size, model.config.num_heads
    hd = C // h
    x = states.layer_inputs[layer].double()
    W_v, b_v, W_o = w.W_value.double(), w.b_value.double(), w.W_out.double()
    T = len(ids)
    a = states.attn_weights[layer, head].double()
    for j in range(T):
        v_full = W_v @ x[j] + b_v  # (C,): every head's value vector
        v_head = v_full[head * hd : (head + 1) * hd]  # (hd,)
        out = torch.zeros(C, dtype=torch.float64)
        for c in range(hd):  # the head's columns of W_out, one at a time
            out += W_o[:, head * hd + c] * v_head[c]
        assert abs(float(norms.transformed_norms[j]) - float(out.norm())) <= 1e-4 * max(
            1.0, float(out.norm())
        )
        for i in range(T):
            expected = float((a[i, j] * out).norm())
            assert abs(float(norms.weighted_norms[i, j]) - expected) <= 1e-5 * max(1.0, expected)
    assert torch.equal(norms.attn_weights, states.attn_weights[layer, head])


def test_rollout_of_the_model_rows_sum_to_one(model, sentence):
    _, ids = sentence
    states = encoder_states(model, ids)
    rollout = attention_rollout(states.attn_weights)
    assert np.allclose(
        rollout.numpy(), numpy_rollout(states.attn_weights.double().numpy()), atol=1e-6
    )
    assert torch.allclose(rollout.sum(-1), torch.ones(len(ids), dtype=torch.float64), atol=1e-6)


def test_summary_of_the_model_labels_all_72_heads(model, sentence):
    encoding, ids = sentence
    summary = summarize_heads(encoder_states(model, ids).attn_weights, encoding.tokens)
    labels = [label for layer in summary.labels for label in layer]
    assert len(labels) == 72
    assert set(labels) <= {*HEAD_CATEGORIES, MIXED}


def test_swapping_two_words_changes_weights_and_the_identity_does_not(model, sentence):
    encoding, ids = sentence
    T = len(ids)
    same = order_comparison(model, encoding.ids, list(range(T)))
    assert float(same.difference.abs().max()) == 0.0
    spans = word_spans(encoding.word_ids)
    order = swap_order(spans, 1, 5, T)  # "cat" and "mat"
    result = order_comparison(model, encoding.ids, order)
    # independently: run the swapped sentence and look up each original pair in it
    swapped_ids = torch.tensor([encoding.ids[p] for p in order])
    swapped = encoder_forward(model, swapped_ids).attn_weights
    where = {token: position for position, token in enumerate(order)}
    for i, j in [(0, 0), (2, 6), (6, 2), (T - 1, 1), (3, 4)]:
        assert torch.allclose(result.other[:, :, i, j], swapped[:, :, where[i], where[j]])
    assert torch.allclose(result.difference, result.other - result.original)
    given_original = order_comparison(model, encoding.ids, order, original=result.original)
    assert torch.equal(given_original.difference, result.difference)
    assert float(result.difference.abs().max()) > 1e-3  # position embeddings matter
    with pytest.raises(ValueError):
        order_comparison(model, encoding.ids, [0] * T)


def test_position_similarity_is_cosine(model):
    sim = position_similarity(model, 16)
    assert sim.shape == (16, 16)
    P = model.embeddings.position[:16].double()
    expected = torch.nn.functional.cosine_similarity(P[:, None, :], P[None, :, :], dim=-1)
    assert torch.allclose(sim, expected, atol=1e-9)
    assert torch.allclose(sim.diagonal(), torch.ones(16, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(sim, sim.T)
