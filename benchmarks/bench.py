"""``make bench``: time the pipeline on synthetic regions against an osmnx baseline.

For each size (``10k``, ``100k``, ``1m`` road edges) the harness

1. generates the region once into ``benchmarks/regions/<size>/`` (git-ignored): the
   generator's files under ``data/raw/synthetic/`` and a region file
   ``data/regions/synthetic.yml`` (the keys of the shipped ``data/regions/synthetic.yml``
   with the generator's bbox);
2. runs the pipeline ``--runs`` times from scratch (``data/interim`` and ``outputs``
   deleted first): ``configure`` and then every stage of ``pipeline.stages.STAGES`` as a
   separate ``python -m pipeline <stage> --region synthetic`` process in that root, the
   command ``make`` runs (``pipeline`` in the root is a link to the repository's
   package), recording each process's wall time and peak resident memory (``ru_maxrss``
   from ``os.wait4``);
3. runs the osmnx baseline (``benchmarks/baseline_osmnx.py``) on the same roads, sites
   and zones, with a timeout, and the correctness comparison on the sizes in
   ``--check-sizes``;
4. runs the repository's Makefile in that root: ``make all`` once to settle, a second
   time to time a no-op rerun, then with ``routing.max_link_length_m`` changed, to
   record which stages rerun (the region file is restored afterwards).

Results go to ``benchmarks/results/<date>-<machine>.csv`` (and ``...-correctness-<size>.csv``)
and a summary to ``benchmarks/results/README.md``. See ``benchmarks/README.md``.

Usage::

    python benchmarks/bench.py [--sizes 10k 100k 1m] [--runs 3] [--baseline-timeout-s 1800]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.datasets import synthetic  # noqa: E402
from pipeline.stages import STAGE_NAMES as STAGES  # noqa: E402

BENCH = REPO / "benchmarks"
REGION = "synthetic"
SIZES = ("10k", "100k", "1m")
SAME_JOB = ("ingest_sources", "ingest_roads", "build_road_graph", "route_links")
"""Stages doing the baseline's job: read sites and roads, build the graph, route pairs."""
CHANGED_MAX_LINK_M = 2500.0
RAW_FILES = ("roads.gpkg", "heat_demand.tif", "sites.csv")
EXACT_TOL_M = 0.01

# Targets of issue 6.
TARGET_1M_S = 180.0
DESIGN_SHARE_1M = 0.10  # design_networks under 10 % of end to end (issue 11)
TARGET_1M_MB = 4096.0
TARGET_RATIO_100K = 20.0
TARGET_NOOP_S = 2.0
# Targets of issue 12.
TARGET_1M_12_S = 30.0
TARGET_1M_12_MB = 1536.0
TARGET_10K_S = 4.0
TARGET_REPORT_1M_S = 5.0


# --- running children --------------------------------------------------------------------


@dataclass
class Child:
    """One finished child process."""

    wall_s: float
    rss_mb: float
    returncode: int
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    inproc_s: float = float("nan")


# Runs one command in a fresh, small interpreter that forks it and reports its rusage.
# Linux carries the RSS high-water mark of the process that forks over exec into the
# child's ru_maxrss, so forking stages from this harness (geopandas loaded, hundreds of
# MB) would report the harness's size for every small stage.
_LAUNCHER = """
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
code = os.waitstatus_to_exitcode(status)
with open(out, "w") as f:
    json.dump({"wall_s": wall, "maxrss_kb": usage.ru_maxrss, "code": code}, f)
sys.exit(code if code >= 0 else 1)
"""


def run_child(cmd: Sequence[str], *, cwd: Path, timeout_s: float | None = None) -> Child:
    """Run ``cmd``; return its wall time and peak RSS (``ru_maxrss`` of that process).

    The command runs under a small launcher (``python -I -S``, about 10 MB) in a new
    session; on timeout the whole session is killed.
    """
    with (
        open(os.devnull, "rb") as stdin,
        _tempfile("out") as out,
        _tempfile("err") as err,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        usage_path = Path(tmp) / "usage.json"
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(usage_path)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*launcher, *cmd],
            cwd=cwd,
            stdin=stdin,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher's own session
            proc.wait()
            timed_out = True
        wall = time.perf_counter() - t0
        usage = json.loads(usage_path.read_text()) if usage_path.is_file() else {}
        out.seek(0)
        err.seek(0)
        return Child(
            wall_s=usage.get("wall_s", wall),
            rss_mb=usage.get("maxrss_kb", float("nan")) / 1024,  # KB on Linux
            returncode=usage.get("code", proc.returncode),
            timed_out=timed_out,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def _tempfile(tag: str) -> IO[bytes]:
    return tempfile.TemporaryFile(prefix=f"bench-{tag}-")


def _tail(text: str, n: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-n:])


# --- regions -----------------------------------------------------------------------------


def _generator_hash() -> str:
    return hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest()[:16]


