"""The dashboard page: Mesa's SolaraViz around `DashboardModel`, with the charts of a run.

Solara serves this module (`abm dashboard` sets it up; see `abm.dashboard.server`). The sidebar
is SolaraViz's: play, pause, step and reset, and the model's controls (seed, run-to date, the
scenario's levers); moving a control and pressing Reset builds the run again. The main area
holds the run panel (scenario, date, run to the date at once, downloads), the outcomes and the
charts. Opening another scenario rebuilds the whole page for that scenario's levers.
"""

from __future__ import annotations

import collections
import html
import io
import os
import zipfile

import pandas as pd
import solara
from mesa.visualization import SolaraViz, solara_viz
from mesa.visualization.utils import force_update, update_counter

from abm import outcomes, plots
from abm.dashboard import charts
from abm.dashboard.levers import Lever, levers
from abm.dashboard.server import DEFAULT_PLAY_MS, PLAY_MS_ENV, SCENARIO_ENV
from abm.dashboard.session import DEFAULT_SCENARIO, DashboardModel, load_scenario, outcome_table
from abm.scenario import Scenario, ScenarioError, builtin_names

# Per browser session (Solara scopes reactive variables to the connection).
source = solara.reactive(os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO))
# Milliseconds Play waits between its five-week steps (`abm dashboard --play-interval`).
PLAY_MS = int(os.environ.get(PLAY_MS_ENV, DEFAULT_PLAY_MS))
good_shown = solara.reactive("")
open_problem = solara.reactive("")

# A grid cell of SolaraViz has a fixed height: its content scrolls rather than spill over the
# next cell.
CELL = {"padding": "8px", "height": "100%", "overflow-y": "auto"}

OUTCOME_STYLE = ("<style>.abm-outcomes td, .abm-outcomes th {padding: 1px 8px; "
                 "text-align: right} .abm-outcomes td:first-child {text-align: left}</style>")

TABLES = {
    # file name as `abm run` writes it: attribute of abm.Result
    "customs_monthly.csv": "customs_monthly",
    "weekly.csv": "weekly",
    "weekly_prices.csv": "prices",
    "weekly_production.csv": "production",
    "weekly_licences.csv": "licences",
    "weekly_chip_sales.csv": "chip_sales",
    "weekly_chip_access.csv": "chip_access",
    "weekly_pain.csv": "pain",
}


def control(lever: Lever) -> dict:
    """A SolaraViz model parameter for a lever: a choice, or a number typed in."""
    if lever.kind == "choice":
        return {"type": "Select", "value": lever.value, "values": list(lever.choices),
                "label": lever.label}
    return {"type": "InputText", "value": lever.text(), "label": lever.label}


def model_params(name: str, config: Scenario) -> dict:
    """The model's controls for SolaraViz: seed, run-to date, then every lever."""
    params: dict = {
        "source": name,
        "seed": {"type": "InputText", "value": "0", "label": "seed (whole number)"},
        "run_to": {"type": "InputText", "value": config.end.isoformat(),
                   "label": f"run to (YYYY-MM-DD, {config.start} to {config.end})"},
    }
    for lever in levers(config):
        params[lever.name] = control(lever)
    return params


def goods(model: DashboardModel) -> list[str]:
    config = model.base
    if config is None:
        return []
    return [g for g in config.good_names() if g != config.chips.good]


def shown_good(model: DashboardModel) -> str:
    names = goods(model)
    if good_shown.value in names:
        return good_shown.value
    return "magnet" if "magnet" in names else (names[0] if names else "")


