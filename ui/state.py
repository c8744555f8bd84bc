"""The lesson state every page shares: tokens, embedding rows, the query, and input messages.

Canonical values live under plain `ax_*` keys in st.session_state (Streamlit drops widget keys
when the page changes); widgets write into them through callbacks, after validation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import ParamSpec
from urllib.parse import quote, urlencode

import streamlit as st
import torch
from streamlit.errors import StreamlitAPIException

from attention import SEED_INPUTS, SEED_TOKENS
from lessons.validate import (
    InputError,
    apply_edits,
    carry_over,
    parse_embeddings_csv,
    parse_share_params,
    parse_tokens,
    resize,
    share_params,
)

TOKENS = "ax_tokens"
INPUTS = "ax_inputs"
QUERY = "ax_query"
ERRORS = "ax_errors"

TOKENS_DRAFT = "ax_tokens_draft"  # what the user last typed, valid or not
W_TOKENS = "w_tokens_text"
W_DIM = "w_dim"
W_QUERY = "w_query"
W_UPLOAD = "w_upload"

PARTS = "ax_parts"  # the keys of the parts (fragments) the page's last full run drew
SHARE_PART = "share_link"  # the sidebar's share link and the address bar: they show the query


def init_state() -> None:
    """Give a new session the example in its link, or else the seed example (call at the top
    of every page)."""
    if TOKENS not in st.session_state:
        reset_to_seed()
        load_link()


def load_link() -> None:
    """Apply the share-link parameters `tokens`, `x`, `q`; a bad link leaves the seed example
    and a message."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    try:
        shared = parse_share_params(params)
    except InputError as error:
        errors()["link"] = f"This link could not be opened: {error} Showing the seed example."
        return
    if shared is not None:
        new_tokens, rows, query_index = shared
        set_tokens_and_rows(new_tokens, rows)
        st.session_state[QUERY] = query_index
        st.session_state[TOKENS_DRAFT] = " ".join(new_tokens)


def share_link() -> str:
    """The address of this page with the current example in its query parameters."""
    base = st.context.url or ""
    params = share_params(tokens(), st.session_state[INPUTS], query())
    return f"{base}?{urlencode(params, quote_via=quote)}"


def sync_link() -> None:
    """Keep `tokens`, `x` and `q` in the address bar equal to the current example."""
    for key, value in share_params(tokens(), st.session_state[INPUTS], query()).items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def reset_to_seed() -> None:
    """Back to the notebook's five tokens and 3-d vectors."""
    st.session_state[TOKENS] = list(SEED_TOKENS)
    st.session_state[INPUTS] = [list(row) for row in SEED_INPUTS]
    st.session_state[QUERY] = 0
    st.session_state[ERRORS] = {}
    st.session_state[TOKENS_DRAFT] = " ".join(SEED_TOKENS)
    _new_editor()


def tokens() -> list[str]:
    return st.session_state[TOKENS]


def inputs() -> torch.Tensor:
    """The current embeddings, (T, d) float32."""
    return torch.tensor(st.session_state[INPUTS], dtype=torch.float32)


def dim() -> int:
    return len(st.session_state[INPUTS][0])


def dim_names() -> list[str]:
    """Column names of the embedding table: dim 1 .. dim d."""
    return [f"dim {j + 1}" for j in range(dim())]


def query() -> int:
    return min(st.session_state[QUERY], len(tokens()) - 1)


def errors() -> dict[str, str]:
    return st.session_state[ERRORS]


# Matrix editors. A data editor gets an unchanged base frame and a versioned key; its edits
# are applied (after validation) to a canonical matrix under a plain key. A new version starts a
# fresh widget: after a reset, a change of shape, or a page switch (which drops the widget).


def editor_key(name: str = "editor") -> str:
    return f"w_{name}_{st.session_state.get(f'ax_{name}_version', 0)}"


def editor_base(name: str = "editor") -> list[list[float]]:
    return st.session_state[f"ax_{name}_base"]


def new_editor(name: str, rows: list[list[float]]) -> None:
    """Start a fresh editor `name` whose base frame is `rows`."""
    st.session_state[f"ax_{name}_version"] = st.session_state.get(f"ax_{name}_version", 0) + 1
    st.session_state[f"ax_{name}_base"] = [list(row) for row in rows]
    errors().pop(name, None)


