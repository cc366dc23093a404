"""Draw docs/img/pk-adult-models.png: 0.5 mg/kg over 40 min (70 kg) under the adult models.

    .venv/bin/python benchmarks/make_pk_figure.py

The band is a Kamp population with an ASSUMED 30 % CV on every volume and clearance: none of the
adult models has published between-subject variability in ketaflow's reference, so the band
illustrates how variability spreads the curve, it is not a published prediction interval.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ketaflow.pk import (
    CovariateDistribution,
    Covariates,
    Infusion,
    Regimen,
    Sex,
    draw_population,
    model_parameters,
    percentile_bands,
    simulate,
)
from ketaflow.pk.plot import Curve, plot_curves

OUTPUT = Path(__file__).resolve().parents[1] / "docs/img/pk-adult-models.png"
PATIENT = Covariates(weight_kg=70.0, age_years=40.0, height_cm=175.0, sex=Sex.MALE)
REGIMEN = Regimen(infusions=(Infusion.of_dose(0.5 * 70.0, 40.0),))
GRID = np.linspace(0.0, 240.0, 961)


def main() -> None:
    curves = []
    for key in ("domino", "clements", "hijazi", "kamp"):
        params = model_parameters(key, PATIENT)
        plasma = simulate(params.kinetics, REGIMEN, GRID).plasma_ng_per_ml[0]
        bands = None
        if key == "kamp":
            population = draw_population(
                key,
                5000,
                seed=1,
                distribution=CovariateDistribution.around(PATIENT),
                assumed_cv=0.3,
            )
            bands = percentile_bands(simulate(population.kinetics, REGIMEN, GRID).plasma_ng_per_ml)
        arterial = params.info.plasma_label.startswith("arterial")
        site = "arterial" if arterial else "site not recorded"
        curves.append(Curve(f"{params.info.key.title()}, plasma ({site})", GRID, plasma, bands))
    plot_curves(
        OUTPUT,
        curves,
        title="Ketamine 0.5 mg/kg (35 mg base) over 40 min, 70 kg adult",
        observations=[
            (40.0, 185.0, "~185 ng/mL venous, end of infusion (Zarate 2006, via Zanos 2018)")
        ],
        footnote="Kamp 2020 is ARTERIAL (its venous delay compartments are not modelled): it reads "
        "above venous data during the infusion and below them afterwards.\nBand: 5,000 virtual "
        "patients under Kamp with an ASSUMED 30% CV on all volumes and clearances.",
    )
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
