"""Fingerprint of every output of the built-in scenarios, to show that a change to the model
leaves every number bit for bit as it was (a speed-up must).

Runs every built-in scenario with seed 0, and `baseline-2024` (seed 1) and `history-2025`
(seed 2) with three times their final buyers; hashes (SHA-256, first 16 hex digits) every
table of the run (weekly, prices, production, licences, halt spells, chip sales and access,
payoffs, shipments, customs), the material balance and every array of the recorder. Writes
them to OUT (JSON); with `--compare OLD` prints each difference and exits 1 if there is any.

    .venv/bin/python benchmarks/fingerprint.py OUT.json [--compare OLD.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("weekly", "prices", "production", "licences", "halt_spells", "chip_sales",
          "chip_access", "pain", "shipments", "customs_monthly")


def digest(obj) -> str:
    h = hashlib.sha256()
    if isinstance(obj, pd.DataFrame):
        h.update(pd.util.hash_pandas_object(obj, index=True).values.tobytes())
        h.update(str(list(obj.columns)).encode())
    elif isinstance(obj, np.ndarray):
        h.update(np.ascontiguousarray(obj).tobytes())
    else:
        h.update(json.dumps(obj, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def fingerprint() -> dict:
    import abm
    from abm.scenario import builtin_names, override

    cases = [(name, 0, 1) for name in builtin_names()]
    cases += [("baseline-2024", 1, 3), ("history-2025", 2, 3)]
    out = {}
    for name, seed, factor in cases:
        config = abm.load(name)
        if factor != 1:
            config = override(config, {f"buyers[{i}].count": g.count * factor
                                       for i, g in enumerate(config.buyers) if not g.feeds})
        result = abm.run(config, seed=seed)
        prints = {table: digest(getattr(result, table)) for table in TABLES}
        prints["material_balance"] = digest(result.material_balance())
        for key, value in vars(result.model.recorder).items():
            arrays = value if isinstance(value, dict) else {"": value}
            if key.startswith("_"):  # working buffers, not outputs
                continue
            for sub, array in arrays.items():
                if isinstance(array, np.ndarray):
                    prints[f"recorder.{key}{'.' + str(sub) if sub else ''}"] = digest(array)
        out[f"{name} seed {seed} x{factor}"] = prints
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path, metavar="OLD")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists: name a new file (nothing was overwritten)")
    prints = fingerprint()
    args.out.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}: {len(prints)} runs")
    if args.compare is None:
        return 0
    old = json.loads(args.compare.read_text())
    differ = [(run, item) for run in sorted(set(old) | set(prints))
              for item in sorted(set(old.get(run, {})) | set(prints.get(run, {})))
              if old.get(run, {}).get(item) != prints.get(run, {}).get(item)]
    for run, item in differ:
        print(f"differs: {run}: {item}")
    print(f"{len(differ)} differences against {args.compare}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
