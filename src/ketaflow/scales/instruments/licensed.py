"""Copyrighted instruments: item NAMES and scoring only (docs/clinical-sources.md#rating-scales).

Anchors and question wording are not shipped; a clinic holding a licence loads its wording from a
local file (see ketaflow.scales.wording). Option labels are therefore the bare numbers.
"""

from __future__ import annotations

from ketaflow.scales.instruments.model import (
    Band,
    Domain,
    Instrument,
    Item,
    Licence,
    Rater,
    ScoringRule,
    scored_options,
)

NAMES_ONLY_NOTE = (
    "Copyrighted wording: ketaflow ships item names and scoring only. Load licensed wording from a "
    "local wording pack."
)


def _items(low: int, high: int, *names: tuple[str, str]) -> tuple[Item, ...]:
    """Items numbered from 1, all scored low..high."""
    return tuple(
        Item(item_id, number, name, scored_options(low, high))
        for number, (item_id, name) in enumerate(names, start=1)
    )


QIDS_SR16 = Instrument(
    id="qids-sr16",
    name="Quick Inventory of Depressive Symptomatology, self-report, 16 items (QIDS-SR16)",
    version="1.0.0",
    rater=Rater.SELF,
    recall_period="past 7 days",
    items=_items(
        0, 3,
        ("sleep_onset", "Falling asleep"),
        ("sleep_night", "Sleep during the night"),
        ("waking_early", "Waking up too early"),
        ("sleeping_too_much", "Sleeping too much"),
        ("sad_mood", "Feeling sad"),
        ("appetite_decreased", "Decreased appetite"),
        ("appetite_increased", "Increased appetite"),
        ("weight_decreased", "Decreased weight"),
        ("weight_increased", "Increased weight"),
        ("concentration", "Concentration and decision making"),
        ("self_view", "View of myself"),
        ("death_suicide_thoughts", "Thoughts of death or suicide"),
        ("general_interest", "General interest"),
        ("energy", "Energy level"),
        ("slowed_down", "Feeling slowed down"),
        ("restless", "Feeling restless"),
    ),
    # Nine DSM-IV symptom domains; the multi-item domains count their highest item only, so a
    # person who both sleeps badly and oversleeps is not counted twice for sleep.
    rule=ScoringRule.DOMAIN_MAX,
    domains=(
        Domain("sleep", "Sleep", ("sleep_onset", "sleep_night", "waking_early",
                                  "sleeping_too_much")),
        Domain("sad_mood", "Sad mood", ("sad_mood",)),
        Domain("appetite_weight", "Appetite or weight", ("appetite_decreased",
                                                         "appetite_increased",
                                                         "weight_decreased",
                                                         "weight_increased")),
        Domain("concentration", "Concentration", ("concentration",)),
        Domain("self_view", "Self-criticism", ("self_view",)),
        Domain("suicidal_ideation", "Suicidal ideation", ("death_suicide_thoughts",)),
        Domain("interest", "Interest", ("general_interest",)),
        Domain("energy", "Energy", ("energy",)),
        Domain("psychomotor", "Psychomotor change", ("slowed_down", "restless")),
    ),
    bands=(
        Band("none", 0, 5),
        Band("mild", 6, 10),
        Band("moderate", 11, 15),
        Band("severe", 16, 20),
        Band("very severe", 21, 27),
    ),
    citation=(
        "Rush AJ, Trivedi MH, Ibrahim HM, et al. The 16-item Quick Inventory of Depressive "
        "Symptomatology (QIDS), clinician rating (QIDS-C), and self-report (QIDS-SR). Biol "
        "Psychiatry. 2003;54(5):573-583. Bands, remission <= 5, relapse >= 11, item 12 rule: "
        "docs/clinical-sources.md#qids-sr16."
    ),
    licence=Licence.NAMES_ONLY,
    licence_note=NAMES_ONLY_NOTE,
    thresholds=("response_min_drop_pct", "qids_remission_max", "qids_relapse_min",
                "qids_item12_positive_min", "qids_item12_urgent_min"),
)