def prepare_region(size: str, regions_dir: Path, seed: int) -> tuple[Path, Path, dict]:
    """Generate the region once; return its root, region file and metadata."""
    root = regions_dir / size
    raw = root / "data" / "raw" / REGION
    yml = root / "data" / "regions" / f"{REGION}.yml"
    meta_path = root / "region.json"
    want = {"size": size, "seed": seed, "generator": _generator_hash()}
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    fresh = all(meta.get(k) == v for k, v in want.items()) and all(
        (raw / f).is_file() for f in RAW_FILES
    )
    if not fresh:
        print(f"[bench] generating the {size} region into {root}", flush=True)
        t0 = time.perf_counter()
        region = synthetic.generate(size, seed)
        synthetic.write_region(region, raw)
        meta = {
            **want,
            "bbox": list(region.bbox),
            "road_lines": len(region.roads),
            "sites": len(region.sites),
            "demand_cells": int(np.count_nonzero(region.demand)),
            "generated_s": round(time.perf_counter() - t0, 1),
        }
        meta_path.write_text(json.dumps(meta, indent=1))
    cfg = yaml.safe_load((REPO / "data" / "regions" / f"{REGION}.yml").read_text())
    cfg["region"]["bbox"] = meta["bbox"]
    cfg["region"]["bbox_crs"] = 27700
    text = (
        f"# Written by benchmarks/bench.py: data/regions/{REGION}.yml with the bbox of the\n"
        f"# generated {size} region (seed {seed}).\n" + yaml.safe_dump(cfg, sort_keys=False)
    )
    yml.parent.mkdir(parents=True, exist_ok=True)
    if not yml.is_file() or yml.read_text() != text:
        yml.write_text(text)
    # The repository's Makefile runs in the root: it needs the package and pyproject.toml.
    for name in ("pipeline", "pyproject.toml"):
        link = root / name
        if not link.is_symlink():
            link.symlink_to(REPO / name)
    return root, yml, meta


# --- the pipeline ------------------------------------------------------------------------


def _stage_cmd(python: str, stage: str) -> list[str]:
    """The command ``make`` runs for a stage (in the region's root, where ``pipeline``
    links to the repository's package)."""
    return [python, "-m", "pipeline", stage, "--region", REGION]


def _inproc_seconds(root: Path, stage: str) -> float:
    log = root / "outputs" / REGION / "logs" / f"{stage}.log"
    found = re.findall(r"done in ([0-9.]+) s", log.read_text()) if log.is_file() else []
    return float(found[-1]) if found else float("nan")


def run_pipeline(python: str, root: Path) -> dict[str, Child | str]:
    """One run from scratch: configure, then every stage; stop at the first failure."""
    shutil.rmtree(root / "data" / "interim", ignore_errors=True)
    shutil.rmtree(root / "outputs", ignore_errors=True)
    out: dict[str, Child | str] = {}
    for step in ("configure", *STAGES):
        child = run_child(_stage_cmd(python, step), cwd=root)
        if child.returncode != 0:
            out[step] = f"failed (exit {child.returncode}): {_tail(child.stderr, 3)}"
            break
        child.stdout = child.stderr = ""
        child.inproc_s = _inproc_seconds(root, step)
        out[step] = child
    return out


def run_all_in_one(python: str, root: Path) -> Child:
    """One run from scratch of every stage in one process (``heatlink all``): Python and
    the packages start once, where ``make all`` starts a process per stage."""
    shutil.rmtree(root / "data" / "interim", ignore_errors=True)
    shutil.rmtree(root / "outputs", ignore_errors=True)
    child = run_child([python, "-m", "pipeline", "all", "--region", REGION], cwd=root)
    child.stdout = child.stderr = ""
    return child


# --- the baseline ------------------------------------------------------------------------


def _baseline_cmd(python: str, root: Path, out: Path) -> list[str]:
    raw = root / "data" / "raw" / REGION
    return [
        python,
        str(BENCH / "baseline_osmnx.py"),
        "--roads",
        str(raw / "roads.gpkg"),
        "--sites",
        str(raw / "sites.csv"),
        "--zones",
        str(root / "data" / "interim" / REGION / "demand_zones.parquet"),
        "--out",
        str(out),
    ]


def run_baseline(
    python: str, root: Path, runs: int, timeout_s: float
) -> tuple[list[Child], list[dict]]:
    """Up to ``runs`` timed runs; stop repeating after a failure or a run over 5 minutes."""
    children, infos = [], []
    for i in range(runs):
        print(f"[bench]   baseline run {i + 1}/{runs}", flush=True)
        child = run_child(
            _baseline_cmd(python, root, root / "baseline" / "pairs.csv"),
            cwd=REPO,
            timeout_s=timeout_s,
        )
        children.append(child)
        if child.returncode != 0:
            break
        infos.append(json.loads(child.stdout.strip().splitlines()[-1]))
        if child.wall_s > 300:
            break
    return children, infos


# --- correctness -------------------------------------------------------------------------


