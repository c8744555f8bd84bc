"""The golden values of the seed notebook, for the unit tests (imported by name)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
GOLDEN_PATH = TESTS_DIR / "data" / "seed.json"
# The shared original the repo copy was taken from (present in the development checkout only).
SHARED_GOLDEN_PATH = Path(__file__).resolve().parents[2] / "shared" / "golden" / "seed.json"


@functools.cache
def _load_golden() -> str:
    return GOLDEN_PATH.read_text(encoding="utf-8")


def load_golden() -> dict[str, Any]:
    """A fresh copy of tests/data/seed.json, parsed (tests may mutate it freely)."""
    return json.loads(_load_golden())
