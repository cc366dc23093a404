"""The published figures the dashboard shows beside the clinic's own.

Numbers and citations are those in docs/clinical-sources.md#published-outcome-figures, checked
there against the project's clinical reference; `verified` says whether the figure and its
population were confirmed, and `caveat` what a reader must know before comparing (a trial's
response "at any time point" is not an end-of-induction rate; Murrough 2013 enrolled unipolar
treatment-resistant depression). No number here is computed or estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = "docs/clinical-sources.md#published-outcome-figures"


@dataclass(frozen=True)
class Published:
    key: str
    figure: str  # which dashboard figure it sits beside
    value: str
    population: str
    citation: str
    caveat: str
    verified: bool


DIAZGRANADOS_2010 = Published(
    "diazgranados-2010", "response",
    "71% responded to ketamine vs 6% to placebo",
    "bipolar I/II depression on lithium or valproate, one 0.5 mg/kg infusion over 40 min, "
    "crossover, n = 18",
    "Diazgranados N, Ibrahim L, Brutsche NE, et al. Arch Gen Psychiatry 2010;67(8):793-802. "
    "doi:10.1001/archgenpsychiatry.2010.90",
    "response at some time point during the trial after a single infusion, not at the end of a "
    "six-infusion induction; the time point was not re-checked against the paper",
    verified=True)
ZARATE_2012 = Published(
    "zarate-2012", "response",
    "79% responded to ketamine vs 0% to placebo",
    "bipolar depression on lithium or valproate, one 0.5 mg/kg infusion, crossover, n = 15",
    "Zarate CA Jr, Brutsche NE, Ibrahim L, et al. Biol Psychiatry 2012;71(11):939-946. "
    "doi:10.1016/j.biopsych.2011.12.010",
    "response after a single infusion in a trial, not at the end of an induction",
    verified=True)
MURROUGH_2013_RESPONSE = Published(
    "murrough-2013-response", "response",
    "70.8% responded after six infusions over 12 days",
    "treatment-resistant major depression (unipolar), six infusions three times a week",
    "Murrough JW, Perez AM, Pillemer S, et al. Biol Psychiatry 2013;74(4):250-256. "
    "doi:10.1016/j.biopsych.2012.06.022",
    "unipolar depression, not bipolar; the closest published six-infusion induction",
    verified=True)
MURROUGH_2013_RELAPSE = Published(
    "murrough-2013-relapse", "relapse",
    "median time to relapse 18 days after the last infusion (responders)",
    "treatment-resistant major depression (unipolar)",
    MURROUGH_2013_RESPONSE.citation,
    "unipolar depression; relapse by the trial's own definition",
    verified=True)
REAL_WORLD_RETENTION = Published(
    "real-world-retention", "retention",
    "about half do not complete six infusions; about a fifth stop after the first",
    "US real-world IV ketamine practice",
    "Osmind real-world registry reports (industry data, not peer reviewed; no citation "
    "confirmed)",
    "unverified: no primary publication could be confirmed",
    verified=False)

PUBLISHED: tuple[Published, ...] = (DIAZGRANADOS_2010, ZARATE_2012, MURROUGH_2013_RESPONSE,
                                    MURROUGH_2013_RELAPSE, REAL_WORLD_RETENTION)


def beside(figure: str) -> tuple[Published, ...]:
    """The published figures to show next to one of the dashboard's figures."""
    return tuple(entry for entry in PUBLISHED if entry.figure == figure)
