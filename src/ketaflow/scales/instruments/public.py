"""Instruments whose full wording ketaflow may ship: PHQ-9, GAD-7, modified Aldrete, PADSS and
the per-session side-effect checklist (sources: docs/clinical-sources.md#rating-scales and
docs/clinical-sources.md#side-effects)."""

from __future__ import annotations

from ketaflow.scales.instruments.model import (
    LOINC,
    Band,
    Code,
    Instrument,
    Item,
    Licence,
    Option,
    Rater,
    ScoringRule,
    scored_options,
)

PFIZER_ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, translate, "
    "display or distribute."
)

# The PHQ and GAD-7 share one frequency scale; the LOINC answer codes are LL358-3's.
FREQUENCY = (
    Option(0, "Not at all"),
    Option(1, "Several days"),
    Option(2, "More than half the days"),
    Option(3, "Nearly every day"),
)
FREQUENCY_LOINC = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}


def _loinc(code: str, display: str) -> Code:
    return Code(LOINC, code, display)


def _frequency_item(number: int, item_id: str, name: str, text: str, loinc: str) -> Item:
    return Item(item_id, number, name, FREQUENCY, text=text, code=_loinc(loinc, text))


PHQ9 = Instrument(
    id="phq9",
    name="Patient Health Questionnaire-9 (PHQ-9)",
    version="1.0.0",
    rater=Rater.SELF,
    recall_period="last 2 weeks",
    preamble=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=(
        _frequency_item(1, "interest", "Little interest or pleasure",
                        "Little interest or pleasure in doing things", "44250-9"),
        _frequency_item(2, "depressed_mood", "Feeling down",
                        "Feeling down, depressed, or hopeless", "44255-8"),
        _frequency_item(3, "sleep", "Sleep problems",
                        "Trouble falling or staying asleep, or sleeping too much", "44259-0"),
        _frequency_item(4, "energy", "Tiredness",
                        "Feeling tired or having little energy", "44254-1"),
        _frequency_item(5, "appetite", "Appetite", "Poor appetite or overeating", "44251-7"),
        _frequency_item(6, "self_worth", "Feeling bad about yourself",
                        "Feeling bad about yourself \N{EM DASH} or that you are a failure or have "
                        "let yourself or your family down", "44258-2"),
        _frequency_item(7, "concentration", "Trouble concentrating",
                        "Trouble concentrating on things, such as reading the newspaper or "
                        "watching television", "44252-5"),
        _frequency_item(8, "psychomotor", "Moving or speaking slowly, or restless",
                        "Moving or speaking so slowly that other people could have noticed? Or "
                        "the opposite \N{EM DASH} being so fidgety or restless that you have been "
                        "moving around a lot more than usual", "44253-3"),
        _frequency_item(9, "self_harm_thoughts", "Thoughts of death or self-harm",
                        "Thoughts that you would be better off dead or of hurting yourself in "
                        "some way", "44260-8"),
    ),
    rule=ScoringRule.SUM,
    bands=(
        Band("minimal", 0, 4),
        Band("mild", 5, 9),
        Band("moderate", 10, 14),
        Band("moderately severe", 15, 19),
        Band("severe", 20, 27),
    ),
    citation=(
        "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity "
        "measure. J Gen Intern Med. 2001;16(9):606-613. Bands, remission < 5 and item 9 rule: "
        "docs/clinical-sources.md#phq-9."
    ),
    licence=Licence.PUBLIC_WORDING,
    licence_note="Wording may be shipped with the Pfizer attribution.",
    attribution=PFIZER_ATTRIBUTION,
    total_code=_loinc("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
    panel_code=_loinc("44249-1", "PHQ-9 quick depression assessment panel"),
    thresholds=("response_min_drop_pct", "phq9_remission_below", "phq9_item9_positive_min",
                "phq9_item9_urgent_min"),
    notes=("The unscored functional-difficulty question is not part of the total and is omitted.",),
)

GAD7 = Instrument(
    id="gad7",
    name="Generalized Anxiety Disorder-7 (GAD-7)",
    version="1.0.0",
    rater=Rater.SELF,
    recall_period="last 2 weeks",
    preamble="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        _frequency_item(1, "nervous", "Nervous, anxious or on edge",
                        "Feeling nervous, anxious or on edge", "69725-0"),
        _frequency_item(2, "uncontrolled_worry", "Cannot stop worrying",
                        "Not being able to stop or control worrying", "68509-9"),
        _frequency_item(3, "worry_too_much", "Worrying too much",
                        "Worrying too much about different things", "69733-4"),
        _frequency_item(4, "trouble_relaxing", "Trouble relaxing", "Trouble relaxing", "69734-2"),
        _frequency_item(5, "restless", "Restless",
                        "Being so restless that it is hard to sit still", "69735-9"),
        _frequency_item(6, "irritable", "Easily annoyed or irritable",
                        "Becoming easily annoyed or irritable", "69689-8"),
        _frequency_item(7, "afraid", "Afraid something awful might happen",
                        "Feeling afraid as if something awful might happen", "69736-7"),
    ),
    rule=ScoringRule.SUM,
    bands=(
        Band("minimal", 0, 4),
        Band("mild", 5, 9),
        Band("moderate", 10, 14),
        Band("severe", 15, 21),
    ),
    citation=(
        "Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing generalized "
        "anxiety disorder: the GAD-7. Arch Intern Med. 2006;166(10):1092-1097. Bands: "
        "docs/clinical-sources.md#gad-7."
    ),
    licence=Licence.PUBLIC_WORDING,
    licence_note="Wording may be shipped with the Pfizer attribution.",
    attribution=PFIZER_ATTRIBUTION,
    total_code=_loinc("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
    panel_code=_loinc("69737-5", "Generalized anxiety disorder 7 item (GAD-7)"),
)


