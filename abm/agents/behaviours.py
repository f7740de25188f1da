"""Behaviours by name: which class of agent (with which decision rules) a scenario entry gets.

A scenario names a behaviour on each buyer group, exporter and chipmaker (`behaviour =
"dual_sourcing"`) and a strategy on each country (`strategy = "tit_for_tat"`). The names are
looked up in a `Behaviours` registry that belongs to one run: `abm.run(config, seed,
behaviours=registry)`, `ExportControlModel(config, behaviours=registry)`, `abm.load(path,
behaviours=registry)`. Nothing is registered globally, so two runs (or two tests) with
different registries never see each other's behaviours.

Kinds and their built-in behaviours:

- `buyer`: `default` (`abm.agents.buyer.Buyer`), `dual_sourcing` (`DualSourcingBuyer`);
- `exporter`: `default` (`abm.agents.exporter.Exporter`), `rationing` (`RationingExporter`);
- `chipmaker`: `default` (`abm.agents.chipmaker.Chipmaker`);
- `strategy`: `scripted`, `tit_for_tat`, `bargaining` (`abm.policy.strategies`).

A buyer, exporter or chipmaker behaviour is a subclass of that kind's agent class that
overrides some of its rules; a strategy is a class with `decide(state, model)`. Users add their
own from Python (`registry.add("buyer", "cautious", CautiousBuyer)`) or from a plugin: a Python
module or file with a function `register(behaviours)` that adds them, loaded by
`registry.load_plugin("my_rules.py")` or `abm run s.toml --plugin my_rules.py`. Scenario files
stay data: they only name behaviours. A registry pickles as the plugins it loaded (and the
classes added from Python, by reference), so sweep workers rebuild the same one.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from abm.scenario.config import ConfigError

KINDS = ("buyer", "exporter", "chipmaker", "strategy")


class PluginError(ValueError):
    """A plugin cannot be loaded or registers something unusable (one line, shown as it is)."""


def _builtin() -> dict[str, dict[str, type]]:
    from abm.agents.buyer import Buyer, DualSourcingBuyer
    from abm.agents.chipmaker import Chipmaker
    from abm.agents.exporter import Exporter, RationingExporter
    from abm.policy.strategies import STRATEGIES

    return {
        "buyer": {"default": Buyer, "dual_sourcing": DualSourcingBuyer},
        "exporter": {"default": Exporter, "rationing": RationingExporter},
        "chipmaker": {"default": Chipmaker},
        "strategy": dict(STRATEGIES),
    }


def _base_class(kind: str) -> type | None:
    return _builtin()[kind]["default"] if kind != "strategy" else None


class Behaviours:
    """A registry of behaviours by kind and name, starting with the built-in ones."""

    def __init__(self, plugins: tuple[str, ...] = ()):
        self._tables = _builtin()
        self.plugins: list[str] = []
        self._added: list[tuple[str, str, type]] = []  # from Python, not from a plugin
        self._loading = False
        for plugin in plugins:
            self.load_plugin(plugin)

    # --- registering ------------------------------------------------------------------------

    def add(self, kind: str, name: str, cls: type) -> type:
        """Register `cls` as behaviour `name` of `kind` (replacing one of that name); returns
        `cls`, so that it can be used as `registry.add("buyer", "x", X)` after a class."""
        if kind not in KINDS:
            raise PluginError(f"behaviour {name!r}: kind {kind!r} is not one of {list(KINDS)}")
        if not isinstance(name, str) or not name:
            raise PluginError(f"a {kind} behaviour needs a non-empty name, got {name!r}")
        base = _base_class(kind)
        if base is not None and not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(f"{kind} behaviour {name!r}: expected a subclass of "
                              f"{base.__module__}.{base.__name__}, got {cls!r}")
        if kind == "strategy" and not callable(getattr(cls, "decide", None)):
            raise PluginError(f"strategy {name!r}: expected a class with decide(state, model), "
                              f"got {cls!r}")
        self._tables[kind][name] = cls
        if not self._loading:
            self._added.append((kind, name, cls))
        return cls

    def load_plugin(self, plugin: str | Path) -> None:
        """Import a module (a file `rules.py` or a module name `mypackage.rules`) and call its
        `register(behaviours)` with this registry."""
        text = str(plugin)
        try:
            path = Path(text)
            if path.suffix == ".py" or path.is_file():
                if not path.is_file():
                    raise PluginError(f"{text}: no such plugin file")
                path = path.resolve()
                digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
                spec = importlib.util.spec_from_file_location(f"abm_plugin_{digest}", path)
                module = importlib.util.module_from_spec(spec)
                # dataclasses and pickling look a class's module up by name
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
                text = str(path)
            else:
                module = importlib.import_module(text)
        except PluginError:
            raise
        except Exception as err:  # noqa: BLE001 - the user's code; said in one line
            raise PluginError(f"{text}: the plugin could not be loaded "
                              f"({type(err).__name__}: {err})") from None
        register = getattr(module, "register", None)
        if not callable(register):
            raise PluginError(f"{text}: expected a plugin module with a function "
                              f"register(behaviours)")
        self._loading = True
        try:
            register(self)
        except PluginError as err:
            raise PluginError(f"{text}: {err}") from None
        except Exception as err:  # noqa: BLE001
            raise PluginError(f"{text}: register(behaviours) failed "
                              f"({type(err).__name__}: {err})") from None
        finally:
            self._loading = False
        self.plugins.append(text)

    # --- looking up ---------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        return sorted(self._tables[kind])

    def get(self, kind: str, name: str) -> type:
        try:
            return self._tables[kind][name]
        except KeyError:
            raise KeyError(f"unknown {kind} behaviour {name!r} (known: "
                           f"{', '.join(self.names(kind))})") from None

    def check(self, scenario) -> None:
        """Every behaviour and strategy `scenario` names is registered; ConfigError naming the
        field and the known names otherwise."""
        fields = (("buyers", "buyer", "behaviour"), ("exporters", "exporter", "behaviour"),
                  ("chipmakers", "chipmaker", "behaviour"), ("countries", "strategy", "strategy"))
        for table, kind, field_name in fields:
            for i, entry in enumerate(getattr(scenario, table)):
                name = getattr(entry, field_name)
                if name not in self._tables[kind]:
                    what = "strategy" if kind == "strategy" else f"{kind} behaviour"
                    raise ConfigError(f"{table}[{i}].{field_name}",
                                      f"a {what}, one of {self.names(kind)} (add your own "
                                      f"with --plugin)", name)

    def __reduce__(self):
        return _restore, (tuple(self.plugins), tuple(self._added))

    def __repr__(self) -> str:
        listed = "; ".join(f"{k}: {', '.join(self.names(k))}" for k in KINDS)
        return f"Behaviours({listed})"


def _restore(plugins: tuple[str, ...], added: tuple[tuple[str, str, type], ...]) -> Behaviours:
    registry = Behaviours(plugins)
    for kind, name, cls in added:
        registry.add(kind, name, cls)
    return registry
