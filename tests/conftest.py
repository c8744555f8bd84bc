"""pytest fixtures shared by the unit tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch
from golden_data import load_golden

from attention import model_files

# The tests run many tiny tensor operations; a second thread only adds contention.
torch.set_num_threads(1)
# Plotly checks every figure the pages build, in AppTest runs and in the browser tests' servers
# (which inherit the environment); the app's server skips the checks (ui/server.py).
os.environ["ATTENTION_EXPLORER_CHECK_FIGURES"] = "1"


@pytest.fixture
def golden() -> dict[str, Any]:
    """The golden values every default view of the app must reproduce."""
    return load_golden()


@pytest.fixture(scope="session")
def model_path() -> Path:
    """Lesson 6's model file: fetched (pinned and checked) on first use, as the app does."""
    try:
        return model_files.fetch_model_file()
    except model_files.ModelUnavailableError as error:
        pytest.skip(f"the model file could not be obtained: {error}")
