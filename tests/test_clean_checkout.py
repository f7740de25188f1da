"""Running the main job on a clean checkout leaves it clean: the experiments' manifests hold
nothing that changes from one commit to the next. (That the tests themselves change nothing is
checked for the whole session in `conftest.py`; CI runs the README's main command and then
`git status` in `.ci/run`.)"""

from __future__ import annotations

import json
from pathlib import Path

from abm import reproduce

REPO = Path(__file__).resolve().parent.parent
E01 = REPO / "results" / "e01_history_2025"


def test_an_experiment_manifest_is_the_same_on_every_commit(monkeypatch):
    args = ("e01_history_2025", "history-2025", 1, [5, 6], ["downstream_2025.csv"])
    first = reproduce.manifest(*args, quick=False)
    monkeypatch.setattr("abm.output.git_commit", lambda: "0" * 40)
    assert reproduce.manifest(*args, quick=False) == first
    assert not {"git_commit", "seconds", "date", "time"} & set(first)


def test_rerunning_e01_rewrites_its_committed_manifest_byte_for_byte():
    committed = (E01 / "manifest.json").read_text()
    info = json.loads(committed)
    data = [entry["file"].removeprefix("abm/data/") for entry in info["data_files"]]
    again = reproduce.manifest(info["experiment"], info["scenario"], info["root_seed"],
                               info["seeds"], data, quick=info["quick"])
    assert json.dumps(again, indent=2) + "\n" == committed
