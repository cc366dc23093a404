"""Pure rules for infusion sessions (stdlib, `ketaflow.dosing`, `ketaflow.scales` and
`ketaflow.pk` only; an import-linter contract keeps databases and web frameworks out).

- `state`      session state machine: `SessionStatus`, `SessionAction`, `TRANSITIONS`, `transition`
- `prechecks`  `missing_prechecks`, the pre-infusion `bp_gate`, `order_problems`
- `vitals`     `VitalsReading`, `validate_reading`, `assess_reading` -> `VitalsAlert`s, symptoms
- `schedule`   `next_reading_due`, the 40-minute reading, observation time
- `discharge`  `assess_discharge` / `require_discharge` (modified Aldrete, PADSS, escort, advice)
- `ledger`     controlled-substance entries, `inventory_by_lot`, `discrepancies`, `validate_entry`
- `settings`   `InfusionSettings`: every threshold with its label and source
- `rates`      rate and order safety: `check_rate_change`, `check_resume`, `check_stop`,
               `require_duration`, `require_supersede_reason`
- `delivery`   the dose actually delivered: `PumpEvent`s -> `Delivery`
- `overrun`    running past the ordered duration or volume: `overrun_alerts`
"""

from ketaflow.clinical.bp_gate import BpGate
from ketaflow.infusions.rules.delivery import (
    Delivery,
    OrderedDose,
    PumpChange,
    PumpEvent,
    delivered,
)
from ketaflow.infusions.rules.discharge import (
    DischargeDecision,
    DischargeInput,
    assess_discharge,
    require_discharge,
)
from ketaflow.infusions.rules.ledger import (
    EntryKind,
    LedgerEntry,
    SessionBalance,
    discrepancies,
    inventory_by_lot,
    session_balances,
    validate_entry,
)
from ketaflow.infusions.rules.overrun import (
    OVERRUN_CODES,
    InfusionProgress,
    overrun_alerts,
)
from ketaflow.infusions.rules.prechecks import (
    OrderDetails,
    PrecheckInput,
    PregnancyTest,
    bp_gate,
    missing_prechecks,
    order_problems,
)
from ketaflow.infusions.rules.problems import Problem, RuleError
from ketaflow.infusions.rules.rates import (
    OPEN_ALERT_FIELD,
    OpenAlert,
    check_rate_change,
    check_resume,
    check_stop,
    is_early_stop,
    max_rate_ml_per_h,
    require_duration,
    require_supersede_reason,
)
from ketaflow.infusions.rules.schedule import (
    DueKind,
    NextReading,
    forty_min_done,
    next_reading_due,
    observation_complete_at,
)
from ketaflow.infusions.rules.settings import DEFAULT_SETTINGS, InfusionSettings
from ketaflow.infusions.rules.state import (
    TRANSITIONS,
    SessionAction,
    SessionStatus,
    allowed_actions,
    transition,
)
from ketaflow.infusions.rules.vitals import (
    RED_FLAG_SYMPTOMS,
    AlertLevel,
    VitalsAlert,
    VitalsReading,
    assess_reading,
    symptom_alerts,
    validate_reading,
)
from ketaflow.sourced import SettingInfo

__all__ = [
    "DEFAULT_SETTINGS",
    "OPEN_ALERT_FIELD",
    "OVERRUN_CODES",
    "RED_FLAG_SYMPTOMS",
    "TRANSITIONS",
    "AlertLevel",
    "BpGate",
    "Delivery",
    "DischargeDecision",
    "DischargeInput",
    "DueKind",
    "EntryKind",
    "InfusionProgress",
    "InfusionSettings",
    "LedgerEntry",
    "NextReading",
    "OpenAlert",
    "OrderDetails",
    "OrderedDose",
    "PrecheckInput",
    "PregnancyTest",
    "Problem",
    "PumpChange",
    "PumpEvent",
    "RuleError",
    "SessionAction",
    "SessionBalance",
    "SessionStatus",
    "SettingInfo",
    "VitalsAlert",
    "VitalsReading",
    "allowed_actions",
    "assess_discharge",
    "assess_reading",
    "bp_gate",
    "check_rate_change",
    "check_resume",
    "check_stop",
    "delivered",
    "discrepancies",
    "forty_min_done",
    "inventory_by_lot",
    "is_early_stop",
    "max_rate_ml_per_h",
    "missing_prechecks",
    "next_reading_due",
    "observation_complete_at",
    "order_problems",
    "overrun_alerts",
    "require_discharge",
    "require_duration",
    "require_supersede_reason",
    "session_balances",
    "symptom_alerts",
    "transition",
    "validate_entry",
    "validate_reading",
]
