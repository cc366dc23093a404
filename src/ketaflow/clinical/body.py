"""The one plausible range for a recorded human body weight (pure).

Every place a weight is recorded (the patient's measurements, the screening baseline, the API
schemas that state it) checks it against this range; it catches typing errors (a missing or
extra digit, pounds typed as kilograms), not clinical judgement. Whether a dose can be
calculated for a weight is a different, narrower question answered by the dosing limits only
(`ketaflow.dosing.limits.DosingLimits.min_weight_kg`/`max_weight_kg`, 30-250 kg by default).

Source (docs/clinical-sources.md#body-weight): the clinic treats adults. 20 kg is below the
lowest adult weights reported in severe anorexia nervosa (BMI about 10 at 140 cm is 19.6 kg),
and 350 kg is above all but a handful of recorded adults; a value outside [20, 350] kg is
almost surely a typing error. *Clinic's own choice (ketaflow default).*
"""

from __future__ import annotations

HUMAN_WEIGHT_MIN_KG = 20.0
HUMAN_WEIGHT_MAX_KG = 350.0
