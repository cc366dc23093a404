"""Series booking: CP-SAT against first-fit greedy on a synthetic clinic (run by `make bench`,
never by the tests).

    .venv/bin/python benchmarks/bench_schedule.py [--seed S] [--patients N] [--time-limit S]
                                                   [--workers W] [--bookings B]

The clinic is benchmarks/schedule_synthetic.py (3 sites, 12 chairs, 10 nurses, 8 weeks, 300
patients asking for a series, existing bookings at 40 % of the open chair time; seed 1).

1. **Plan**: `solve_greedy` (requests in arrival order, earliest chain first) and
   `solve_cpsat` (per site group: the better of two greedy orders, then the whole model up to
   24 requests, else large-neighbourhood search over windows of days) on the same problem,
   CP-SAT with `--time-limit` seconds in all (default 120). Printed: series placed, infusions
   placed, chair utilisation (booked chair minutes, existing + new, over open chair minutes),
   rule violations from the independent `check_plan` (must be 0) and solve time; then an upper
   bound on the series any plan could place (benchmarks/schedule_bound.py). Goal: CP-SAT
   places >= 10 % more series than greedy, with 0 violations.
2. **One series on a busy calendar**: the calendar is the existing bookings plus CP-SAT's plan;
   B new requests (drawn like the benchmark's, seed + 1) are booked one at a time with
   `book_series` (not kept); p50 and p95 of the wall time per call. Goal: p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.schedule_bound import series_bound  # noqa: E402
from benchmarks.schedule_synthetic import clinic  # noqa: E402

from ketaflow.scheduling.booking import book_series  # noqa: E402
from ketaflow.scheduling.chains import problem_with  # noqa: E402
from ketaflow.scheduling.cpsat import solve_cpsat  # noqa: E402
from ketaflow.scheduling.greedy import solve_greedy  # noqa: E402
from ketaflow.scheduling.model import Plan, Problem  # noqa: E402
from ketaflow.scheduling.rules import check_plan  # noqa: E402

GOAL_MORE = 0.10
GOAL_P95_MS = 200.0


def open_chair_minutes(problem: Problem) -> int:
    total = 0
    for site in problem.sites:
        for i in range(problem.days):
            day = problem.start + timedelta(days=i)
            if (h := site.hours_on(day)) is not None:
                span = datetime.combine(day, h.closes) - datetime.combine(day, h.opens)
                total += site.chairs * int(span.total_seconds() // 60)
    return total


def row(name: str, problem: Problem, plan: Plan, seconds: float) -> int:
    series = len({p.request for p in plan.placements})
    booked = sum(b.minutes for b in problem.bookings) + sum(p.minutes for p in plan.placements)
    violations = check_plan(problem, plan.placements)
    print(f"{name:8} {series:>6} / {len(problem.requests):<4} {len(plan.placements):>9} "
          f"{booked / open_chair_minutes(problem):>10.1%} {len(violations):>10} {seconds:>9.1f}")
    for v in violations[:5]:
        print(f"         violation: {v.rule}: {v.detail}")
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bookings", type=int, default=200)
    args = parser.parse_args()
    problem = clinic(args.seed, args.patients)
    print(f"clinic: {len(problem.sites)} sites, {sum(s.chairs for s in problem.sites)} chairs, "
          f"{len({s.staff_id for s in problem.shifts if s.role.value == 'nurse'})} nurses, "
          f"{problem.days // 7} weeks, {len(problem.requests)} requests, "
          f"{len(problem.bookings)} existing bookings; CP-SAT {args.time_limit:g} s, "
          f"{args.workers} workers, seed {args.seed}")
    print(f"{'solver':8} {'series placed':>13} {'infusions':>9} {'chair use':>10} "
          f"{'violations':>10} {'seconds':>9}")
    began = time.perf_counter()
    greedy = solve_greedy(problem)
    g = row("greedy", problem, greedy, time.perf_counter() - began)
    began = time.perf_counter()
    plan = solve_cpsat(problem, time_limit_s=args.time_limit, seed=args.seed,
                       workers=args.workers)
    c = row("cp-sat", problem, plan, time.perf_counter() - began)
    bound = series_bound(problem)
    print(f"upper bound (capacity count, benchmarks/schedule_bound.py): {bound.series} series "
          f"({bound.fit_alone} requests fit alone on the existing calendar, at most "
          f"{bound.infusions} new infusions fit the free chairs and nurse cover, smallest "
          f"series first); greedy x 1.10 = {g * (1 + GOAL_MORE):.1f}")
    more = (c - g) / g if g else 0.0
    ok = more >= GOAL_MORE and not check_plan(problem, plan.placements)
    print(f"CP-SAT places {more:+.1%} series against greedy (goal >= +{GOAL_MORE:.0%} with 0 "
          f"violations): {'met' if ok else 'NOT met'}")
    busy = problem_with(problem, plan.placements)
    fresh = clinic(args.seed + 1, args.bookings).requests
    times_ms, found = [], 0
    for request in fresh:
        began = time.perf_counter()
        options = book_series(replace(busy, requests=()), request)
        times_ms.append(1000 * (time.perf_counter() - began))
        found += options.best is not None
    p95 = statistics.quantiles(times_ms, n=20)[-1]
    print(f"one series on the busy calendar ({len(fresh)} requests, {found} bookable): "
          f"p50 {statistics.median(times_ms):.0f} ms, p95 {p95:.0f} ms (goal < "
          f"{GOAL_P95_MS:.0f} ms): {'met' if p95 < GOAL_P95_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
