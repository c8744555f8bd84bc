"""The input widgets every lesson shares: the sidebar and the embedding editor."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from attention import MAX_DIM
from lessons.catalog import PAGES
from lessons.validate import MAX_ABS_VALUE, MAX_TOKEN_CHARS, MAX_TOKENS
from ui import present, state


def sidebar(path: str = "") -> None:
    """Tokens, embedding dimension and reset, on every page; `path` is the page's script (as in
    lessons.catalog), so presentation mode keeps each page's own step."""
    present.set_page(path)
    state.init_state()
    present.init_from_link()
    state.sync_link()
    present.sync_link()
    if "link" in state.errors():
        st.warning(state.errors().pop("link"), icon=":material/link_off:")
    present.banner()
    with st.sidebar:
        st.caption("Attention Explorer")
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
        st.header("Your example")
        # The box shows the canonical draft, so a page switch (which drops widget state)
        # keeps what the user typed, even text that was refused.
        st.session_state[state.W_TOKENS] = st.session_state[state.TOKENS_DRAFT]
        st.text_input(
            "Tokens (separated by spaces, press Enter)",
            key=state.W_TOKENS,
            on_change=state.on_tokens_change,
            help=f"1 to {MAX_TOKENS} tokens, each at most {MAX_TOKEN_CHARS} characters. "
            "Tokens you keep keep their vectors.",
        )
        st.caption(
            "A token you type gets a made-up vector: random numbers in -1..1 picked by the word "
            "itself (the same word always gets the same ones). They carry no meaning, so read "
            "nothing into their pattern. The seed example's vectors are the notebook's."
        )
        if "tokens" in state.errors():
            st.error(state.errors()["tokens"], icon=":material/error:")
            st.caption("The lessons still show the last valid tokens.")
        st.session_state[state.W_DIM] = state.dim()
        st.number_input(
            "Embedding dimension d",
            min_value=1,
            max_value=MAX_DIM,
            step=1,
            key=state.W_DIM,
            on_change=state.on_dim_change,
            help=f"1 to {MAX_DIM}. Going up adds made-up values; going down drops the last ones.",
        )
        if "dim" in state.errors():
            st.error(state.errors()["dim"], icon=":material/error:")
        with st.expander("Upload embeddings (CSV)", icon=":material/upload_file:"):
            st.caption(
                "One row per token: the token, then one number per dimension, e.g. "
                f"cat,0.1,0.2,0.3. An optional header row. At most {MAX_TOKENS} tokens, "
                f"{MAX_DIM} dimensions, values between -10000 and 10000, 1 MB."
            )
            st.file_uploader(
                "CSV file with tokens and vectors",
                type=["csv", "txt"],
                key=state.W_UPLOAD,
                on_change=state.on_upload,
            )
            if "upload" in state.errors():
                st.error(state.errors()["upload"], icon=":material/error:")
            elif "upload_done" in state.errors():
                st.success(state.errors().pop("upload_done"), icon=":material/check:")
        with st.expander("Share this example", icon=":material/link:"):
            share_link()
        st.button(
            "Reset to the seed example",
            on_click=state.reset_to_seed,
            icon=":material/restart_alt:",
            width="stretch",
        )
        st.divider()
        present.toggle()


@state.part(state.SHARE_PART)
def share_link() -> None:
    """The share link, and the address bar kept equal to it: a part of its own, so a query
    change that reruns only its parts of the page also updates both."""
    state.sync_link()
    st.caption("Anyone who opens this link sees the same tokens, vectors and query.")
    st.code(state.share_link(), language=None, wrap_lines=True)


def matrix_editor(
    name: str,
    target: str,
    row_labels: list[str],
    columns: list[str],
    label_column: str = "token",
    label_help: str = "Change in the sidebar",
) -> None:
    """Edit the matrix st.session_state[target] in a table: a read-only label column, then
    one numeric column per entry of `columns`. Valid edits go straight into the matrix."""
    state.ensure_editor_base(name, st.session_state[target])
    frame = pd.DataFrame(state.editor_base(name), columns=columns)
    frame.insert(0, label_column, row_labels)
    column_config = {
        label_column: st.column_config.TextColumn(label_column, disabled=True, help=label_help),
    } | {
        column: st.column_config.NumberColumn(
            column,
            min_value=-MAX_ABS_VALUE,
            max_value=MAX_ABS_VALUE,
            format="%.4g",
            required=True,
        )
        for column in columns
    }
    st.data_editor(
        frame,
        key=state.editor_key(name),
        on_change=state.on_matrix_edit,
        args=(name, target, columns),
        column_config=column_config,
        hide_index=True,
        num_rows="fixed",
        width="stretch" if len(columns) > 4 else "content",
    )
    if name in state.errors():
        st.error(state.errors()[name], icon=":material/error:")


def embedding_editor() -> None:
    """One row per token, one numeric column per dimension; edits recompute everything."""
    matrix_editor("editor", state.INPUTS, state.tokens(), state.dim_names())


def query_picker(label: str = "Query token", parts: Sequence[str] = ()) -> int:
    """Pick one token as the query; returns its index. `parts`: the page's parts (state.part)
    that show the query, this picker's own among them; a change reruns only those and the
    share link. Without `parts` a change reruns the whole page."""
    names = state.tokens()
    st.session_state[state.W_QUERY] = state.query()
    return st.selectbox(
        label,
        options=list(range(len(names))),
        format_func=lambda i: f"{i + 1}: {names[i]}",
        key=state.W_QUERY,
        on_change=state.on_query_change,
        args=(tuple(parts),),
    )
