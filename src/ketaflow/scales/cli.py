"""`ketaflow scales`: list instruments, show their wording and score answers.

Errors in the answers are one line on stderr (`error: ...`) with exit status 2 and nothing on
stdout, matching the root CLI's handling of usage errors.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ketaflow.scales.instruments import (
    INSTRUMENTS,
    Instrument,
    ScoringRule,
    UnknownInstrumentError,
    get_instrument,
)
from ketaflow.scales.scoring import ScaleInputError, ScoreResult, score
from ketaflow.scales.wording import WordingPackError, display_wording, load_wording_pack

app = typer.Typer(
    help="Rating scales: list instruments, show wording and score answers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

USAGE_ERROR = 2
_YES = frozenset({"y", "yes"})
_NO = frozenset({"n", "no"})
_LEFT_OUT = "-"


class OutputFormat(StrEnum):
    JSON = "json"
    TABLE = "table"


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(USAGE_ERROR)


def _instrument(instrument_id: str) -> Instrument:
    try:
        return get_instrument(instrument_id)
    except UnknownInstrumentError as exc:
        _fail(str(exc))


def _parse_token(instrument: Instrument, token: str) -> object:
    """One comma-separated answer; tokens that do not parse go through as text to be refused."""
    token = token.strip()
    if instrument.rule is ScoringRule.RISK_LEVEL:
        lowered = token.lower()
        if lowered in _YES:
            return True
        if lowered in _NO:
            return False
        return None if token == _LEFT_OUT else token
    try:
        return int(token)
    except ValueError:
        return token


def _summary(instrument: Instrument) -> dict[str, Any]:
    bands = [{"label": b.label, "low": b.low, "high": b.high} for b in instrument.bands]
    return {
        "id": instrument.id,
        "name": instrument.name,
        "version": instrument.version,
        "rater": str(instrument.rater),
        "items": len(instrument.items),
        "answers": len(instrument.asked_items),
        "total_range": (None if instrument.min_total is None
                        else [instrument.min_total, instrument.max_total]),
        "bands": bands,
        "licence": str(instrument.licence),
    }


@app.command("list")
def list_instruments(
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.TABLE
    ),
) -> None:
    """List the instruments ketaflow can score."""
    summaries = [_summary(instrument) for instrument in INSTRUMENTS.values()]
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(summaries))
        return
    typer.echo(f"{'id':<15} {'rater':<10} {'answers':>7} {'range':>7}  licence")
    for row in summaries:
        low_high = row["total_range"]
        total = "-" if low_high is None else f"{low_high[0]}-{low_high[1]}"
        typer.echo(f"{row['id']:<15} {row['rater']:<10} {row['answers']:>7} {total:>7}  "
                   f"{row['licence']}")


def _table(result: ScoreResult) -> str:
    lines = [f"instrument: {result.instrument_id} (version {result.instrument_version})"]
    if result.total is not None and result.total_range is not None:
        lines.append(f"total: {result.total} (range {result.total_range[0]}-"
                     f"{result.total_range[1]})")
    if result.severity is not None:
        lines.append(f"severity: {result.severity.label} "
                     f"({result.severity.low}-{result.severity.high})")
    if result.risk_level is not None:
        lines.append(f"risk level: {result.risk_level}")
    lines.extend(f"  {key}: {value}" for key, value in result.subscores.items())
    lines.append(f"flags: {', '.join(result.flags) if result.flags else 'none'}")
    return "\n".join(lines)


@app.command("score")
def score_command(
    instrument_id: Annotated[str, typer.Argument(metavar="INSTRUMENT",
                                                 help="Instrument id (see `scales list`).")],
    answers: Annotated[str, typer.Option(
        "--answers",
        help="Comma-separated answers in item order; C-SSRS: y/n, '-' for a skipped item.",
    )],
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.JSON
    ),
) -> None:
    """Score one rating and print the total, severity band and flags."""
    instrument = _instrument(instrument_id)
    values = [_parse_token(instrument, token) for token in answers.split(",")]
    try:
        result = score(instrument, values)
    except ScaleInputError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(result.to_dict()) if output is OutputFormat.JSON else _table(result))


@app.command("show")
def show_command(
    instrument_id: Annotated[str, typer.Argument(metavar="INSTRUMENT")],
    wording: Annotated[Path | None, typer.Option(
        "--wording", help="A licensed wording pack (JSON) to validate and show.")] = None,
) -> None:
    """Show an instrument's items and options, with a licensed wording pack if given."""
    instrument = _instrument(instrument_id)
    pack = None
    if wording is not None:
        try:
            pack = load_wording_pack(wording)
        except WordingPackError as exc:
            _fail(str(exc))
    try:
        shown = display_wording(instrument, pack)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{shown.name} (version {shown.version}; wording: {shown.wording_source}"
               + (f" {shown.wording_version})" if shown.wording_version else ")"))
    if shown.preamble:
        typer.echo(shown.preamble)
    for item in shown.items:
        typer.echo(f"{item.ref}. [{item.id}] {item.text}")
        if item.fixed_score is not None:
            typer.echo(f"    scored {item.fixed_score} by rule: {item.fixed_reason}")
            continue
        for option in item.options:
            typer.echo(f"    {option.score}: {option.text}")
    if shown.notice:
        typer.echo(shown.notice)