MADRS = Instrument(
    id="madrs",
    name="Montgomery-Asberg Depression Rating Scale (MADRS)",
    version="1.0.0",
    rater=Rater.CLINICIAN,
    recall_period="past week",
    items=_items(
        0, 6,
        ("apparent_sadness", "Apparent sadness"),
        ("reported_sadness", "Reported sadness"),
        ("inner_tension", "Inner tension"),
        ("reduced_sleep", "Reduced sleep"),
        ("reduced_appetite", "Reduced appetite"),
        ("concentration_difficulties", "Concentration difficulties"),
        ("lassitude", "Lassitude"),
        ("inability_to_feel", "Inability to feel"),
        ("pessimistic_thoughts", "Pessimistic thoughts"),
        ("suicidal_thoughts", "Suicidal thoughts"),
    ),
    rule=ScoringRule.SUM,
    bands=(
        Band("normal", 0, 6),
        Band("mild", 7, 19),
        Band("moderate", 20, 34),
        Band("severe", 35, 60),
    ),
    citation=(
        "Montgomery SA, Asberg M. A new depression scale designed to be sensitive to change. "
        "Br J Psychiatry. 1979;134:382-389. Bands, response, remission <= 10 (<= 12 in esketamine "
        "trials) and item 10 rules: docs/clinical-sources.md#madrs."
    ),
    licence=Licence.NAMES_ONLY,
    licence_note=NAMES_ONLY_NOTE,
    thresholds=("response_min_drop_pct", "madrs_remission_max", "madrs_item10_screen_min",
                "madrs_item10_same_day_min", "madrs_item10_urgent_min"),
)

# YMRS items 5, 6, 8 and 9 carry double weight (0-8) because they are hard to assess in poorly
# cooperative patients (Young 1978); the others are 0-4.
_YMRS_DOUBLE = frozenset({5, 6, 8, 9})
_YMRS_NAMES = (
    ("elevated_mood", "Elevated mood"),
    ("motor_activity_energy", "Increased motor activity-energy"),
    ("sexual_interest", "Sexual interest"),
    ("sleep", "Sleep"),
    ("irritability", "Irritability"),
    ("speech", "Speech (rate and amount)"),
    ("language_thought_disorder", "Language-thought disorder"),
    ("content", "Content"),
    ("disruptive_aggressive", "Disruptive-aggressive behaviour"),
    ("appearance", "Appearance"),
    ("insight", "Insight"),
)

YMRS = Instrument(
    id="ymrs",
    name="Young Mania Rating Scale (YMRS)",
    version="1.0.0",
    rater=Rater.CLINICIAN,
    recall_period="past 48 hours",
    items=tuple(
        Item(item_id, number, name, scored_options(0, 8 if number in _YMRS_DOUBLE else 4))
        for number, (item_id, name) in enumerate(_YMRS_NAMES, start=1)
    ),
    rule=ScoringRule.SUM,
    bands=(
        Band("none", 0, 11),
        Band("hypomanic", 12, 20),
        Band("manic", 21, 60),
    ),
    citation=(
        "Young RC, Biggs JT, Ziegler VE, Meyer DA. A rating scale for mania: reliability, validity "
        "and sensitivity. Br J Psychiatry. 1978;133:429-435. Bands 0-11, 12-20 hypomanic, >= 21 "
        "manic: Int J Bipolar Disord 2021, doi:10.1186/s40345-021-00241-5, table 1 "
        "(docs/clinical-sources.md#ymrs); possible switch >= 12, probable mania >= 21."
    ),
    licence=Licence.NAMES_ONLY,
    licence_note=NAMES_ONLY_NOTE,
    thresholds=("ymrs_possible_switch_min", "ymrs_probable_mania_min"),
    notes=(
        "The alerts use the band's words: possible switch from the hypomanic band (>= 12), "
        "probable mania from the manic band (>= 21).",
    ),
)

