"""pytest fixtures shared by the unit tests."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from golden_data import load_golden

# The tests run many tiny tensor operations; a second thread only adds contention.
torch.set_num_threads(1)


@pytest.fixture
def golden() -> dict[str, Any]:
    """The golden values every default view of the app must reproduce."""
    return load_golden()
