"""Lesson 6: a real language model writes text, and each new token attends to the ones before
it. The logic and the words are in lessons/lesson6.py; this page only draws them."""

from __future__ import annotations

import streamlit as st

import charts
from charts import decoder_charts
from lessons import lesson6
from lessons.validate import InputError
from ui import decoder, page, quiz
from ui.present import presenting
from ui.show import agreement, plot

PATH = "pages/7_Generating_text.py"
RESULT, UNCACHED = "ax_l6_result", "ax_l6_uncached"  # the last run's settings; measure uncached?
RUNS = "ax_l6_runs"  # generations so far: a new one starts the step picker at its last step
BOUND = {"persist_state": "session", "bind": "query-params"}


def use_prompt(text: str) -> None:
    st.session_state["l6_prompt"] = text


def settings_form() -> lesson6.Settings | None:
    """The prompt and settings (kept in the share link); None with an error if one is wrong."""
    st.text_area("Prompt", value=lesson6.DEFAULT_PROMPT, key="l6_prompt", height=80, **BOUND)
    with st.container(horizontal=True):
        for i, text in enumerate(lesson6.DEFAULT_PROMPTS):  # the app's own texts
            st.button(text, key=f"w_l6_example_{i}", on_click=use_prompt, args=(text,))
    chat = st.toggle("Wrap the prompt in the chat template", key="l6_chat", **BOUND)
    c1, c2, c3, c4 = st.columns(4)
    limit = c1.number_input("Token limit", 1, lesson6.MAX_NEW_TOKENS, lesson6.DEFAULT_MAX_NEW,
                            key="l6_tokens", **BOUND)  # fmt: skip
    tau = c2.number_input("Temperature τ (0 = greedy)", 0.0, lesson6.MAX_TEMPERATURE, 0.0,
                          step=0.1, key="l6_tau", **BOUND)  # fmt: skip
    top_k = c3.number_input("top-k (0 = off)", 0, lesson6.MAX_TOP_K, 0, key="l6_top_k", **BOUND)
    seed = c4.number_input("Seed", 0, lesson6.MAX_SEED, 0, key="l6_seed", **BOUND)
    try:
        return lesson6.check_settings(st.session_state["l6_prompt"], chat, limit, tau, top_k, seed)
    except InputError as error:
        st.error(str(error), icon=":material/error:")
        return None


