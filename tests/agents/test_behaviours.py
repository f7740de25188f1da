"""Behaviours chosen in the scenario: per-run registries, plugins, the built-in non-default
behaviours, and the one-line error for a name the run does not know."""

from __future__ import annotations

import datetime as dt
import pickle
import textwrap

import numpy as np
import pytest

import abm
from abm.agents.behaviours import Behaviours, PluginError
from abm.agents.buyer import Buyer, DualSourcingBuyer
from abm.agents.chipmaker import Chipmaker
from abm.agents.exporter import Exporter, RationingExporter
from abm.cli import main
from abm.model import ExportControlModel
from tests.conftest import TINY

PLUGIN = '''
from abm.agents.buyer import Buyer


class NeverStockpiles(Buyer):
    @staticmethod
    def target_cover_weeks(base_cover, alert, gain):
        return base_cover


class Hoarder(Buyer):
    @staticmethod
    def target_cover_weeks(base_cover, alert, gain):
        return base_cover + 20.0


def register(behaviours):
    behaviours.add("buyer", "never_stockpiles", NeverStockpiles)
    behaviours.add("buyer", "hoarder", Hoarder)
'''


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "my_rules.py"
    path.write_text(PLUGIN)
    return path


def tiny_with(behaviour: str) -> str:
    return TINY.replace('count = 3\n', f'count = 3\nbehaviour = "{behaviour}"\n')


def test_the_builtin_registry_has_a_default_and_one_more_behaviour_per_kind():
    behaviours = Behaviours()
    assert behaviours.get("buyer", "default") is Buyer
    assert behaviours.get("buyer", "dual_sourcing") is DualSourcingBuyer
    assert behaviours.get("exporter", "default") is Exporter
    assert behaviours.get("exporter", "rationing") is RationingExporter
    assert behaviours.get("chipmaker", "default") is Chipmaker
    assert behaviours.names("strategy") == ["bargaining", "scripted", "tit_for_tat"]


def test_registration_is_scoped_to_a_registry(plugin, write_scenario):
    mine = Behaviours((str(plugin),))
    assert "hoarder" in mine.names("buyer")
    assert "hoarder" not in Behaviours().names("buyer")  # a fresh registry never sees it
    path = write_scenario(tiny_with("hoarder"))
    with pytest.raises(abm.ScenarioError, match=r"buyers\[0\]\.behaviour: expected a buyer "
                       r"behaviour, one of \['default', 'dual_sourcing'\]"):
        abm.load(path)
    config = abm.load(path, behaviours=mine)
    with pytest.raises(abm.ScenarioError, match=r"scenario 'tiny': buyers\[0\]\.behaviour"):
        abm.run(config, seed=0)  # the model checks names against its own registry too
    result = abm.run(config, seed=0, until=dt.date(2024, 3, 1), behaviours=mine)
    assert all(type(agent).__name__ == "Hoarder" for agent in result.model.buyer_agents)


def test_a_subclass_overrides_one_decision_rule(plugin):
    config = abm.load("baseline-2024")
    groups = {f"buyers[{i}].behaviour": "never_stockpiles" for i in range(len(config.buyers))}
    behaviours = Behaviours((str(plugin),))
    model = ExportControlModel(abm.override(config, groups, behaviours=behaviours), rng=1,
                               behaviours=behaviours)
    model.raise_alert("*", ("*",), 1.0)
    model.run_for(1)
    np.testing.assert_array_equal(model.buyers.cover_weeks, model.buyers.base_cover_weeks)
    ordinary = ExportControlModel(config, rng=1)
    ordinary.raise_alert("*", ("*",), 1.0)
    ordinary.run_for(1)
    assert (ordinary.buyers.cover_weeks > ordinary.buyers.base_cover_weeks).any()


