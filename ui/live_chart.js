// A Plotly chart that is drawn once and then updated in place (ui/live_chart.py).
//
// Streamlit calls this function when the chart first appears and again, on the same
// parentElement, each time a rerun sends it a new figure. The first call creates the plot
// div; the figure goes to Plotly.react (on the new div, a first draw; later, it changes only
// what differs), so the chart is not removed and drawn anew, and only while the chart is on
// screen or near it (NEAR, below). The cleanup this returns runs when the chart leaves the page.
//
// plotly.js is served by the app in two builds (ui/live_chart.py): data.src names the one this
// figure needs; each is loaded at most once per page. The app theme comes from the CSS variables Streamlit
// sets on the component (--st-text-color, ...): the placeholders "#000001".."#000010" of the
// figure's colorway become the theme's categorical colours, and fonts, background and grid take
// the theme's values wherever the figure sets none.

// parentElement -> {parentElement, div, Plotly (the build that drew it), observer, nearness,
// pending, busy, near, printing, removed, width}
const charts = new WeakMap();

// plotly.js arrives gzipped (ui/live_chart.py says why): unpack it, then run it as a script.
// Each build (data.src) is loaded once per page and kept under its address: a second build
// replaces window.Plotly, so builds are loaded one after the other and each is taken from
// window.Plotly as soon as it has run.
const builds = new Map(); // src -> Promise of that build's Plotly
let loading = Promise.resolve();

async function fetchPlotly(src) {
  performance.mark("live-chart:plotly-fetch");
  const response = await fetch(src);
  if (!response.ok) throw new Error("plotly.js could not be loaded from " + src);
  const unpacked = response.body.pipeThrough(new DecompressionStream("gzip"));
  const code = await new Response(unpacked).blob();
  const url = URL.createObjectURL(new Blob([code], {type: "text/javascript"}));
  try {
    return await new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("plotly.js from " + src + " did not run"));
      document.head.appendChild(script);
    });
  } finally {
    URL.revokeObjectURL(url);
    performance.mark("live-chart:plotly-ready");
  }
}

function loadPlotly(src) {
  if (!builds.has(src)) {
    const build = loading.then(() => fetchPlotly(src));
    loading = build.catch(() => undefined);
    builds.set(src, build.catch((error) => {
      builds.delete(src); // the next chart tries again
      throw error;
    }));
  }
  return builds.get(src);
}

function themeOf(element) {
  const style = getComputedStyle(element);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const text = read("--st-text-color", "#31333f");
  return {
    text,
    heading: read("--st-heading-color", text),
    background: read("--st-background-color", "#ffffff"),
    border: read("--st-border-color", "rgba(49, 51, 63, 0.2)"),
    font: read("--st-font", "sans-serif"),
    headingFont: read("--st-heading-font", read("--st-font", "sans-serif")),
    categorical: read("--st-chart-categorical-colors", "").split(",").map((c) => c.trim()),
  };
}

// Values the figure does not set come from here (Streamlit's own chart theme, in short).
function themeLayout(theme) {
  const grid = theme.border;
  const ticks = {color: theme.text, size: 12};
  const axisTitle = {font: {color: theme.text, size: 14}};
  const axis = {gridcolor: grid, zerolinecolor: grid, tickcolor: grid, tickfont: ticks,
                title: axisTitle, automargin: true};
  return {
    font: {color: theme.text, family: theme.font, size: 12},
    title: {font: {family: theme.headingFont, size: 16, color: theme.heading},
            xanchor: "left", x: 0},
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.background,
    xaxis: {...axis, showgrid: false, zeroline: false},
    yaxis: {...axis},
    hoverlabel: {bgcolor: theme.background, bordercolor: theme.border,
                 font: {color: theme.text, family: theme.font, size: 12}},
    legend: {font: {color: theme.text, size: 12}},
  };
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

// Fill what `target` lacks from `defaults`, recursively; the figure's own values win.
function fill(target, defaults) {
  for (const [name, value] of Object.entries(defaults)) {
    if (!(name in target)) {
      target[name] = isObject(value) ? fill({}, value) : value;
    } else if (isObject(target[name]) && isObject(value)) {
      fill(target[name], value);
    }
  }
  return target;
}

// Streamlit's template names its categorical colours "#000001".."#000010" (its frontend swaps
// in the theme's); only colour lists are swapped here, never text such as a token's label.
function themedColours(colours, theme) {
  return colours.map((colour) => {
    const match = /^#0000(0[1-9]|10)$/.exec(colour);
    return (match && theme.categorical[Number(match[1]) - 1]) || colour;
  });
}

function themed(figureJson, theme) {
  const figure = JSON.parse(figureJson);
  for (const holder of [figure.layout, figure.layout?.template?.layout]) {
    if (holder && Array.isArray(holder.colorway)) {
      holder.colorway = themedColours(holder.colorway, theme);
    }
  }
  const layout = figure.layout || {};
  const defaults = themeLayout(theme);
  fill(layout, defaults);
  // Every x/y axis the figure names (xaxis2, ...) gets the axis defaults too.
  for (const name of Object.keys(layout)) {
    if (/^[xy]axis\d+$/.test(name) && isObject(layout[name])) {
      fill(layout[name], name[0] === "x" ? defaults.xaxis : defaults.yaxis);
    }
  }
  return {data: figure.data || [], layout};
}

// A chart is drawn only while it is on screen or within one screen of it (NEAR, above or below):
// an edit redraws the charts a student can see, and a chart further down the page gets its
// newest figure as it comes near. A chart inside a closed expander or a hidden tab has no box
// on the page, so it is drawn when it is opened (drawn while hidden, it would take Plotly's
// default width). The plot div says what it holds: data-pending while a figure waits to be
// drawn, data-waiting while it waits because it is out of view.
const NEAR = "100% 0px";
const plots = new WeakMap(); // plot div -> its chart's state
const observers = new WeakMap(); // scrolling element -> its IntersectionObserver
let windowObserver = null; // for a chart with no scrolling element above it

function nearness(div) {
  // Streamlit scrolls its main area, not the document: the margin is taken around the element
  // that scrolls (a margin around the window would be clipped by it). Outside Streamlit's main
  // area, the nearest element that can scroll vertically.
  let root = div.closest("[data-testid=stMain]") || div.parentElement;
  while (root && !/(auto|scroll)/.test(getComputedStyle(root).overflowY)) {
    root = root.parentElement;
  }
  const known = root ? observers.get(root) : windowObserver;
  if (known) return known;
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const state = plots.get(entry.target);
      if (!state) continue;
      state.near = entry.isIntersecting;
      if (state.near) draw(state);
      else mark(state);
    }
  }, {root, rootMargin: NEAR});
  if (root) observers.set(root, observer);
  else windowObserver = observer;
  return observer;
}

