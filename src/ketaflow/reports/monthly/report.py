"""The monthly clinic report's content for one month (clinic time zone) and optionally one
site: activity, safety, end-of-induction outcomes and the controlled-substance totals.

Outcomes come from the outcomes service (`end_of_induction`: the dashboard's cohort,
baselines, window and thresholds, for the courses whose last induction infusion was in the
month), the controlled-substance totals from the reconciliation module; nothing here
re-implements a clinical rule. In the researcher's view every count goes through the
dashboard's small-cell suppression (`outcomes.stats.suppressed_cells`). Read only: the
report service audits it. Aggregates only: no patient is named anywhere in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from ketaflow.infusions.controlled.reconciliation import (
    ReconciliationTotals,
    reconciliation_totals,
)
from ketaflow.infusions.rules import AlertLevel
from ketaflow.outcomes.service import (
    Filters,
    InductionOutcomes,
    end_of_induction,
    filter_options,
    require_site,
)
from ketaflow.outcomes.stats import Partition, suppressed_cells
from ketaflow.reports.monthly import figures
from ketaflow.reports.monthly.figures import Activity, Safety
from ketaflow.reports.monthly.month import Month, parse_month
from ketaflow.web import forms as web_forms

ACTIVITY_MEASURES = ("infusions", "induction", "maintenance", "first_infusions",
                     "inductions_completed", "stopped_early", "aborted")
NO_SITE_LABEL = "No site"
ALL_SITES = "All sites"


@dataclass(frozen=True)
class SiteRow:
    key: str  # the cell prefix: "site.3", "site.none"
    label: str
    activity: Activity


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    zone: str
    today: date
    site: tuple[int, str] | None  # the chosen site; None: all sites
    activity: Activity
    sites: tuple[SiteRow, ...]  # per site, when no site was chosen
    new_patients: int | None  # None with a site chosen: a patient belongs to no site
    weeks: tuple[tuple[str, int], ...]  # ("1-7", infusions started)
    safety: Safety
    outcomes: InductionOutcomes
    reconciliation: ReconciliationTotals
    hidden: frozenset[str]
    generated_at: datetime

    @property
    def researcher_view(self) -> bool:
        return self.outcomes.researcher_view

    @property
    def small_cell_min(self) -> int:
        return self.outcomes.settings.small_cell_min

    @property
    def scope(self) -> str:
        return ALL_SITES if self.site is None else self.site[1]

    @property
    def in_progress(self) -> bool:
        return self.month.in_progress(self.today)

    @property
    def empty(self) -> bool:
        """Nothing happened in the month in this scope (every section would read zero)."""
        r = self.reconciliation
        return (self.activity.infusions == 0 and self.activity.aborted == 0
                and not self.new_patients and self.outcomes.courses == 0
                and r.sessions == 0 and r.received_mg == 0 and r.drawn_mg == 0)

    def shown(self, name: str) -> bool:
        return name not in self.hidden

    def cell(self, name: str, value: int) -> str:
        """A count as printed: the number, or "<11" when suppressed."""
        return f"<{self.small_cell_min}" if name in self.hidden else str(value)


SITE_LABEL = "Site"


def parse_form(db: Session, form: web_forms.Form, *, today: date) -> tuple[Month, int | None]:
    """The month and site asked for, from the page's query string or the CLI's options (both
    strings); every bad field reported at once with its label (422)."""
    with web_forms.collect_errors() as check:
        month = check(parse_month, form.get("month", ""), today=today)
        site_id = check(web_forms.optional_int, form, "site", SITE_LABEL)
        if site_id is not None:
            check(require_site, db, site_id)
    return month, site_id


def build_monthly(db: Session, *, month: Month, site_id: int | None, zone: str, today: date,
                  small_cells: bool, at: datetime) -> MonthlyReport:
    if site_id is not None:
        require_site(db, site_id)
    names = dict(filter_options(db).sites)
    since, until = month.bounds(zone)
    rows = figures.activity_by_site(db, since, until, site_id)
    activity = figures.total(rows, site_id)
    sessions = figures.month_sessions(since, until, site_id)
    slices = month.weeks(zone)
    weeks = tuple(zip((label for label, _, _ in slices),
                      figures.weekly_infusions(db, sessions, slices), strict=True))
    safety = figures.safety(db, sessions)
    outcomes = end_of_induction(db, filters=Filters(
        site_id=site_id, induction_ended_since=since, induction_ended_before=until),
        small_cells=small_cells, at=at)
    ledger = reconciliation_totals(db, start=month.first, end=month.last, timezone=zone)
    sites = () if site_id is not None else tuple(
        SiteRow(f"site.{r.site_id if r.site_id is not None else 'none'}",
                NO_SITE_LABEL if r.site_id is None else names.get(r.site_id, str(r.site_id)), r)
        for r in rows)
    new = None if site_id is not None else figures.new_patients(db, since, until)
    hidden: frozenset[str] = frozenset()
    if not small_cells:
        cells, parts = _cells(activity, sites, new, weeks, safety, ledger)
        hidden = suppressed_cells(cells, parts, minimum=outcomes.settings.small_cell_min)
    chosen = None if site_id is None else (site_id, names[site_id])
    return MonthlyReport(month, zone, today, chosen, activity, sites, new, weeks, safety,
                         outcomes, ledger, hidden, at)


def _cells(activity: Activity, sites: tuple[SiteRow, ...], new_patients: int | None,
           weeks: tuple[tuple[str, int], ...], safety: Safety, ledger: ReconciliationTotals
           ) -> tuple[dict[str, int], list[Partition]]:
    """Every count the report prints, and the totals their parts add up to (so a hidden
    count cannot be worked out by subtraction)."""
    cells = {f"activity.{m}": getattr(activity, m) for m in ACTIVITY_MEASURES}
    parts = [Partition("activity.infusions", ("activity.induction", "activity.maintenance"))]
    for row in sites:
        cells |= {f"{row.key}.{m}": getattr(row.activity, m) for m in ACTIVITY_MEASURES}
    if sites:
        parts += [Partition(f"activity.{m}", tuple(f"{r.key}.{m}" for r in sites))
                  for m in ACTIVITY_MEASURES]
    if new_patients is not None:
        cells["new_patients"] = new_patients
    cells |= {f"week.{label}": n for label, n in weeks}
    parts.append(Partition("activity.infusions", tuple(f"week.{label}" for label, _ in weeks)))
    cells |= {"adverse_events": safety.adverse_events, "serious": safety.serious,
              "non_serious": safety.non_serious,
              "bp.all": sum(n for _, n in safety.bp_alerts),
              "rescue.all": safety.rescue_doses, "discharges": safety.discharges,
              "overridden": safety.overridden_discharges,
              "not_overridden": safety.discharges - safety.overridden_discharges,
              "ledger.sessions": ledger.sessions, "ledger.flagged": ledger.flagged_sessions,
              "ledger.unflagged": ledger.sessions - ledger.flagged_sessions}
    cells |= {f"kind.{label}": n for label, n in safety.by_kind}
    cells |= {f"bp.{level.value}": n for level, n in safety.bp_alerts}
    cells |= {f"rescue.{name}": n for name, n in safety.rescue}
    parts += [Partition("adverse_events", ("serious", "non_serious")),
              Partition("bp.all", tuple(f"bp.{level.value}" for level in AlertLevel)),
              Partition("rescue.all", tuple(f"rescue.{name}" for name, _ in safety.rescue)),
              Partition("discharges", ("overridden", "not_overridden")),
              Partition("ledger.sessions", ("ledger.flagged", "ledger.unflagged"))]
    return cells, parts
