"""The clinic settings page: every threshold that drives an alert, a hold, an eligibility decision
or a discharge, with its current value, default and source (each linked to its entry in
docs/clinical-sources.md)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from ketaflow.auth.permissions import Permission, requires
from ketaflow.clinical import eligibility
from ketaflow.dosing.limits import DEFAULT_LIMITS
from ketaflow.infusions.service._common import clinic_settings as infusion_settings
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS
from ketaflow.sourced import SettingInfo, describe
from ketaflow.web.routing import UnitOfWorkRoute
from ketaflow.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)


@dataclass(frozen=True)
class SettingsGroup:
    title: str
    purpose: str
    settings: tuple[SettingInfo, ...]


def settings_groups() -> tuple[SettingsGroup, ...]:
    """The settings in force, grouped as a clinician looks for them."""
    infusion = infusion_settings()
    return (
        SettingsGroup("Rating scales", "Flags, response, remission, relapse, switch and "
                      "suicidality signals, discharge scores.", describe(DEFAULT_THRESHOLDS)),
        SettingsGroup("Pre-infusion blood pressure", "Applied at screening and again before "
                      "every infusion.", describe(infusion.bp_gate)),
        SettingsGroup("Screening", "Baseline checks for eligibility.",
                      describe(eligibility.DEFAULT_SETTINGS)),
        SettingsGroup("Infusion session", "Vital-sign alerts, monitoring schedule and "
                      "observation.", describe(infusion)),
        SettingsGroup("Dosing limits", "Soft limits warn and need a prescriber's reason; hard "
                      "limits are refused.", describe(DEFAULT_LIMITS)),
    )


@router.get("/settings/clinical")
@requires(Permission.HOME_VIEW)
def clinic_settings_page(request: Request) -> Response:
    return render(request, "clinic_settings.html", {"groups": settings_groups()})