def compare_with_baseline(
    python: str, root: Path, max_link_m: float, max_snap_m: float
) -> pd.DataFrame:
    """Run the baseline's check mode and classify every pair (see benchmarks/README.md)."""
    interim = root / "data" / "interim" / REGION
    pairs_csv = root / "baseline" / "check_pairs.csv"
    check_csv = root / "baseline" / "check.csv"
    cmd = _baseline_cmd(python, root, pairs_csv) + [
        "--check-routes",
        str(interim / "routes.parquet"),
        "--check-attachments",
        str(interim / "attachments.parquet"),
        "--check-out",
        str(check_csv),
    ]
    child = run_child(cmd, cwd=REPO)
    if child.returncode != 0:
        raise RuntimeError(f"baseline check failed: {_tail(child.stderr)}")
    routes = gpd.read_parquet(interim / "routes.parquet")
    routes = pd.DataFrame(routes[routes["sink_kind"] == "zone"].drop(columns="geometry"))
    base = pd.read_csv(pairs_csv, dtype={"site_id": str, "zone_id": str})
    check = pd.read_csv(check_csv, dtype={"site_id": str, "zone_id": str})
    base = base.merge(check, on=["site_id", "zone_id"], how="left")
    df = routes.merge(
        base, on=["site_id", "zone_id"], how="outer", suffixes=("", "_b"), indicator=True
    )
    df["outcome"] = df["reason"].fillna("routed")
    df.loc[df["_merge"] == "right_only", "outcome"] = "not a pipeline pair"
    rows = [_classify(r, max_link_m, max_snap_m) for r in df.itertuples(index=False)]
    df["status"], df["explanation"] = zip(*rows, strict=True) if rows else ([], [])
    df["diff_network_m"] = df["network_length_m_b"] - df["network_length_m"]
    df["diff_route_m"] = df["route_length_m_b"] - df["route_length_m"]
    df["tol_straight_m"] = df["site_end_straight_m"] + df["zone_end_straight_m"]
    df["tol_roads_m"] = df["site_end_net_m"] + df["zone_end_net_m"]
    keep = [
        "site_id",
        "zone_id",
        "outcome",
        "status",
        "straight_distance_m",
        "route_length_m",
        "network_length_m",
        "site_spur_m",
        "zone_spur_m",
        "recomputed_network_m",
        "route_length_m_b",
        "network_length_m_b",
        "site_snap_m",
        "zone_snap_m",
        "diff_network_m",
        "diff_route_m",
        "site_end_straight_m",
        "zone_end_straight_m",
        "tol_straight_m",
        "site_end_net_m",
        "zone_end_net_m",
        "tol_roads_m",
        "to_zone_m",
        "zone_node_inside",
        "via_zone_node_m",
        "explanation",
    ]
    return df[keep].sort_values(["site_id", "zone_id"]).reset_index(drop=True)


def _classify(r, max_link_m: float, max_snap_m: float) -> tuple[str, str]:
    """Status and explanation of one pair (columns of :func:`compare_with_baseline`)."""
    reached = not pd.isna(r.network_length_m_b)
    if r.outcome == "not a pipeline pair":
        return "disagree", "the baseline has this pair and the pipeline does not"
    if pd.isna(r.network_length_m_b) and pd.isna(r.site_node):
        return "disagree", "the pipeline has this pair and the baseline does not"
    if r.outcome == "routed":
        if not reached:
            return "disagree", "pipeline routed it, baseline found no path"
        if abs(r.recomputed_network_m - r.network_length_m) > EXACT_TOL_M:
            return "disagree", (
                f"pipeline network length {r.network_length_m:.2f} m differs from the "
                f"distance between its own end points on the baseline graph, "
                f"{r.recomputed_network_m:.2f} m"
            )
        if not pd.isna(r.to_zone_m):
            if r.zone_spur_m == 0 and abs(r.to_zone_m - r.network_length_m) > EXACT_TOL_M:
                return "disagree", (
                    f"pipeline stops {r.network_length_m:.2f} m along the roads, but the zone "
                    f"is first reached after {r.to_zone_m:.2f} m on the baseline graph"
                )
            if r.route_length_m > r.site_spur_m + r.to_zone_m + EXACT_TOL_M:
                return "disagree", "pipeline route is longer than the road distance to the zone"
        diff = abs(r.network_length_m_b - r.network_length_m)
        straight = r.site_end_straight_m + r.zone_end_straight_m
        roads = r.site_end_net_m + r.zone_end_net_m
        if diff <= straight + EXACT_TOL_M:
            return "agree", "within the straight-line snapping difference"
        if diff <= roads + EXACT_TOL_M:
            return "agree (along roads)", (
                f"differs by {diff:.0f} m, more than the straight-line snapping difference "
                f"({straight:.0f} m) but within it measured along the roads ({roads:.0f} m): "
                "the end points are further apart by road than in a straight line"
            )
        return "disagree", f"differs by {diff:.0f} m, beyond the snapping difference along roads"
    if r.outcome == "unreachable":
        if reached:
            return "disagree", "pipeline says unreachable, baseline found a path"
        return "agree", "no path in either (different connected components)"
    if r.outcome == "no_road_nearby":
        if r.site_snap_m > max_snap_m or r.zone_snap_m > max_snap_m:
            return "explained", (
                f"the baseline has no maximum snap distance: it routes from a node "
                f"{max(r.site_snap_m, r.zone_snap_m):.0f} m away, beyond the pipeline's "
                "max_snap_distance_m"
            )
        return "disagree", "pipeline found no road nearby but the baseline's node is near"
    if r.outcome == "beyond_max_length":
        if not reached:
            return "agree", "no path in the baseline either"
        if not pd.isna(r.to_zone_m):
            if r.site_spur_m + r.to_zone_m > max_link_m - EXACT_TOL_M:
                return "agree", (
                    f"spur plus road distance to the zone on the baseline graph is "
                    f"{r.site_spur_m + r.to_zone_m:.0f} m > {max_link_m:.0f} m"
                )
            return "disagree", (
                f"the zone is {r.site_spur_m + r.to_zone_m:.0f} m away by road on the "
                "baseline graph, within the maximum"
            )
        if r.zone_node_inside and r.site_spur_m + r.via_zone_node_m > max_link_m:
            return "agree", (
                f"even through the baseline's zone node the route is "
                f"{r.site_spur_m + r.via_zone_node_m:.0f} m > {max_link_m:.0f} m"
            )
        return "check", "baseline route to the zone is short enough; inspect"
    return "check", f"unhandled outcome {r.outcome}"


