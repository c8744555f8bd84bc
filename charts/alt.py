"""Text alternatives: each figure carries a short description of what it shows, in words and
with its key numbers, for screen readers (st.plotly_chart(fig, alt=alt_text(fig))).

The text sits in layout.meta["alt"], plain text with the tokens as typed (a screen reader reads
"&lt;" aloud, so they are not escaped). No template refers to meta, so Plotly never renders it.
"""

from __future__ import annotations

import plotly.graph_objects as go

ALT_KEY = "alt"
MAX_ALT_ROWS = 8  # up to this many queries the alt text names each row's top key


def with_alt(layout: dict, text: str) -> dict:
    """The layout with the text alternative in meta."""
    return layout | {"meta": {ALT_KEY: text}}


def alt_text(fig: go.Figure) -> str:
    """A figure's text alternative ('' for a figure not built in charts/)."""
    meta = fig.layout.meta
    return meta.get(ALT_KEY, "") if isinstance(meta, dict) else ""