def tables_zip(model: DashboardModel) -> bytes:
    """This run's and the unchanged run's tables (CSV, as `abm run` names them), the
    outcomes and the levers moved, in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, result in (("this_run", model.result), ("unchanged", model.unchanged)):
            if result is None:
                continue
            for filename, attribute in TABLES.items():
                frame = getattr(result, attribute, None)
                if isinstance(frame, pd.DataFrame):
                    archive.writestr(f"{folder}/{filename}", frame.to_csv(index=False))
        archive.writestr("outcomes.csv", outcome_table(model, shown_good(model)).to_csv(index=False))
        archive.writestr("levers.csv", pd.DataFrame(
            [{"lever": lever.name, "label": lever.label, "scenario": lever.value, "this_run": value}
             for lever, value in model.moved],
            columns=["lever", "label", "scenario", "this_run"]).to_csv(index=False))
    return buffer.getvalue()


def charts_zip(model: DashboardModel) -> bytes:
    """The charts as shown, as PNG (with the key of numbered events), in one zip."""
    good = shown_good(model)
    buffer = io.BytesIO()
    events = model.base.events if model.base is not None else ()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, draw in charts.CHARTS.items():
            figure = draw(model.result, model.unchanged, good)
            archive.writestr(f"{name}.png", charts.png(figure, events))
    return buffer.getvalue()


def paragraph(text: str, strong: str = "", classes: str = "") -> solara.Element:
    """A paragraph of escaped text, optionally led by a bold part. (solara.Markdown would load
    KaTeX from a CDN, which a closed machine cannot reach.)"""
    lead = f"<b>{html.escape(strong)}</b> " if strong else ""
    return solara.HTML(tag="p", unsafe_innerHTML=lead + html.escape(text),
                       classes=[classes] if classes else [])


def file_stem(model: DashboardModel) -> str:
    date = model.date.isoformat() if model.date else "start"
    name = model.base.name if model.base is not None else "dashboard"
    return f"{name}-seed{model.seed}-{date}"


@solara.component
def ScenarioPicker():
    """Open a built-in scenario or a scenario file; the page is rebuilt for it."""
    path, set_path = solara.use_state("")

    def open_scenario(name: str) -> None:
        try:
            load_scenario(name)
        except ScenarioError as err:
            open_problem.set(str(err))
            return
        open_problem.set("")
        good_shown.set("")
        source.set(name)

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        names = builtin_names()
        solara.Select("scenario", value=source.value if source.value in names else None,
                      values=names, on_value=open_scenario)
        solara.InputText("or a scenario file (path)", value=path, on_value=set_path)
        solara.Button("Open file", on_click=lambda: open_scenario(path.strip()),
                      disabled=not path.strip())
    if open_problem.value:
        solara.Error(open_problem.value)


@solara.component
def RunPanel(model: DashboardModel):
    """Scenario, date, the problem if any, run to the date at once, downloads."""
    update_counter.get()
    with solara.Column(style=CELL) as panel:
        ScenarioPicker()
        if model.problem:
            solara.Error(f"Cannot run: {model.problem}", classes=["abm-problem"])
            solara.Text("Correct the control and press Reset; the page keeps serving.")
            return panel
        until = model.until.isoformat()
        now = f"Week of {model.date.isoformat()}" if model.date else "Not started"
        paragraph(f"(run to {until}, seed {model.seed})", strong=now, classes="abm-date")

        def run_to_date():
            model.run_to_date()
            force_update()

        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Button(f"Run to {until}", on_click=run_to_date, color="primary",
                          disabled=not model.running)
            solara.Select("good shown", value=shown_good(model), values=goods(model),
                          on_value=lambda g: (good_shown.set(g), force_update()))
        with solara.Row(style={"flex-wrap": "wrap"}):
            stem = file_stem(model)
            solara.FileDownload(lambda: tables_zip(model), filename=f"{stem}-tables.zip",
                                label="Tables (CSV, zip)")
            solara.FileDownload(lambda: charts_zip(model), filename=f"{stem}-charts.zip",
                                label="Charts (PNG, zip)")
            solara.FileDownload(
                lambda: outcome_table(model, shown_good(model)).to_csv(index=False),
                filename=f"{stem}-outcomes.csv", label="Outcomes (CSV)")
        if model.moved:
            paragraph("; ".join(f"{lever.label}: {value:g} (scenario {lever.text()})"
                                if lever.kind == "number" else
                                f"{lever.label}: {value} (scenario {lever.value})"
                                for lever, value in model.moved), strong="Levers moved:")
        else:
            paragraph("this run is the scenario unchanged.", strong="No lever moved:")
        paragraph("Move a control in the sidebar, then press Reset to apply it. Charts: this "
                  "run solid, the scenario unchanged dashed, customs data black.")
        if model.base is not None:
            paragraph(model.base.description, strong=f"{model.base.name}:")
    return panel


@solara.component
def Outcomes(model: DashboardModel):
    """`abm.outcomes` of this run so far beside the unchanged scenario's."""
    update_counter.get()
    with solara.Column(style=CELL) as column:
        paragraph("(abm.outcomes names, each with its unit)", strong="Outcomes so far")
        if model.result is not None:
            table = outcome_table(model, shown_good(model))
            table["change"] = table["this_run"] - table["unchanged"]
            solara.HTML(tag="div", unsafe_innerHTML=OUTCOME_STYLE + formatted(
                table, model.result.config).to_html(index=False, classes="abm-outcomes",
                                                    border=0))
            if model.base is not None:
                key = [f"{n}. {e.date:%Y-%m-%d} {e.label}"
                       for n, e in plots.labelled_events(model.base.events)]
                paragraph("; ".join(key), strong="Events marked on the charts:")
    return column


def format_number(value: float, unit: str) -> str:
    """A number as the page shows it: thousands separators, and as many decimals as its
    unit needs (none for USD, three for shares and ratios, one otherwise)."""
    if value != value:  # NaN
        return "-"
    if unit.startswith("USD") and "/" not in unit:
        return f"{value:,.0f}"
    if unit.startswith(("share", "ratio")):
        return f"{value:,.3f}"
    return f"{value:,.1f}"


