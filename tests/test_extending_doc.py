"""docs/extending.md runs as written: its files are written, its `abm` commands succeed and its
Python blocks run in order, each worked example ending in a check that passes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from abm.cli import main

DOC = Path(__file__).parents[1] / "docs" / "extending.md"
FENCE = re.compile(r"```(\w*)\n(.*?)```", flags=re.S)
EXAMPLES = ("origins", "buyer", "exporter", "chipmaker", "strategy", "material", "extends",
            "reimpose")


def run_doc(workdir: Path) -> dict:
    """Do what the page says, in `workdir` (with `docs/` linked in); return the namespace of
    its Python blocks."""
    (workdir / "docs").symlink_to(DOC.parent, target_is_directory=True)
    namespace: dict = {"__name__": "extending_doc"}
    for language, body in FENCE.findall(DOC.read_text()):
        first = body.splitlines()[0] if body.strip() else ""
        written = re.match(r"#\s*file:\s*(\S+)", first)
        if written and language in ("python", "toml"):
            (workdir / written.group(1)).write_text(body)
        elif language == "sh":
            for line in body.splitlines():
                if line.startswith("abm "):
                    assert main(shlex.split(line)[1:]) == 0, line
        elif language == "python":
            exec(compile(body, str(DOC), "exec"), namespace)
    return namespace


def test_every_worked_example_of_extending_md_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = run_doc(tmp_path)
    passed = {name: namespace.get(f"{name}_example_passed") for name in EXAMPLES}
    assert passed == dict.fromkeys(EXAMPLES, True), capsys.readouterr().out
