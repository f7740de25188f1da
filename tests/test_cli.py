"""The `abm` command end to end on short runs."""

from __future__ import annotations

import datetime as dt
import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abm
from abm.cli import main
from tests.conftest import TINY


def test_run_writes_tables_figures_and_manifest(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "april-2025-controls", "--seed", "3", "--until", "2025-06-30",
                 "--out", str(out), "--quiet"])
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"customs_monthly.csv", "weekly.csv", "manifest.json", "shipments.parquet",
            "exports_by_destination.png", "prices.png", "buyers_halted.png",
            "licences.png", "weekly_chip_sales.csv", "weekly_pain.csv"} <= names
    customs = pd.read_csv(out / "customs_monthly.csv", dtype={"month": str})
    assert {"month", "good", "origin", "destination", "quantity_t", "value_usd"} <= set(customs)
    assert customs["month"].max() == "2025-06"
    assert set(customs["destination"]) <= {"CHN", "USA", "EU", "JPN", "KOR", "IND", "ROW"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"] == "april-2025-controls"
    assert manifest["seed"] == 3
    assert manifest["package_version"]
    again = tmp_path / "again"
    main(["run", "april-2025-controls", "--seed", "3", "--until", "2025-06-30",
          "--out", str(again), "--quiet"])
    assert (again / "customs_monthly.csv").read_bytes() == (out / "customs_monthly.csv").read_bytes()


def test_bad_scenario_prints_one_line_and_writes_nothing(tmp_path, capsys, write_scenario):
    path = write_scenario('[scenario]\nname = "x"\nstart = 2024-01-01\nend = 2024-02-01\n'
                          '[[goods]]\nname = "magnet"\nreference_price_usd_per_kg = '
                          '{ CHN = 1.0, ROW = 1.5 }\n[[countries]]\ncode = "CHN"\n'
                          '[[exporters]]\nname = "a"\ncountry = "CHN"\ngood = "magnet"\n'
                          'capacity_t_per_week = -1.0\n')
    out = tmp_path / "never"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exporters[0].capacity_t_per_week: expected a number >= 0" in err
    assert str(path) in err
    assert not out.exists()


def test_until_outside_the_run_is_an_error(tmp_path, capsys):
    assert main(["run", "baseline-2024", "--until", "2030-01-01", "--out", str(tmp_path / "x")]) == 2
    assert "--until" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_scenarios_lists_builtins_with_descriptions(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("baseline-2024 ") for line in lines)
    assert all(len(line.split(None, 1)) == 2 for line in lines)


def test_help_everywhere(capsys):
    for argv in (["--help"], ["run", "--help"], ["scenarios", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
    assert "--until" in capsys.readouterr().out


def test_a_run_shorter_than_a_month_has_an_empty_customs_table():
    import datetime as dt

    import abm

    result = abm.run(abm.load("baseline-2024"), seed=0, until=dt.date(2024, 1, 3))
    customs = result.customs_monthly
    assert customs.empty
    assert {"month", "good", "origin", "destination", "quantity_t", "value_usd"} <= set(customs)


def test_a_run_above_the_work_limit_needs_allow_large(tmp_path, capsys, write_scenario):
    from abm import limits

    path = write_scenario(TINY.replace("count = 3", "count = 1000000"))
    out = tmp_path / "big"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "buyer-weeks" in err and "--allow-large" in err
    assert not out.exists()
    config = abm.load(path)
    with pytest.raises(limits.TooMuchWork):
        limits.check_run(config)
    limits.check_run(config, allow_large=True)
    assert limits.buyer_weeks(config) == 1_000_000 * config.weeks


def test_bad_seeds_are_one_line(capsys):
    for seed in ("-5", "x", str(2**64)):
        with pytest.raises(SystemExit) as exit_:
            main(["run", "baseline-2024", "--seed", seed])
        assert exit_.value.code == 2
    assert "expected a whole number in [0, 2**63)" in capsys.readouterr().err


# --- property: any goods, countries and sectors run end to end ---------------------------------

WORDS = ["zorbium", "quellite", "brimstone", "vantalum", "oxil", "ferrocene", "lumen", "drossite"]
UNITS = ["t", "t", "kg", "flask", "unit"]


@st.composite
def made_up_scenario(draw):
    """A scenario with one to four made-up goods, countries and sectors, a short horizon and
    perhaps a licence shock."""
    goods = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
    codes = draw(st.lists(st.sampled_from(["QXA", "QXB", "QXC", "QXD", "ZZ"]), min_size=1,
                          max_size=4, unique=True))
    sectors = draw(st.lists(st.sampled_from(["glassworks", "sonar", "toys", "lasers"]),
                            min_size=1, max_size=4, unique=True))
    countries = [{"code": c, "price_region": draw(st.sampled_from(["CHN", "ROW"]))} for c in codes]
    exporters, buyers, events = [], [], []
    for good in goods:
        makers = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=2, unique=True))
        exporters += [{"name": f"{good} maker {m}", "country": m, "good": good,
                       "capacity_t_per_week": draw(st.floats(0.0, 50.0))} for m in makers]
        for country in draw(st.lists(st.sampled_from(codes), min_size=0, max_size=3, unique=True)):
            shares = [draw(st.floats(0.1, 1.0)) for _ in makers]
            buyers.append({
                "country": country, "sector": draw(st.sampled_from(sectors)), "good": good,
                "demand_t_per_year": draw(st.floats(0.0, 2000.0)),
                "count": draw(st.integers(1, 3)),
                "sourcing": {m: s / sum(shares) for m, s in zip(makers, shares, strict=True)},
            })
        if draw(st.booleans()):
            events.append({
                "date": dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40))),
                "kind": "export_control", "label": f"{makers[0]} controls {good}",
                "state": makers[0], "good": good,
                "control": {"regime": draw(st.sampled_from(["licence", "ban", "quota"])),
                            "approval": draw(st.floats(0.0, 1.0)), "review_weeks": 3.0},
            })
    unique = {(b["good"], b["country"], b["sector"]): b for b in buyers}
    return {
        "scenario": {"name": "made-up", "description": "generated",
                     "start": dt.date(2024, 1, 1),
                     "end": dt.date(2024, 1, 1) + dt.timedelta(weeks=draw(st.integers(6, 20)))},
        "goods": [{"name": good, "unit": draw(st.sampled_from(UNITS)),
                   "reference_price_usd_per_kg": {"CHN": draw(st.floats(1.0, 500.0)),
                                                  "ROW": draw(st.floats(1.0, 500.0))}}
                  for good in goods],
        "countries": countries, "exporters": exporters, "buyers": list(unique.values()),
        "sectors": [{"name": s, "value_usd_per_t": 1.0e6}
                    for s in sorted({b["sector"] for b in unique.values()})],
        "events": events,
    }


