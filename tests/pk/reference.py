"""An independent, slow reference: the full compartmental ODE system solved with scipy.linalg.expm.

The state is the drug amount in each compartment plus the effect-site concentration; on every
interval with constant input the augmented matrix exponential gives the exact update. Nothing here
uses ketaflow's eigen-decomposition, so agreement is a real check.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from ketaflow.pk import Kinetics, Regimen


def _system(kinetics: Kinetics, patient: int) -> tuple[np.ndarray, float]:
    k = {name: float(v[patient]) for name, v in kinetics.micro_constants().items()}
    v1 = float(kinetics.v1_l[patient])
    ke0 = 0.0 if kinetics.ke0_per_min is None else float(kinetics.ke0_per_min[patient])
    three = "k13" in k
    n = 4 if three else 3  # amounts A1, A2, (A3), effect concentration Ce (mg/L)
    a = np.zeros((n, n))
    a[0, 0] = -(k["k10"] + k["k12"] + k.get("k13", 0.0))
    a[0, 1], a[1, 0], a[1, 1] = k["k21"], k["k12"], -k["k21"]
    if three:
        a[0, 2], a[2, 0], a[2, 2] = k["k31"], k["k13"], -k["k31"]
    a[-1, 0], a[-1, -1] = ke0 / v1, -ke0
    return a, v1


def reference_concentrations(
    kinetics: Kinetics, regimen: Regimen, times_min: np.ndarray, patient: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(plasma, effect) in ng/mL at `times_min` for one patient, by matrix exponentials."""
    a, v1 = _system(kinetics, patient)
    n = a.shape[0]
    edges = sorted(
        {0.0, *(b.time_min for b in regimen.boluses)}
        | {t for i in regimen.infusions for t in (i.start_min, i.end_min)}
        | {float(t) for t in times_min}
    )
    state = np.zeros(n)
    values: dict[float, np.ndarray] = {}
    for index, start in enumerate(edges):
        state = state.copy()
        state[0] += sum(b.dose_mg for b in regimen.boluses if b.time_min == start)
        values[start] = state.copy()
        if index + 1 == len(edges):
            break
        length = edges[index + 1] - start
        rate = sum(i.rate_mg_per_min for i in regimen.infusions if i.start_min <= start < i.end_min)
        augmented = np.zeros((n + 1, n + 1))
        augmented[:n, :n] = a
        augmented[0, n] = rate
        step = expm(augmented * length)
        state = step[:n, :n] @ state + step[:n, n]
    plasma = np.array([values[float(t)][0] / v1 * 1000.0 for t in times_min])
    effect = np.array([values[float(t)][-1] * 1000.0 for t in times_min])
    return plasma, effect