# --- make --------------------------------------------------------------------------------


def _make_cmd(root: Path, python: str, *extra: str) -> list[str]:
    stamp = ".bench-venv-ok"
    (root / stamp).touch()
    old = [a for f in RAW_FILES for a in ("-o", f"data/raw/{REGION}/{f}")]
    return [
        "make",
        "-f",
        str(REPO / "Makefile"),
        "-C",
        str(root),
        "--no-print-directory",
        f"REGION={REGION}",
        f"PY={python}",
        f"VENV_OK={stamp}",
        "-o",
        stamp,
        *old,
        *extra,
        "all",
    ]


def _ran(output: str) -> list[str]:
    return re.findall(r"-m pipeline (\w+) --region", output)


def measure_make(root: Path, yml: Path, python: str) -> dict:
    """``make all`` on a fresh region (every stage, in one process), a no-op rerun, and a
    rerun after changing max_link_length_m."""
    res: dict = {}
    shutil.rmtree(root / "data" / "interim", ignore_errors=True)
    shutil.rmtree(root / "outputs", ignore_errors=True)
    fresh = run_child(_make_cmd(root, python), cwd=root)
    res |= {"fresh_s": fresh.wall_s, "fresh_ran": _ran(fresh.stdout)}
    warm = run_child(_make_cmd(root, python), cwd=root)
    res["settle_ran"] = _ran(warm.stdout)
    if warm.returncode != 0:
        res["error"] = f"make all failed: {_tail(warm.stderr)}"
        return res
    noop = run_child(_make_cmd(root, python), cwd=root)
    res |= {"noop_s": noop.wall_s, "noop_ran": _ran(noop.stdout)}
    if noop.returncode != 0:
        res["error"] = f"no-op make all failed: {_tail(noop.stderr)}"
    original = yml.read_text()
    cfg = yaml.safe_load(original)
    res["change"] = (
        f"routing.max_link_length_m {cfg['routing']['max_link_length_m']} -> {CHANGED_MAX_LINK_M}"
    )
    cfg["routing"]["max_link_length_m"] = CHANGED_MAX_LINK_M
    try:
        yml.write_text(yaml.safe_dump(cfg, sort_keys=False))
        real = run_child(_make_cmd(root, python), cwd=root)
        res |= {"change_s": real.wall_s, "change_ran": _ran(real.stdout)}
        if real.returncode != 0:
            res["error"] = f"make all after the change failed: {_tail(real.stderr)}"
    finally:
        # the outputs stay those of the change; the next `make all` there reruns routing
        yml.write_text(original)
    return res


# --- reporting ---------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: str
    meta: dict
    runs: list[dict[str, Child | str]] = field(default_factory=list)
    baseline: list[Child] = field(default_factory=list)
    baseline_info: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    make: dict = field(default_factory=dict)
    check: pd.DataFrame | None = None
    check_name: str = ""
    one_process: list[Child] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ok_runs(self) -> list[dict[str, Child]]:
        return [r for r in self.runs if all(isinstance(c, Child) for c in r.values())]  # type: ignore[misc]

    def stage_stats(self) -> pd.DataFrame:
        rows = []
        for step in ("configure", *STAGES):
            children = [r[step] for r in self.runs if isinstance(r.get(step), Child)]
            walls = [c.wall_s for c in children]
            rss = [c.rss_mb for c in children]
            inproc = [c.inproc_s for c in children]
            if walls:
                rows.append(
                    {
                        "name": step,
                        "runs": len(walls),
                        "median": statistics.median(walls),
                        "min": min(walls),
                        "max": max(walls),
                        "inproc": statistics.median(inproc),
                        "rss_median": statistics.median(rss),
                        "rss_max": max(rss),
                    }
                )
        return pd.DataFrame(rows)

    def total(self, names: Sequence[str] | None = None) -> tuple[float, float]:
        """Median over runs of the summed wall time of ``names`` (all steps); peak MB."""
        ok = self.ok_runs()
        if not ok:
            return float("nan"), float("nan")
        sums = [sum(c.wall_s for k, c in r.items() if names is None or k in names) for r in ok]
        peak = max(c.rss_mb for r in ok for k, c in r.items() if names is None or k in names)
        return statistics.median(sums), peak

    def baseline_s(self) -> float:
        done = [c for c in self.baseline if c.returncode == 0]
        return statistics.median(c.wall_s for c in done) if done else float("nan")


