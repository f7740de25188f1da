"""abm.paths: one grammar of scenario paths, used by overrides, sweep specs, model_function,
the EMA adapter and the dashboard; a path that names nothing fails with the nearest names."""

from __future__ import annotations

import ast
import datetime as dt
import warnings
from pathlib import Path

import pytest

import abm
from abm import paths
from abm.scenario import ScenarioError, override
from abm.scenario.load import to_dict
from abm.sweep import SpecError, spec_from_dict

ROOT = Path(__file__).resolve().parents[1]
MADE_UP = ROOT / "tests" / "data" / "made_up.toml"
# London's easing of US chip licences for China: a dotted key (`approval_by_destination.CHN`)
# inside a deal's list of terms, chosen by kind and good.
LONDON_CHIP = ("deals.london.terms[kind=licence_policy, good=ai_chip]"
               ".changes.approval_by_destination.CHN")
CHIP_KEY = "approval_by_destination.CHN"


def _chip_term(scenario):
    (term,) = [t for t in scenario.deals["london"].terms
               if t.kind == "licence_policy" and t.good == "ai_chip"]
    return term


@pytest.fixture(scope="module")
def london():
    return abm.load("london-2025")


# --- the grammar ------------------------------------------------------------------------------


def test_parse_reads_names_indices_stars_selectors_and_quoted_keys():
    tokens = paths.parse('events[3].changes["a.b"]')
    assert tokens == (paths.Name("events"), paths.Index(3), paths.Name("changes"),
                      paths.Name("a.b"))
    (_, select, _) = paths.parse('buyers[country=USA, sector="wind power"].cover_weeks')
    assert select == paths.Select((("country", "USA"), ("sector", "wind power")))
    assert paths.parse("buyers[*].x")[1] == paths.Star()


@pytest.mark.parametrize("bad", ["", "a..b", "a[", "a[x=]", "a[1]b", ".a"])
def test_parse_refuses_what_is_not_in_the_grammar(bad):
    with pytest.raises(paths.PathError):
        paths.parse(bad)


def test_canonical_text_round_trips():
    keys = ("events", 3, "changes", "approval_by_destination.USA")
    assert paths.text(keys) == 'events[3].changes["approval_by_destination.USA"]'
    assert paths.parse(paths.text(keys)) == (paths.Name("events"), paths.Index(3),
                                             paths.Name("changes"),
                                             paths.Name("approval_by_destination.USA"))


def test_a_dotted_key_may_be_written_plainly_or_quoted(london):
    raw = to_dict(london)
    plain = paths.resolve(raw, LONDON_CHIP)
    quoted = paths.resolve(raw, LONDON_CHIP.replace(".approval_by_destination.CHN",
                                                    f'["{CHIP_KEY}"]'))
    assert plain == quoted and len(plain) == 1
    assert plain[0][-1] == CHIP_KEY and paths.get(raw, plain[0]) == 1.0


# --- the London chip-easing lever everywhere --------------------------------------------------


def test_the_london_chip_lever_is_set_by_override(london):
    assert _chip_term(london).changes[CHIP_KEY] == 1.0
    changed = override(london, {LONDON_CHIP: 0.25})
    assert _chip_term(changed).changes[CHIP_KEY] == 0.25
    assert _chip_term(changed).changes["revenue_share"] == _chip_term(london).changes[
        "revenue_share"]


def test_the_london_chip_lever_is_a_model_function_parameter(london):
    f = abm.model_function(london, parameters={"chip": LONDON_CHIP},
                           outcomes=["buyer_weeks_halted"], until="2024-02-01")
    assert f.parameters[0].targets == (
        ('deals.london.terms[4].changes["approval_by_destination.CHN"]', 1.0),)
    assert _chip_term(f.scenario({"chip": 0.25})).changes[CHIP_KEY] == 0.25


def test_the_london_chip_lever_is_a_sweep_parameter():
    spec = spec_from_dict({
        "sweep": {"name": "chips", "scenario": "london-2025", "until": dt.date(2024, 2, 1)},
        "parameters": [{"name": "chip", "path": LONDON_CHIP, "values": [0.0, 0.5]}],
        "outcomes": {"metrics": ["buyer_weeks_halted"]}})
    assert _chip_term(spec.scenario_for((0.5,))).changes[CHIP_KEY] == 0.5
    assert _chip_term(spec.scenario_for((0.0,))).changes[CHIP_KEY] == 0.0


