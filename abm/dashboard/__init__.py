"""An interactive dashboard in the browser, on Mesa's SolaraViz: `abm dashboard [SCENARIO]`.

- `levers`: the controls a scenario offers and the scenario with them set;
- `session`: `DashboardModel`, the Mesa model the page steps (one run and the unchanged run);
- `charts`: the charts, drawn from `abm.Result` tables with `abm.plots`' axes and markers;
- `app`: the Solara page (SolaraViz, run panel, outcomes, downloads);
- `server`: `serve(scenario, host, port)`, Solara's server for the page;
- `browser`: headless Chromium driving the page (the end-to-end test and the benchmark).
"""
