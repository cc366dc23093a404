"""The `ketaflow dose calc` contract, through the root `ketaflow.cli.main`.

Success: exit 0, the result on stdout, nothing on stderr. Any refused or malformed input: exit 2,
exactly one line on stderr starting `error:`, nothing on stdout.
"""

from __future__ import annotations

import json

import pytest

from ketaflow.cli import main

BASE_ARGS = [
    "dose",
    "calc",
    "--weight-kg",
    "70",
    "--dose-mg-per-kg",
    "0.5",
    "--duration-min",
    "40",
    "--concentration-mg-per-ml",
    "1",
]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def with_option(name: str, value: str | None) -> list[str]:
    """BASE_ARGS with one option replaced (value None removes it)."""
    args = list(BASE_ARGS)
    if name in args:
        index = args.index(name)
        del args[index : index + 2]
    return args + ([name, value] if value is not None else [])


def test_json_output_has_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*BASE_ARGS, "--format", "json"], capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    # 70 kg x 0.5 mg/kg = 35 mg = 35 mL at 1 mg/mL; 35 mL over 40 min = 52.5 mL/h = 52.5 mg/h.
    assert data["dose_mg"] == 35.0
    assert data["volume_ml"] == 35.0
    assert data["rate_ml_per_h"] == 52.5
    assert data["rate_mg_per_h"] == 52.5
    assert data["dosing_weight_kg"] == 70.0
    assert data["warnings"] == []
    assert data["requires_override"] is False
    assert data["dose_salt"] == "base"
    assert data["delivered_dose_mg"] == 35.0


def test_json_reports_soft_limit_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*with_option("--dose-mg-per-kg", "1.5"), "--format", "json"], capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    # 70 x 1.5 = 105 mg: both the 1.0 mg/kg and the 100 mg soft maxima are crossed.
    assert [w["code"] for w in data["warnings"]] == ["soft_max_mg_per_kg", "soft_max_mg"]
    assert all("soft maximum" in w["message"] for w in data["warnings"])
    assert data["requires_override"] is True


def test_override_reason_is_passed_through(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*with_option("--dose-mg-per-kg", "1.5"), "--override-reason", "partial response"]
    code, out, _ = run([*args, "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert data["requires_override"] is False
    assert data["soft_limits_overridden"] is True
    assert data["override_reason"] == "partial response"


def test_pounds_height_sex_basis_salt_and_precision(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        *with_option("--weight-kg", None),
        "--weight-lb",
        "264.555",  # 120.0 kg
        "--height-cm",
        "190",
        "--sex",
        "male",
        "--weight-basis",
        "adjusted",
        "--salt",
        "hydrochloride",
        "--pump-precision-ml-per-h",
        "1",
        "--format",
        "json",
    ]
    code, out, err = run(args, capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    # 264.555 lb = 120.0 kg; IBW 84.05 kg; AdjBW 98.43 kg; x 0.5 = 49.21 mg HCl = 42.66 mg base
    # = 42.66 mL over 40 min = 63.99 mL/h -> 64 mL/h at a 1 mL/h pump.
    assert data["weight_kg"] == 120.0
    assert data["ideal_body_weight_kg"] == 84.0
    assert data["dosing_weight_kg"] == 98.4
    assert data["weight_basis"] == "adjusted"
    assert data["dose_mg"] == 49.2
    assert data["dose_salt"] == "hydrochloride"
    assert data["dose_mg_base"] == 42.7
    assert data["rate_ml_per_h"] == 64.0


def test_total_dose_option(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*with_option("--dose-mg-per-kg", None), "--dose-mg", "35", "--format", "json"]
    code, out, _ = run(args, capsys)
    assert code == 0
    assert json.loads(out)["dose_mg_per_kg"] == 0.5


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*BASE_ARGS, "--format", "table"], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert any(line.startswith("pump rate") and line.endswith("52.5 mL/h") for line in lines)
    assert any(line.startswith("dose") and line.endswith("35.0 mg") for line in lines)
    assert any(line.startswith("volume") and line.endswith("35.0 mL") for line in lines)


def test_table_shows_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(with_option("--dose-mg-per-kg", "1.2"), capsys)
    assert code == 0
    assert "WARNING: dose_mg_per_kg 1.2 exceeds the soft maximum of 1.0 mg/kg" in out
    assert "requires override" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            with_option("--weight-kg", "20"),
            "error: weight_kg must be between 30 and 250 kg (got 20)",
        ),
        (
            with_option("--weight-kg", "250.1"),
            "error: weight_kg must be between 30 and 250 kg (got 250.1)",
        ),
        (
            with_option("--dose-mg-per-kg", "2.5"),
            "error: dose_mg_per_kg 2.5 exceeds the hard maximum of 2.0 mg/kg",
        ),
        (
            [*with_option("--weight-kg", "110"), "--dose-mg-per-kg", "1.9"],
            "error: dose_mg 209 exceeds the hard maximum of 200 mg",
        ),
        (
            with_option("--duration-min", "19"),
            "error: duration_min must be between 20 and 120 min (got 19)",
        ),
        (
            with_option("--concentration-mg-per-ml", "150"),
            "error: concentration_mg_per_ml must be between 0.1 and 100 mg/mL (got 150)",
        ),
        (
            [*BASE_ARGS, "--pump-precision-ml-per-h", "0"],
            "error: pump_precision_ml_per_h must be greater than 0 mL/h (got 0)",
        ),
        (
            with_option("--weight-kg", "nan"),
            "error: weight_kg must be a finite number (got nan)",
        ),
        (
            [*BASE_ARGS, "--weight-lb", "154"],
            "error: give exactly one of weight_kg or weight_lb (got both)",
        ),
        (
            with_option("--weight-kg", None),
            "error: give exactly one of weight_kg or weight_lb (got neither)",
        ),
        (
            [*BASE_ARGS, "--dose-mg", "35"],
            "error: give exactly one of --dose-mg-per-kg or --dose-mg (got both)",
        ),
        (
            [*BASE_ARGS, "--weight-basis", "ideal", "--sex", "female"],
            "error: height_cm is required for ideal body weight",
        ),
    ],
)
def test_refused_values_exit_2_with_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for output_format in ("json", "table"):
        code, out, err = run([*args, "--format", output_format], capsys)
        assert code == 2
        assert out == ""
        assert err == expected + "\n"


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (with_option("--weight-kg", "seventy"), "--weight-kg"),
        (with_option("--duration-min", "40min"), "--duration-min"),
        (with_option("--concentration-mg-per-ml", ""), "--concentration-mg-per-ml"),
        (with_option("--duration-min", None), "--duration-min"),
        ([*BASE_ARGS, "--sex", "x"], "--sex"),
        ([*BASE_ARGS, "--weight-basis", "lean"], "--weight-basis"),
        ([*BASE_ARGS, "--salt", "sulfate"], "--salt"),
        ([*BASE_ARGS, "--format", "xml"], "--format"),
        ([*BASE_ARGS, "--weight-stone", "11"], "--weight-stone"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], mentions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert mentions in err
