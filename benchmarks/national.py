"""``make bench-national``: a region of Great Britain's order, run on Dask, on this machine.

1. Generates the synthetic ``national`` size once into ``benchmarks/regions/national/``
   (git-ignored): about 8 million road-graph edges and 2,000 sites on a 200 km square.
2. Runs ``configure`` and every stage as its own ``python -m pipeline <stage>`` process
   with ``--executor dask`` (a LocalCluster with one worker per core, or ``--scheduler``),
   recording per stage: wall time, in-process time, the peak resident memory of the
   stage's own process (the driver, from its log) and of the whole process tree
   (``ru_maxrss`` from ``wait4``), each Dask worker's peak and the number of tasks.
3. Checks that the 1M-edge region's routes are identical under both executors
   (``route_links`` run with ``--executor local`` and ``--executor dask`` on the same
   inputs; the three files compared byte for byte).

Writes ``benchmarks/results/<date>-<machine>-national.csv`` and prints a Markdown table.

Usage::

    python benchmarks/national.py [--scheduler tcp://host:8786] [--skip-1m-check]
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import re
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

STAGE_TIMEOUT_S = 3 * 3600.0
LIMIT_MB = 6 * 1024  # no single process over 6 GB (issue 12)
ROUTE_FILES = ("routes.parquet", "attachments.parquet", "route_segments.parquet")
DRIVER = re.compile(r"done in ([0-9.]+) s; peak memory of this process ([0-9.]+) MB")
WORKERS = re.compile(r"Dask workers' peak memory: (.+)$", re.M)
TASKS = re.compile(r": (\d+) tasks on ", re.M)


def _log(root: Path, stage: str) -> str:
    path = root / "outputs" / bench.REGION / "logs" / f"{stage}.log"
    return path.read_text() if path.is_file() else ""


def stage_record(stage: str, child: bench.Child, log: str) -> dict:
    """One stage's row: times, memory of driver, tree and workers, tasks."""
    driver = DRIVER.findall(log)
    workers = [
        float(mb) for line in WORKERS.findall(log) for mb in re.findall(r"([0-9.]+) MB", line)
    ]
    tasks = sum(int(n) for n in TASKS.findall(log))
    return {
        "stage": stage,
        "status": "ok" if child.returncode == 0 else f"exit {child.returncode}",
        "wall_s": round(child.wall_s, 2),
        "inproc_s": float(driver[-1][0]) if driver else float("nan"),
        "driver_peak_mb": float(driver[-1][1]) if driver else float("nan"),
        "tree_peak_mb": round(child.rss_mb),
        "worker_peak_mb": max(workers) if workers else float("nan"),
        "workers": len(workers),
        "tasks": tasks,
    }


def run_region(root: Path, python: str, executor: list[str]) -> list[dict]:
    """configure and every stage in turn, each its own process; stop at a failure."""
    shutil.rmtree(root / "data" / "interim", ignore_errors=True)
    shutil.rmtree(root / "outputs", ignore_errors=True)
    rows = []
    for step in ("configure", *bench.STAGES):
        cmd = bench._stage_cmd(python, step) + ([] if step == "configure" else executor)
        print(f"[national] {step} ...", flush=True)
        child = bench.run_child(cmd, cwd=root, timeout_s=STAGE_TIMEOUT_S)
        rows.append(stage_record(step, child, _log(root, step)))
        print(f"[national] {rows[-1]}", flush=True)
        if child.returncode != 0:
            rows[-1]["error"] = bench._tail(child.stderr, 3)
            break
    return rows


def check_1m_routes(python: str, regions_dir: Path, seed: int) -> str:
    """Route the 1M region with each executor; 'identical' or what differs."""
    root, _, _ = bench.prepare_region("1m", regions_dir, seed)
    interim = root / "data" / "interim" / bench.REGION
    for step in ("configure", *bench.STAGES[: bench.STAGES.index("route_links")]):
        child = bench.run_child(bench._stage_cmd(python, step), cwd=root)
        if child.returncode != 0:
            return f"{step} failed: {bench._tail(child.stderr, 2)}"
    got = {}
    for kind in ("local", "dask"):
        cmd = [*bench._stage_cmd(python, "route_links"), "--executor", kind]
        child = bench.run_child(cmd, cwd=root)
        if child.returncode != 0:
            return f"route_links --executor {kind} failed: {bench._tail(child.stderr, 2)}"
        keep = root / f"routes-{kind}"
        keep.mkdir(exist_ok=True)
        for f in ROUTE_FILES:
            shutil.copy(interim / f, keep / f)
        got[kind] = keep
    differ = [
        f for f in ROUTE_FILES if not filecmp.cmp(got["local"] / f, got["dask"] / f, shallow=False)
    ]
    return "identical" if not differ else "differ: " + ", ".join(differ)


def markdown(rows: list[dict]) -> str:
    out = [
        "| Stage | Wall s | In-process s | Driver peak MB | Worker peak MB | Tasks |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        w = "-" if pd.isna(r["worker_peak_mb"]) else f"{r['worker_peak_mb']:,.0f}"
        out.append(
            f"| {r['stage']} | {r['wall_s']:,.1f} | {r['inproc_s']:,.2f} | "
            f"{r['driver_peak_mb']:,.0f} | {w} | {r['tasks'] or '-'} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scheduler", help="a running Dask scheduler; default: a LocalCluster")
    p.add_argument("--skip-1m-check", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--machine", default=socket.gethostname())
    p.add_argument("--regions-dir", type=Path, default=bench.BENCH / "regions")
    p.add_argument("--results-dir", type=Path, default=bench.BENCH / "results")
    args = p.parse_args(argv)
    regions = args.regions_dir.resolve()
    executor = ["--executor", "dask"] + (["--scheduler", args.scheduler] if args.scheduler else [])
    root, _, meta = bench.prepare_region("national", regions, args.seed)
    rows = run_region(root, args.python, executor)
    edges = root / "data" / "interim" / bench.REGION / "graph_edges.parquet"
    n_edges = pq.ParquetFile(edges).metadata.num_rows if edges.is_file() else None
    check = "not run" if args.skip_1m_check else check_1m_routes(args.python, regions, args.seed)
    table = pd.DataFrame(rows)
    table.insert(0, "size", "national")
    table.insert(1, "graph_edges", n_edges)
    table.insert(2, "sites", meta.get("sites"))
    table["routes_1m_local_vs_dask"] = check
    machine = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.machine)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{dt.date.today().isoformat()}-{machine}-national.csv"
    table.to_csv(out, index=False)
    ok = [r for r in rows if r["status"] == "ok"]
    total = sum(r["wall_s"] for r in ok)
    biggest = float(
        np.nanmax([[r["driver_peak_mb"], r["worker_peak_mb"], 0.0] for r in ok] or [0.0])
    )
    print(markdown(rows))
    print(
        f"\n[national] {n_edges or '?'} graph edges, {meta.get('sites')} sites; "
        f"{len(ok)} of {len(bench.STAGES) + 1} steps ran, {total:,.0f} s in all; "
        f"largest process {biggest:,.0f} MB (limit {LIMIT_MB:,} MB); "
        f"1M routes local vs dask: {check}. Wrote {out}"
    )
    return 0 if len(ok) == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
