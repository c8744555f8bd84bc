"""Housekeeping of the Streamlit server process that every page shares: how it collects
garbage after each script run, torch's threads, and Plotly's checks of each figure."""

from __future__ import annotations

import gc
import os
import sys
import threading

import torch
from streamlit.logger import get_logger

from charts import style

TORCH_THREADS = 1
# Set to "1" (the test suite does) to keep Plotly's checks of every figure on in the app too.
CHECK_FIGURES_ENV = "ATTENTION_EXPLORER_CHECK_FIGURES"
_LOG = get_logger(__name__)  # Streamlit's logger: its level is the `logger.level` option
_lock = threading.Lock()
_modules_when_frozen = 0


def freeze_long_lived_objects() -> bool:
    """After new modules were imported, collect once and move every object alive into the
    permanent generation (`gc.freeze`). True when it froze.

    Why: a full collection walks every object the process holds. With torch, pandas and plotly
    imported, about 260,000 of them live as long as the process: 113 ms per full collection on
    the benchmark machine, paid after every script run while Streamlit's `runner.postScriptGC`
    was on (it is off in .streamlit/config.toml) and still by Python's own full collections.
    Frozen objects are skipped. Freezing happens once per batch of new imports (a page's first
    visit), so it is bounded; whatever other sessions held at that moment is kept until the
    process ends."""
    global _modules_when_frozen
    if len(sys.modules) == _modules_when_frozen:
        return False
    with _lock:
        if len(sys.modules) == _modules_when_frozen:
            return False
        gc.collect()
        gc.freeze()
        _modules_when_frozen = len(sys.modules)
        _LOG.debug("%d objects frozen, %d modules", gc.get_freeze_count(), len(sys.modules))
    return True


def use_one_torch_thread() -> None:
    """Run torch's operations on one thread in this process.

    The lessons' tensors are tiny (at most a few hundred numbers), so a second thread has
    nothing to share, and handing work between OpenMP threads on a busy machine stalled: lesson
    1's computation took 25 ms with two threads and 0.5 ms with one on the benchmark machine.
    Sessions still run side by side, each script in its own thread. The setting is global to
    the process, which is what is wanted."""
    if torch.get_num_threads() != TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)


def check_figures_only_if_asked() -> None:
    """Build figures without Plotly's property checks (charts.style.figure), unless the
    environment variable CHECK_FIGURES_ENV is "1". The checks cost 2-4 ms per chart on every
    edit; the test suite keeps them on and checks that both ways give the same figures."""
    style.CHECK_FIGURES = os.environ.get(CHECK_FIGURES_ENV) == "1"