def layer_head(L: int, h: int, where) -> tuple[int, int | None]:
    left, right = where.columns(2)
    layer = left.number_input("Layer", 1, L, L // 2, key="w_l6_layer", persist_state="session")
    head = right.selectbox("Head", range(-1, h), key="w_l6_head", persist_state="session",
                           format_func=lambda j: f"mean of the {h} heads" if j < 0
                           else f"head {j + 1}")  # fmt: skip
    return int(layer) - 1, None if head < 0 else head


info = page.start(PATH)
page.header(info, "Generating text", "SmolLM2-135M-Instruct writes, token by token")
show = page.steps(lesson6.STEP_TITLES)
llm = decoder.model()
if show(0):
    st.markdown(lesson6.BUILDS_ON)
    page.heading(lesson6.STEP_TITLES[0])
    if llm is not None:
        st.markdown(lesson6.about_model(llm.config))
    st.markdown(lesson6.HOW_IT_WRITES)
if llm is None:
    decoder.fetch_panel()
    st.stop()

if show(1):
    page.heading(lesson6.STEP_TITLES[1])
    st.markdown(lesson6.CHAT_EXPLAINED)
    settings = settings_form()
    if settings is not None and settings.chat:
        st.caption("The text the model reads (the template around your prompt):")
        st.code(lesson6.prompt_text(settings), language=None, wrap_lines=True)
    clicked = st.button("Generate", type="primary", key="w_l6_generate",
                        disabled=settings is None, icon=":material/play_arrow:")  # fmt: skip
    if clicked and decoder.generation(llm, settings) is not None:
        st.session_state[RESULT] = settings
        st.session_state[RUNS] = st.session_state.get(RUNS, 0) + 1
        st.session_state.pop(UNCACHED, None)

if RESULT not in st.session_state:
    st.info("Press Generate to let the model write.", icon=":material/info:")
    st.stop()
settings = st.session_state[RESULT]
generation = decoder.generation(llm, settings)  # kept, or made again if the server dropped it
if generation is None:
    st.stop()
result = lesson6.compute(generation, llm)
S, c = len(generation.steps), llm.config
layer = int(st.session_state.get("w_l6_layer", c.num_layers // 2)) - 1
head = st.session_state.get("w_l6_head", -1)
head = None if head < 0 else head
step_key = f"w_l6_step_{st.session_state.get(RUNS, 0)}"
step = int(st.session_state.get(step_key, S)) - 1

if show(1):
    st.caption(lesson6.generated_summary(result, settings))
    st.text("Prompt and generated text:")
    st.code(llm.decode(generation.prompt_ids) + generation.steps[-1].text, language=None,
            wrap_lines=True)  # fmt: skip

if show(2):
    page.heading(lesson6.STEP_TITLES[2])
    if S > 1:
        step = st.slider("Generation step", 1, S, S, key=step_key) - 1
    layer, head = layer_head(c.num_layers, c.num_heads, st)
    s = generation.steps[step]
    st.text(f"New token at position {s.position + 2} (in quotes, so spaces show):")
    st.code(lesson6.shown_token(s.token_text), language=None)
    st.markdown(lesson6.step_sentence(result, step, layer, head))
    row = lesson6.step_row(result, step, layer, head)
    who = "mean of the heads" if head is None else f"head {head + 1}"
    fig = charts.query_bar(
        row, lesson6.chart_tokens(result.tokens[: s.position + 1]), s.position,
        title=f"Step {step + 1}: weights a({s.position + 1}, j), layer {layer + 1}, {who}",
        value_name="weight", y_title="weight a(i, j)", present=presenting(),
    )  # fmt: skip
    plot(fig, key="l6_step_bar")
    st.caption(lesson6.STEP_EXPLAINED)

if show(3):
    page.heading(lesson6.STEP_TITLES[3])
    if not show(2):
        layer, head = layer_head(c.num_layers, c.num_heads, st)
    who = "mean of the heads" if head is None else f"head {head + 1}"
    matrix = lesson6.full_matrix(result, layer, head)
    labels = lesson6.chart_tokens(lesson6.matrix_tokens(result))
    fig = charts.attention_heatmap(
        matrix, labels, title=f"Layer {layer + 1}, {who}: a(i, j)",
        value_name="weight", axes=charts.QK_AXES, present=presenting(),
    )  # fmt: skip
    plot(fig, key="l6_matrix")
    st.caption(lesson6.MATRIX_EXPLAINED)

if show(4):
    page.heading(lesson6.STEP_TITLES[4])
    question = lesson6.sink_question(result)
    quiz.ask("l6_sink", (settings, tuple(generation.new_ids)), question, "generation")
    st.markdown(lesson6.SINK_EXPLAINED)
    st.markdown(lesson6.sink_sentence(result))
    fig = decoder_charts.sink_bars(result.sink, result.uniform_sink, present=presenting())
    plot(fig, key="l6_sink")

if show(5):
    page.heading(lesson6.STEP_TITLES[5])
    st.markdown(lesson6.CACHE_EXPLAINED)
    st.markdown(lesson6.cache_formula(c))
    rows = lesson6.cache_rows(result)[: step + 1]
    st.caption(f"The cache after each step, up to step {step + 1} (pick the step above).")
    st.dataframe(
        [dict(zip(lesson6.CACHE_COLUMNS, r, strict=True)) for r in rows],
        hide_index=True, column_config={"measured ms (cache)": st.column_config.NumberColumn(
            format="%.0f")},
    )  # fmt: skip
    st.markdown(lesson6.work_sentence(result))
    if not presenting() and st.button("Measure the same generation without the cache",
                                      key="w_l6_uncached", icon=":material/timer:"):  # fmt: skip
        st.session_state[UNCACHED] = True
    uncached = decoder.generation(llm, settings, False) if UNCACHED in st.session_state else None
    if uncached is not None:
        st.markdown(lesson6.timing_sentence([x.seconds for x in generation.steps],
                                            [x.seconds for x in uncached.steps]))  # fmt: skip
        same = uncached.new_ids == generation.new_ids
        diff = lesson6.max_row_difference(generation, uncached) if same else float("inf")
        agreement("Without the cache the model wrote the same tokens with the same attention "
                  "rows (every layer and head)", diff)  # fmt: skip

if show(6):
    page.heading(lesson6.STEP_TITLES[6])
    st.markdown(lesson6.comparison_markdown())
    plot(decoder_charts.rope_figure(lesson6.rope_points(c), present=presenting()), key="l6_rope")
    st.caption(lesson6.rope_sentence(c))

head_for_export = 0 if head is None else head
page.export_section(
    lesson6.lesson6_data(result, settings, layer, head_for_export),
    lesson6.script(result, layer, head_for_export),
    "l6",
)
page.next_lesson(PATH)  # lesson 6 is the last: nothing follows
st.divider()
st.markdown("**The end of the lessons.** Go further with the lab, or read the overview:")
st.page_link("pages/6_Softmax_lab.py", label="Softmax lab", icon=":material/science:")
st.page_link("pages/1_About_attention.py", label="About attention", icon=":material/menu_book:")
