"""Issue 25's probes: one writer per --out folder, refusals of unwritable or odd --out targets
with one line and no staging folder left, and Dask's documented commands and a worker-less
scheduler."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from abm import output
from abm.cli import main
from abm.output import OutputError, writer_lock

ROOT = Path(__file__).resolve().parents[1]
ABM = Path(sys.executable).parent / "abm"
DASK = Path(sys.executable).parent / "dask"


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".abm-" in p.name)


# --- one writer per folder ------------------------------------------------------------------


def test_a_run_into_a_folder_another_run_holds_stops_with_one_line(tmp_path, capsys):
    out = tmp_path / "same"
    with writer_lock(out):
        assert main(["run", "baseline-2024", "--until", "2024-02-01", "--out", str(out)]) == 2
        line = one_error_line(capsys)
    assert re.fullmatch(rf"abm: error: {re.escape(str(out))}: another abm run is writing into "
                        rf"this folder \(process {os.getpid()} on .+, started .+\); wait for it "
                        "to finish or choose another --out folder", line)
    assert not out.exists() and leftovers(tmp_path) == []
    assert main(["run", "baseline-2024", "--until", "2024-02-01", "--out", str(out),
                 "--quiet"]) == 0
    assert (out / "manifest.json").is_file() and leftovers(tmp_path) == []


def test_two_concurrent_runs_into_one_folder_one_succeeds_the_other_exits_2(tmp_path):
    out = tmp_path / "same"
    command = [str(ABM), "run", "history-2025", "--out", str(out), "--quiet"]
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    results = [(run.returncode, out, err) for run, (out, err) in zip(runs, outputs, strict=True)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    _, _, err = next(r for r in results if r[0] == 2)
    assert len(err.strip().splitlines()) == 1
    assert "another abm run is writing into this folder" in err and str(out) in err
    assert (out / "manifest.json").is_file() and leftovers(tmp_path) == []


def test_the_lock_file_is_removed_and_folders_made_for_nothing_are_removed(tmp_path):
    out = tmp_path / "new" / "deep" / "run"
    with pytest.raises(KeyboardInterrupt), writer_lock(out):
        assert (out.parent / ".run.abm-lock").is_file()
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


# --- --out targets that cannot be written ---------------------------------------------------


def test_a_read_only_out_is_refused_before_the_run_naming_it(tmp_path, capsys, monkeypatch):
    parent = tmp_path / "ro"
    parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(output.os, "access",
                        lambda path, mode: Path(path) != parent and real_access(path, mode))
    out = parent / "x"
    assert main(["run", "baseline-2024", "--until", "2024-02-01", "--out", str(out)]) == 2
    assert one_error_line(capsys) == (f"abm: error: {out}: expected a folder abm can write in, "
                                      f"but it is read-only ({parent} is read-only); choose "
                                      "another output folder")
    assert list(parent.iterdir()) == []


def test_a_write_that_fails_names_the_out_and_leaves_no_staging(tmp_path, capsys, monkeypatch):
    out = tmp_path / "x"
    real_rename = Path.rename

    def rename(self, target):
        if Path(target) == out:
            raise PermissionError(13, "Permission denied", str(self))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    assert main(["run", "baseline-2024", "--until", "2024-02-01", "--out", str(out),
                 "--quiet"]) == 2
    line = one_error_line(capsys)
    assert line == (f"abm: error: {out}: expected a folder abm can write in, but writing there "
                    "failed (Permission denied); choose another output folder")
    assert ".abm-" not in line
    assert list(tmp_path.iterdir()) == []


def test_a_failed_replace_puts_the_old_run_back(tmp_path, monkeypatch):
    out = tmp_path / "x"
    assert main(["run", "baseline-2024", "--until", "2024-02-01", "--out", str(out),
                 "--quiet"]) == 0
    before = sorted(p.name for p in out.iterdir())
    real_rename = Path.rename

    def rename(self, target):
        if Path(target) == out and not self.name.endswith("-old"):
            raise OSError(28, "No space left on device", str(self))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    assert main(["run", "baseline-2024", "--until", "2024-02-01", "--out", str(out),
                 "--quiet"]) == 2
    assert sorted(p.name for p in out.iterdir()) == before
    assert leftovers(tmp_path) == []


def test_a_symlink_to_a_folder_as_out_is_called_a_link(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    assert main(["run", "baseline-2024", "--out", str(link)]) == 2
    assert one_error_line(capsys) == (f"abm: error: {link}: expected a folder, but it is a "
                                      "symbolic link (to a folder); name the folder itself or "
                                      "choose another output folder")
    with pytest.raises(OutputError, match="symbolic link"):
        output.check_target(link)


# --- Dask -------------------------------------------------------------------------------------


def documented_commands(program: str, docs: list[Path] | None = None) -> list[list[str]]:
    """Every `dask PROGRAM ...` command line of the docs' and the README's code blocks
    (continuation lines joined), as argument lists."""
    commands = []
    for doc in docs or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"\\\n\s*", " ", doc.read_text())
        for line in text.splitlines():
            match = re.match(rf"\s*((?:\.venv/bin/)?dask {program}\b[^#]*)", line)
            if match:
                commands.append(match.group(1).split())
    return commands


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


@pytest.mark.parametrize("program", ["scheduler", "worker"])
def test_documented_dask_commands_name_an_address_for_every_port(program):
    commands = documented_commands(program)
    assert len(commands) >= 3, commands  # cluster.md, sweeps.md, README
    for command in commands:
        assert option(command, "--host"), command  # comm (and nanny) ports: one address
        dashboard = option(command, "--dashboard-address")
        assert dashboard and dashboard.startswith("127.0.0.1:"), command  # HTTP: this machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _listening(pids: set[int]) -> list[str]:
    """Local addresses on which processes `pids` listen (TCP), from `ss -ltnp`."""
    table = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in table.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.append(line.split()[3])
    return found


def _tree(process: subprocess.Popen) -> set[int]:
    import psutil

    try:
        parent = psutil.Process(process.pid)
        return {process.pid, *(child.pid for child in parent.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def _local(command: list[str], port: int, http: int) -> list[str]:
    """A documented command for one machine: every address 127.0.0.1, `$(nproc)` one."""
    text = " ".join(command).replace("$(nproc)", "1").replace(":8786", f":{port}")
    text = text.replace("--port 8786", f"--port {port}")
    text = text.replace("127.0.0.1:8787", f"127.0.0.1:{http}")
    text = re.sub(r"10\.0\.0\.\d+", "127.0.0.1", text)
    return [str(DASK), *text.split()[1:]]


@pytest.mark.skipif(shutil.which("ss") is None or not DASK.exists(),
                    reason="needs `ss` and the dask command")
def test_documented_cluster_listens_on_loopback_only_and_a_sweep_without_workers_says_so(
        tmp_path):
    from abm.sweep import run_sweep
    from abm.sweep.runner import SchedulerError
    from tests.sweep.conftest import SMOKE

    recipe = [ROOT / "docs" / "cluster.md"]
    [scheduler_cmd] = documented_commands("scheduler", recipe)
    [worker_cmd] = documented_commands("worker", recipe)
    port, http = _free_port(), _free_port()
    processes: list[subprocess.Popen] = []
    try:
        with (tmp_path / "scheduler.log").open("wb") as log:
            processes.append(subprocess.Popen(_local(scheduler_cmd, port, http), stdout=log,
                                              stderr=subprocess.STDOUT, cwd=tmp_path))
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert time.monotonic() < deadline and processes[0].poll() is None
            time.sleep(0.2)
        address = f"tcp://127.0.0.1:{port}"
        started = time.monotonic()
        with pytest.raises(SchedulerError) as idle:
            run_sweep(SMOKE, tmp_path / "sweep", scheduler=address, progress=False,
                      scheduler_timeout=3)
        assert time.monotonic() - started < 60
        message = str(idle.value)
        assert len(message.splitlines()) == 1
        assert message.startswith(f"the Dask scheduler {address} has had no worker for 3 s; "
                                  "expected workers")
        assert "0 of 12 runs are kept" in message

        with (tmp_path / "worker.log").open("wb") as log:
            processes.append(subprocess.Popen(_local(worker_cmd, port, http), stdout=log,
                                              stderr=subprocess.STDOUT, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=90)
        pids = set().union(*(_tree(p) for p in processes))
        addresses = _listening(pids)
        assert len(addresses) >= 5, addresses  # scheduler, its HTTP; worker, nanny, HTTP
        assert all(a.startswith("127.0.0.1:") for a in addresses), addresses
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
