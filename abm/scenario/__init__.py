"""Scenarios: typed configuration and the TOML files that declare them."""

from abm.scenario.config import ConfigError, Scenario
from abm.scenario.load import (
    ScenarioError,
    builtin_descriptions,
    builtin_names,
    from_dict,
    load,
    override,
    to_dict,
)

__all__ = [
    "ConfigError",
    "Scenario",
    "ScenarioError",
    "builtin_descriptions",
    "builtin_names",
    "from_dict",
    "load",
    "override",
    "to_dict",
]