def test_the_london_chip_lever_is_an_ema_uncertainty(london, monkeypatch):
    ema = pytest.importorskip("abm.ema")
    from ema_workbench import RealParameter, Sample, perform_experiments

    model = ema.build_model(london, uncertainties=[RealParameter("chip", 0.0, 1.0)],
                            paths={"chip": LONDON_CHIP}, outcomes=["buyer_weeks_halted"],
                            until="2024-01-15")
    seen = []
    original = abm.ModelFunction.run

    def spy(self, scenario, seed):
        seen.append(_chip_term(scenario).changes[CHIP_KEY])
        return original(self, scenario, seed)

    monkeypatch.setattr(abm.ModelFunction, "run", spy)
    perform_experiments(model, scenarios=[Sample(chip=0.3), Sample(chip=0.7)])
    assert sorted(seen) == [0.3, 0.7]


# --- selectors --------------------------------------------------------------------------------


def test_a_selector_by_country_and_sector_sets_only_those_buyers():
    base = abm.load(MADE_UP)
    changed = override(base, {"buyers[country=CYR, sector=radar].cover_weeks": [9.0, 9.0]})
    for before, after in zip(base.buyers, changed.buyers, strict=True):
        if (before.country, before.sector) == ("CYR", "radar"):
            assert tuple(after.cover_weeks) == (9.0, 9.0)
        else:
            assert after.cover_weeks == before.cover_weeks
    by_country = override(base, {"buyers[country=CYR].cover_weeks": [7.0, 7.0]})
    assert [tuple(b.cover_weeks) == (7.0, 7.0) for b in by_country.buyers] == [
        b.country == "CYR" for b in base.buyers]


@pytest.mark.parametrize(("path", "nearest"), [
    ("market.halt_treshold", "nearest: halt_threshold"),
    ("buyers[country=CYRR].cover_weeks", "no element has country='CYRR' (nearest: CYR)"),
    ("buyers[country=BOR, sector=radar].cover_weeks",
     "no element has them all (nearest: country=CYR, sector=radar; country=BOR, sector=solar"),
    ("buyers[contry=BOR].cover_weeks", "no element has a field 'contry' (nearest: country,"),
    ("buyers[0].cover_weks", "nearest: cover_weeks"),
    ("buyers[7].cover_weeks", "which has 3 elements (0 to 2), not 7"),
    ("buyers.cover_weeks", "it is a list: choose its elements with [index], [*] or [field=value]"),
])
def test_a_path_that_names_nothing_fails_with_the_nearest_names(path, nearest):
    base = abm.load(MADE_UP)
    with pytest.raises(ScenarioError) as err:
        override(base, {path: 1.0})
    assert str(err.value).startswith(f"<override>: {path}: expected ")
    assert nearest in str(err.value)
    with pytest.raises(ValueError, match="nearest|which has|choose its elements") as err:
        abm.model_function(base, parameters={"p": path}, outcomes=["buyer_weeks_halted"])
    assert nearest in str(err.value)
    with pytest.raises(SpecError) as err:
        spec_from_dict({"sweep": {"name": "x", "scenario": str(MADE_UP)},
                        "parameters": [{"name": "p", "path": path, "values": [1.0]}],
                        "outcomes": {"metrics": ["buyer_weeks_halted"]}})
    assert err.value.path == "parameters[0].path" and nearest in str(err.value)


def test_dashboard_levers_write_paths_the_grammar_reads(london):
    from abm.dashboard.levers import apply, levers

    raw = to_dict(london)
    for lever in levers(london):
        for path in lever.paths:
            assert paths.resolve(raw, path, new_keys=True), path
    chip = next(lv for lv in levers(london) if any(CHIP_KEY in p for p in lv.paths)
                and "terms[4]" in lv.paths[0])
    assert _chip_term(apply(london, {chip.name: 0.4})).changes[CHIP_KEY] == 0.4


# --- one module -------------------------------------------------------------------------------


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_function_does_not_import_the_sweep_spec_and_no_module_parses_paths_itself():
    assert not {m for m in _imports(ROOT / "abm" / "function.py") if m.startswith("abm.sweep")}
    for module in ("abm/function.py", "abm/sweep/spec.py", "abm/scenario/load.py", "abm/ema.py",
                   "abm/dashboard/levers.py", "abm/parameters.py"):
        source = (ROOT / module).read_text()
        assert "re.compile" not in source, module
        assert "abm.paths" in source or "from abm import paths" in source, module


def test_a_warning_names_the_callers_line():
    spec = {"sweep": {"name": "warned", "scenario": str(MADE_UP)},
            "parameters": [{"name": "review", "path": "events[0].control.review_weeks",
                            "values": [2.0, 8.0]}],
            "outcomes": {"metrics": ["buyer_weeks_halted"]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec_from_dict(spec)
        abm.model_function(MADE_UP, parameters={"review": "events[0].control.review_weeks"},
                           outcomes=["buyer_weeks_halted"])
    found = [w for w in caught if issubclass(w.category, abm.OverriddenPathWarning)]
    assert len(found) == 2
    assert {w.filename for w in found} == {__file__}