def test_a_registry_pickles_as_its_plugins_and_its_added_classes(plugin):
    behaviours = Behaviours((str(plugin),))
    behaviours.add("exporter", "rationing_too", RationingExporter)
    copy = pickle.loads(pickle.dumps(behaviours))
    assert copy.names("buyer") == behaviours.names("buyer")
    assert copy.get("exporter", "rationing_too") is RationingExporter
    assert copy.plugins == [str(plugin.resolve())]


def test_plugin_errors_are_one_line(tmp_path):
    with pytest.raises(PluginError, match="no such plugin file"):
        Behaviours((str(tmp_path / "missing.py"),))
    no_register = tmp_path / "empty.py"
    no_register.write_text("X = 1\n")
    with pytest.raises(PluginError, match=r"register\(behaviours\)"):
        Behaviours((str(no_register),))
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def register(b):\n    b.add('buyer', 'x', object)\n")
    with pytest.raises(PluginError, match="expected a subclass of abm.agents.buyer.Buyer"):
        Behaviours((str(wrong),))
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n")
    with pytest.raises(PluginError, match="could not be loaded.*ModuleNotFoundError"):
        Behaviours((str(broken),))


def test_abm_run_with_a_plugin_changes_the_outcome(plugin, write_scenario, tmp_path, capsys):
    text = TINY.replace("capacity_t_per_week = 100.0", "capacity_t_per_week = 60.0") + """
[[events]]
date = 2024-03-04
kind = "alert"
label = "buyers fear controls"
good = "magnet"
level = 1.0
"""
    plain, hoarding = write_scenario(text, "plain.toml"), write_scenario(
        text.replace('count = 3\n', 'count = 3\nbehaviour = "hoarder"\n'), "hoarding.toml")
    assert main(["run", str(plain), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["run", str(hoarding), "--out", str(tmp_path / "b"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "hoarding.toml: buyers[0].behaviour: expected a buyer behaviour, one of " in error
    assert "got 'hoarder'" in error
    assert not (tmp_path / "b").exists()
    assert main(["run", str(hoarding), "--plugin", str(plugin), "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    import pandas as pd

    stock = [pd.read_csv(tmp_path / f / "weekly.csv").query("sector == 'automotive'")
             ["inventory_t"].iloc[-1] for f in ("a", "b")]
    assert stock[1] > stock[0] + 100  # it stocks up as far as spare capacity allows


def test_dual_sourcing_buyers_hold_more_and_spread_their_sources():
    config = abm.load("baseline-2024")
    index = next(i for i, g in enumerate(config.buyers)
                 if (g.country, g.sector) == ("USA", "automotive"))
    dual = abm.override(config, {f"buyers[{index}].behaviour": "dual_sourcing"})
    until = dt.date(2024, 12, 31)
    usual, diversified = (abm.run(c, seed=0, until=until).model for c in (config, dual))
    group = usual.buyers.group == index
    assert (diversified.buyers.cover_weeks[group]
            == pytest.approx(usual.buyers.cover_weeks[group] + 4.0))
    china = usual.country_index["CHN"]
    mine = np.isin(usual.pairs.buyer, np.flatnonzero(group)) & (usual.pairs.origin == china)
    assert diversified.pairs.share[mine].mean() < usual.pairs.share[mine].mean() - 0.05
    agent = diversified.buyer_agents[int(np.flatnonzero(group)[0])]
    assert isinstance(agent, DualSourcingBuyer) and agent.sourcing["CHN"] < 0.8


def test_a_rationing_exporter_serves_usual_volumes_before_spot_orders():
    shippable = np.array([10.0, 1.0, 3.0])
    usual = np.array([2.0, 2.0, 2.0])
    contract = np.array([0.5, 0.5, 0.5])
    np.testing.assert_array_equal(Exporter.contract_claim_t(shippable, usual, contract),
                                  [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(RationingExporter.contract_claim_t(shippable, usual, contract),
                                  [2.0, 1.0, 2.0])


def test_rationing_moves_the_shortage_to_the_highest_bidders():
    novium = abm.load("docs/examples/novium-hypothetical.toml")
    rationing = abm.override(novium, {'exporters[name="Southvale Metals"].behaviour':
                                      "rationing"})
    names = ["output_lost_usd:SVL", "output_lost_usd:WTM"]
    usual = abm.outcomes.evaluate(abm.run(novium, seed=0), names)
    rationed = abm.outcomes.evaluate(abm.run(rationing, seed=0), names)
    assert rationed["output_lost_usd:SVL"] < usual["output_lost_usd:SVL"]
    assert rationed["output_lost_usd:WTM"] > usual["output_lost_usd:WTM"]


def test_agents_reach_their_state():
    model = ExportControlModel(rng=1)
    model.run_for(3)
    buyer = model.buyer_agents[5]
    assert buyer.inventory_t == model.buyers.inventory_t[5]
    assert buyer.demand_t == model.buyers.demand_t[5]
    assert sum(buyer.sourcing.values()) == pytest.approx(1.0)
    exporter = model.exporter_agents[0]
    assert exporter.produced_t == model.exporters.produced_t[0]
    assert exporter.expected_orders_t > 0


def test_a_chipmaker_behaviour_comes_from_the_registry(tmp_path):
    plugin = tmp_path / "chips_rules.py"
    plugin.write_text(textwrap.dedent("""
        from abm.agents.chipmaker import Chipmaker


        class Idle(Chipmaker):
            @staticmethod
            def planned_units(expected_units, inventory_units, inventory_weeks, adjust_weeks):
                return expected_units * 0.0


        def register(behaviours):
            behaviours.add("chipmaker", "idle", Idle)
    """))
    behaviours = Behaviours((str(plugin),))
    config = abm.load("chips-2025")
    idle = abm.override(config, {f"chipmakers[{i}].behaviour": "idle"
                                 for i in range(len(config.chipmakers))}, behaviours=behaviours)
    model = abm.run(idle, seed=0, until=dt.date(2024, 6, 30), behaviours=behaviours).model
    assert {type(a).__name__ for a in model.chip_market.agents} == {"Idle"}
    assert model.chip_market.produced_total_units.sum() == 0.0


def test_target_shares_is_told_the_origin_code_of_each_link():
    told = []

    class Recording(Buyer):
        @classmethod
        def target_shares(cls, base_share, reliability, landed_price_ratio, price_elasticity,
                          reliability_weight, origin):
            told.append(origin)
            return Buyer.target_shares(base_share, reliability, landed_price_ratio,
                                       price_elasticity, reliability_weight, origin)

    registry = Behaviours()
    registry.add("buyer", "recording", Recording)
    config = abm.load("baseline-2024")
    index = next(i for i, g in enumerate(config.buyers)
                 if (g.good, g.country, g.sector) == ("magnet", "USA", "automotive"))
    recording = abm.override(config, {f"buyers[{index}].behaviour": "recording"},
                             behaviours=registry)
    model = ExportControlModel(recording, rng=0, behaviours=registry)
    model.run_for(1)
    (origin,) = told
    mine = np.isin(model.pairs.buyer, np.flatnonzero(model.buyers.group == index))
    assert origin.dtype.kind == "U"
    assert origin.tolist() == [model.countries[o] for o in model.pairs.origin[mine]]
    assert set(origin) == set(config.buyers[index].sourcing) >= {"CHN", "JPN"}


def test_the_built_in_target_shares_rules_treat_every_origin_alike():
    args = (np.array([0.6, 0.3, 0.1]), np.array([0.5, 1.0, 0.9]), np.array([1.4, 1.0, 1.1]),
            0.8, 1.5)
    for cls in (Buyer, DualSourcingBuyer):
        one = cls.target_shares(*args, np.array(["CHN", "JPN", "USA"]))
        other = cls.target_shares(*args, np.array(["USA", "CHN", "EU"]))
        np.testing.assert_array_equal(one, other)
