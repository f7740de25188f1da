"""Serve the dashboard page with Solara's own server (`solara run`), on this machine only unless
asked: `serve("history-2025", host="127.0.0.1", port=8765)` blocks until interrupted."""

from __future__ import annotations

import os
import warnings

from abm.dashboard.access import DIRS_ENV, STARTED_ENV

APP = "abm.dashboard.app"
SCENARIO_ENV = STARTED_ENV
PLAY_MS_ENV = "ABM_DASHBOARD_PLAY_MS"
DEFAULT_PLAY_MS = 50
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def serve(scenario: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          open_browser: bool = False, play_interval_ms: int = DEFAULT_PLAY_MS,
          scenario_dirs: tuple[str, ...] = ()) -> None:
    """Serve the page for `scenario` (a built-in name or a file) at http://HOST:PORT/; Play
    waits `play_interval_ms` between its steps. The page opens scenario files only inside
    `scenario_dirs` (`abm.dashboard.access`)."""
    os.environ[SCENARIO_ENV] = scenario
    os.environ[DIRS_ENV] = os.pathsep.join(scenario_dirs)
    os.environ[PLAY_MS_ENV] = str(play_interval_ms)
    # Solara reads its settings from the environment when first imported: no usage reports
    # (the page is local and must not call out).
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    # Plain http on this machine: the session cookie falls back to samesite=lax, as it should.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https",
                            category=UserWarning)
    from solara.__main__ import cli

    cli.main(["run", APP, "--host", host, "--port", str(port), "--production",
              "--no-check-version", "--open" if open_browser else "--no-open",
              "--log-level", "warning"], prog_name="abm dashboard", standalone_mode=False)
