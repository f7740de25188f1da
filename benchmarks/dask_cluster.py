"""A sweep on a Dask cluster started as on several machines, here all on 127.0.0.1: a
`dask scheduler` process, `dask worker` processes (one thread each) and `abm sweep --scheduler`,
each started from the command line as the recipe in docs/cluster.md says. Measures what a
cluster's owner needs to size one:

- each worker's resident memory (peak, sampled every 0.2 s) and its CPU time per run;
- the scheduler's CPU time and peak memory, per task and per run (its load);
- the sweep client's (the parent's) CPU time per run and peak memory: the serial part, since
  every row passes through it and it writes the files;
- the result files' sizes (runs.parquet, the series dataset, in all and per run);
- the runs' own time inside the workers (`elapsed_s`), and the sweep's wall time;

then models how the wall time of a 10,000-run sweep grows with workers from those figures:

    wall(N) = S + R x max(t / N, c_client, c_scheduler / k)

with S the fixed start and end (connect, check the spec, write the design, merge the rows),
t a run's time in a worker, c_client the client's CPU time per run, c_scheduler the
scheduler's CPU time per task and k the runs per task that the engine chooses for N workers.

    .venv/bin/python benchmarks/dask_cluster.py [--runs 1000] [--workers 2]
        [--json results/benchmarks/dask_cluster.json]

The sweep: the benchmark configuration of `sweep_vs_batch_run.py` (April 2025 controls over
52 weeks, 163 buyers, a 10 x 10 grid of approval rate and review time, `--runs / 100`
replications, three weekly series kept).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _bench import RESULTS, check_output, loadavg, now_utc, spread, write
from sweep_vs_batch_run import POINTS, write_inputs

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


class Sampler(threading.Thread):
    """Peak resident memory and last CPU time of every process of a tree, by role."""

    def __init__(self, roles: dict[str, psutil.Process]):
        super().__init__(daemon=True)
        self.roles = roles
        self.peak: dict[str, dict[int, int]] = {r: {} for r in roles}
        self.cpu: dict[str, dict[int, float]] = {r: {} for r in roles}
        self.stop = threading.Event()

    def add(self, role: str, process: psutil.Process) -> None:
        self.peak.setdefault(role, {})
        self.cpu.setdefault(role, {})
        self.roles = {**self.roles, role: process}  # swapped whole: the thread reads a copy

    def sample(self) -> None:
        for role, root in list(self.roles.items()):
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                self.peak[role][proc.pid] = max(self.peak[role].get(proc.pid, 0), rss)
                self.cpu[role][proc.pid] = times.user + times.system

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default=str(RESULTS / "dask_cluster.json"))
    args = parser.parse_args()
    check_output(args.json)
    started = now_utc()
    replications = max(1, args.runs // POINTS)
    runs = replications * POINTS
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        folder = Path(tmp)
        spec = write_inputs(folder, replications)
        port = free_port()
        address = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
        procs = []
        try:
            scheduler = subprocess.Popen(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", "127.0.0.1:0", "--no-dashboard"], cwd=folder, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            procs.append(scheduler)
            wait_for_port(port)
            workers = subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--host", "127.0.0.1",
                 "--dashboard-address", "127.0.0.1:0", "--nthreads", "1", "--nworkers",
                 str(args.workers), "--no-dashboard", "--local-directory", str(folder / "w")],
                cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            procs.append(workers)
            from distributed import Client

            with Client(address, timeout="60s") as client:
                client.wait_for_workers(args.workers, timeout=120)
            time.sleep(1.0)
            sampler = Sampler({"scheduler": psutil.Process(scheduler.pid),
                               "workers": psutil.Process(workers.pid)})
            # The scheduler's own CPU use while idle (heartbeats, its loops), to tell it from
            # the work the sweep gives it.
            sampler.sample()
            idle_cpu0, idle_t0 = sum(sampler.cpu["scheduler"].values()), time.perf_counter()
            time.sleep(5.0)
            sampler.sample()
            idle_rate = ((sum(sampler.cpu["scheduler"].values()) - idle_cpu0)
                         / (time.perf_counter() - idle_t0))
            cpu_before = {r: dict(c) for r, c in sampler.cpu.items()}
            sampler.start()
            load_before = loadavg()
            out = folder / "sweep"
            t0 = time.perf_counter()
            client_proc = subprocess.Popen(
                [str(BIN / "abm"), "sweep", str(spec), "--out", str(out), "--scheduler",
                 address, "--no-progress"], cwd=folder, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            sampler.add("client", psutil.Process(client_proc.pid))
            stdout, stderr = client_proc.communicate()
            wall = time.perf_counter() - t0
            load_after = loadavg()
            sampler.stop.set()
            sampler.join()
            if client_proc.returncode != 0:
                raise RuntimeError(f"abm sweep failed ({client_proc.returncode}):\n{stderr}")
            sampler.sample()
            import pyarrow.parquet as pq

            table = pq.read_table(out / "runs.parquet", columns=["status", "elapsed_s"])
            statuses = table.column("status").to_pylist()
            elapsed = table.column("elapsed_s").to_numpy()
            sizes = {"runs.parquet": (out / "runs.parquet").stat().st_size,
                     "series": sum(f.stat().st_size for f in (out / "series").rglob("*")
                                   if f.is_file()),
                     "design.parquet": (out / "design.parquet").stat().st_size,
                     "all": sum(f.stat().st_size for f in out.rglob("*") if f.is_file())}
        finally:
            for proc in procs[::-1]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # the group this script started
            for proc in procs[::-1]:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)

    def used(role: str) -> float:
        return sum(c - cpu_before.get(role, {}).get(pid, 0.0)
                   for pid, c in sampler.cpu[role].items())

    worker_peaks = sorted(sampler.peak["workers"].values())
    # The nannies are small; the workers are the processes that ran the model (the largest).
    model_workers = worker_peaks[-args.workers:]
    ok = statuses.count("ok")
    chunk = max(1, min(16, runs // (args.workers * 16)))
    tasks = -(-runs // chunk)
    t_run = float(elapsed.mean())
    scheduler_cpu, client_cpu, workers_cpu = used("scheduler"), used("client"), used("workers")
    fixed = max(0.0, wall - runs * t_run / args.workers)
    scheduler_work = max(0.0, scheduler_cpu - idle_rate * wall)
    figures = {
        "runs": runs, "ok": ok, "workers": args.workers, "wall_s": wall,
        "load_before": load_before, "load_after": load_after,
        "run_in_worker_s": spread(elapsed.tolist()),
        "workers_cpu_s": workers_cpu, "workers_cpu_per_run_s": workers_cpu / runs,
        "worker_peak_rss_mib": [b / 2**20 for b in model_workers],
        "scheduler_cpu_s": scheduler_cpu, "scheduler_idle_cpu_per_s": idle_rate,
        "tasks": tasks, "runs_per_task": chunk,
        "scheduler_cpu_per_task_ms": 1000 * scheduler_work / tasks,
        "scheduler_peak_rss_mib": max(sampler.peak["scheduler"].values()) / 2**20,
        "client_cpu_s": client_cpu, "client_cpu_per_run_ms": 1000 * client_cpu / runs,
        "client_peak_rss_mib": max(sampler.peak["client"].values(), default=0) / 2**20,
        "file_bytes": sizes, "file_bytes_per_run": {k: v / runs for k, v in sizes.items()},
        "fixed_s": fixed, "stdout": stdout.strip(),
    }
    # The model of wall time against workers for a 10,000-run sweep.
    projection = []
    big = 10_000
    c_client = client_cpu / runs
    c_task = scheduler_work / tasks
    for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        k = max(1, min(16, big // (n * 16)))
        per_run = max(t_run / n, c_client, c_task / k)
        wall_n = fixed + big * per_run
        projection.append({"workers": n, "runs_per_task": k, "wall_s": wall_n,
                           "efficiency": (fixed + big * t_run) / (n * wall_n),
                           "bound": ("workers" if per_run == t_run / n else
                                     "client" if per_run == c_client else "scheduler")})
    path = write(args.json, {
        "benchmark": "dask_cluster", "command": "python benchmarks/dask_cluster.py "
        + " ".join(sys.argv[1:]), "started_utc": started, "finished_utc": now_utc(),
        "figures": figures, "projection_10000_runs": projection,
        "model": "wall(N) = fixed_s + R * max(t / N, c_client, c_scheduler_per_task / k)",
    })
    f = figures
    print(f"{ok}/{runs} runs ok on {args.workers} Dask workers in {wall:.1f} s (load "
          f"{load_before:.2f}->{load_after:.2f}); a run {1000 * t_run:.1f} ms in a worker")
    print(f"worker peak memory {', '.join(f'{m:.0f}' for m in f['worker_peak_rss_mib'])} MiB; "
          f"workers' CPU {1000 * f['workers_cpu_per_run_s']:.1f} ms a run")
    print(f"scheduler: {scheduler_cpu:.2f} s CPU ({idle_rate:.3f} s/s when idle) for {tasks} "
          f"tasks of {chunk} runs ({f['scheduler_cpu_per_task_ms']:.2f} ms a task), peak "
          f"{f['scheduler_peak_rss_mib']:.0f} MiB")
    print(f"client: {client_cpu:.2f} s CPU ({f['client_cpu_per_run_ms']:.2f} ms a run), peak "
          f"{f['client_peak_rss_mib']:.0f} MiB; fixed start and end about {fixed:.1f} s")
    print("files: " + ", ".join(f"{k} {v / 2**20:.2f} MiB ({v / runs:.0f} B a run)"
                                for k, v in sizes.items()))
    print("10,000 runs, modelled:")
    for p in projection:
        print(f"  {p['workers']:5d} workers: {p['wall_s']:8.1f} s, efficiency "
              f"{p['efficiency']:.2f} (bound by {p['bound']}, {p['runs_per_task']} runs a task)")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
