"""Agent-based model of export controls in the rare-earth magnet and AI-chip supply chains."""

from importlib.metadata import PackageNotFoundError, version

from abm.agents.behaviours import Behaviours, PluginError
from abm.function import ModelFunction, OverriddenPathWarning, model_function
from abm.model import ExportControlModel
from abm.run import Result, run
from abm.scenario import Scenario, ScenarioError, load, override

try:
    __version__ = version("abm-export-controls")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Behaviours", "ExportControlModel", "ModelFunction", "OverriddenPathWarning",
           "PluginError", "Result", "Scenario", "ScenarioError", "__version__", "load",
           "model_function", "override", "run"]
