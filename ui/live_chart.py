"""Charts that update in place: a Plotly chart drawn once, then changed by Plotly.react.

Why: st.plotly_chart's element identity includes its figure, so after an edit every changed
chart is a new element, which the page removes and draws anew (twice: once before its width is
known, once at its width). A lesson changes up to six charts per edit, so most of an edit's
time in the browser was spent rebuilding charts. This chart is a custom component
(st.components.v2) whose identity is its key alone: a rerun sends it the new figure and its
script (live_chart.js) calls Plotly.react on the same plot div. Only the charts on screen or
within one screen of it are drawn: a chart further down the page keeps its newest figure and
draws it as it comes near (and before printing), so an edit costs the browser the charts a
student can see.

plotly.js is served by the app from its static folder (static/, served at app/static/ because
`server.enableStaticServing` is on in .streamlit/config.toml), in two builds of the plotly.js
version of the Python package that built the figures, each loaded at most once per page:
- the cartesian build (ui/vendor/plotly-cartesian.min.js, plotly.js's own partial bundle: bar,
  heatmap, image, scatter and the other 2-D traces), 1.5 MB; a page runs it in about half the
  time the full build takes (0.5 s against 0.95 s here), and a student's first chart waits
  for it;
- the full build, from the plotly package, for a figure with any other trace (lesson 1's 3-D
  picture).
Each is written gzipped when a figure first needs it (the server would otherwise gzip it again
for every page that loads it) and unpacked by the page. A figure whose build cannot be written
(a read-only app folder) falls back to st.plotly_chart.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = ROOT / "static"  # Streamlit serves <app folder>/static at <base URL>/app/static/
PLOTLY_SOURCE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
CARTESIAN_SOURCE = Path(__file__).parent / "vendor" / "plotly-cartesian.min.js"
# The trace types of plotly.js's cartesian bundle (a browser test checks them against it).
CARTESIAN_TRACES = frozenset(
    {"bar", "box", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "image", "pie"}
    | {"contour", "scatter", "scatterternary", "violin"}
)
# What the page loads, by build: served file name (gzipped, named by the plotly version), source.
BUNDLES = {
    "cartesian": (f"plotly-cartesian-{plotly.__version__}.min.js.gz", CARTESIAN_SOURCE),
    "full": (f"plotly-{plotly.__version__}.min.js.gz", PLOTLY_SOURCE),
}
COMPONENT = "attention_explorer.live_chart"
SCRIPT = (Path(__file__).with_name("live_chart.js")).read_text(encoding="utf-8")

_mount = st.components.v2.component(COMPONENT, js=SCRIPT, isolate_styles=False)
_lock = threading.Lock()
_served: dict[str, bool] = {}  # build -> whether static/ serves it


def plotly_js_served(bundle: str = "cartesian") -> bool:
    """Make sure the app serves this build of plotly.js (gzipped, in static/). True when it
    does; False when its file cannot be written. Checked once per process and build, when a
    figure first needs it: a server's first run writes (or checks) the cartesian build only,
    9-52 ms, and the full build (43-174 ms) waits for a 3-D picture."""
    if bundle not in _served:
        with _lock:
            if bundle not in _served:
                _served[bundle] = _write_gzipped(*BUNDLES[bundle])
    return _served[bundle]


def _write_gzipped(name: str, source_path: Path) -> bool:
    target = STATIC_DIR / name
    source = source_path.read_bytes()
    try:
        if target.is_file() and gzip.decompress(target.read_bytes()) == source:
            return True
    except (OSError, EOFError, zlib.error):
        pass  # a broken file is written again
    try:
        STATIC_DIR.mkdir(exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(gzip.compress(source, compresslevel=9, mtime=0))
        partial.replace(target)  # atomic: a page never loads half a file
        return True
    except OSError:
        return False


def bundle_for(fig: go.Figure) -> str:
    """The build of plotly.js that draws `fig`: "cartesian" when it has its trace types only."""
    return "cartesian" if {trace.type for trace in fig.data} <= CARTESIAN_TRACES else "full"


def plotly_js_url(bundle: str = "cartesian") -> str:
    """Where the page loads this build of plotly.js: the app's static route under its base URL."""
    base = st.get_option("server.baseUrlPath").strip("/")
    name = BUNDLES[bundle][0]
    return "/" + "/".join(part for part in (base, "app", "static", name) if part)


def draw(fig: go.Figure, key: str, *, config: dict, alt: str | None, container=st) -> bool:
    """Draw `fig` under `key` in `container`: the first time as a new chart, afterwards by
    updating the chart already on the page. False, drawing nothing, when the app cannot serve
    the build of plotly.js the figure needs (then the caller draws it another way)."""
    bundle = bundle_for(fig)
    if not plotly_js_served(bundle):
        return False
    src = plotly_js_url(bundle)
    data = {
        "figure": fig.to_json(),
        "config": config,
        "alt": alt or "",
        "src": src,
        "height": fig.layout.height,  # kept free on the page until the chart is first drawn
    }
    if container is st:
        _mount(key=key, data=data, height="content")
    else:
        with container:
            _mount(key=key, data=data, height="content")
    return True


def spec_of(kind: str, proto) -> str | None:
    """The figure JSON of an element Streamlit sends (`kind`, its type's name, and `proto`, its
    message): a chart drawn here or by st.plotly_chart; None for any other element."""
    if kind == "plotly_chart":
        return proto.spec
    if kind == "bidi_component" and proto.component_name == COMPONENT:
        return json.loads(proto.json)["figure"]
    return None


def figure_json(element) -> str | None:
    """spec_of for an element of streamlit.testing's app tree."""
    return spec_of(element.type, element.proto)


def chart_elements(at) -> list:
    """Every chart element (see figure_json) of a streamlit.testing AppTest: st.plotly_chart
    ones first, then in-place ones, each in page order."""
    return [e for e in at.get("plotly_chart") + at.get("bidi_component") if figure_json(e)]
