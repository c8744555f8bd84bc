"""Helpers shared by the AppTest modules: open the app (optionally from a link) and read charts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lessons import glossary
from ui import live_chart

ROOT = Path(__file__).resolve().parents[1]


def open_app(
    page: str | None = None, timeout: float = 60, opened: Sequence[str] = (), **params: str
) -> AppTest:
    """Run `page` (a path relative to the root, e.g. "pages/2_Trainable_weights.py"; default the
    home page app.py) directly, with these URL query parameters, and with the lazy sections
    (ui/lazy.py) whose keys are in `opened` open, as if the student had opened them.

    app.py stays the entry point (the shared sidebar's page links are resolved against it), but
    only the page under test runs: selecting the page before the first run opens it directly.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    for key in opened:
        at.session_state[key] = True
    if page is not None:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """Every Plotly chart on the page (in-place charts and st.plotly_chart ones) as JSON, by
    its key."""
    return {
        element.proto.id.rsplit("-", 1)[-1]: json.loads(live_chart.figure_json(element))
        for element in live_chart.chart_elements(at)
    }


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure (as JSON) of the chart with this key."""
    for element in live_chart.chart_elements(at):
        if element.proto.id.endswith(f"-{key}"):
            return json.loads(live_chart.figure_json(element))
    raise AssertionError(f"no chart with key {key!r}")


LABEL = re.compile(r"\*\*Step (\d+) of (\d+) · (.+)\*\*")


def step_label(at) -> tuple[int, int, str]:
    """(step, count, title) from the controls' label."""
    for element in at.markdown:
        match = LABEL.fullmatch(element.value)
        if match:
            return int(match[1]), int(match[2]), match[3]
    raise AssertionError("no step label")


def page_markdown(at: AppTest) -> list[str]:
    """The page's own Markdown texts, in order, without the glossary every lesson carries."""
    return [m.value for m in at.markdown if m.value != glossary.as_markdown()]