def ensure_editor_base(name: str, rows: list[list[float]]) -> None:
    """After a page switch the editor widget is gone: rebase it on the current rows."""
    if editor_key(name) not in st.session_state:
        st.session_state[f"ax_{name}_base"] = [list(row) for row in rows]


def on_matrix_edit(name: str, target: str, columns: list[str]) -> None:
    """Callback of editor `name`: apply its valid edits to st.session_state[target]."""
    edited_rows = st.session_state[editor_key(name)].get("edited_rows", {})
    rows, messages = apply_edits(editor_base(name), edited_rows, columns)
    st.session_state[target] = rows
    if messages:
        errors()[name] = " ".join(messages) + " The lesson keeps the last good value there."
    else:
        errors().pop(name, None)


def _new_editor() -> None:
    new_editor("editor", st.session_state[INPUTS])


def set_tokens_and_rows(new_tokens: list[str], rows: list[list[float]]) -> None:
    """Replace tokens and rows together (both already validated)."""
    st.session_state[TOKENS] = list(new_tokens)
    st.session_state[INPUTS] = rows
    st.session_state[QUERY] = min(st.session_state[QUERY], len(new_tokens) - 1)
    _new_editor()


# Callbacks: each validates its widget's value and only then touches the canonical state.


def on_tokens_change() -> None:
    st.session_state[TOKENS_DRAFT] = st.session_state[W_TOKENS]
    try:
        new_tokens = parse_tokens(st.session_state[W_TOKENS])
    except InputError as error:
        errors()["tokens"] = str(error)
        return
    errors().pop("tokens", None)
    if new_tokens != tokens():
        set_tokens_and_rows(new_tokens, carry_over(tokens(), st.session_state[INPUTS], new_tokens))


def on_dim_change() -> None:
    try:
        rows = resize(tokens(), st.session_state[INPUTS], st.session_state[W_DIM])
    except InputError as error:
        errors()["dim"] = str(error)
        return
    errors().pop("dim", None)
    set_tokens_and_rows(tokens(), rows)


def on_upload() -> None:
    """Replace tokens and vectors with an uploaded CSV file, if it is valid."""
    file = st.session_state.get(W_UPLOAD)
    if file is None:
        return
    try:
        new_tokens, rows = parse_embeddings_csv(file.getvalue())
    except InputError as error:
        errors()["upload"] = f"{error} Nothing was changed."
        return
    errors().pop("upload", None)
    set_tokens_and_rows(new_tokens, rows)
    st.session_state[TOKENS_DRAFT] = " ".join(new_tokens)
    errors()["upload_done"] = f"Loaded {len(new_tokens)} tokens with d = {len(rows[0])}."


def on_query_change(parts: Sequence[str] = ()) -> None:
    """Callback of the query picker: store the query, then rerun only `parts` (the page's
    fragments that show the query) and the share link, or the whole page if `parts` is
    empty."""
    st.session_state[QUERY] = st.session_state[W_QUERY]
    if parts:
        rerun_parts([*parts, SHARE_PART])


# Parts of a page: fragments that rerun on their own. A widget inside a part reruns only that
# part; a callback can rerun several parts by name (rerun_parts) when its value shows in each.

P = ParamSpec("P")


def new_run() -> None:
    """A full run of a page starts: no part drawn yet (call before the page draws anything)."""
    st.session_state[PARTS] = set()


def part(key: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Decorator: the function becomes a fragment named `key`, a part of the page that
    reruns alone when a widget inside it changes (a full run reruns it too). Its arguments
    are those of the last full run, so it must read what its own widgets change (the query,
    a toggle) from st.session_state, not from its arguments."""

    def decorate(func: Callable[P, None]) -> Callable[P, None]:
        @wraps(func)
        def drawn(*args: P.args, **kwargs: P.kwargs) -> None:
            st.session_state.setdefault(PARTS, set()).add(key)
            func(*args, **kwargs)

        return st.fragment(drawn, key=key)

    return decorate


def rerun_parts(keys: Sequence[str]) -> None:
    """From a widget callback: rerun only the parts `keys` that the page has drawn, instead
    of the whole page. With none of them drawn, or if Streamlit does not know one of them
    (a run cut short), the whole page reruns, which is always right."""
    drawn = st.session_state.get(PARTS, set())
    wanted = [key for key in dict.fromkeys(keys) if key in drawn]
    if not wanted or wanted == [SHARE_PART]:
        return
    try:
        st.rerun(wanted)
    except StreamlitAPIException:
        return
