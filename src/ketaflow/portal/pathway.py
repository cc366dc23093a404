"""What the portal shows when answers suggest thoughts of self-harm.

Deliberately not a setting yet: the clinic's crisis line is configured later (placeholder below).
The wording gives no medical advice; it says who to contact and that answers are not watched
around the clock, so no one relies on the portal in an emergency.
"""

from __future__ import annotations

CRISIS_LINE_PLACEHOLDER = "[your clinic's crisis line: to be configured by the clinic]"

EMERGENCY_HEADING = "Thank you for telling us how you are"
EMERGENCY_PATHWAY = (
    "If you are in danger now, call your local emergency number.",
    "Some of your answers suggest you may be having thoughts of harming yourself or of being "
    "better off dead. Your clinic team will see your answers, but not straight away: this "
    "questionnaire is not watched around the clock.",
    f"If you need to talk to someone today, contact your clinic's crisis line: "
    f"{CRISIS_LINE_PLACEHOLDER}.",
)
