"""`ketaflow mood signals`: early warnings and the week-ahead forecast from CSV files."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ketaflow.mood.csvfiles import CsvProblem, read_entries, read_ratings
from ketaflow.mood.entries import Entry, daily_summaries
from ketaflow.mood.forecast import predict, states
from ketaflow.mood.series import one_patient
from ketaflow.mood.signals import Rating, daily_signals, rating_signals

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Between-visit mood chart: early warnings and forecast.")
T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(2)


def _read(path: Path, label: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"{label} {path}: cannot be read ({type(error).__name__})") from None


def _parse(path: Path, label: str, read: Callable[..., list[T]]) -> list[T]:
    try:
        return read(_read(path, label), today=date.today())
    except CsvProblem as problem:
        raise _fail(f"{path.name}: {problem}") from None


def report(entries: list[Entry], ratings: list[Rating]) -> dict[str, Any]:
    """The contract's JSON object for one patient's entries and ratings."""
    summaries = daily_summaries(entries)
    start = min([summaries[0].day, *(r.day for r in ratings)])
    end = max([summaries[-1].day, *(r.day for r in ratings)])
    series = one_patient(summaries, start=start, end=end)
    signals = sorted(daily_signals(series) + rating_signals(ratings),
                     key=lambda s: (s.day, s.kind.value))
    ahead = predict(states(series.mood), series.days - 1)
    forecast = [{"date": (end + timedelta(days=k + 1)).isoformat(),
                 "mood": round(float(ahead.mood[0, k]), 2),
                 "low": round(float(ahead.low[0, k]), 2),
                 "high": round(float(ahead.high[0, k]), 2)} for k in range(ahead.mood.shape[1])]
    return {"signals": [{"kind": s.kind.value, "date": s.day.isoformat(), "reason": s.reason}
                        for s in signals], "forecast": forecast}


@app.command("signals")
def signals_command(
    entries: Annotated[Path, typer.Option("--entries", help="mood entries CSV")],
    ratings: Annotated[Path | None, typer.Option("--ratings", help="rating totals CSV")] = None,
    output_format: Annotated[str, typer.Option("--format", help="json")] = "json",
) -> None:
    """Warnings (switch, relapse, disengagement) with reasons, and the next 7 days' forecast
    of mood (elevated minus depressed), as one JSON object."""
    if output_format.strip().lower() != "json":
        raise _fail(f"--format: must be json, not {output_format[:20]!r}")
    parsed = _parse(entries, "--entries", read_entries)
    rated = [] if ratings is None else _parse(ratings, "--ratings", read_ratings)
    typer.echo(json.dumps(report(parsed, rated), indent=2))
