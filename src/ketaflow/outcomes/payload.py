"""The dashboard's numbers as JSON: the one payload `ketaflow outcomes --format json` prints
and `GET /api/v1/outcomes` answers (keys: docs/outcomes.md), with the researcher's view applied
when the dashboard was counted without small cells."""

from __future__ import annotations

from typing import Any

from ketaflow.outcomes.service import PRIMARY_INSTRUMENT, Dashboard, as_json


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    payload = as_json(board)
    return _suppressed(payload, board) if board.researcher_view else payload


def _suppressed(payload: dict[str, Any], board: Dashboard) -> dict[str, Any]:
    """The researcher's view of the JSON: hidden counts as "<11", their rates as null, no
    curve steps where the curve is hidden."""
    shown = f"<{board.settings.small_cell_min}"

    def endpoint(name: str, values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        for key, cell in (("with_baseline", "with_baseline"), ("evaluable", "evaluable"),
                          ("responders", "responders"), ("remitters", "remitters"),
                          ("fallback_baselines", "fallback")):
            if f"{name}.{cell}" in board.hidden:
                out[key] = shown
        if not board.rate_shown(f"{name}.responders", f"{name}.evaluable"):
            out["response_rate"] = None
        if not board.rate_shown(f"{name}.remitters", f"{name}.evaluable"):
            out["remission_rate"] = None
        if "induction_over" in board.hidden:
            out["courses"] = shown
        return out

    result = {**payload, **endpoint(PRIMARY_INSTRUMENT, payload)}
    result["instruments"] = {n: endpoint(n, v) for n, v in payload["instruments"].items()}
    result["over_time"] = [w for w in payload["over_time"]
                           if board.shown(f"{w['instrument']}.week{w['week']}.rated")
                           and board.shown(f"{w['instrument']}.week{w['week']}.responders")
                           and board.shown(f"{w['instrument']}.week{w['week']}.remitters")]
    result["time_to_response"] = {n: None if f"{n}.curve" in board.hidden else curve
                                  for n, curve in payload["time_to_response"].items()}
    funnel = dict(payload["funnel"])
    for key in ("screened", "eligible", "consented", "maintenance"):
        if key in board.hidden:
            funnel[key] = shown
    funnel["infusions"] = {k: shown if f"infusion_{k}" in board.hidden else v
                           for k, v in funnel["infusions"].items()}
    result["funnel"] = funnel
    result["small_cells_suppressed"] = True
    # Safety and mood counts: the page's rule, applied to the whole section when any is small.
    for section in ("safety", "mood"):
        if any(name in board.hidden for name in _SECTION_CELLS[section]):
            result[section] = shown
    return result


_SECTION_CELLS = {
    "safety": ("adverse_events", "serious_adverse_events", "bp_alerts", "cadss_sessions",
               "discharged_sessions", "infusions"),
    "mood": ("switch_courses", "switch_alerts", "relapse_courses", "relapse_alerts",
             "relapse_timed"),
}
