"""The floor for the edit-to-picture benchmark: the least a Streamlit app can do for the same
interaction. One data-editor cell holds a number; one T x T Plotly heatmap, as tall as the app's
weights heatmap, is drawn from it. T comes from the query parameter `T` (1..64, default 5).

With the query parameter `text` = N (0..200, default 0), N elements of plain text follow the
heatmap, in turn a header, a paragraph of Markdown, a caption and an info box, as a lesson's
text runs; none of them changes with an edit. bench_browser.py measures this page against the
plain floor: what a page's text alone costs an edit, without any chart, table or widget more.

    streamlit run benchmarks/floor_app.py   # then open /?T=64, or /?T=5&text=100
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

T = min(max(int(st.query_params.get("T", "5")), 1), 64)
TEXT = min(max(int(st.query_params.get("text", "0")), 0), 200)

edited = st.data_editor(
    pd.DataFrame({"value": [1.0]}), key="w_editor_floor", hide_index=True, num_rows="fixed"
)
value = float(edited["value"][0])
z = [[value * ((i * T + j) % 10 + 1) / 10 for j in range(T)] for i in range(T)]
figure = go.Figure(
    go.Heatmap(z=z, colorscale="Viridis"),
    layout={"height": max(320, min(720, 140 + 34 * T))},
)
st.plotly_chart(figure, key="weights_heatmap")
for i in range(TEXT):
    step, kind = divmod(i, 4)
    if kind == 0:
        st.header(f"Step {step + 1}")
    elif kind == 1:
        st.markdown(
            f"Step {step + 1} takes the **scores** of the step before and turns them into "
            "weights: each is positive, and each row adds up to 1."
        )
    elif kind == 2:
        st.caption(f"Step {step + 1} follows the source's section {step + 1}, in its own words.")
    else:
        st.info(f"Step {step + 1}: try another value in the editor above and see what moves.")
