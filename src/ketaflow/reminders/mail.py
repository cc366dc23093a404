"""The words of each reminder. Mail is not a private channel: no scores, no diagnosis, no
treatment named, nothing about the patient beyond their first name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CRISIS = ("If you feel unsafe or in crisis, do not wait for your clinic to read a reply: "
          "call your local emergency number.")


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def _footer(opt_out_url: str) -> str:
    return (f"\n{CRISIS}\n\nThis is an automatic message; replies are not read.\n"
            f"To stop these reminders: {opt_out_url}\n")


def _again(attempt: int) -> str:
    return "" if attempt == 1 else "A gentle reminder, in case the earlier message was missed.\n\n"


def mood(*, first_name: str, clinic: str, day: date, url: str, link_days: int, attempt: int,
         opt_out_url: str) -> Text:
    return Text(
        f"{clinic}: your daily check-in",
        f"Hello {first_name},\n\n{_again(attempt)}"
        f"How has {day:%A %d %B} been for you? Your daily check-in takes about a minute:\n\n"
        f"{url}\n\nThis link is for you only and works for {link_days} days.\n"
        + _footer(opt_out_url))


def scales(*, first_name: str, clinic: str, url: str, count: int, link_hours: int,
           attempt: int, opt_out_url: str) -> Text:
    what = "two short questionnaires" if count == 2 else "a short questionnaire"
    return Text(
        f"{clinic}: your weekly questionnaires",
        f"Hello {first_name},\n\n{_again(attempt)}"
        f"Your care team asks you to fill in {what} this week:\n\n{url}\n\n"
        f"This link is for you only, can be used once and works for {link_hours} hours.\n"
        + _footer(opt_out_url))


def infusion(*, first_name: str, clinic: str, on: date, opt_out_url: str) -> Text:
    return Text(
        f"{clinic}: your appointment tomorrow",
        f"Hello {first_name},\n\n"
        f"This is a reminder of your treatment appointment tomorrow, {on:%A %d %B}.\n\n"
        "Before you come:\n"
        "- Do not eat or drink beforehand for as long as your care team told you.\n"
        "- Arrange for an adult to take you home afterwards.\n"
        "- Do not drive, cycle or use machinery for the rest of that day.\n\n"
        "If you cannot come, or you are unwell, please call the clinic.\n"
        + _footer(opt_out_url))
