"""Clinical rules as pure functions: treatment resistance, Maudsley staging, eligibility screening
and the treatment-course plan.

Pure: standard library (and the pure dosing limits) only, enforced by the import-linter contract
"Clinical rules core is pure". Persistence and pages live in `ketaflow.screening` and
`ketaflow.courses`, which call these functions and store what they return.
"""