def _criteria(item_id: str, number: int, name: str, *best_middle_worst: str) -> Item:
    """A 0-2 recovery criterion; the wording is ketaflow's own statement of the clinical fact."""
    best, middle, worst = best_middle_worst
    options = (Option(0, worst), Option(1, middle), Option(2, best))
    return Item(item_id, number, name, options, text=name)


ALDRETE = Instrument(
    id="aldrete",
    name="Modified Aldrete score",
    version="1.0.0",
    rater=Rater.NURSE,
    recall_period="now",
    items=(
        _criteria("activity", 1, "Activity", "Moves all four limbs voluntarily or on command",
                  "Moves two limbs", "Cannot move any limb"),
        _criteria("respiration", 2, "Respiration", "Breathes deeply and coughs freely",
                  "Short of breath or shallow, limited breathing", "Apnoeic"),
        _criteria("circulation", 3, "Circulation (blood pressure vs pre-procedure)",
                  "Within 20 mmHg of the pre-procedure value",
                  "20 to 49 mmHg from the pre-procedure value",
                  "50 mmHg or more from the pre-procedure value"),
        _criteria("consciousness", 4, "Consciousness", "Fully awake", "Rousable when called",
                  "Not responding"),
        _criteria("oxygen_saturation", 5, "Oxygen saturation",
                  "Keeps SpO2 above 92% on room air",
                  "Needs supplemental oxygen to keep SpO2 above 90%",
                  "SpO2 below 90% even with supplemental oxygen"),
    ),
    rule=ScoringRule.SUM,
    citation=(
        "Aldrete JA. The post-anesthesia recovery score revisited. J Clin Anesth. 1995;7(1):89-91. "
        "Discharge >= 9/10: docs/clinical-sources.md#discharge-scores."
    ),
    licence=Licence.PUBLIC_WORDING,
    licence_note="Criteria are clinical facts; the wording here is ketaflow's own.",
    thresholds=("aldrete_discharge_min",),
)

PADSS_BLEEDING_RULE = (
    "An IV ketamine infusion has no surgical wound, so this item is scored 2 (no procedure-related "
    "bleeding) by rule and is not asked. Bleeding at the cannula site that needs more than "
    "pressure is recorded as a clinical event, not through this score."
)