def formatted(table, config):
    """The outcome table with a unit column and its numbers formatted for reading."""
    out = table.copy()
    units = []
    for name in out["outcome"]:
        try:
            units.append(outcomes.parse(name, config).unit)
        except ValueError:
            units.append("")
    for column in ("this_run", "unchanged", "change"):
        out[column] = [format_number(v, u) for v, u in zip(out[column], units, strict=True)]
    out.insert(1, "unit", units)
    return out.rename(columns={"this_run": "this run", "unchanged": "scenario unchanged"})


def chart(name: str):
    """The page's component for chart `name`: drawn again only when the run has moved on (or
    another good is shown), not at every render of the page."""
    draw = charts.CHARTS[name]

    @solara.component
    def Chart(model: DashboardModel):
        update_counter.get()
        good = shown_good(model)
        weeks = model.economy.steps if model.economy is not None else -1
        def drawn() -> bytes | str | None:
            if weeks <= 0:
                return None
            try:
                return charts.page_png(draw(model.result, model.unchanged, good))
            except Exception as err:  # noqa: BLE001 (a chart that fails says so; the page stays)
                return f"The {name} chart could not be drawn: {type(err).__name__}: {err}"

        image = solara.use_memo(drawn, dependencies=[model, weeks, good])
        with solara.Column(classes=[f"abm-chart-{name}"], style=CELL) as column:
            if isinstance(image, str):
                solara.Error(image)
            elif image is None:
                solara.Text(f"{charts.TITLES[name]}: drawn once the run has started (Step, "
                            "Play or Run to).", classes=["abm-waiting"])
            else:
                solara.Image(image, format="png", width="100%")
        return column

    return Chart


# Tab names of the page's pages (Mesa's own view calls them "Page 0", "Page 1", ...).
TAB_NAMES = {0: "Run, outcomes and charts"}


def grid_layout(count: int) -> list[dict]:
    """The page's first layout (cells can be dragged and resized): the run panel and the
    outcomes side by side, then each chart across the whole width, tall enough to read."""
    cells, y = [], 0
    for i in range(count):
        if i < 2:
            cells.append({"i": i, "w": 6, "h": 12, "moved": False, "x": 6 * i, "y": 0})
            y = 12
        else:
            cells.append({"i": i, "w": 12, "h": 20, "moved": False, "x": 0, "y": y})
            y += 20
    return cells


@solara.component
def NamedComponentsView(components, model):
    """Mesa's `ComponentsView` (mesa 3.5, `mesa.visualization.solara_viz`) with named tabs
    (`TAB_NAMES`) instead of "Page N"; otherwise the same: each page's components in a
    draggable grid, only the open tab drawn."""
    current, set_current = solara.use_state(0)
    layouts, set_layouts = solara.use_state({})
    components = [c if isinstance(c, tuple) else (c, 0) for c in components]
    pages = collections.defaultdict(list)
    for component, index in components:
        pages[index].append(solara_viz._wrap_component(component))
    indices = sorted(pages)
    if len(indices) > 1:
        indices = list(range(indices[0], indices[-1] + 1))
        for index in indices:
            pages.setdefault(index, [])

    def sync_layouts():
        new = {i: grid_layout(len(pages[i])) for i in set(pages) - set(layouts)}
        kept = {k: v for k, v in layouts.items() if k in pages}
        if new or len(kept) != len(layouts):
            set_layouts({**kept, **new})

    solara.use_effect(sync_layouts, list(pages.keys()))
    if not components:
        return
    with solara.v.Tabs(v_model=current, on_v_model=set_current):
        for index in indices:
            solara.v.Tab(children=[TAB_NAMES.get(index, f"Page {index}")])
    with solara.v.Window(v_model=current):
        for i, index in enumerate(indices):
            with solara.v.WindowItem():
                layout = layouts.get(index)
                if i == current and layout:
                    def on_layout(new_layout, page=index):
                        set_layouts(lambda old: {**old, page: new_layout})

                    solara.GridDraggable(items=[c(model) for c in pages[index]],
                                         grid_layout=layout, resizable=True, draggable=True,
                                         on_grid_layout=on_layout)


solara_viz.ComponentsView = NamedComponentsView


# Solara components (not plain functions), so that SolaraViz keeps them mounted across its
# renders: a plain function is wrapped in a new component type at every render, which remounts
# every chart and drops a click made meanwhile.
COMPONENTS = [(RunPanel, 0), (Outcomes, 0)] + [(chart(name), 0) for name in charts.CHARTS]


@solara.component
def Page():
    name = source.value
    try:
        config = load_scenario(name)
    except ScenarioError as err:
        solara.Error(f"Cannot open {name}: {err}")
        ScenarioPicker()
        return
    model = solara.use_memo(lambda: DashboardModel(source=name), [name])
    SolaraViz(model, components=COMPONENTS, model_params=model_params(name, config),
              name=f"abm dashboard: {config.name}", play_interval=PLAY_MS,
              render_interval=5).key(f"viz-{name}")
