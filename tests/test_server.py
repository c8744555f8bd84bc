"""The server's housekeeping: long-lived objects are frozen out of the collections Streamlit
runs after every script run (ui/server.py)."""

from __future__ import annotations

import gc
import sys
import threading
import tomllib
import types
from pathlib import Path

import torch
from app_support import open_app

from ui import server


def test_freezes_after_new_imports_and_only_then():
    server.freeze_long_lived_objects()  # whatever was imported before this test
    frozen = gc.get_freeze_count()
    assert server.freeze_long_lived_objects() is False  # nothing new imported: no work
    assert gc.get_freeze_count() == frozen

    module = types.ModuleType("_freeze_probe")
    module.payload = [[] for _ in range(1000)]  # tracked objects (lists) that live on
    sys.modules[module.__name__] = module
    try:
        assert server.freeze_long_lived_objects() is True
        assert gc.get_freeze_count() >= frozen + 1000
    finally:
        del sys.modules[module.__name__]


def test_a_page_run_leaves_the_imported_libraries_out_of_the_collection():
    open_app()
    # torch, pandas, plotly and streamlit alone make well over 100,000 tracked objects.
    assert gc.get_freeze_count() > 100_000
    # A full collection now walks only what is not frozen: far fewer objects.
    assert len(gc.get_objects()) < gc.get_freeze_count()


def test_a_page_run_uses_one_torch_thread(monkeypatch):
    """torch's thread count is per thread under OpenMP, and each script run has its own thread:
    the page sets it in the run's thread, where its operations run."""
    seen = []
    original = server.use_one_torch_thread

    def recording() -> None:
        original()
        seen.append(
            (threading.current_thread() is threading.main_thread(), torch.get_num_threads())
        )

    monkeypatch.setattr(server, "use_one_torch_thread", recording)
    open_app()
    assert seen and all(threads == server.TORCH_THREADS == 1 for _, threads in seen)


def test_one_thread_in_a_new_thread():
    result = []

    def run() -> None:
        torch.set_num_threads(2)
        server.use_one_torch_thread()
        result.append(torch.get_num_threads())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert result == [1]


def test_streamlit_does_not_collect_after_every_run():
    """A full collection after every run costs in proportion to what every session holds: at
    100 students it took half the server's CPU (benchmarks/load_server.py)."""
    config = tomllib.loads(
        (Path(__file__).resolve().parents[1] / ".streamlit/config.toml").read_text()
    )
    assert config["runner"]["postScriptGC"] is False
