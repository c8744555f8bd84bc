"""The "Take the numbers home" panel: CSV and JSON downloads and the lesson as PyTorch code."""

from __future__ import annotations

import streamlit as st

from lessons.export import LessonData, to_csv, to_json

# Longer scripts (e.g. a real model's 384-d embeddings for many tokens) are offered as a file
# only: drawing hundreds of kilobytes of code in the page would slow every phone down.
MAX_SHOWN_CODE_CHARS = 40_000


def export_panel(data: LessonData, snippet: str, key_prefix: str) -> None:
    """Download buttons for `data` as CSV and JSON, and an expander with `snippet` (the
    lesson's PyTorch script) as code and as a .py file. Files are made only when clicked."""
    stem = data.file_stem
    st.markdown(
        "Download every matrix of this lesson with your tokens and numbers, in full float32 "
        "precision: a **CSV** file opens in any spreadsheet (one block per matrix, each row "
        "labelled with its token), a **JSON** file is for programs. The **PyTorch code** below "
        "recomputes the lesson from your inputs and prints the numbers shown on this page."
    )
    with st.container(horizontal=True):
        for label, make, suffix, mime in (
            ("CSV for spreadsheets", to_csv, "csv", "text/csv"),
            ("JSON for programs", to_json, "json", "application/json"),
        ):
            st.download_button(
                label,
                data=lambda make=make: make(data),
                file_name=f"{stem}.{suffix}",
                mime=mime,
                key=f"{key_prefix}_export_{suffix}",
                on_click="ignore",
                icon=":material/download:",
            )
    if data.caveat:
        st.caption(data.caveat)
    st.caption(
        "Tokens that start with =, +, - or @ get a ' in front in both files, so a spreadsheet "
        "shows them as text and never runs them as a formula."
    )
    with st.expander("As PyTorch code", icon=":material/code:", key=f"{key_prefix}_export_code"):
        st.caption(data.script_needs)
        if len(snippet) <= MAX_SHOWN_CODE_CHARS:
            st.code(snippet, language="python", height=480)
        else:
            st.info(
                f"The script is {len(snippet):,} characters long (the inputs are large), too "
                "long to show here: download it instead.",
                icon=":material/info:",
            )
        st.download_button(
            "Download as a .py file",
            data=lambda: snippet,
            file_name=f"{stem}.py",
            mime="text/x-python",
            key=f"{key_prefix}_export_py",
            on_click="ignore",
            icon=":material/download:",
        )
