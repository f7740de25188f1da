"""Tables as written to disk: typed dates, sorted rows, units and full precision.

A run's tables (`Result.weekly`, `.prices`, ...) hold a week number and the week's first day as
text (`date`). Written to a folder (`abm.output.write_run`) each series becomes:

- dated by real dates: weekly tables by `week_start` (the first day of the simulated week) and
  monthly ones by `month` (a calendar month), never a mix of the two in one column;
- sorted by date, then by their key columns (good, country, sector, ...);
- given units: every column's unit is in the folder's `units.csv` (file, column, unit, type)
  and, in Parquet files, in the field's metadata (`unit`);
- written in full precision: a float read back from the CSV equals the float written.

`read_table(path)` reads such a file back with its dates typed and its units in `attrs`
(`frame.attrs["units"]`, a dict column -> unit; pandas drops `attrs` on most operations, so
keep the dict if you need it). `unit_of(column, file)` gives one column's unit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

UNITS_FILE = "units.csv"

# Columns whose unit is not told by their suffix, or that hold a stock (tonnes at the end of a
# week) rather than a flow (tonnes a week).
_NAMED = {
    "week": "week number (1 = the run's first week)",
    "week_start": "date (first day of the simulated week)",
    "month": "calendar month",
    "start": "date (first day of the first halted week)",
    "weeks": "weeks",
    "buyers": "buyers (count)",
    "buyers_halted": "buyers (count)",
    "buyer_id": "id",
    "cover_weeks": "weeks of usual demand",
    "pain": "share (0-1)",
    "access": "share (0-1)",
    "self_sufficiency": "share (0-1)",
    "hs_code": "HS code",
}
_STOCK_WORDS = ("inventory", "stock", "backlog", "queued")
_TEXT = "text"


def _per_period(file: str) -> str:
    if file.startswith("customs_monthly"):
        return " per month"
    if file.startswith("shipments"):
        return ""  # one shipment
    return " per week"


def unit_of(column: str, file: str = "weekly.csv", quantity_unit: str = "t") -> str:
    """The unit of `column` in the table file `file` (a name abm writes, e.g. `weekly.csv`):
    `t per week` for weekly flows, `t` for stocks, `USD per month` for monthly values, ...;
    empty for a text column. `quantity_unit` is the unit goods are counted in (`t`)."""
    if column in _NAMED:
        return _NAMED[column]
    stock = any(word in column for word in _STOCK_WORDS)
    per = "" if stock else _per_period(file)
    if column.endswith("_usd_per_kg"):
        return "USD/kg"
    if column.endswith("_share"):
        return "share (0-1)"
    if column.endswith("_usd"):
        return "USD" + per
    if column.endswith("_t"):
        return quantity_unit + per
    if column.endswith("_units"):
        return "chips (units)" + per
    if column.endswith("_n"):
        return "count" + per
    if column.endswith("_weeks"):
        return "weeks"
    return ""


def _quantity_unit(units: dict[str, str] | None) -> str:
    """`t` when every good is counted in tonnes, else a pointer to each good's unit."""
    values = set((units or {}).values()) or {"t"}
    return "t" if values == {"t"} else "the good's unit (manifest units)"


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a run table with typed dates, sorted: `date` (a week's first day, text)
    becomes `week_start` (datetime64), `month` (`YYYY-MM`) a datetime64 on the month's first
    day, `start` a datetime64; rows sorted by date then by the text key columns."""
    out = frame.copy()
    if "date" in out.columns:
        position = out.columns.get_loc("date")
        out.insert(position, "week_start", pd.to_datetime(out.pop("date"), format="ISO8601"))
    for column in ("month", "start"):
        if column in out.columns and not pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = pd.to_datetime(out[column], format="ISO8601")
    keys = [c for c in ("week_start", "month", "week") if c in out.columns]
    keys += [c for c in out.columns if c not in keys and _is_text(out[c])]
    if keys and len(out):
        out = out.sort_values(keys, kind="stable", ignore_index=True)
    return out


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's type as `units.csv` states it: date, month, integer, number or text."""
    kinds = {}
    for column in frame.columns:
        values = frame[column]
        if column == "month":
            kinds[column] = "month (YYYY-MM)"
        elif pd.api.types.is_datetime64_any_dtype(values):
            kinds[column] = "date (YYYY-MM-DD)"
        elif pd.api.types.is_bool_dtype(values):
            kinds[column] = "boolean"
        elif pd.api.types.is_integer_dtype(values):
            kinds[column] = "integer"
        elif pd.api.types.is_numeric_dtype(values):
            kinds[column] = "number"
        else:
            kinds[column] = _TEXT
    return kinds


def to_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a typed table as CSV: ISO dates (months as `YYYY-MM`), floats in full precision
    (the shortest text that reads back as the same float), no index."""
    out = frame.copy()
    if "month" in out.columns and pd.api.types.is_datetime64_any_dtype(out["month"]):
        out["month"] = out["month"].dt.strftime("%Y-%m")
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)


def to_parquet(frame: pd.DataFrame, path: Path, units: dict[str, str]) -> None:
    """Write a typed table as Parquet: dates as `date32`, each field's unit in its metadata
    (`unit`), and the whole mapping in the schema metadata (`abm.units`, JSON)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.date
    table = pa.Table.from_pandas(out, preserve_index=False)
    fields = []
    for field in table.schema:
        kind = pa.date32() if field.name in frame and pd.api.types.is_datetime64_any_dtype(
            frame[field.name]) else field.type
        fields.append(pa.field(field.name, kind, field.nullable,
                               metadata={"unit": units.get(field.name, "")}))
    metadata = dict(table.schema.metadata or {})
    metadata[b"abm.units"] = json.dumps(units).encode()
    schema = pa.schema(fields, metadata=metadata)
    pq.write_table(table.cast(schema), path)


def parquet_units(path: Path) -> dict[str, str]:
    """The unit of each field of a Parquet file abm wrote (from the field metadata)."""
    schema = pq.read_schema(path)
    return {field.name: (field.metadata or {}).get(b"unit", b"").decode() for field in schema}


def units_rows(file: str, frame: pd.DataFrame, good_units: dict[str, str] | None = None
               ) -> list[dict]:
    """The `units.csv` rows of one written table."""
    quantity = _quantity_unit(good_units)
    kinds = column_types(frame)
    return [{"file": file, "column": column, "unit": unit_of(column, file, quantity),
             "type": kinds[column]} for column in frame.columns]


def read_table(path: Path) -> pd.DataFrame:
    """A table abm wrote (CSV or Parquet), read back with typed dates (`week_start`, `start`
    as datetime64; `month` as datetime64 on the month's first day) and its units in
    `attrs["units"]` (from the folder's `units.csv`, or the Parquet field metadata)."""
    path = Path(path)
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        units = parquet_units(path)
    else:
        frame = pd.read_csv(path, dtype={"month": str, "hs_code": str}, keep_default_na=True)
        units = {}
        sidecar = path.parent / UNITS_FILE
        if sidecar.is_file():
            listed = pd.read_csv(sidecar, dtype=str, keep_default_na=False)
            rows = listed[listed["file"] == path.name]
            units = dict(zip(rows["column"], rows["unit"], strict=True))
    for column in ("week_start", "start", "month"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    frame.attrs["units"] = units
    return frame
