"""The dashboard's filters, from the page's query string, the CLI's options or the JSON API's
query (all strings), refused with the field's label as the form shows it (422, every bad field
at once, the same for the page and the API)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.errors import ProblemCollector
from ketaflow.outcomes import service
from ketaflow.outcomes.service import Filters
from ketaflow.patients.diagnosis_codes import BipolarType
from ketaflow.web import forms as web_forms

NO_SITE = "none"
FIELDS = ("from", "to", "site", "type", "prescriber")
LABELS = {"from": "From", "to": "To", "site": "Site", "type": "Bipolar type",
          "prescriber": "Prescriber"}
TYPE_LABELS = {BipolarType.BIPOLAR_I: "Bipolar I", BipolarType.BIPOLAR_II: "Bipolar II"}


def parse_filters(db: Session, form: web_forms.Form) -> Filters:
    """Filters from strings ("" = any); every bad field reported at once (422)."""
    with web_forms.collect_errors() as check:
        filters = _read(check, form)
        _look_up(check, db, filters)
        check(service.check_filters, filters)
    return filters


def _read(check: ProblemCollector, form: web_forms.Form) -> Filters:
    """The fields as typed; a refused one stays None until the block raises."""
    start_from = check(web_forms.optional_date, form, "from", LABELS["from"])
    start_to = check(web_forms.optional_date, form, "to", LABELS["to"])
    site = form.get("site", "")
    site_id = None if site in ("", NO_SITE) else check(
        web_forms.optional_int, form, "site", LABELS["site"])
    kind = check(web_forms.optional_choice, form, "type", BipolarType, LABELS["type"])
    prescriber_id = check(web_forms.optional_int, form, "prescriber", LABELS["prescriber"])
    return Filters(start_from=start_from, start_to=start_to, site_id=site_id,
                   without_site=site == NO_SITE, bipolar_type=kind, prescriber_id=prescriber_id)


def _look_up(check: ProblemCollector, db: Session, filters: Filters) -> None:
    """The site and prescriber named exist."""
    if filters.site_id is not None:
        check(service.require_site, db, filters.site_id)
    if filters.prescriber_id is not None:
        check(service.require_prescriber, db, filters.prescriber_id)
