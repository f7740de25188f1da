"""Drive the dashboard as a person would: its server in a child process, the page in headless
Chromium through Playwright. Used by the end-to-end test and the benchmark.

Chromium is the operating system's (`apt-get install chromium`; `ABM_CHROMIUM` names another
binary): Playwright only drives it, it downloads no browser. Playwright is a test dependency and
is imported only here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1600, "height": 1000}
# The page's charts, by the name in their cell's class (`abm-chart-NAME`), in page order; as
# `abm.dashboard.charts.CHARTS` names them (a test checks).
CHARTS = ("exports", "prices", "shortages", "value_added", "supply", "licences", "approvals",
          "chips", "payoffs")


def chromium_path() -> str | None:
    """The Chromium binary to drive, or None if there is none."""
    named = os.environ.get("ABM_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def dashboard_server(scenario: str, port: int | None = None, host: str = "127.0.0.1",
                     timeout_s: float = 90.0, log: Path | None = None,
                     play_interval_ms: int | None = None) -> Iterator[str]:
    """Run `abm dashboard SCENARIO` in a child process (with `--play-interval` if given);
    yield its URL once it answers; stop it (by its process id) on exit."""
    port = port or free_port(host)
    url = f"http://{host}:{port}/"
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "abm.cli", "dashboard", scenario, "--host", host,
         "--port", str(port)]
        + (["--play-interval", str(play_interval_ms)] if play_interval_ms else []),
        stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not answers(url):
            if server.poll() is not None:
                raise RuntimeError(f"the dashboard server exited with {server.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dashboard server did not answer at {url} in "
                                   f"{timeout_s:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if log:
            out.close()


@contextlib.contextmanager
def headless_chromium() -> Iterator:
    """A Playwright browser context in headless Chromium with a fresh profile directory."""
    from playwright.sync_api import sync_playwright

    binary = chromium_path()
    if binary is None:
        raise FileNotFoundError("no Chromium found: apt-get install chromium (or set ABM_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="abm-chromium-") as profile, \
            sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=binary, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT, accept_downloads=True)
        try:
            yield context
        finally:
            context.close()


class DashboardPage:
    """The dashboard page in a browser tab, with the moves a person makes on it."""

    def __init__(self, page, timeout_s: float = 60.0):
        self.page = page
        self.timeout_ms = timeout_s * 1000
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        # A render of the page takes seconds on a busy machine: wait as long for every step.
        page.set_default_timeout(self.timeout_ms)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.status().wait_for(timeout=self.timeout_ms)

    def status(self):
        """The run panel's line with the date ("Not started" or "Week of ...")."""
        return self.page.locator(".abm-date")

    def date_text(self) -> str:
        return self.status().inner_text()

    def wait_for_status(self, pattern: str) -> None:
        """Wait until the status line matches the regular expression `pattern`."""
        self.page.wait_for_function(
            "([selector, pattern]) => { const e = document.querySelector(selector);"
            " return e && new RegExp(pattern).test(e.innerText); }",
            arg=[".abm-date", pattern], timeout=self.timeout_ms)

    def wait_for_week_after(self, date: str) -> str:
        """Wait until the status line shows a week later than `date` (YYYY-MM-DD); return it.
        While the run plays, renders that fall behind are merged, so the date can jump by
        many weeks (on a busy machine, to the run's end) between two that are drawn."""
        self.page.wait_for_function(
            "([selector, date]) => { const e = document.querySelector(selector);"
            " const m = e && /^Week of (\\d{4}-\\d{2}-\\d{2})/.exec(e.innerText);"
            " return m !== null && m[1] > date; }",
            arg=[".abm-date", date], timeout=self.timeout_ms)
        return self.date_text()

    def set_control(self, label: str, text: str) -> None:
        """Type `text` into the sidebar's field `label` (exact) and confirm it with Enter."""
        field = self.page.get_by_label(label, exact=True)
        field.fill(text)
        field.press("Tab")

    def reset(self) -> None:
        """Press Reset: the run is built again from the controls."""
        self.page.get_by_role("button", name=re.compile(r"^\s*reset\s*$", re.I)).click()

    def run_to_date(self) -> None:
        self.page.get_by_role("button", name=re.compile(r"^\s*run to ", re.I)).click()

    def play(self) -> None:
        """Press Play and wait until the button shows Pause. A click that lands while the page
        is being rendered again can be dropped (the button is replaced under it); a person
        clicks again, and so does this, up to `attempts` times."""
        self._toggle("▶", "❚❚")

    def pause(self) -> None:
        """Press Pause and wait until the button shows Play again (clicking again if the click
        was dropped)."""
        self._toggle("❚❚", "▶")

    def _toggle(self, press: str, then: str, attempts: int = 4) -> None:
        wait_ms = self.timeout_ms / attempts
        pressed, shown = (self.page.get_by_role("button", name=name) for name in (press, then))
        for _ in range(attempts):
            if shown.count():
                return
            if pressed.count():
                with contextlib.suppress(Exception):  # replaced under the pointer: try again
                    pressed.click(timeout=wait_ms)
            with contextlib.suppress(Exception):  # Playwright's TimeoutError: look again
                shown.wait_for(timeout=wait_ms)
        shown.wait_for(timeout=wait_ms)

    def chart_images(self) -> dict[str, str]:
        """Each chart's current image (its data URL), by chart name."""
        out = {}
        for name in CHARTS:
            image = self.page.locator(f".abm-chart-{name} img")
            out[name] = image.first.get_attribute("src") if image.count() else ""
        return out

    def wait_for_charts(self) -> dict[str, str]:
        """Wait until every chart has an image or says it waits for the run; return the
        images ('' for a waiting chart)."""
        self.page.wait_for_function(
            "(names) => names.every(n => document.querySelector(`.abm-chart-${n} img`)"
            " || document.querySelector(`.abm-chart-${n} .abm-waiting`))",
            arg=list(CHARTS), timeout=self.timeout_ms)
        return self.chart_images()

    def wait_for_new_charts(self, before: dict[str, str]) -> dict[str, str]:
        """Wait until every chart's image differs from `before`."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            now = self.chart_images()
            if all(now[name] and now[name] != before.get(name) for name in CHARTS):
                return now
            if time.monotonic() > deadline:
                stale = [n for n in CHARTS if not now[n] or now[n] == before.get(n)]
                raise TimeoutError(f"charts not redrawn: {stale}")
            time.sleep(0.05)

    def outcome(self, name: str) -> tuple[float, float]:
        """(this run, unchanged) of outcome `name` in the page's outcome table."""
        row = self.page.locator("tr", has_text=name).first
        cells = row.locator("td").all_inner_texts()
        at = [c.strip() for c in cells].index(name)
        # after the name: its unit, this run, the scenario unchanged (with , separators)
        return (float(cells[at + 2].replace(",", "")), float(cells[at + 3].replace(",", "")))

    def problem(self) -> str:
        """The run panel's message about an unusable value ('' if none)."""
        message = self.page.locator(".abm-problem")
        return message.inner_text() if message.count() else ""

    def download(self, label: str, directory: Path) -> Path:
        """Click the download button `label`; return the saved file."""
        with self.page.expect_download(timeout=self.timeout_ms) as info:
            self.page.get_by_role("button", name=re.compile(re.escape(label), re.I)).click()
        download = info.value
        path = Path(directory) / download.suggested_filename
        download.save_as(path)
        return path

    def screenshot(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=False)
        return path


def read_tables(path: Path) -> dict[str, pd.DataFrame]:
    """The CSV tables of a downloaded tables zip, by their name in the zip."""
    with zipfile.ZipFile(path) as archive:
        return {name: pd.read_csv(io.BytesIO(archive.read(name)), dtype={"month": str})
                for name in archive.namelist() if name.endswith(".csv")}
