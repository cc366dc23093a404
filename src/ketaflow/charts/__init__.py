"""The application's one charting path: every chart is a declared Vega-Lite spec.

A domain module builds its chart as a Vega-Lite v5 specification (a plain dict: data, marks,
encodings; see `ketaflow.infusions.pk_chart`, `ketaflow.assessments.chart`, `ketaflow.pk.plot`)
and hands it here. `svg()` compiles and renders it on the server with vl-convert (the
Vega-Lite compiler and Vega's SVG renderer in an embedded JavaScript runtime: no browser, no
network, no Node), so pages get an inline <svg> with presentation attributes only, which the
strict CSP allows and which works without JavaScript; `png()` gives the same chart for PDFs
and files. `spec_json()` is the canonical text of a spec, for clients that render it
themselves and for the cache key.

Rendering the same spec twice gives the same output, so results are kept in a small
in-process cache keyed on the spec's canonical JSON (a signed order's planned curve, a
patient's unchanged scores). A new spec is compiled from Vega-Lite to Vega by its *shape*: the
spec with its inline data rows, top-level parameter values and description lifted out (rows
become named data sets). Charts of one kind share a shape whatever they show (every patient's
life chart, on any day), so the compile (a fifth to a third of a render) runs once per shape
and process, and each new spec only has its rows and values put back into the compiled Vega
and rendered (`vega_to_svg`); the output is the same as compiling the whole spec
(tests/charts/test_render.py). vl-convert keeps one runtime per process; `warm_up()` starts it
off the request path, since its first start takes about a second.
"""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from html import escape
from typing import Any

import vl_convert

Spec = dict[str, Any]

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
FONT = "DejaVu Sans, Verdana, sans-serif"
INK, MUTED, GRID = "#14202b", "#4b5b6a", "#e3e8ee"
# House style applied to every chart (a Vega-Lite config), so charts look alike.
CONFIG: Spec = {
    "font": FONT,
    "background": "#ffffff",
    "view": {"stroke": None},
    "axis": {"labelColor": MUTED, "titleColor": INK, "gridColor": GRID, "domainColor": MUTED,
             "tickColor": MUTED, "labelFontSize": 11, "titleFontSize": 12,
             "titleFontWeight": "normal"},
    "legend": {"labelColor": MUTED, "titleColor": INK, "labelFontSize": 11, "orient": "bottom",
               "direction": "vertical",
               "labelLimit": 360,
               "titleFontWeight": "normal"},
    "title": {"color": INK, "fontSize": 13, "fontWeight": "normal", "anchor": "start"},
}
_CACHE_ENTRIES = 256
VL_VERSION = "5.20"  # the Vega-Lite release vl-convert compiles with (pinned: stable output)


class ChartError(RuntimeError):
    """A spec that Vega-Lite cannot compile or render (a programming error, not user input)."""


def chart(layers: list[Spec], *, description: str, width: int, height: int,
          title: str | Spec = "", data: Spec | None = None, **top: Any) -> Spec:
    """A layered Vega-Lite spec in the house style. `description` becomes the chart's
    accessible name (aria-label and <title>); `title` (text, or a Vega-Lite title with a
    subtitle) is drawn above the chart, none by default (pages give charts a heading)."""
    spec: Spec = {"$schema": VEGA_LITE_SCHEMA, "description": description,
                  "width": width, "height": height, "config": CONFIG, "layer": layers,
                  **top}
    if title:
        spec["title"] = title
    if data is not None:
        spec["data"] = data
    return spec


def spec_json(spec: Spec) -> str:
    """The canonical JSON text of a spec (sorted keys, no spaces)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)


def svg(spec: Spec, *, element_id: str | None = None) -> str:
    """The chart as an <svg> element (trusted markup: Vega escapes every text it draws),
    with `element_id` as the root's id if given."""
    markup = _svg(spec_json(spec))
    if element_id is None:
        return markup
    return markup.replace("<svg ", f'<svg id="{escape(element_id)}" ', 1)


