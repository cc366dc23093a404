"""The dashboard's filters, from the page's query string or the CLI's options (both strings),
refused with the field's label as the form shows it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaflow.errors import ValidationFailed
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
        start_from = check(web_forms.optional_date, form, "from", LABELS["from"])
        start_to = check(web_forms.optional_date, form, "to", LABELS["to"])
        site = form.get("site", "")
        site_id = None if site in ("", NO_SITE) else check(
            web_forms.optional_int, form, "site", LABELS["site"])
        kind = check(web_forms.optional_choice, form, "type", BipolarType, LABELS["type"])
        prescriber_id = check(web_forms.optional_int, form, "prescriber", LABELS["prescriber"])
        if site_id is not None:
            check(service.require_site, db, site_id)
        if prescriber_id is not None:
            check(service.require_prescriber, db, prescriber_id)
        if start_from and start_to and start_to < start_from:
            raise ValidationFailed("To must be on or after From", field="to")
    return Filters(start_from=start_from, start_to=start_to, site_id=site_id,
                   without_site=site == NO_SITE, bipolar_type=kind, prescriber_id=prescriber_id)
