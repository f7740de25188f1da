"""Figures a reader trusts: event labels never overlap, the key's entries neither, and figures
can share one date axis."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import combinations

import pandas as pd
import pytest

import abm
from abm import plots


@dataclass
class Event:
    date: dt.date
    label: str
    mark: bool = True


def _figure_with(events, span=None):
    fig, axes = plots.plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    days = pd.date_range("2025-01-01", "2025-12-31", freq="W")
    for ax in axes:
        ax.plot(days, range(len(days)))
        plots.date_axis(ax, span)
        plots.mark_events(ax, events)
    return fig, axes


def _boxes(fig, texts):
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts]


def _no_overlap(boxes):
    return [(i, j) for (i, a), (j, b) in combinations(enumerate(boxes), 2) if a.overlaps(b)]


@pytest.mark.parametrize("events", [
    # four events in ten days, written in full: the crowded case of full labels
    [Event(dt.date(2025, 4, 2), "US reciprocal tariffs announced on Liberation Day"),
     Event(dt.date(2025, 4, 4), "China licences seven heavy rare earths and their magnets"),
     Event(dt.date(2025, 4, 9), "US raises tariffs on China to 125 per cent"),
     Event(dt.date(2025, 4, 11), "China raises tariffs on the US to 125 per cent")],
    # the 2025 episode as the model's scenario has it, numbered
    "history-2025",
])
def test_event_labels_and_key_never_overlap(events, tmp_path):
    if events == "history-2025":
        events = abm.load("history-2025").events
    fig, axes = _figure_with(events)
    plots.layout(fig, events)  # what plots.save does before writing the PNG
    fig.savefig(tmp_path / "f.png", dpi=plots.DPI)
    for ax in axes:
        labels = ax._abm_event_labels
        assert labels
        assert _no_overlap(_boxes(fig, labels)) == []
        # every label stays inside the figure
        width, height = fig.canvas.get_width_height()
        assert all(b.x0 >= 0 and b.x1 <= width + 1 and b.y0 >= 0 for b in _boxes(fig, labels))
    key = [t for t in fig.texts if t.get_text()[:1].isdigit()]
    assert _no_overlap(_boxes(fig, key)) == []
    numbered = plots.labelled_events(events)
    if len(numbered) > 4:
        # numbers on the axes, and each event written in full in the key
        assert {t.get_text() for t in axes[0]._abm_event_labels} == {
            str(n) for n, _ in numbered}
        assert {t.get_text() for t in key} == {
            f"{n}  {e.date:%Y-%m-%d}  {e.label}" for n, e in numbered}
    else:
        assert [t.get_text() for t in axes[0]._abm_event_labels] == [e.label for e in events]
    plots.plt.close(fig)


def test_figures_given_one_span_share_the_date_axis():
    span = (dt.date(2024, 10, 1), dt.date(2026, 6, 30))
    first, axes_a = _figure_with([], span)
    second, axes_b = plots.plt.subplots(1, 1)
    axes_b.plot(pd.date_range("2025-03-01", "2025-05-01", freq="W"), range(9))
    plots.date_axis(axes_b, span)
    assert axes_a[0].get_xlim() == axes_b.get_xlim()
    assert axes_b.get_xlim()[0] == plots.mdates.date2num(pd.Timestamp("2024-10-01"))
    plots.plt.close(first)
    plots.plt.close(second)
