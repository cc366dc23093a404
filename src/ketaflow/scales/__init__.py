"""Rating scales: instruments as data, a pure scoring engine and longitudinal rules.

Modules:
- `instruments`   definitions and the registry (`get_instrument`, `INSTRUMENTS`)
- `scoring`       `score()` -> `ScoreResult`; `ScaleInputError`; flags
- `thresholds`    `ScaleThresholds`, the clinic settings with their sources
- `longitudinal`  baseline, response, remission, relapse and safety signals over a history
- `wording`       licensed wording packs and the wording a form shows
- `fhir`          FHIR R4 Questionnaire / QuestionnaireResponse / Observation dicts
- `cli`           `ketaflow scales ...`
"""

from ketaflow.scales.instruments import (
    INSTRUMENTS,
    Instrument,
    RiskLevel,
    UnknownInstrumentError,
    get_instrument,
    instrument_ids,
)
from ketaflow.scales.scoring import Flag, ScaleInputError, ScoreResult, evaluate_flags, score
from ketaflow.scales.thresholds import DEFAULT_THRESHOLDS, ScaleThresholds

__all__ = [
    "DEFAULT_THRESHOLDS",
    "INSTRUMENTS",
    "Flag",
    "Instrument",
    "RiskLevel",
    "ScaleInputError",
    "ScaleThresholds",
    "ScoreResult",
    "UnknownInstrumentError",
    "evaluate_flags",
    "get_instrument",
    "instrument_ids",
    "score",
]