PADSS = Instrument(
    id="padss",
    name="Post-Anaesthetic Discharge Scoring System (PADSS)",
    version="1.0.0",
    rater=Rater.NURSE,
    recall_period="now",
    items=(
        _criteria("vital_signs", 1, "Vital signs (BP and pulse vs pre-procedure)",
                  "Within 20% of the pre-procedure value",
                  "20% to 40% from the pre-procedure value",
                  "More than 40% from the pre-procedure value"),
        _criteria("activity_mental_status", 2, "Activity and mental status",
                  "Oriented to person, place and time and walks steadily",
                  "Either oriented or walks steadily, not both", "Neither"),
        _criteria("pain_nausea_vomiting", 3, "Pain, nausea and vomiting", "Minimal", "Moderate",
                  "Severe"),
        Item("surgical_bleeding", 4, "Surgical bleeding",
             (Option(0, "Severe"), Option(1, "Moderate"), Option(2, "Minimal")),
             text="Surgical bleeding", fixed_score=2, fixed_reason=PADSS_BLEEDING_RULE),
        _criteria("intake_output", 5, "Intake and output",
                  "Has taken fluids by mouth and passed urine", "One of the two", "Neither"),
    ),
    rule=ScoringRule.SUM,
    citation=(
        "Chung F, Chan VW, Ong D. A post-anesthetic discharge scoring system for home readiness "
        "after ambulatory surgery. J Clin Anesth. 1995;7(6):500-506. Discharge >= 9/10 and the "
        "bleeding-item rule for ketamine (clinic's own choice): "
        "docs/clinical-sources.md#discharge-scores."
    ),
    licence=Licence.PUBLIC_WORDING,
    licence_note="Criteria are clinical facts; the wording here is ketaflow's own.",
    thresholds=("padss_discharge_min",),
    notes=(PADSS_BLEEDING_RULE,),
)

GRADES = (Option(0, "None"), Option(1, "Mild"), Option(2, "Moderate"), Option(3, "Severe"))


def _symptom(number: int, item_id: str, name: str) -> Item:
    return Item(item_id, number, name, GRADES, text=f"{name} during or since this infusion")


TOLERABILITY_OPTIONS = (
    Option(0, "0 - could not tolerate it"),
    *scored_options(1, 9),
    Option(10, "10 - no difficulty at all"),
)

SIDE_EFFECTS = Instrument(
    id="side-effects",
    name="Per-session side-effect checklist",
    version="1.0.0",
    rater=Rater.NURSE,
    recall_period="this session",
    items=(
        _symptom(1, "dizziness", "Dizziness"),
        _symptom(2, "nausea", "Nausea"),
        _symptom(3, "vomiting", "Vomiting"),
        _symptom(4, "headache", "Headache"),
        _symptom(5, "blurred_double_vision", "Blurred or double vision"),
        _symptom(6, "sedation", "Sedation"),
        _symptom(7, "anxiety_panic", "Anxiety or panic"),
        _symptom(8, "confusion", "Confusion"),
        _symptom(9, "perceptual_disturbance", "Perceptual disturbance"),
        Item("tolerability", 10, "Overall tolerability", TOLERABILITY_OPTIONS,
             text="Overall, how well was this infusion tolerated? (0 = could not tolerate it, "
                  "10 = no difficulty at all)", in_total=False),
    ),
    rule=ScoringRule.SUM,
    citation=(
        "Side effects to chart each session: Ketalar USPI 5-6; Diazgranados et al. 2010; "
        "Zarate et al. 2012 (docs/clinical-sources.md#side-effects). The total is a "
        "symptom-burden sum for charting, not a validated scale; tolerability is reported "
        "separately."
    ),
    licence=Licence.PUBLIC_WORDING,
    licence_note="ketaflow's own checklist wording.",
    notes=(
        "Dissociation is charted with the CADSS-6 and perceptual disturbance in detail with the "
        "BPRS positive items.",
    ),
)
