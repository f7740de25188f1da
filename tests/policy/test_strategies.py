"""State strategies (scripted, tit-for-tat, bargaining), deals and their configuration."""

from __future__ import annotations

import datetime as dt

import pytest

import abm
from abm.policy import strategies
from abm.policy.deals import active_deal
from abm.policy.strategies import STRATEGIES
from tests.chip_scenarios import chips_tiny

TIT_FOR_TAT = """
[strategies.CHN]
partner = "USA"
[strategies.CHN.tit_for_tat]
retaliate_on = "magnet"
review_weeks = 4.0

[[events]]
label = "event 1"
date = 2024-03-06
kind = "export_control"
state = "USA"
good = "ai_chip"
[events.control]
regime = "licence"
approval_by_destination = { CHN = 0.25 }

[[events]]
label = "event 2"
date = 2024-03-06
kind = "tariff"
state = "USA"
partner = "CHN"
rate = 1.45

[[events]]
label = "event 3"
date = 2024-05-15
kind = "tariff"
state = "USA"
partner = "CHN"
rate = 0.30

[[events]]
label = "event 4"
date = 2024-05-15
kind = "export_control"
state = "USA"
good = "ai_chip"
[events.control]
regime = "none"
"""


def model_of(write_scenario, text, seed=0):
    return abm.ExportControlModel(abm.load(write_scenario(text)), rng=seed)


def step_to(model, date):
    """Run whole weeks until the week containing `date` has been stepped."""
    while model.date_of_week(model.steps + 1) <= date:
        model.run_for(1)


def test_tit_for_tat_retaliates_at_the_next_decision_and_reciprocates_easing(write_scenario):
    model = model_of(write_scenario, chips_tiny(chn_strategy="tit_for_tat", extra=TIT_FOR_TAT))
    china = model.states["CHN"]
    step_to(model, dt.date(2024, 2, 28))
    assert "magnet" not in china.controls
    assert china.tariff_on("USA", "*") == 0.0
    step_to(model, dt.date(2024, 3, 6))  # the week of the US moves: China answers in it
    assert china.approval_for("magnet", "USA") == pytest.approx(0.25)
    assert china.controls["magnet"].review_weeks == 4.0
    assert china.tariff_on("USA", "*") == pytest.approx(1.45)
    step_to(model, dt.date(2024, 5, 15))
    assert "magnet" not in china.controls
    assert china.tariff_on("USA", "*") == pytest.approx(0.30)


def test_scripted_changes_nothing(write_scenario):
    model = model_of(write_scenario, chips_tiny(extra=TIT_FOR_TAT.split("[[events]]", 1)[0]
                                                 .replace("[strategies.CHN.tit_for_tat]\n"
                                                          "retaliate_on = \"magnet\"\n"
                                                          "review_weeks = 4.0\n", "")
                                                 + "[[events]]" +
                                                 TIT_FOR_TAT.split("[[events]]", 1)[1]))
    step_to(model, dt.date(2024, 6, 1))
    assert model.states["CHN"].controls == {}
    assert model.states["CHN"].tariffs == {}


def bargaining(**changes):
    config = abm.load("bargaining-2025")
    return abm.override(config, {f"strategies.{k.replace('__', '.')}": v
                                 for k, v in changes.items()})


def test_bargaining_strikes_a_deal_only_above_both_thresholds(monkeypatch):
    until = dt.date(2025, 12, 31)
    never = abm.run(bargaining(**{"CHN.bargaining.pain_threshold": 1.0}), seed=0, until=until)
    assert never.model.deals == []

    seen = []
    strike = strategies.deals.strike

    def watched_strike(model, name, origin, duration_weeks=None):
        seen.append({code: model.states[code].strategy.pain for code in ("CHN", "USA")})
        return strike(model, name, origin, duration_weeks)

    monkeypatch.setattr(strategies.deals, "strike", watched_strike)
    result = abm.run(bargaining(**{"CHN.bargaining.renege_probability": 0.0}), seed=0,
                     until=until)
    deal = result.model.deals[0]
    assert deal.name == "london" and deal.origin == "bargaining"
    assert deal.start_week > result.model.config.week_of(dt.date(2025, 4, 14))
    rules = result.model.config.strategies
    assert seen[0]["CHN"] >= rules["CHN"].bargaining.pain_threshold > 0
    assert seen[0]["USA"] >= rules["USA"].bargaining.pain_threshold > 0


