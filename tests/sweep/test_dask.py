"""The smoke sweep on a real Dask cluster (a scheduler and two workers on 127.0.0.1) gives the
outcomes of the local process pool."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from abm.sweep import run_sweep
from tests.sweep.conftest import SMOKE
from tests.sweep.test_runner import runs_of, series_of

DASK = Path(sys.executable).parent / "dask"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"dask scheduler not listening on port {port} after {seconds} s")


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """Address of a Dask scheduler with two single-threaded workers, all on 127.0.0.1."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed")
    logs = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = (logs / f"{name}.log").open("wb")
        process = subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        log.close()
        processes.append(process)
        return process

    try:
        scheduler = start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--dashboard-address", "127.0.0.1:0", "--no-dashboard")
        _wait_for_port(port, scheduler, 60)
        for i in range(2):
            start(f"worker{i}", "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                  "--nthreads", "1", "--dashboard-address", "127.0.0.1:0", "--no-dashboard",
                  "--name", f"w{i}")
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_smoke_sweep_on_dask_equals_local_pool(dask_scheduler, tmp_path):
    report = run_sweep(SMOKE, tmp_path / "dask", scheduler=dask_scheduler, progress=False)
    assert (report.ran, report.failed, report.not_done) == (12, 0, 0)
    local = run_sweep(SMOKE, tmp_path / "local", workers=2, progress=False)
    assert local.ran == 12
    pd.testing.assert_frame_equal(runs_of(tmp_path / "dask"), runs_of(tmp_path / "local"))
    pd.testing.assert_frame_equal(series_of(tmp_path / "dask"), series_of(tmp_path / "local"))
    again = run_sweep(SMOKE, tmp_path / "dask", scheduler=dask_scheduler, progress=False)
    assert (again.skipped, again.ran) == (12, 0)
