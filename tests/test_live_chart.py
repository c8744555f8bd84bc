"""Charts that update in place (ui/live_chart.py): plotly.js served by the app (the vendored
cartesian build and the plotly package's full build), every page's charts drawn by the
component with their download name and text alternative, and st.plotly_chart as the fallback
when plotly.js cannot be served."""

from __future__ import annotations

import gzip
import json
import re
import tomllib

import plotly
import plotly.graph_objects as go
import pytest
import streamlit as st
from app_support import ROOT, charts, open_app

from ui import live_chart, state


@pytest.fixture
def static_dir(tmp_path, monkeypatch):
    """live_chart's static folder moved to a temporary one, served state forgotten."""
    folder = tmp_path / "static"
    monkeypatch.setattr(live_chart, "STATIC_DIR", folder)
    monkeypatch.setattr(live_chart, "_served", {})
    return folder


def test_serves_both_builds_gzipped(static_dir):
    for bundle, (name, source) in live_chart.BUNDLES.items():
        assert not (static_dir / name).exists()  # written when a figure first needs it
        assert live_chart.plotly_js_served(bundle) is True
        served = static_dir / name
        assert gzip.decompress(served.read_bytes()) == source.read_bytes(), bundle
        assert served.stat().st_size < source.stat().st_size / 2
    assert (static_dir / live_chart.BUNDLES["full"][0]).name == (
        f"plotly-{plotly.__version__}.min.js.gz"
    )
    assert live_chart.BUNDLES["full"][1] == live_chart.PLOTLY_SOURCE
    assert not list(static_dir.glob("*.part"))


def version_line(path) -> str:
    """'v4.1.1' from a plotly.js bundle's licence header."""
    header = path.read_text(encoding="utf-8")[:300]
    return re.search(r"plotly\.js .*?(v\d+\.\d+\.\d+)", header)[1]


def test_the_cartesian_build_is_the_plotly_package_s_version():
    """The vendored cartesian build must be the plotly.js release the Python package ships
    (after an upgrade of plotly, copy plotly.js-cartesian-dist-min of that version)."""
    assert version_line(live_chart.CARTESIAN_SOURCE) == version_line(live_chart.PLOTLY_SOURCE)
    assert "(cartesian - minified)" in live_chart.CARTESIAN_SOURCE.read_text()[:200]


@pytest.mark.parametrize(
    "broken",
    [
        gzip.compress(b"/* another plotly.js */"),  # a different bundle
        b"not gzip at all",
        gzip.compress(b"x" * 1000)[:20],  # cut short
    ],
)
def test_replaces_a_stale_or_broken_file(static_dir, broken):
    static_dir.mkdir()
    name, source = live_chart.BUNDLES["cartesian"]
    served = static_dir / name
    served.write_bytes(broken)
    assert live_chart.plotly_js_served() is True
    assert gzip.decompress(served.read_bytes()) == source.read_bytes()


def test_says_so_when_the_copy_cannot_be_written(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(live_chart, "STATIC_DIR", blocker / "static")  # parent is a file
    monkeypatch.setattr(live_chart, "_served", {})
    assert live_chart.plotly_js_served("cartesian") is False
    assert live_chart.plotly_js_served("full") is False


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("", "/app/static/"),
        ("/", "/app/static/"),
        ("classroom", "/classroom/app/static/"),
        ("/school/class/", "/school/class/app/static/"),
    ],
)
def test_loads_plotly_js_under_the_app_s_base_url(base, url, monkeypatch):
    monkeypatch.setattr(st, "get_option", lambda name: base)
    for bundle, (name, _) in live_chart.BUNDLES.items():
        assert live_chart.plotly_js_url(bundle) == url + name


def test_a_figure_gets_the_cartesian_build_unless_it_needs_more():
    bars = go.Figure([go.Bar(y=[1]), go.Heatmap(z=[[1]]), go.Scatter(y=[1])])
    assert live_chart.bundle_for(bars) == "cartesian"
    assert live_chart.bundle_for(go.Figure([go.Scatter(y=[1]), go.Scatter3d(z=[1])])) == "full"


def test_the_app_serves_its_static_folder():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True
    assert (ROOT / "static").is_dir()  # Streamlit warns at start when it is missing
    ignored = (ROOT / "static" / ".gitignore").read_text().split()
    assert "*.gz" in ignored  # written at run time, never committed


def live_elements(at) -> dict[str, dict]:
    """The in-place charts' data (figure, config, alt, src), by key."""
    return {
        element.proto.id.rsplit("-", 1)[-1]: json.loads(element.proto.json)
        for element in at.get("bidi_component")
        if element.proto.component_name == live_chart.COMPONENT
    }


def test_every_chart_of_a_lesson_is_drawn_in_place_with_its_name_and_description():
    at = open_app()
    drawn = live_elements(at)
    assert drawn.keys() == charts(at).keys()
    assert len(drawn) >= 4
    assert not at.get("plotly_chart")
    for key, data in drawn.items():
        assert data["src"] == live_chart.plotly_js_url("cartesian")
        assert data["config"]["displaylogo"] is False
        assert data["config"]["toImageButtonOptions"]["filename"]
        assert data["alt"], f"chart {key} has no text alternative"
        assert json.loads(data["figure"])["data"], f"chart {key} has no traces"
    scripts = {element.proto.js_content for element in at.get("bidi_component")}
    assert scripts == {live_chart.SCRIPT}


def test_an_edit_keeps_each_chart_s_identity_and_changes_its_figure():
    at = open_app()
    before = live_elements(at)
    ids = {e.proto.id for e in at.get("bidi_component")}
    edited = [list(row) for row in at.session_state[state.INPUTS]]
    edited[0][0] += 1.0
    at.session_state[state.INPUTS] = edited
    at.run()
    after = live_elements(at)
    assert {e.proto.id for e in at.get("bidi_component")} == ids  # same elements, updated
    assert after["weights_heatmap"]["figure"] != before["weights_heatmap"]["figure"]


def test_falls_back_to_st_plotly_chart_with_the_same_figures(monkeypatch):
    live = charts(open_app())
    monkeypatch.setattr(live_chart, "_served", {"cartesian": False, "full": False})
    at = open_app()
    assert not live_elements(at)
    assert charts(at) == live
    assert len(at.get("plotly_chart")) == len(live)


def test_only_a_figure_whose_build_cannot_be_served_falls_back(monkeypatch):
    """The full build (for the 3-D picture) cannot be written, the cartesian one can: the 3-D
    picture is an st.plotly_chart and every other chart is still drawn in place."""
    monkeypatch.setattr(live_chart, "_served", {"cartesian": True, "full": False})
    at = open_app()
    at.toggle(key="w_vectors_3d").set_value(True).run()
    assert not at.exception
    assert [user_key(e.proto.id) for e in at.get("plotly_chart")] == ["vectors_plot"]
    assert json.loads(live_chart.figure_json(at.get("plotly_chart")[0]))["data"][0]["type"] == (
        "scatter3d"
    )
    assert "vectors_plot" not in live_elements(at)
    assert len(live_elements(at)) >= 4


def user_key(element_id: str) -> str:
    return element_id.rsplit("-", 1)[-1]