def test_reneging_is_noticed_after_the_lag(write_scenario):
    quick = """
[deals.quick]
parties = ["CHN", "USA"]
duration_weeks = 100.0
[[deals.quick.terms]]
state = "CHN"
kind = "licence_policy"
good = "magnet"
changes = { approval = 0.9 }
[[deals.quick.terms]]
state = "USA"
kind = "licence_policy"
good = "ai_chip"
changes = { "approval_by_destination.CHN" = 1.0 }
"""
    config = abm.load(write_scenario(f'[scenario]\nname = "quick"\nstart = 2024-01-01\n'
                                     f'end = 2026-12-31\nextends = "bargaining-2025"\n{quick}'))
    config = abm.override(config, {
        "strategies.CHN.bargaining.deal": "quick", "strategies.USA.bargaining.deal": "quick",
        "strategies.CHN.bargaining.renege_probability": 1.0,
        "strategies.USA.bargaining.notice_lag_weeks": 6.0,
    })
    model = abm.ExportControlModel(config, rng=0)
    usa, china = model.states["USA"], model.states["CHN"]
    while not model.deals:
        model.run_for(1)
    deal = model.deals[0]
    assert china.approval_for("magnet", "USA") == pytest.approx(0.9)
    assert usa.approval_for("ai_chip", "CHN") == 1.0
    model.run_for(1)
    reneged = deal.reneged_week["CHN"]
    assert china.approval_for("magnet", "USA") == pytest.approx(0.5)  # China's terms undone
    while model.time < reneged + 6.0:
        assert usa.approval_for("ai_chip", "CHN") == 1.0  # the US has not noticed yet
        assert active_deal(model, "CHN", "USA") is deal
        model.run_for(1)
    assert usa.approval_for("ai_chip", "CHN") == 0.0
    assert not deal.active
    assert [e.action for e in deal.record] == ["struck", "reneged", "noticed"]
    assert deal.end_week - reneged == pytest.approx(6.0, abs=1.0)


def test_scripted_deals_apply_their_terms_and_lapse():
    config = abm.load("london-2025")
    model = abm.ExportControlModel(config, rng=0)
    step_to(model, dt.date(2025, 6, 10))
    china, usa = model.states["CHN"], model.states["USA"]
    london = next(d for d in model.deals if d.name == "london")
    assert china.approval_for("magnet", "EU") == pytest.approx(0.8)
    assert china.controls["magnet"].review_weeks == 4.0
    assert usa.technology_controls == {"CHN": 1.0}  # EDA eased three weeks later
    assert usa.tariff_on("CHN", "*") == pytest.approx(0.30)  # Geneva
    step_to(model, dt.date(2025, 8, 11))
    assert usa.technology_controls == {}
    assert usa.approval_for("ai_chip", "CHN") == 1.0
    assert usa.controls["ai_chip"].revenue_share == 0.15
    while london.active:
        model.run_for(1)
    assert model.time == pytest.approx(london.start_week + 52, abs=1.0)
    assert china.approval_for("magnet", "EU") == pytest.approx(0.5)
    assert usa.approval_for("ai_chip", "CHN") == 0.0


def test_strategies_are_checked_against_the_registry(write_scenario):
    assert {"scripted", "tit_for_tat", "bargaining"} == set(STRATEGIES)
    with pytest.raises(abm.ScenarioError, match=r"countries\[0\]\.strategy: expected a "
                       r"strategy, one of \['bargaining', 'scripted', 'tit_for_tat'\]"):
        abm.load(write_scenario(chips_tiny(chn_strategy="grudge")))
    with pytest.raises(abm.ScenarioError, match=r"strategies\.CHN"):
        abm.load(write_scenario(chips_tiny(chn_strategy="tit_for_tat")))
    with pytest.raises(abm.ScenarioError, match=r"strategies\.CHN\.bargaining\.deal"):
        abm.override(abm.load("bargaining-2025"), {"strategies.CHN.bargaining.deal": "paris"})
    with pytest.raises(abm.ScenarioError, match=r"renege_probability.*probability"):
        abm.override(abm.load("bargaining-2025"),
                     {"strategies.CHN.bargaining.renege_probability": 2.0})
    with pytest.raises(abm.ScenarioError, match=r"deals\.london\.terms\[0\]\.state"):
        abm.override(abm.load("london-2025"), {"deals.london.terms[0].state": "EU"})


@pytest.mark.parametrize("template", ["geneva", "busan"])
def test_other_2025_deals_can_be_bargaining_outcomes(template):
    config = bargaining(**{"CHN.bargaining.deal": template, "USA.bargaining.deal": template,
                           "CHN.bargaining.renege_probability": 0.0})
    result = abm.run(config, seed=0, until=dt.date(2025, 12, 31))
    deal = result.model.deals[0]
    assert deal.name == template and deal.origin == "bargaining"
    usa = result.model.states["USA"]
    assert usa.tariff_on("CHN", "*") == pytest.approx(0.30 if template == "geneva" else 0.20)
