"""Extra sections of the patient page, contributed by later domains (screening, courses...).

A domain registers a template at import time (its routes module is imported when the app is
built); the patient page includes each section the reader's role may see, in `order`. The
template receives the page context (`record`, `can`, `csrf_token`...). Templates that need more
control can instead extend `patients/patient.html` and fill its empty blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaflow.auth.permissions import Permission


@dataclass(frozen=True)
class PageSection:
    template: str
    permission: Permission
    order: int = 100


SECTIONS: list[PageSection] = []


def register_section(template: str, permission: Permission, order: int = 100) -> None:
    if all(section.template != template for section in SECTIONS):
        SECTIONS.append(PageSection(template, permission, order))
        SECTIONS.sort(key=lambda section: section.order)