# Random examples locally (ABM_HYPOTHESIS_EXAMPLES searches harder); a fixed set on CI.
@settings(
    max_examples=int(os.environ.get("ABM_HYPOTHESIS_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=os.environ.get("CI") == "true",
    database=None if os.environ.get("CI") == "true" else settings.default.database,
)
@given(raw=made_up_scenario())
def test_abm_run_writes_every_file_for_any_goods(raw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("made-up")
    path = folder / "made-up.toml"
    path.write_text(_toml(raw))
    out = folder / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert names == set(manifest["files"])
    expected = {"weekly.csv", "weekly_prices.csv", "weekly_production.csv", "weekly_licences.csv",
                "customs_monthly.csv", "weekly_pain.csv", "shipments.parquet", "manifest.json",
                "exports_by_destination.png", "prices.png", "buyers_halted.png"}
    assert expected <= names
    # The licence table has rows for every destination a licence office covers (none when the
    # controlling State has no buyers abroad); the figure is drawn when it has rows.
    assert ("licences.png" in names) == (len(pd.read_csv(out / "weekly_licences.csv")) > 0)
    assert not {"weekly_chip_sales.csv", "weekly_chip_access.csv"} & names
    assert "figures_not_drawn" not in manifest
    traded = [g["name"] for g in raw["goods"]]
    assert list(manifest["balance_t"]) == traded
    assert manifest["units"] == {g["name"]: g["unit"] for g in raw["goods"]}


@settings(
    max_examples=int(os.environ.get("ABM_HYPOTHESIS_EXAMPLES", "3")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=os.environ.get("CI") == "true",
    database=None if os.environ.get("CI") == "true" else settings.default.database,
)
@given(raw=made_up_scenario())
def test_abm_sweep_and_analyze_work_for_any_goods(raw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("made-up-sweep")
    (folder / "made-up.toml").write_text(_toml(raw))
    good = raw["goods"][0]["name"]
    origin = next(e["country"] for e in raw["exporters"] if e["good"] == good)
    (folder / "spec.toml").write_text(f"""
[sweep]
scenario = "made-up.toml"
replications = 2

[[parameters]]
name = "capacity"
path = "exporters[0].capacity_t_per_week"
values = [5.0, 40.0]

[outcomes]
metrics = ["shortfall_t:{good}", "peak_price_ratio:{good}:ROW", "output_lost_usd"]
series = ["exports_t:{good}:{origin}", "price_usd_per_kg:{good}:CHN"]
""")
    out = folder / "sweep"
    assert main(["sweep", str(folder / "spec.toml"), "--out", str(out), "--serial",
                 "--no-progress"]) == 0
    assert main(["analyze", str(out)]) == 0
    written = {p.name for p in (out / "analysis").iterdir()}
    assert f"fan_price_usd_per_kg_{good}_CHN.png" in written
    assert any(name.startswith("tornado_") for name in written)


def _toml(raw: dict) -> str:
    """TOML text of a scenario dict (the few shapes `made_up_scenario` makes)."""
    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dt.date):
            return v.isoformat()
        return repr(float(v)) if isinstance(v, float) else str(v)

    lines = ["[scenario]", *(f"{k} = {value(v)}" for k, v in raw["scenario"].items())]
    for table in ("goods", "countries", "exporters", "buyers", "sectors", "events"):
        for entry in raw[table]:
            lines.append(f"\n[[{table}]]")
            lines += [f"{k} = {value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"
