"""The `ketaflow pk` command-line contract, through ketaflow.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ketaflow.cli import main

SIMULATE = [
    "pk", "simulate", "--model", "domino", "--weight-kg", "70", "--age-years", "40",
    "--height-cm", "175", "--sex", "male", "--dose-mg-per-kg", "0.5", "--duration-min", "40",
    "--times-min", "10,20,40,60,120,240", "--format", "json",
]  # fmt: skip


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_simulate_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        [*SIMULATE, "--threshold-ng-per-ml", "100,50", "--threshold-ng-per-ml", "20"], capsys
    )
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["model"] == "domino"
    assert report["times_min"] == [10, 20, 40, 60, 120, 240]
    assert report["plasma_ng_per_ml"][2] == pytest.approx(240.3, abs=0.05)  # reference table
    assert len(report["effect_ng_per_ml"]) == 6
    assert report["peak"]["time_min"] == pytest.approx(40.0)
    assert report["peak"]["plasma_ng_per_ml"] == pytest.approx(report["plasma_ng_per_ml"][2])
    assert [b["threshold_ng_per_ml"] for b in report["below"]] == [100, 50, 20]
    assert all(b["time_min"] > 40 for b in report["below"])
    assert report["dose_mg_base"] == 35.0
    assert any("assumed" in w for w in report["warnings"])


def test_model_name_case_insensitive_and_effect_null_without_ke0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*SIMULATE]
    args[args.index("domino")] = "ElKoMy"
    code, out, _ = run(args, capsys)
    report = json.loads(out)
    assert code == 0 and report["model"] == "elkomy" and report["effect_ng_per_ml"] is None


def test_hydrochloride_dose_is_converted_to_base(capsys: pytest.CaptureFixture[str]) -> None:
    args = [a for a in SIMULATE if a not in ("--dose-mg-per-kg", "0.5")]
    code, out, _ = run([*args, "--dose-mg", "50", "--salt", "hydrochloride"], capsys)
    assert code == 0
    assert json.loads(out)["dose_mg_base"] == pytest.approx(50 * 237.7 / 274.2)


def test_population_adds_percentiles_and_plot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plot = tmp_path / "curve.png"
    args = [*SIMULATE, "--model", "herd", "--population", "300", "--seed", "4", "--plot", str(plot)]
    code, out, _ = run([*args, "--threshold-ng-per-ml", "150"], capsys)
    assert code == 0
    report = json.loads(out)
    bands = report["percentiles"]["plasma_ng_per_ml"]
    assert set(bands) == {"p5", "p25", "p50", "p75", "p95"}
    assert all(lo <= hi for lo, hi in zip(bands["p5"], bands["p95"], strict=True))
    assert report["percentiles"]["seed"] == 4
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"
    code_again, out_again, _ = run([*args, "--threshold-ng-per-ml", "150"], capsys)
    assert code_again == 0
    assert json.loads(out_again)["percentiles"] == report["percentiles"]  # reproducible seed


def test_table_and_models_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*SIMULATE[:-1], "table"], capsys)
    assert code == 0 and "plasma (ng/mL)" in out and "240.3" in out
    code, out, _ = run(["pk", "models", "--format", "json"], capsys)
    listed = json.loads(out)
    assert code == 0 and {m["model"] for m in listed} >= {"domino", "kamp", "sherwin"}
    assert all(m["citation"] and m["population"] for m in listed)
    code, out, _ = run(["pk", "models"], capsys)
    assert code == 0 and "Hijazi" in out


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("--model", "propofol"), "model"),
        (("--weight-kg", "400"), "weight_kg must be between 20 and 300 kg (got 400)"),
        (("--weight-kg", "10"), "weight_kg"),
        (("--duration-min", "0"), "duration_min"),
        (("--duration-min", "-5"), "duration_min"),
        (("--dose-mg-per-kg", "-1"), "dose_mg_per_kg"),
        (("--dose-mg-per-kg", "6"), "dose_mg_per_kg must be at most 5 mg/kg"),
        (("--times-min", "10,abc"), "times_min"),
        (("--format", "xml"), "format"),
    ],
)
def test_bad_input_exits_2_with_one_stderr_line(
    change: tuple[str, str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*SIMULATE]
    args[args.index(change[0]) + 1] = change[1]
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert field in err


def test_unparseable_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*SIMULATE]
    args[args.index("--weight-kg") + 1] = "heavy"
    code, out, err = run(args, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1


def test_arterial_model_is_labelled_in_json_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    kamp = [*SIMULATE[:3], "kamp", *SIMULATE[4:]]
    code, out, _ = run(kamp, capsys)
    report = json.loads(out)
    assert code == 0 and report["sampling_site"].startswith("arterial")
    assert report["plasma_label"] == "arterial plasma"
    code, out, _ = run([*kamp[:-1], "table"], capsys)
    assert code == 0 and "sampling site: arterial" in out and "arterial plasma" in out
