"""The one charting path: declared Vega-Lite specs rendered on the server (vl-convert)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import vl_convert

from ketaflow import charts

SRC = Path(__file__).resolve().parents[2] / "src" / "ketaflow"


def _spec(description: str = "Scores <over> time") -> charts.Spec:
    rows = [{"day": 1, "score": 30, "text": "day 1: 30 (moderate)"},
            {"day": 8, "score": 12, "text": "day 8: 12 (mild)"}]
    x = {"field": "day", "type": "quantitative"}
    y = {"field": "score", "type": "quantitative"}
    return charts.chart(
        [{"mark": "line", "encoding": {"x": x, "y": y}},
         {"mark": {"type": "point", "aria": True},
          "encoding": {"x": x, "y": y, "description": {"field": "text"}}}],
        description=description, width=300, height=120, data={"values": rows})


def test_svg_is_an_accessible_fluid_image_without_inline_style_or_script() -> None:
    svg = charts.svg(_spec(), element_id="chart-x")
    root = svg[:svg.index(">") + 1]
    assert root.startswith('<svg id="chart-x" role="img" aria-label="Scores &lt;over&gt; time"')
    assert 'width="100%"' in root and "viewBox=" in root and "height=" not in root
    assert svg.index("<title>Scores &lt;over&gt; time</title>") == len(root)
    assert "style=" not in svg and "<script" not in svg.lower()
    # Each described point carries its text as a hover title too.
    assert re.findall(r"<title>(day \d: [^<]+)</title>", svg) == [
        "day 1: 30 (moderate)", "day 8: 12 (mild)"]


def test_the_same_spec_renders_the_same_and_ids_do_not_leak_between_uses() -> None:
    first = charts.svg(_spec(), element_id="a")
    assert charts.svg(_spec(), element_id="b") == first.replace('id="a"', 'id="b"', 1)
    assert 'id="a"' not in charts.svg(_spec())


def test_png_for_files_and_pdfs() -> None:
    image = charts.png(_spec(), scale=1.0)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(charts.png(_spec(), scale=2.0)) > len(image)


def test_a_broken_spec_is_a_chart_error() -> None:
    with pytest.raises(charts.ChartError, match="could not be rendered"):
        charts.svg({"mark": "line", "encoding": {"x": {"field": "a", "type": "nonsense"}}})


def test_no_module_draws_svg_by_hand() -> None:
    """Charts are declared specs through ketaflow.charts, never SVG built from strings."""
    hand_drawn = re.compile(r"<(?:svg|polyline|polygon|circle|path)\b")
    offenders = [str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
                 if path.parent.name != "charts" and hand_drawn.search(path.read_text())]
    assert offenders == []


def _same_drawing(markup: str) -> str:
    # Vega numbers clip paths with a counter that runs across renders in the process.
    return re.sub(r"clip\d+", "clip", markup)


def _plain(spec: charts.Spec) -> str:
    """The spec compiled and rendered whole, as vl-convert does without the shape cache."""
    return vl_convert.vegalite_to_svg(spec, vl_version=charts.VL_VERSION)


def _with_params(first: int, rows: list[dict[str, object]], description: str) -> charts.Spec:
    x = {"field": "day", "type": "quantitative",
         "scale": {"domainMin": {"expr": "lo"}, "domainMax": 20}}
    shared = {"values": [{"day": 3}, {"day": 12}]}
    return charts.chart(
        [{"data": {"values": rows}, "mark": "line",
          "encoding": {"x": x, "y": {"field": "score", "type": "quantitative"}}},
         {"data": shared, "layer": [{"mark": "rule", "encoding": {"x": x}},
                                    {"mark": "point", "encoding": {"x": x}}]}],
        description=description, width=200, height=80,
        params=[{"name": "lo", "value": first}])


def test_specs_of_one_shape_share_one_compile_and_draw_as_compiled_whole() -> None:
    """Rows, parameter values and the description are lifted out of the compile: two charts
    that differ only in them have one shape, and each still draws exactly as its own whole
    spec compiled by Vega-Lite does."""
    a = _with_params(0, [{"day": 1, "score": 4}, {"day": 9, "score": 7}], "first")
    b = _with_params(5, [{"day": 6, "score": 2}], "second")
    assert charts.shape_json(a) == charts.shape_json(b)
    assert charts.shape_json(a) != charts.shape_json(_spec())
    for spec in (a, b, _spec()):
        drawn = charts.svg(spec)
        assert _same_drawing(drawn) == _same_drawing(
            charts._accessible_and_fluid(_plain(spec), spec["description"]))
    assert charts.png(b, scale=1.0) == bytes(vl_convert.vegalite_to_png(
        b, vl_version=charts.VL_VERSION, scale=1.0))


def test_a_spec_with_no_rows_in_a_layer_keeps_the_shape() -> None:
    empty = _with_params(0, [], "nothing yet")
    assert charts.shape_json(empty) == charts.shape_json(_with_params(3, [{"day": 1,
                                                                           "score": 1}], "x"))
    assert charts.svg(empty).startswith('<svg role="img" aria-label="nothing yet"')