def code_hash() -> str:
    """Short sha256 of the pipeline's source and the Makefile, to tell runs apart."""
    h = hashlib.sha256()
    for f in [*sorted((REPO / "pipeline").rglob("*.py")), REPO / "Makefile"]:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def machine_info() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").is_file() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, flags=re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, flags=re.M)
    versions = {}
    for pkg in ("networkx", "osmnx", "shapely", "geopandas", "numpy", "scipy"):
        try:
            versions[pkg] = __import__(pkg).__version__
        except ImportError:
            versions[pkg] = "-"
    return {
        "code": code_hash(),
        "hostname": socket.gethostname(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "ram_gb": round(int(mem.group(1)) / 1024**2, 1) if mem else float("nan"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def results_table(results: list[SizeResult], date: str, machine: str) -> pd.DataFrame:
    rows = []

    def add(r: SizeResult, kind: str, name: str, **kw) -> None:
        rows.append(
            {
                "date": date,
                "machine": machine,
                "size": r.size,
                "graph_edges": r.counts.get("graph_edges"),
                "kind": kind,
                "name": name,
                **kw,
            }
        )

    for r in results:
        for s in r.stage_stats().to_dict("records"):
            add(
                r,
                "stage",
                s["name"],
                runs=s["runs"],
                median=s["median"],
                min=s["min"],
                max=s["max"],
                unit="s",
                inproc_s=s["inproc"],
                peak_rss_mb=s["rss_max"],
                median_rss_mb=s["rss_median"],
            )
        for name, names in (("end_to_end", None), ("same_job", SAME_JOB)):
            t, peak = r.total(names)
            add(r, "pipeline", name, runs=len(r.ok_runs()), median=t, unit="s", peak_rss_mb=peak)
        done = [c for c in r.one_process if c.returncode == 0]
        if done:
            add(
                r,
                "pipeline",
                "one_process",
                runs=len(done),
                median=statistics.median(c.wall_s for c in done),
                min=min(c.wall_s for c in done),
                max=max(c.wall_s for c in done),
                unit="s",
                peak_rss_mb=max(c.rss_mb for c in done),
            )
        b = r.baseline_s()
        status = _baseline_status(r)
        add(
            r,
            "baseline",
            "total",
            runs=sum(c.returncode == 0 for c in r.baseline),
            median=b,
            unit="s",
            peak_rss_mb=max((c.rss_mb for c in r.baseline), default=float("nan")),
            status=status,
        )
        for phase in ("read_s", "node_lines_s", "graph_from_gdfs_s", "snap_s", "route_s"):
            vals = [i[phase] for i in r.baseline_info]
            if vals:
                add(r, "baseline", phase[:-2], median=statistics.median(vals), unit="s")
        for name, names in (
            ("baseline_over_same_job", SAME_JOB),
            ("baseline_over_end_to_end", None),
        ):
            add(r, "ratio", name, median=b / r.total(names)[0], unit="x")
        for k in ("fresh_s", "noop_s", "change_s"):
            if k in r.make:
                ran = r.make[k.replace("_s", "_ran")]
                add(r, "make", k[:-2], median=r.make[k], unit="s", note=" ".join(ran) or "none")
    return pd.DataFrame(rows)


def _one_process_s(r: SizeResult) -> float:
    done = [c.wall_s for c in r.one_process if c.returncode == 0]
    return statistics.median(done) if done else float("nan")


def _issue12_targets(by: dict[str, SizeResult]) -> list[tuple[str, str, str]]:
    """Issue 12's targets: 1M end to end, memory, report and baseline ratio; 10k."""
    out = []
    if "1m" in by:
        r = by["1m"]
        t, peak = r.total()
        report = r.total(["write_report"])[0]
        out += [
            ("1M edges end to end <= 30 s (issue 12)", f"{_fmt(t)} s", _met(t <= TARGET_1M_12_S)),
            (
                "1M edges peak memory <= 1.5 GB (issue 12)",
                f"{_fmt(peak, 0)} MB",
                _met(peak <= TARGET_1M_12_MB),
            ),
            ("1M write_report < 5 s", f"{_fmt(report, 2)} s", _met(report < TARGET_REPORT_1M_S)),
        ]
        if not np.isnan(r.baseline_s()):  # the baseline ran
            out.append(
                (
                    "1M whole pipeline <= half the osmnx baseline's time",
                    f"{_fmt(t)} s against {_fmt(r.baseline_s())} s",
                    _met(t <= r.baseline_s() / 2),
                )
            )
    if "10k" in by:
        r = by["10k"]
        t, one = r.total()[0], _one_process_s(r)
        fresh = r.make.get("fresh_s", float("nan"))
        out.append(
            (
                "10k edges end to end <= 4 s",
                f"{_fmt(fresh, 2)} s `make all` on a fresh region (configure and every stage "
                f"in one process; {_fmt(one, 2)} s `heatlink all` alone); {_fmt(t)} s as one "
                "process per stage (what make runs when only some stages are out of date)",
                _met(fresh <= TARGET_10K_S),
            )
        )
    return out


def _baseline_status(r: SizeResult) -> str:
    if not r.baseline:
        return "not run"
    last = r.baseline[-1]
    if last.timed_out:
        return f"did not finish within {last.wall_s:.0f} s (killed)"
    if last.returncode != 0:
        return f"failed: {_tail(last.stderr, 2)}"
    return "ok"


def _fmt(x: float, nd: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:,.{nd}f}"


def targets(results: list[SizeResult]) -> list[tuple[str, str, str]]:
    """(target, measured, met/missed) for each target of issue 6 that this run covers."""
    out = []
    by = {r.size: r for r in results}
    if "1m" in by:
        t, peak = by["1m"].total()
        out.append(("1M edges end to end <= 180 s", f"{_fmt(t)} s", _met(t <= TARGET_1M_S)))
        out.append(("1M edges peak memory <= 4 GB", f"{_fmt(peak, 0)} MB", _met(peak <= 4096)))
    out += _issue12_targets(by)
    if "1m" in by:
        share = by["1m"].total(["design_networks"])[0] / by["1m"].total()[0]
        out.append(
            (
                "1M edges: design_networks < 10 % of end to end (issue 11)",
                f"{_fmt(100 * share)} %",
                _met(share < DESIGN_SHARE_1M),
            )
        )
    if "100k" in by:
        r = by["100k"]
        ratio = r.baseline_s() / r.total(SAME_JOB)[0]
        e2e = r.baseline_s() / r.total()[0]
        out.append(
            (
                ">= 20x faster than the baseline at 100k",
                f"{_fmt(ratio)}x (same job); {_fmt(e2e)}x (whole pipeline)",
                _met(ratio >= TARGET_RATIO_100K),
            )
        )
    for r in results:
        status = _baseline_status(r)
        out.append(
            (
                f"ratio reported at {r.size} (baseline within 30 min)",
                status if status != "ok" else f"{_fmt(r.baseline_s())} s",
                "met" if status == "ok" or "did not finish" in status else "missed",
            )
        )
    for r in results:
        if "noop_s" in r.make:
            ran = r.make["noop_ran"]
            ok = r.make["noop_s"] <= TARGET_NOOP_S and not ran
            out.append(
                (
                    f"no-op `make all` <= 2 s ({r.size})",
                    f"{r.make['noop_s']:.3f} s, reran: {', '.join(ran) or 'nothing'}",
                    _met(ok),
                )
            )
        if "change_ran" in r.make:
            want = list(STAGES[STAGES.index("route_links") :])
            ran = [s for s in r.make["change_ran"] if s != "configure"]
            out.append(
                (
                    f"max_link_length_m change reruns routing and after only ({r.size})",
                    f"reran {', '.join(ran) or 'nothing'} in {r.make['change_s']:.1f} s",
                    _met(ran == want),
                )
            )
    for r in results:
        if r.check is not None:
            bad = int((r.check["status"] == "disagree").sum())
            out.append(
                (
                    f"route lengths agree with the baseline within the snapping difference "
                    f"({r.size})",
                    f"{len(r.check) - bad} of {len(r.check)} pairs agree or are explained",
                    _met(bad == 0),
                )
            )
    return out


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_summary(
    results: list[SizeResult],
    info: dict,
    date: str,
    csv_name: str,
    argv: Sequence[str],
    results_dir: Path,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `benchmarks/bench.py` (`make bench`); how to run it and what it measures: "
        "[../README.md](../README.md). This page shows the latest run; every run's numbers "
        "are in the CSV files listed at the end.",
        "",
        f"- **Date:** {date}",
        f"- **Command:** `python benchmarks/bench.py {' '.join(argv)}`",
        f"- **Machine:** {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, "
        f"Python {info['python']}, {info['platform']}",
        "- **Packages:** " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()),
        f"- **Code:** sha256 of `pipeline/**/*.py` and the Makefile starts {info['code']}",
        f"- **Raw numbers:** [{csv_name}]({csv_name})",
        "",
        "Times are the median wall time of a stage's own process (`python -m pipeline "
        "<stage>`, Python start-up and imports included, as under `make`); *in-process* is "
        "the stage's own timing from its log. Peak MB is the largest `ru_maxrss` of that "
        "stage over the runs. *Same job* sums the stages that do what the baseline does "
        f"({', '.join(SAME_JOB)}); the ratio is baseline time / pipeline time, measured in "
        "the same run on the same machine.",
        "",
        "## Targets",
        "",
        "| Target | Measured | |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in targets(results)),
        "",
    ]
    for r in results:
        m = r.meta
        lines += [
            f"## {r.size}",
            "",
            f"{_n(r.counts.get('graph_edges'))} graph edges, {_n(r.counts.get('graph_nodes'))} "
            f"nodes, {m.get('sites')} sites, {_n(r.counts.get('zones'))} zones from "
            f"{_n(m.get('demand_cells'))} demand cells, {_n(r.counts.get('pairs'))} candidate "
            f"pairs; {len(r.ok_runs())} of {len(r.runs)} runs succeeded.",
            "",
        ]
        for note in r.notes:
            lines += [f"> {note}", ""]
        st = r.stage_stats()
        if len(st):
            lines += [
                "| Stage | Median s | Min–max s | In-process s | Peak MB |",
                "|---|---:|---:|---:|---:|",
            ]
            for s in st.to_dict("records"):
                lines.append(
                    f"| {s['name']} | {_fmt(s['median'], 2)} | {_fmt(s['min'], 2)}–"
                    f"{_fmt(s['max'], 2)} | {_fmt(s['inproc'], 2)} | {_fmt(s['rss_max'], 0)} |"
                )
            t, peak = r.total()
            sj, sj_peak = r.total(SAME_JOB)
            b = r.baseline_s()
            bpeak = max((c.rss_mb for c in r.baseline), default=float("nan"))
            lines += [
                f"| **end to end** | **{_fmt(t, 2)}** | | | **{_fmt(peak, 0)}** |",
                f"| same job | {_fmt(sj, 2)} | | | {_fmt(sj_peak, 0)} |",
                f"| all stages in one process (`heatlink all`) | {_fmt(_one_process_s(r), 2)} "
                f"| | | {_fmt(max((c.rss_mb for c in r.one_process), default=np.nan), 0)} |",
                f"| **osmnx baseline** | **{_fmt(b, 2)}** | | | {_fmt(bpeak, 0)} |",
                "",
                f"Baseline: {_baseline_status(r)}, {sum(c.returncode == 0 for c in r.baseline)} "
                f"run(s). Ratio baseline / pipeline: **{_fmt(b / sj)}x** for the same job, "
                f"{_fmt(b / t)}x for the whole pipeline.",
            ]
            if r.baseline_info:
                phases = {
                    k: statistics.median(i[k] for i in r.baseline_info)
                    for k in r.baseline_info[0]
                    if k.endswith("_s") and k != "total_s"
                }
                lines.append(
                    "Baseline phases (in-process median s): "
                    + ", ".join(f"{k[:-2]} {v:.2f}" for k, v in phases.items())
                    + "."
                )
            lines.append("")
        for step, text in [(k, v) for run in r.runs for k, v in run.items() if isinstance(v, str)][
            :3
        ]:
            lines += [f"- `{step}` {text}", ""]
        if r.make:
            mk = r.make
            lines += [
                f"`make all` in the region's root with the repository's Makefile: on a fresh "
                f"region {mk.get('fresh_s', float('nan')):.2f} s (ran "
                f"{', '.join(mk.get('fresh_ran', [])) or 'nothing'}); settling run "
                f"reran {', '.join(mk.get('settle_ran', [])) or 'nothing'}; "
                + (
                    f"no-op rerun {mk['noop_s']:.3f} s (reran "
                    f"{', '.join(mk['noop_ran']) or 'nothing'}); "
                    if "noop_s" in mk
                    else ""
                )
                + (
                    f"after {mk['change']}: reran "
                    f"{', '.join(mk['change_ran']) or 'nothing'} in {mk['change_s']:.1f} s."
                    if "change_s" in mk
                    else ""
                )
                + (f" Error: {mk['error']}" if "error" in mk else ""),
                "",
            ]
        if r.check is not None:
            lines += _check_section(r)
    files = sorted(p.name for p in results_dir.glob("*.csv"))
    lines += ["## All result files", "", *(f"- [{f}]({f})" for f in files), ""]
    return "\n".join(lines)


def _check_section(r: SizeResult) -> list[str]:
    c = r.check
    routed = c[(c["outcome"] == "routed") & c["network_length_m_b"].notna()]
    counts = c.groupby(["outcome", "status"]).size()
    lines = [
        f"### Correctness against the baseline ({r.size})",
        "",
        "Per pair, in [the correctness CSV](" + r.check_name + "). For routed pairs the "
        "pipeline's network length is first recomputed independently on the baseline's osmnx "
        "graph: as the road distance between the pipeline's own end points (the split point "
        "A where the site joins the road, and the zone's first node T), and as the road "
        "distance from A to the zone (to its nearest node inside or boundary crossing). Then "
        "the pipeline's and the baseline's network lengths are compared. The **tolerance** is "
        "the snapping difference: |A n_s| + |T n_z| in a straight line, where n_s is the "
        "baseline's site node and n_z its zone node (nearest to the zone's representative "
        "point). By the triangle inequality the two lengths can differ by at most that "
        "difference measured along the roads, d(A, n_s) + d(T, n_z); pairs within that but "
        "not within the straight line are marked *agree (along roads)*.",
        "",
        "| Pipeline outcome | Status | Pairs |",
        "|---|---|---:|",
        *(f"| {o} | {s} | {n} |" for (o, s), n in counts.items()),
        "",
    ]
    if len(routed):
        exact = (routed["recomputed_network_m"] - routed["network_length_m"]).abs().max()
        inzone = routed[routed["zone_spur_m"] == 0]
        to_zone = (inzone["to_zone_m"] - inzone["network_length_m"]).abs().max()
        d = routed["diff_network_m"]
        lines += [
            f"Routed pairs: {len(routed)}. Largest gap between the pipeline's network length "
            f"and its recomputation on the baseline graph: {exact:.2g} m between its end "
            f"points; {to_zone:.2g} m against the road distance to the zone ({len(inzone)} "
            "pairs ending in the zone). Site-end snapping difference |A n_s|: "
            f"{routed['site_end_straight_m'].min():.0f}–{routed['site_end_straight_m'].max():.0f}"
            f" m; zone-end |T n_z|: {routed['zone_end_straight_m'].min():.0f}–"
            f"{routed['zone_end_straight_m'].max():.0f} m. Baseline minus "
            f"pipeline network length: median {d.median():.0f} m, max {d.abs().max():.0f} m "
            f"(pair {routed.loc[d.abs().idxmax(), 'site_id']}–"
            f"{routed.loc[d.abs().idxmax(), 'zone_id']}); the baseline is longer because it "
            "goes to the node nearest the zone's representative point, inside the zone, while "
            "the pipeline stops at the zone's first node.",
            "",
        ]
    odd = c[c["status"] != "agree"]
    if len(odd):
        lines += ["| Site | Zone | Outcome | Status | Explanation |", "|---|---|---|---|---|"]
        lines += [
            f"| {o.site_id} | {o.zone_id} | {o.outcome} | {o.status} | {o.explanation} |"
            for o in odd.itertuples()
        ]
        lines.append("")
    return lines


# --- main --------------------------------------------------------------------------------


def bench_size(size: str, args: argparse.Namespace) -> SizeResult:
    root, yml, meta = prepare_region(size, args.regions_dir, args.seed)
    res = SizeResult(size, meta)
    code = code_hash()
    for i in range(args.runs):
        t0 = time.perf_counter()
        print(f"[bench] {size}: pipeline run {i + 1}/{args.runs}", flush=True)
        run = run_pipeline(args.python, root)
        res.runs.append(run)
        failed = [f"{k}: {v}" for k, v in run.items() if isinstance(v, str)]
        print(
            f"[bench] {size}: run {i + 1} "
            + (f"FAILED {failed[0]}" if failed else f"{time.perf_counter() - t0:.1f} s"),
            flush=True,
        )
    if not res.ok_runs():
        res.notes.append("Every pipeline run failed; no baseline, check or make timings.")
        return res
    interim = root / "data" / "interim" / REGION
    res.counts = {
        "graph_edges": pq.read_metadata(interim / "graph_edges.parquet").num_rows,
        "graph_nodes": pq.read_metadata(interim / "graph_nodes.parquet").num_rows,
        "zones": pq.read_metadata(interim / "demand_zones.parquet").num_rows,
        "pairs": pq.read_metadata(interim / "routes.parquet").num_rows,
    }
    for i in range(args.runs):
        print(f"[bench] {size}: one process (`heatlink all`) {i + 1}/{args.runs}", flush=True)
        res.one_process.append(run_all_in_one(args.python, root))
    if not isinstance(res.runs[-1].get(STAGES[-1]), Child):
        # the last run failed: rerun once so that its outputs are there for what follows
        run_pipeline(args.python, root)
    if args.baseline_runs:
        print(f"[bench] {size}: baseline", flush=True)
        res.baseline, res.baseline_info = run_baseline(
            args.python, root, args.baseline_runs, args.baseline_timeout_s
        )
        print(f"[bench] {size}: baseline {_baseline_status(res)}", flush=True)
    if size in args.check_sizes:
        routing = yaml.safe_load(yml.read_text())["routing"]
        res.check = compare_with_baseline(
            args.python, root, routing["max_link_length_m"], routing["max_snap_distance_m"]
        )
    if not args.skip_make:
        print(f"[bench] {size}: make reruns", flush=True)
        res.make = measure_make(root, yml, args.python)
        if res.make.get("settle_ran"):
            res.notes.append(
                "The settling `make all` reran "
                + ", ".join(res.make["settle_ran"])
                + ": a prerequisite (module, Makefile or config slice) changed after the "
                "timed runs."
            )
    if code_hash() != code:
        res.notes.append(
            f"The pipeline's source or the Makefile changed while {size} was measured "
            f"({code} -> {code_hash()}); its numbers mix two versions."
        )
    return res


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    p.add_argument("--runs", type=int, default=3, help="pipeline runs per size (default 3)")
    p.add_argument(
        "--baseline-runs",
        type=int,
        default=None,
        help="baseline runs per size (default: --runs; fewer when one run exceeds 5 min; "
        "0 skips the baseline)",
    )
    p.add_argument("--baseline-timeout-s", type=float, default=1800.0)
    p.add_argument("--check-sizes", nargs="*", default=["10k"], help="default: 10k")
    p.add_argument("--skip-make", action="store_true", help="skip the make rerun timings")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--python", default=sys.executable, help="interpreter for the children")
    p.add_argument("--machine", default=socket.gethostname(), help="name in the CSV file name")
    p.add_argument("--regions-dir", type=Path, default=BENCH / "regions")
    p.add_argument("--results-dir", type=Path, default=BENCH / "results")
    args = p.parse_args(argv)
    if args.baseline_runs is None:
        args.baseline_runs = args.runs
    args.regions_dir = args.regions_dir.resolve()

    date = dt.date.today().isoformat()
    machine = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.machine)
    info = machine_info()
    results = []
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{date}-{machine}"
    for size in args.sizes:
        r = bench_size(size, args)
        if r.check is not None:
            r.check_name = f"{stem}-correctness-{size}.csv"
            r.check.to_csv(args.results_dir / r.check_name, index=False)
        results.append(r)
        table = results_table(results, date, machine)
        table.to_csv(args.results_dir / f"{stem}.csv", index=False)
        summary = write_summary(
            results, info, date, f"{stem}.csv", argv or sys.argv[1:], args.results_dir
        )
        (args.results_dir / "README.md").write_text(summary)
    print(f"[bench] wrote {args.results_dir / (stem + '.csv')} and README.md", flush=True)
    for a, b, c in targets(results):
        print(f"[bench] {c.strip('*'):>6}  {a}: {b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
