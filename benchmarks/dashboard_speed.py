"""Opening the dashboard and running a scenario to its end, timed in headless Chromium.

Starts `abm dashboard SCENARIO` (history-2025: three simulated years, 2024-2026), then, in a new
browser tab each repeat: opens the page until it is ready, presses "Run to <end>" and waits until
the status shows the last week and every chart has been redrawn. Prints each repeat, then one
line with the medians: `RESULT open_s=... run_s=... total_s=... aim_s=10`. Server start-up is
printed but not counted (it is paid once, not per page). With `--lever "LABEL=VALUE"` the lever
is typed in and Reset pressed after opening (not timed), so the run is the changed scenario and
the unchanged one side by side.

    .venv/bin/python benchmarks/dashboard_speed.py [--repeats 3] [--lever "LABEL=VALUE"]
        [--screenshot docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

import abm
from abm.dashboard import browser
from abm.dashboard.session import weeks_until

AIM_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="history-2025")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lever", metavar="LABEL=VALUE",
                        help="a control to set before running (its label on the page)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="save the page after the last run (the README's picture)")
    args = parser.parse_args()
    config = abm.load(args.scenario)
    last_week = config.start + dt.timedelta(days=7 * (weeks_until(config, config.end) - 1))

    started = time.perf_counter()
    with browser.dashboard_server(args.scenario) as url, browser.headless_chromium() as context:
        print(f"server answering after {time.perf_counter() - started:.1f} s (not counted)")
        rows = []
        for repeat in range(args.repeats):
            page = browser.DashboardPage(context.new_page())
            start = time.perf_counter()
            page.open(url)
            empty = page.wait_for_charts()
            opened = time.perf_counter()
            if args.lever:
                label, _, value = args.lever.rpartition("=")
                page.set_control(label, value)
                page.reset()
                page.page.get_by_text("Levers moved:").wait_for()
                empty = page.wait_for_charts()
            ran_from = time.perf_counter()
            page.run_to_date()
            page.wait_for_status(f"^Week of {last_week.isoformat()}")
            page.wait_for_new_charts(empty)
            done = time.perf_counter()
            rows.append((opened - start, done - ran_from, opened - start + done - ran_from))
            print(f"repeat {repeat + 1}: open_s={rows[-1][0]:.2f} run_s={rows[-1][1]:.2f} "
                  f"total_s={rows[-1][2]:.2f} ({config.weeks} weeks to {last_week})")
            if repeat == args.repeats - 1 and args.screenshot:
                page.page.locator("tr", has_text="exports_t").first.wait_for()
                print(f"screenshot: {page.screenshot(args.screenshot)}")
            if page.errors:
                raise SystemExit(f"errors in the page: {page.errors}")
            page.page.close()
    open_s, run_s, total_s = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"RESULT open_s={open_s:.2f} run_s={run_s:.2f} total_s={total_s:.2f} aim_s={AIM_S:g} "
          f"met={'yes' if total_s < AIM_S else 'no'}")


if __name__ == "__main__":
    main()
