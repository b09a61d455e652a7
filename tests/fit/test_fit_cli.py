"""`uptake fit` and `uptake bench` through Typer, as a user calls them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from uptake.cli.main import app
from uptake.errors import UsageError
from uptake.fit import probe as probe_module

runner = CliRunner()


@pytest.fixture(autouse=True)
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = probe_module.run_probe
    monkeypatch.setattr(probe_module, "run_probe", lambda: real_run(seconds=0.05, buffer_bytes=16 << 20))


def fit_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["fit", "--offline", "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def models(data: dict[str, object]) -> list[dict[str, object]]:
    rows = data["models"]
    assert isinstance(rows, list)
    return rows


def test_fit_on_a_pi_recommends_the_largest_model_that_fits() -> None:
    data = fit_json("--device", "raspberry-pi-5-8gb", "--ctx", "4096")
    rows = models(data)
    assert len(rows) >= 8
    fitting = [r for r in rows if r["fits"]]
    recommended = [r for r in rows if r["recommended"]]
    assert len(recommended) == 1 and recommended[0]["name"] == data["recommended"]
    assert recommended[0]["parameters"] == max(r["parameters"] for r in fitting)  # type: ignore[type-var]
    for row in rows:
        assert row["figures_from"] == "catalog"
        assert row["memory"]["total"] > row["memory"]["weights"] > 0  # type: ignore[index,operator]


def test_constraints_reject_with_reasons() -> None:
    data = fit_json("--device", "raspberry-pi-5-8gb", "--max-memory", "0.6", "--min-tokens-per-second", "20")
    rows = models(data)
    rejected = {r["name"]: " ".join(r["rejected_because"]) for r in rows if not r["fits"]}  # type: ignore[arg-type]
    assert "--max-memory" in rejected["qwen2.5:7b"]
    assert any("--min-tokens-per-second" in reason for reason in rejected.values())
    assert data["recommended"] in {r["name"] for r in rows if r["fits"]}


def test_a_device_too_small_for_everything() -> None:
    data = fit_json("--device", "raspberry-pi-5-8gb", "--max-memory", "0.01")
    assert data["recommended"] is None
    assert not any(r["fits"] for r in models(data))


def test_context_beyond_training() -> None:
    data = fit_json("--device", "h100-80gb", "--ctx", "65536")
    rows = {r["name"]: r for r in models(data)}
    assert "trained for" in " ".join(rows["qwen2.5-coder:0.5b"]["rejected_because"])  # type: ignore[arg-type]
    assert rows["llama3.2:1b"]["fits"], "131072-token models take a 65536 context"


def test_long_contexts_do_not_fit_a_small_board() -> None:
    rows = {r["name"]: r for r in models(fit_json("--device", "jetson-orin-nano-8gb", "--ctx", "65536"))}
    assert "needs" in " ".join(rows["llama3.2:1b"]["rejected_because"])  # type: ignore[arg-type]
    short = {r["name"]: r for r in models(fit_json("--device", "jetson-orin-nano-8gb", "--ctx", "4096"))}
    assert short["llama3.2:1b"]["fits"]


def test_family_filter_and_unknown_family() -> None:
    rows = models(fit_json("--device", "h100-80gb", "--family", "qwen2.5-coder"))
    assert {r["name"] for r in rows} == {"qwen2.5-coder:0.5b", "qwen2.5-coder:1.5b"}
    result = runner.invoke(app, ["fit", "--offline", "--device", "h100-80gb", "--family", "nope"])
    assert isinstance(result.exception, UsageError)


def test_fit_this_machine_prints_a_table() -> None:
    result = runner.invoke(app, ["fit", "--offline", "--device", "this"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "this machine" in result.output and "recommended" in result.output


def test_list_devices() -> None:
    result = runner.invoke(app, ["fit", "--list-devices", "--json"])
    assert result.exit_code == 0
    assert "raspberry-pi-5-8gb" in {p["name"] for p in json.loads(result.output)}


def test_bench_then_fit_is_calibrated(tiny_gguf: Path) -> None:
    args = [
        "bench",
        str(tiny_gguf),
        "--ctx",
        "256",
        "--prompt-tokens",
        "16",
        "--decode-tokens",
        "8",
        "--parallel",
        "2",
        "--threads",
        "1",
    ]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["reports"][0]
    assert [run["parallel"] for run in report["runs"]] == [1, 2]
    assert report["runs"][0]["decode_tokens_per_s"]["measured"] > 0
    table = runner.invoke(app, [*args, "--no-store"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "tiny" in table.output and "cal" in table.output
    data = fit_json("--device", "this")
    assert data["calibrated"] is True and data["calibration_samples"] == 2
