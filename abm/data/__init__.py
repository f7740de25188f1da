"""Sourced figures shipped with the package (copies of the project's shared data; each row
names its source). See SOURCES.md in this folder."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd


def table(name: str) -> pd.DataFrame:
    """One of the shipped CSV tables by file stem, e.g. `magnet_exports_china_monthly`."""
    with files(__package__).joinpath(f"{name}.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def observed_magnet_exports() -> pd.DataFrame:
    """China's monthly magnet exports (t): columns month (YYYY-MM), destination (ALL or USA),
    observed_t, basis (reported or derived), source. Only calendar months, not H1/FY rows."""
    raw = table("magnet_exports_china_monthly")
    raw = raw[raw["month"].str.fullmatch(r"\d{4}-\d{2}")]
    rows = []
    for _, row in raw.iterrows():
        for destination, column in (("ALL", "exports_total_t"), ("USA", "exports_to_us_t")):
            if row[column]:
                rows.append({"month": row["month"], "destination": destination,
                             "observed_t": float(row[column]), "basis": row["basis"],
                             "source": row["source"]})
    return pd.DataFrame(rows)
