"""Synthetic clinic data at scale (`ketaflow demo generate`): bulk rows for benchmarks and for
trying the dashboards on a clinic group; `ketaflow demo seed` stays the small, hand-made demo."""
