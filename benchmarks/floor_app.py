"""The floor for the edit-to-picture benchmark: the least a Streamlit app can do for the same
interaction. One data-editor cell holds a number; one T x T Plotly heatmap, as tall as the app's
weights heatmap, is drawn from it. T comes from the query parameter `T` (1..64, default 5).

    streamlit run benchmarks/floor_app.py   # then open /?T=64
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

T = min(max(int(st.query_params.get("T", "5")), 1), 64)

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
