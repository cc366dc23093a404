"""National crisis lines a clinic may choose by country, and the words a patient reads.

Pure (stdlib only). Only long-established national numbers are listed, each with who runs it;
a clinic elsewhere types its own line on the clinic profile page. Every line here answers 24
hours a day, every day, by phone, as its operator states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Each line's source and what was verified: the doc's entry.
_DOC = "docs/clinical-sources.md#crisis-lines"


@dataclass(frozen=True)
class NationalLine:
    country_code: str  # ISO 3166-1 alpha-2
    country: str
    name: str
    number: str
    source: str

    @property
    def text(self) -> str:
        return f"{self.name}: {self.number}"


NATIONAL_LINES: Mapping[str, NationalLine] = MappingProxyType({line.country_code: line for line in (
    NationalLine("US", "United States", "988 Suicide & Crisis Lifeline", "988 (call or text)",
                 "US Federal Communications Commission designation of 988 (2020), in service "
                 f"since 16 July 2022; run for SAMHSA ({_DOC})"),
    NationalLine("CA", "Canada", "9-8-8 Suicide Crisis Helpline", "988 (call or text)",
                 "Canadian Radio-television and Telecommunications Commission, Telecom "
                 "Regulatory Policy CRTC 2022-234 (31 August 2022); in service since 30 November "
                 f"2023 ({_DOC})"),
    NationalLine("GB", "United Kingdom", "Samaritans", "116 123",
                 "Samaritans (registered charity), free 24-hour line on the harmonised "
                 f"European 116 number range ({_DOC})"),
    NationalLine("IE", "Ireland", "Samaritans", "116 123",
                 "Samaritans Ireland, free 24-hour line on the harmonised European 116 "
                 f"number range ({_DOC})"),
    NationalLine("AU", "Australia", "Lifeline", "13 11 14",
                 f"Lifeline Australia, national 24-hour crisis support line ({_DOC})"),
    NationalLine("NZ", "New Zealand", "Need to talk? 1737", "1737 (call or text)",
                 "Te Whatu Ora / Health New Zealand national mental health line (operator "
                 f"unverified; {_DOC})"),
)})


@dataclass(frozen=True)
class CrisisLines:
    """What the patient is told to call besides the local emergency number."""

    clinic_line: str | None = None
    national_line: str | None = None
    national_always_open: bool = False  # a listed national line; a typed one may not be
    after_hours: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.clinic_line or self.national_line)


EMERGENCY_HEADING = "Thank you for telling us how you are"
DANGER_NOW = "If you are in danger now, call your local emergency number."
NOT_WATCHED = ("Some of your answers suggest you may be having thoughts of harming yourself or of "
               "being better off dead. Your clinic team will see your answers, but not straight "
               "away: this questionnaire is not watched around the clock.")
# Shown when the clinic has configured no crisis line (never in production, which refuses to
# start without one): plain words, never a placeholder.
NO_LINE_CONFIGURED = ("If you need to talk to someone today and cannot reach your clinic, call "
                      "your local emergency number now.")


def emergency_pathway(lines: CrisisLines) -> tuple[str, ...]:
    """The paragraphs of the portal's crisis content, in reading order.

    No medical advice: who to contact, and that the answers are not watched around the clock.
    """
    paragraphs = [DANGER_NOW, NOT_WATCHED]
    if lines.clinic_line:
        paragraphs.append("If you need to talk to someone today, call your clinic's crisis "
                          f"line: {lines.clinic_line}.")
    if lines.national_line:
        lead = "You can also call" if lines.clinic_line else "If you need to talk to someone " \
            "today, call"
        when = ", any time of day or night" if lines.national_always_open else ""
        paragraphs.append(f"{lead} {lines.national_line}{when}.")
    if not lines.configured:
        paragraphs.append(NO_LINE_CONFIGURED)
    if lines.after_hours:
        paragraphs.append(f"Outside clinic hours: {lines.after_hours}")
    return tuple(paragraphs)
