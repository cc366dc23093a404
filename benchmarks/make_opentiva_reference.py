"""Write tests/pk/fixtures/opentiva_reference.json from the peer tool opentiva 1.1.2.

Run with the benchmark virtualenv (CI has no opentiva, so the numbers are committed):

    .venv-bench/bin/python benchmarks/make_opentiva_reference.py

For each of opentiva's six ketamine models and two patients it records the model constants and
opentiva's plasma and effect-site predictions every minute for a regimen of a 40-min infusion
(0.5 mg/kg) followed by a 10-s "bolus" infusion of 0.15 mg/kg at 60 min.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import opentiva.ketamine as ketamine
from opentiva.pump import Pump

OUTPUT = Path(__file__).resolve().parents[1] / "tests/pk/fixtures/opentiva_reference.json"
MODELS = {  # opentiva class -> ketaflow model key
    "Domino": "domino",
    "Clements250": "clements",
    "Hijazi": "hijazi",
    "Klamp": "kamp",
    "Herd": "herd",
    "Hornik": "hornik",
}
PATIENTS = [
    {"sex": 0, "age_years": 40.0, "weight_kg": 70.0, "height_cm": 175.0},
    {"sex": 1, "age_years": 10.0, "weight_kg": 32.0, "height_cm": 140.0},
]
END_S = 4 * 3600
SAMPLE_EVERY_S = 60


def regimen(weight_kg: float) -> list[dict[str, float]]:
    """Infusions as start (s), duration (s) and rate (mg/s) of ketamine base."""
    return [
        {"start_s": 0.0, "duration_s": 2400.0, "rate_mg_per_s": 0.5 * weight_kg / 2400.0},
        {"start_s": 3600.0, "duration_s": 10.0, "rate_mg_per_s": 0.15 * weight_kg / 10.0},
    ]


def run(model_name: str, patient: dict[str, float]) -> dict[str, object]:
    with warnings.catch_warnings():  # opentiva warns about covariates outside its ranges
        warnings.simplefilter("ignore")
        model = getattr(ketamine, model_name)(
            patient["sex"], patient["age_years"], patient["weight_kg"], patient["height_cm"]
        )
    pump = Pump(model=model, drug_concentration=10, end_time=END_S)
    doses = regimen(patient["weight_kg"])
    for dose in doses:
        pump.add_infusion(
            start=dose["start_s"], dose=dose["rate_mg_per_s"], duration=dose["duration_s"]
        )
    rows = np.asarray(pump.run())
    picked = rows[::SAMPLE_EVERY_S]
    constants = {
        name: float(getattr(model, name))
        for name in ("v1", "k10", "k12", "k13", "k21", "k31", "ke0")
        if hasattr(model, name)
    }
    return {
        "opentiva_model": model_name,
        "model": MODELS[model_name],
        "patient": patient,
        "constants": constants,  # v1 in L, rate constants in 1/min
        "infusions": doses,
        "time_s": picked[:, 0].tolist(),
        "plasma_ng_per_ml": (picked[:, 1] * 1000.0).tolist(),  # opentiva: mg/L
        "effect_ng_per_ml": (picked[:, 2] * 1000.0).tolist(),
    }


def main() -> None:
    cases = [run(name, patient) for name in MODELS for patient in PATIENTS]
    payload = {
        "source": f"opentiva {version('opentiva')}",
        "generated_by": "benchmarks/make_opentiva_reference.py",
        "cases": cases,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUTPUT}")


if __name__ == "__main__":
    main()
