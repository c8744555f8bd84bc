"""The app's server builds figures without Plotly's property checks (charts.style.figure,
ui/server.py); they must be the same figures the checked build gives, on every page."""

from __future__ import annotations

import pytest
from app_support import charts, open_app
from test_lesson6_page import generate

from charts import style
from lessons import catalog
from ui import server

PAGES = [page.path for page in catalog.PAGE_LIST]
NO_CHARTS = {"pages/1_About_attention.py"}  # words and a link, no chart


def plain(value):
    """A figure's JSON without empty lists, dicts and nulls: the checked build drops those,
    and Plotly draws a figure the same with or without them."""
    if isinstance(value, dict):
        kept = {k: plain(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ([], {}, None)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def page_charts(path: str, monkeypatch, check: str) -> dict[str, dict]:
    monkeypatch.setenv(server.CHECK_FIGURES_ENV, check)
    at = open_app(None if path == "app.py" else path, timeout=180)
    if path == "pages/7_Generating_text.py":
        generate(at, tokens=2)  # its attention charts appear after a generation
    assert style.CHECK_FIGURES is (check == "1")
    return charts(at)


@pytest.mark.parametrize("path", PAGES)
def test_unchecked_figures_equal_checked_ones(path, monkeypatch, model_path):
    checked = page_charts(path, monkeypatch, "1")
    unchecked = page_charts(path, monkeypatch, "0")
    assert bool(checked) is (path not in NO_CHARTS)
    assert unchecked.keys() == checked.keys()
    for key, figure in checked.items():
        assert plain(unchecked[key]) == plain(figure), f"{path}: chart {key} differs"
