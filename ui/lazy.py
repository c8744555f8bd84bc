"""Parts of a page that are computed, sent and drawn only while a student has them open.

An edit changes every chart on a page, and the browser draws each changed chart anew (Streamlit
replaces a Plotly chart whose figure changed), so every chart on screen costs time on every
edit. The explore tools are opened when wanted; closed, they cost nothing."""

from __future__ import annotations

import streamlit as st


def section(label: str, key: str, *, icon: str | None = None):  # -> an expander, or None
    """A closed expander whose contents run only while it is open: opening or closing it reruns
    the page. The expander while open, else None. Use:

        box = lazy.section("Compare two settings", "l2_compare_open")
        if box is not None:
            with box:
                ...
    """
    box = st.expander(label, key=key, icon=icon, on_change="rerun")
    return box if box.open else None


def opened_key(prefix: str, part: str) -> str:
    """The session-state key of a lazy section: `<prefix>_<part>_open`."""
    return f"{prefix}_{part}_open"