ASRM = Instrument(
    id="asrm",
    name="Altman Self-Rating Mania Scale (ASRM)",
    version="1.0.0",
    rater=Rater.SELF,
    recall_period="past week",
    items=_items(
        0, 4,
        ("cheerfulness", "Happiness or cheerfulness"),
        ("self_confidence", "Self-confidence"),
        ("sleep_need", "Need for sleep"),
        ("talkativeness", "Talkativeness"),
        ("activity", "Activity level"),
    ),
    rule=ScoringRule.SUM,
    bands=(
        Band("below cut-off", 0, 5),
        Band("probable (hypo)mania", 6, 20),
    ),
    citation=(
        "Altman EG, Hedeker D, Peterson JL, Davis JM. The Altman Self-Rating Mania Scale. Biol "
        "Psychiatry. 1997;42(10):948-955 (cut-off >= 6: sensitivity 85.5%, specificity 87.3%)."
    ),
    licence=Licence.NAMES_ONLY,
    licence_note=NAMES_ONLY_NOTE,
    thresholds=("asrm_possible_switch_min",),
)

CADSS6 = Instrument(
    id="cadss6",
    name="Clinician-Administered Dissociative States Scale, 6 items (CADSS-6)",
    version="1.0.0",
    rater=Rater.CLINICIAN,
    recall_period="now",
    # Items 1, 2, 6, 7, 15 and 22 of the 23-item CADSS, renumbered 1-6 here; the original number
    # is kept in the item name so licensed wording can be matched to it.
    items=_items(
        0, 4,
        ("slow_motion", "Slowed time (CADSS 1)"),
        ("unreality", "Unreality, dream-like (CADSS 2)"),
        ("body_disconnection", "Disconnected from own body (CADSS 6)"),
        ("body_change", "Changed sense of own body (CADSS 7)"),
        ("spacing_out", "Spacing out, losing track (CADSS 15)"),
        ("observer_item_22", "Observer-rated item (CADSS 22)"),
    ),
    rule=ScoringRule.SUM,
    citation=(
        "Rodrigues NB, McIntyre RS, Lipsitz O, et al. A simplified 6-item clinician administered "
        "dissociative symptom scale (CADSS-6) for monitoring dissociative effects of "
        "sub-anesthetic ketamine infusions. J Affect Disord. 2021;282:160-164. Bremner JD, Krystal "
        "JH, Putnam FW, et al. J Trauma Stress. 1998;11(1):125-136. No bands (mean CADSS after IV "
        "ketamine 7.7: van Schalkwyk et al. 2018; docs/clinical-sources.md#cadss-6)."
    ),
    licence=Licence.NAMES_ONLY,
    licence_note=NAMES_ONLY_NOTE,
)

BPRS_POSITIVE = Instrument(
    id="bprs-positive",
    name="Brief Psychiatric Rating Scale, positive-symptom items (BPRS+)",
    version="1.0.0",
    rater=Rater.CLINICIAN,
    recall_period="now",
    # The four positive-symptom items of the 18-item BPRS (items 4, 11, 12, 15), each 1-7
    # (1 = not present); used in the ketamine trials to chart psychotomimetic effects.
    items=_items(
        1, 7,
        ("conceptual_disorganisation", "Conceptual disorganisation"),
        ("suspiciousness", "Suspiciousness"),
        ("hallucinatory_behaviour", "Hallucinatory behaviour"),
        ("unusual_thought_content", "Unusual thought content"),
    ),
    rule=ScoringRule.SUM,
    citation=(
        "Overall JE, Gorham DR. The Brief Psychiatric Rating Scale. Psychol Rep. 1962;10:799-812. "
        "Positive items 4 x 1-7, total 4-28, no bands: "
        "docs/clinical-sources.md#bprs-positive-items."
    ),
    licence=Licence.NAMES_ONLY,
    licence_note=NAMES_ONLY_NOTE,
)