def png(spec: Spec, *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (`scale` 2 for print sharpness)."""
    return _png(spec_json(spec), scale)


@lru_cache(maxsize=_CACHE_ENTRIES)
def _svg(text: str) -> str:
    spec = json.loads(text)
    try:
        markup = vl_convert.vega_to_svg(_vega(spec))
    except ValueError as error:
        raise ChartError(f"the chart spec could not be rendered: {error}") from None
    return _accessible_and_fluid(markup, str(spec.get("description", "chart")))


_ROWS_NAME = "_rows_{}"


def shape_json(spec: Spec) -> str:
    """The canonical JSON of the spec's shape: what is compiled to Vega once and reused by
    every spec of that shape."""
    return spec_json(_lifted(spec, {})[0])


def _lifted(spec: Spec, rows: dict[str, list[Any]]) -> tuple[Spec, dict[str, Any]]:
    """The spec's shape, with its inline rows put in `rows` (by data set name), and the
    values of its top-level parameters."""
    shape = _shape(spec, rows)
    values = {p["name"]: p["value"] for p in spec.get("params", ()) if _liftable(p)}
    if values:
        shape["params"] = [{**p, "value": None} if _liftable(p) else p for p in spec["params"]]
    shape.pop("description", None)
    return shape, values


def _vega(spec: Spec) -> Spec:
    """The spec compiled to Vega: its shape's compile (cached), with the spec's own rows,
    parameter values and description put back."""
    rows: dict[str, list[Any]] = {}
    shape, values = _lifted(spec, rows)
    compiled = _compiled(spec_json(shape))
    vega: Spec = {**compiled, "data": [
        {**d, "values": rows[d["name"]]} if d.get("name") in rows else d
        for d in compiled.get("data", ())]}
    if values:
        vega["signals"] = [{**s, "value": values[s["name"]]} if s.get("name") in values else s
                           for s in compiled.get("signals", ())]
    if "description" in spec:
        vega["description"] = spec["description"]
    return vega


def _liftable(param: Spec) -> bool:
    """A plain value parameter (not a selection, not bound to an input)."""
    return "value" in param and "select" not in param and "bind" not in param


def _shape(node: Any, rows: dict[str, list[Any]]) -> Any:
    """A copy of `node` with every inline data set (`{"values": [...]}`) replaced by a data
    set named by its place in the spec, its rows kept in `rows` (layers that are to share rows
    take them from their parent, as a compile of the whole spec would not merge them either
    once named)."""
    if isinstance(node, list):
        return [_shape(item, rows) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {}
    for key, value in node.items():
        if key == "data" and isinstance(value, dict) and isinstance(value.get("values"), list):
            name = _ROWS_NAME.format(len(rows))
            rows[name] = value["values"]
            copied[key] = {**{k: v for k, v in value.items() if k != "values"}, "name": name}
        else:
            copied[key] = _shape(value, rows)
    return copied


@lru_cache(maxsize=64)
def _compiled(shape_text: str) -> Spec:
    # Shared between renders: callers copy what they change, never mutate it.
    try:
        return dict(vl_convert.vegalite_to_vega(json.loads(shape_text), vl_version=VL_VERSION))
    except ValueError as error:
        raise ChartError(f"the chart spec could not be rendered: {error}") from None


_ROOT_SIZE = re.compile(r'^<svg ([^>]*?)width="[0-9.]+" height="[0-9.]+"')


def _accessible_and_fluid(markup: str, description: str) -> str:
    """The root <svg> as an image named by the spec's description (role, aria-label and a
    <title>), as wide as its container (the viewBox keeps the aspect ratio)."""
    name = escape(description)
    markup = _ROOT_SIZE.sub(rf'<svg role="img" aria-label="{name}" \1width="100%"', markup,
                            count=1)
    head_end = markup.index(">") + 1
    markup = f"{markup[:head_end]}<title>{name}</title>{markup[head_end:]}"
    # A mark with a `description` encoding carries it as each item's aria-label; give the
    # item a <title> with the same text too, so hovering a point shows its value.
    return _DESCRIBED.sub(r"<\1 aria-label=\"\2\"\3><title>\2</title></\1>", markup)


_DESCRIBED = re.compile(r'<(path|rect) aria-label="([^"]*)"( role="graphics-symbol"[^>]*?)/>')


@lru_cache(maxsize=32)
def _png(text: str, scale: float) -> bytes:
    try:
        return bytes(vl_convert.vega_to_png(_vega(json.loads(text)), scale=scale))
    except ValueError as error:
        raise ChartError(f"the chart spec could not be rendered: {error}") from None


_warmed = threading.Event()


def warm_up() -> None:
    """Start the renderer's runtime in a background thread (once per process)."""
    if _warmed.is_set():
        return
    _warmed.set()
    tiny = chart([{"mark": "point"}], title="", description="warm-up", width=10, height=10,
                 data={"values": [{}]})
    threading.Thread(target=svg, args=(tiny,), name="chart-warm-up", daemon=True).start()
