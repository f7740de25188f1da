"""End to end: `abm dashboard history-2025` served, its page driven in headless Chromium.

One server and one browser for the module (starting them is most of the cost); the steps run in
order on one page, as a person would use it."""

from __future__ import annotations

import os
import re
import zipfile

import pytest

from abm.dashboard import browser

pytestmark = pytest.mark.skipif(
    browser.chromium_path() is None and not os.environ.get("CI"),
    reason="no Chromium on this machine (apt-get install chromium; .ci/run installs it)")

APPROVAL = "approval rate (0-1) · 2025-04-04 China licences Dy/Tb magnets"
RUN_TO = "run to (YYYY-MM-DD, 2024-01-01 to 2026-12-31)"
SEED = "seed (whole number)"
MAY = "exports_t:magnet:CHN:2025-05"
# The charts issue 21 added: value added lost, supply by origin, licence approval share.
NEW_CHARTS = {
    "value_added": "Value added lost by buyers' country and sector",
    "supply": "Supply to buyers by origin",
    "approvals": "Export licences: share of applications approved",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server and one browser for the module."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    # Play steps once a second (the default is 50 ms), so that a Pause pressed while the run
    # plays lands before its end even when renders fall seconds behind on a busy machine.
    with browser.dashboard_server("history-2025", log=log, play_interval_ms=1000) as url, \
            browser.headless_chromium() as context:
        yield context, url
        assert "Traceback" not in log.read_text()


@pytest.fixture
def dashboard(server):
    """A freshly opened page (a new session with the scenario's own values) for each test, so
    that the tests pass in any order."""
    context, url = server
    page = browser.DashboardPage(context.new_page())
    page.open(url)
    yield page, url
    assert page.errors == [], f"errors in the page: {page.errors}"
    page.page.close()


def may_exports(tables, folder):
    customs = tables[f"{folder}/customs_monthly.csv"]
    rows = customs[(customs["good"] == "magnet") & (customs["origin"] == "CHN")
                   & (customs["month"] == "2025-05")]
    return rows["quantity_t"].sum()


def test_lower_approval_lowers_may_2025_exports_on_charts_outcomes_and_csv(dashboard, tmp_path):
    page, _ = dashboard
    assert page.date_text().startswith("Not started")
    page.set_control(RUN_TO, "2025-06-07")
    page.set_control(APPROVAL, "0.2")
    page.reset()
    page.page.get_by_text("Levers moved:").wait_for()
    before = page.chart_images()

    page.run_to_date()
    page.wait_for_status(r"^Week of 2025-06-02")
    page.wait_for_new_charts(before)

    this_run, unchanged = page.outcome(MAY)
    assert this_run < unchanged

    tables = browser.read_tables(page.download("Tables (CSV, zip)", tmp_path))
    assert may_exports(tables, "this_run") < may_exports(tables, "unchanged")
    assert abs(may_exports(tables, "this_run") - this_run) < 1.0
    levers = tables["levers.csv"]
    assert levers["label"].tolist() == [APPROVAL] and levers["this_run"].tolist() == [0.2]

    charts = page.download("Charts (PNG, zip)", tmp_path)
    assert charts.stat().st_size > 10_000
    with zipfile.ZipFile(charts) as archive:
        assert {f"{name}.png" for name in NEW_CHARTS} <= set(archive.namelist())

    shot = page.screenshot(tmp_path / "dashboard.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_bad_value_gives_a_message_and_the_server_keeps_serving(dashboard):
    page, url = dashboard
    page.set_control(SEED, "abc")
    page.reset()
    page.page.locator(".abm-problem").wait_for()
    assert "seed: expected a whole number" in page.problem()
    assert "Traceback" not in page.page.inner_text("body")

    page.set_control(SEED, "1")
    page.set_control(APPROVAL, "1.5")
    page.reset()
    page.page.wait_for_function(
        "() => (document.querySelector('.abm-problem') || {}).innerText?.includes('1.5')")
    assert "expected a number from 0 to 1, got '1.5'" in page.problem()

    page.set_control(APPROVAL, "0.5")
    page.reset()
    page.wait_for_status(r"^Not started")
    assert page.problem() == ""
    assert browser.answers(url)


def test_step_play_and_pause_move_the_run_week_by_week(dashboard):
    page, _ = dashboard
    page.set_control(SEED, "2")
    page.reset()
    page.wait_for_status(r"^Not started.*seed 2\)")
    before = page.chart_images()
    page.page.get_by_role("button", name="Step").click()
    page.wait_for_status(r"^Week of 2024-01-29")  # one render interval: five weeks
    page.wait_for_new_charts(before)
    page.play()
    page.wait_for_week_after("2024-01-29")
    page.pause()
    # The weeks being run and drawn when Pause is pressed still land (a render takes seconds
    # on a busy machine); after that the date must stay put.
    seen = [page.date_text()]
    for _ in range(12):
        page.page.wait_for_timeout(2500)
        seen.append(page.date_text())
        if len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]:
            break
    assert len(set(seen[-3:])) == 1, f"the run went on after Pause: {seen}"


def test_the_page_reads_well_named_tab_titles_units_and_separators(dashboard):
    page, _ = dashboard
    body = page.page.inner_text("body")
    # a named tab, not Mesa's "Page 0" (the tab bar shows its names in capitals)
    assert "RUN, OUTCOMES AND CHARTS" in body.upper()
    assert "PAGE 0" not in body.upper()
    # before the run, each chart says what it will show in full sentences (no docstring cut
    # mid-sentence, no code quotes)
    waiting = page.page.locator(".abm-waiting").all_inner_texts()
    assert "Monthly exports by destination, against customs data: drawn once the run has " \
           "started (Step, Play or Run to)." in waiting
    assert not any("`" in text for text in waiting)
    for name, title in NEW_CHARTS.items():
        cell = page.page.locator(f".abm-chart-{name} .abm-waiting")
        assert cell.inner_text() == f"{title}: drawn once the run has started (Step, Play or " \
                                    "Run to)."
    page.set_control(RUN_TO, "2025-06-07")
    page.reset()
    before = page.chart_images()
    page.run_to_date()
    page.wait_for_status(r"^Week of 2025-06-02")
    page.wait_for_new_charts(before)
    # outcomes with their unit, numbers with thousands separators
    header = page.page.locator("table.abm-outcomes th").all_inner_texts()
    assert header[:3] == ["outcome", "unit", "this run"]
    rows = [r.locator("td").all_inner_texts() for r in
            page.page.locator("table.abm-outcomes tr").all()]
    cells = {r[0].strip(): r for r in rows if r}
    assert cells[MAY][1] == "t"
    lost = cells["output_lost_usd"]
    assert lost[1] == "USD" and re.fullmatch(r"\d{1,3}(,\d{3})+", lost[3].strip()), lost
    this_run, unchanged = page.outcome(MAY)
    assert this_run == unchanged > 100  # no lever moved: the two runs agree
    # charts are drawn wide: at least 600 px across, the new ones too, below the ones before
    for name in ("shortages", *NEW_CHARTS):
        image = page.page.locator(f".abm-chart-{name} img")
        assert image.evaluate("i => i.naturalWidth") >= 600, name
        assert image.evaluate("i => i.naturalHeight") >= 300, name
    tops = {name: page.page.locator(f".abm-chart-{name}").bounding_box()["y"]
            for name in browser.CHARTS}
    assert [tops[name] for name in browser.CHARTS] == sorted(tops.values())
