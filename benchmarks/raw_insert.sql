-- pgbench script for benchmarks/bench_vitals.py: the database's raw rate for what a vitals
-- write stores, one reading per transaction (pgbench commits each statement on its own).
\set session random(1, 64)
INSERT INTO raw_vitals (session_id, taken_at, sbp_mmhg, dbp_mmhg, hr_bpm, spo2_percent,
                        rr_per_min, rass)
VALUES (:session, now(), 124, 80, 74, 98, 14, 0);
