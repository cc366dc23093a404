"""Side-by-side timings of ketaflow.pk and peer PK tools (run by `make bench`, never by tests).

    .venv-bench/bin/python benchmarks/bench_pk.py [--quick]

Regimen everywhere: Domino ketamine model, 0.5 mg/kg over 40 min, 70 kg (population weights vary).
ketaflow computes plasma and effect site in every case (opentiva's run() does too; PyTCI and
tivatci advance all compartments).
Peers that would take minutes are timed on a smaller number of patients and scaled linearly; the
output says so. Medians of repeated runs; ratios are peer time / ketaflow time. Each peer's plasma
curve is also compared with ketaflow's exact one (max relative difference), to show what the
speed buys or costs in accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ketaflow.pk import Infusion, Regimen, draw_population, percentile_bands, simulate
from ketaflow.pk.models import MODELS

DOMINO = {"k10": 0.4381, "k12": 0.5921, "k13": 0.5900, "k21": 0.2470, "k31": 0.0146, "ke0": 0.652}
SIX_HOURS_S = 6 * 3600
GRID_MIN = np.arange(SIX_HOURS_S) / 60.0  # 0, 1, ..., 21599 s
SIX_TIMES_MIN = np.array([10.0, 20.0, 40.0, 60.0, 120.0, 240.0])
RATE_MG_PER_KG_PER_MIN = 0.5 / 40.0


def timed(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time (s) over `repeats` runs and the last result."""
    times, result = [], None
    for _ in range(repeats):
        result = None  # free the previous result first, as a caller would
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def weights(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(50.0, 110.0, n)


# ---------------------------------------------------------------- ketaflow
def ketaflow_run(weight_kg: np.ndarray, times_min: np.ndarray) -> np.ndarray:
    kinetics = MODELS["domino"].kinetics_for_weight(weight_kg)
    regimen = Regimen(infusions=(Infusion(0.0, 40.0, RATE_MG_PER_KG_PER_MIN),))
    return simulate(kinetics, regimen, times_min, dose_scale=weight_kg).plasma_ng_per_ml


# ---------------------------------------------------------------- opentiva
def opentiva_grid(weight_kg: float) -> np.ndarray:
    import opentiva.ketamine as ketamine
    from opentiva.pump import Pump

    model = ketamine.Domino(0, 40, weight_kg, 175)
    pump = Pump(model=model, drug_concentration=10, end_time=SIX_HOURS_S)
    pump.add_infusion(start=0, dose=RATE_MG_PER_KG_PER_MIN * weight_kg / 60.0, duration=2400)
    return np.asarray(pump.run())[:, 1] * 1000.0


def opentiva_points(weight_kg: float, times_s: list[int]) -> np.ndarray:
    import opentiva.ketamine as ketamine
    from opentiva.pump import Pump

    model = ketamine.Domino(0, 40, weight_kg, 175)
    pump = Pump(model=model, drug_concentration=10, end_time=max(times_s) + 1)
    pump.add_infusion(start=0, dose=RATE_MG_PER_KG_PER_MIN * weight_kg / 60.0, duration=2400)
    pump.generate_infusions()
    return np.array([pump.pkpd_model.calculate_cp(pump.infusion_list, t) for t in times_s]) * 1000.0


# ---------------------------------------------------------------- PyTCI
def pytci_model(weight_kg: float, integrator: str) -> Any:
    from PyTCI.models.base import Three

    model = Three()
    model.v1 = 0.063 * weight_kg
    model.k10, model.k12, model.k13 = DOMINO["k10"], DOMINO["k12"], DOMINO["k13"]
    model.k21, model.k31, model.keo = DOMINO["k21"], DOMINO["k31"], DOMINO["ke0"]
    model.setup()
    model.set_integrator(integrator)
    return model


def pytci_grid(weight_kg: float) -> np.ndarray:
    model = pytci_model(weight_kg, "euler")
    rate = RATE_MG_PER_KG_PER_MIN * weight_kg / 60.0
    values = np.empty(SIX_HOURS_S)
    values[0] = 0.0
    for second in range(1, SIX_HOURS_S):
        if second <= 2400:
            model.giveoverseconds(rate, 1)
        else:
            model.wait_time(1)
        values[second] = model.x1
    return values * 1000.0


def pytci_points(weight_kg: float, times_min: np.ndarray) -> np.ndarray:
    model = pytci_model(weight_kg, "exact")
    rate = RATE_MG_PER_KG_PER_MIN * weight_kg / 60.0
    values, now = [], 0.0
    for t in times_min * 60.0:
        infusing = max(0.0, min(t, 2400.0) - now)
        if infusing:
            model.giveoverseconds(rate, infusing)
        if t - now - infusing > 0:
            model.wait_time(t - now - infusing)
        now = t
        values.append(model.x1)
    return np.array(values) * 1000.0


# ---------------------------------------------------------------- tivatci
def tivatci_grid(weight_kg: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tivatci

    model = tivatci.Model(v1=0.063 * weight_kg, **DOMINO)
    dose = [RATE_MG_PER_KG_PER_MIN * weight_kg / 60.0] * 2400
    return np.concatenate([[0.0], model.cp(tmax=SIX_HOURS_S - 1, dose=dose)]) * 1000.0


# ---------------------------------------------------------------- reporting
def max_rel(values: np.ndarray, exact: np.ndarray) -> float:
    mask = exact > 1e-6
    return float(np.max(np.abs(values[mask] / exact[mask] - 1.0)))


def line(name: str, seconds: float, base: float, note: str = "") -> None:
    ratio = "" if name == "ketaflow" else f"{seconds / base:10.1f}x"
    print(f"  {name:<10} {seconds * 1000:12.2f} ms {ratio:>11}  {note}")


def case_one_patient(repeats: int) -> None:
    print("\n1 patient, 6 h at 1-s resolution (21,600 points)")
    exact = ketaflow_run(np.array([70.0]), GRID_MIN)[0]
    base, _ = timed(lambda: ketaflow_run(np.array([70.0]), GRID_MIN), repeats * 5)
    line("ketaflow", base, base, "exact closed form")
    for name, run in (
        ("opentiva", opentiva_grid),
        ("PyTCI", pytci_grid),
        ("tivatci", tivatci_grid),
    ):
        seconds, values = timed(lambda run=run: run(70.0), repeats)
        line(name, seconds, base, f"max rel. diff {max_rel(values, exact):.1e}")


def case_thousand_grid(repeats: int, peer_patients: int) -> None:
    print("\n1,000 patients, 6 h at 1-s resolution (21.6 M points each)")
    population = weights(1000)
    base, _ = timed(lambda: ketaflow_run(population, GRID_MIN), repeats)
    line("ketaflow", base, base, "one vectorised call")
    for name, run in (
        ("opentiva", opentiva_grid),
        ("PyTCI", pytci_grid),
        ("tivatci", tivatci_grid),
    ):
        sample = population[:peer_patients]
        seconds, _ = timed(lambda run=run, sample=sample: [run(w) for w in sample], 1)
        line(
            name,
            seconds * 1000 / peer_patients,
            base,
            f"timed {peer_patients} patients, x{1000 // peer_patients}",
        )


def case_thousand_points(repeats: int) -> None:
    print("\n1,000 patients x 6 time points")
    population = weights(1000)
    exact = ketaflow_run(population, SIX_TIMES_MIN)
    base, _ = timed(lambda: ketaflow_run(population, SIX_TIMES_MIN), repeats * 5)
    line("ketaflow", base, base)
    times_s = [int(t * 60) for t in SIX_TIMES_MIN]
    seconds, values = timed(
        lambda: np.array([opentiva_points(w, times_s) for w in population]), repeats
    )
    line(
        "opentiva", seconds, base, f"analytic per time; max rel. diff {max_rel(values, exact):.1e}"
    )
    seconds, values = timed(
        lambda: np.array([pytci_points(w, SIX_TIMES_MIN) for w in population]), 1
    )
    line("PyTCI", seconds, base, f"matrix exponential; max rel. diff {max_rel(values, exact):.1e}")
    print("  tivatci           -              no way to ask for single time points")


def case_million(repeats: int) -> None:
    print("\n1,000,000 patients x 6 time points (ketaflow alone)")
    population = weights(1_000_000)
    seconds, _ = timed(lambda: ketaflow_run(population, SIX_TIMES_MIN), repeats)
    tracemalloc.start()
    ketaflow_run(population, SIX_TIMES_MIN)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    memory = f"peak memory {peak_bytes / 2**20:7.1f} MiB"
    print(f"  Domino, plasma & effect          {seconds * 1000:9.1f} ms   {memory}")

    def full() -> Any:
        drawn = draw_population("herd", 1_000_000, seed=1)
        regimen = Regimen(infusions=(Infusion(0.0, 40.0, RATE_MG_PER_KG_PER_MIN),))
        result = simulate(drawn.kinetics, regimen, SIX_TIMES_MIN, dose_scale=drawn.weight_kg)
        return percentile_bands(result.plasma_ng_per_ml), percentile_bands(result.effect_ng_per_ml)

    seconds, _ = timed(full, repeats)
    tracemalloc.start()
    full()
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    memory = f"peak memory {peak_bytes / 2**20:7.1f} MiB"
    print(f"  Herd: draw + plasma & effect + bands {seconds * 1000:7.1f} ms   {memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and peer patients")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    print("ketaflow.pk benchmark (medians; ratio = peer time / ketaflow time)")
    case_one_patient(repeats)
    case_thousand_grid(repeats, 5 if args.quick else 20)
    case_thousand_points(repeats)
    case_million(repeats)


if __name__ == "__main__":
    main()
