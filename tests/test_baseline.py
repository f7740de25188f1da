"""The 2024 steady state against China's customs data, and the April 2025 shock."""

from __future__ import annotations

import pytest

from abm.outcomes import evaluate, monthly_exports
from tests.conftest import builtin_run

CHINA_2024_EXPORTS_T = 58_152  # Adamas Intelligence, 2024


@pytest.mark.parametrize("seed", [0, 1])
def test_baseline_2024_matches_chinas_exports_and_shares(seed):
    result = builtin_run("baseline-2024", seed)
    got = evaluate(result, [
        "exports_t:magnet:CHN:2024",
        "export_share:magnet:CHN:USA:2024",
        "export_share:magnet:CHN:EU:2024",
        "buyer_weeks_halted",
        "peak_price_ratio:magnet:ROW",
        "peak_price_ratio:magnet:CHN",
    ])
    assert got["exports_t:magnet:CHN:2024"] == pytest.approx(CHINA_2024_EXPORTS_T, rel=0.10)
    assert 0.10 <= got["export_share:magnet:CHN:USA:2024"] <= 0.15
    assert 0.33 <= got["export_share:magnet:CHN:EU:2024"] <= 0.45
    assert got["buyer_weeks_halted"] == 0
    assert got["peak_price_ratio:magnet:ROW"] < 1.05
    assert got["peak_price_ratio:magnet:CHN"] < 1.05
    months = monthly_exports(result, "magnet", "CHN")
    total = months[(months["destination"] == "ALL") & months["month"].str.startswith("2024")]
    assert total["month"].tolist() == [f"2024-{m:02d}" for m in range(1, 13)]
    # Steady: every month within 10% of the average month (calendar days aside).
    assert (total["quantity_t"] / (CHINA_2024_EXPORTS_T / 12)).between(0.85, 1.1).all()


def test_baseline_prices_stay_steady_over_three_years():
    prices = builtin_run("baseline-2024").prices
    spread = prices.groupby(["good", "region"])["price_usd_per_kg"].agg(lambda s: s.max() / s.min())
    assert (spread < 1.06).all(), spread


def test_april_2025_controls_collapse_exports_to_every_destination():
    result = builtin_run("april-2025-controls")
    months = monthly_exports(result, "magnet", "CHN")
    table = months.pivot_table(index="month", columns="destination", values="quantity_t")
    before = table.loc["2025-01":"2025-03"].mean()
    after = table.loc["2025-04":"2025-05"].mean()
    for destination in ["ALL", "USA", "EU", "JPN", "KOR", "IND", "ROW"]:
        assert after[destination] < 0.5 * before[destination], destination