// Before printing, every chart that holds a figure it has not drawn (and has a box on the page)
// starts drawing it, near the screen or not.
window.addEventListener("beforeprint", () => {
  for (const div of document.querySelectorAll(".ae-live-chart[data-pending]")) {
    const state = plots.get(div);
    if (!state || !div.checkVisibility()) continue;
    state.printing = true;
    draw(state);
  }
});

function mark(state) {
  state.div.toggleAttribute("data-pending", state.pending !== null);
  state.div.toggleAttribute("data-waiting", state.pending !== null && state.near === false);
}

const wanted = (state) => state.near === true || state.printing;

async function draw(state) {
  mark(state);
  if (state.busy || !wanted(state)) return;
  state.busy = true;
  try {
    while (state.pending && !state.removed) {
      const data = state.pending;
      const Plotly = await loadPlotly(data.src);
      if (state.removed || !wanted(state)) break; // gone, or out of view, while plotly.js loaded
      state.pending = null;
      const figure = themed(data.figure, themeOf(state.parentElement));
      if (state.Plotly && state.Plotly !== Plotly) state.Plotly.purge(state.div); // new build
      if (!state.Plotly) state.div.textContent = ""; // a failed draw's message goes
      state.Plotly = Plotly;
      await Plotly.react(state.div, figure.data, figure.layout, data.config || {});
      state.div.style.minHeight = "";
      state.div.style.background = "";
    }
  } catch (error) {
    if (state.Plotly) state.Plotly.purge(state.div); // the next figure starts a new plot
    state.Plotly = null;
    state.pending = null; // the next figure tries again
    state.div.textContent = "This chart could not be drawn: " + error.message;
  } finally {
    state.busy = false;
    state.printing = false;
    if (!state.removed) mark(state);
  }
}

export default function ({data, parentElement}) {
  let state = charts.get(parentElement);
  if (!state) {
    const div = document.createElement("div");
    div.className = "ae-live-chart";
    div.setAttribute("role", "img");
    // The column decides the width, never the drawn chart: without size containment a chart
    // drawn wide would hold a narrowed column (phone rotation, sidebar) at its old width.
    div.style.width = "100%";
    div.style.contain = "inline-size";
    parentElement.appendChild(div);
    state = {parentElement, div, Plotly: null, pending: null, busy: false, near: null,
             printing: false, removed: false, width: 0};
    // Redraw at the new width when the column changes size (sidebar, window, rotation).
    state.observer = new ResizeObserver((entries) => {
      const width = Math.round(entries[0].contentRect.width);
      if (width === state.width) return;
      state.width = width;
      if (state.Plotly && state.div._fullLayout) state.Plotly.Plots.resize(state.div);
    });
    state.observer.observe(div);
    charts.set(parentElement, state);
    plots.set(div, state);
    state.nearness = nearness(div);
    state.nearness.observe(div); // its first report says whether to draw now
  }
  state.pending = data;
  state.div.setAttribute("aria-label", data.alt || ""); // the newest figure's text, drawn or not
  if (!state.div._fullLayout) {
    // Until it is first drawn, the chart holds its figure's height (Plotly's default, 450 px,
    // when the figure sets none), shaded as a placeholder: the charts below it stay where they
    // will be, so the right ones are found near the screen.
    state.div.style.minHeight = (data.height || 450) + "px";
    state.div.style.background = "var(--st-secondary-background-color, #f0f2f6)";
  }
  draw(state);
  return () => {
    state.removed = true; // a draw under way stops at its next step
    state.nearness.unobserve(state.div);
    state.observer.disconnect();
    if (state.Plotly) state.Plotly.purge(state.div);
    charts.delete(parentElement);
    state.div.remove();
  };
}
