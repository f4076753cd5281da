"""Runs as users make them: killed, repeated, side by side, from any folder, through make.

The make tests run in a temporary project root: the repository's ``Makefile``, a copy of
``pipeline/`` (so edits made elsewhere in the working tree while the tests run cannot
trigger reruns) and small regions written by the tests. ``PY`` is this interpreter and
``VENV_OK`` a stamp in the temporary root, so ``make`` never installs anything.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from shapely.geometry import LineString

from conftest import REPO, X0, Y0, TinyRegion, add_existing_network, run_cli
from pipeline.config import RegionFile, load_region_file
from pipeline.paths import RegionPaths
from pipeline.readers.extent import with_region_extent
from pipeline.stages import BY_NAME, STAGE_NAMES, STAGES

pytestmark = pytest.mark.slow

MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed (apt install make)")

VENV_STAMP = "venv-ok.stamp"
STAGE_LINE = re.compile(r"-m pipeline (\w+) --region")
TIME_KEYS = r"^(?:stage:.*|run_start|run_end)$"


# --- a project root where make runs ---------------------------------------------------


def make_ready(root: Path) -> Path:
    """Turn ``root`` (holding data/) into a project root for ``make``; return it."""
    (root / "Makefile").symlink_to(REPO / "Makefile")
    shutil.copytree(
        REPO / "pipeline", root / "pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    # the venv rule's prerequisite, older than the stamp that stands for the venv
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    os.utime(root / "pyproject.toml", (946_684_800, 946_684_800))  # 2000-01-01
    (root / VENV_STAMP).touch()
    return root


def _make_env() -> dict[str, str]:
    """This environment without an outer make's flags (when the tests run from `make test`)."""
    drop = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def make_cmd(*args: str) -> list[str]:
    return [
        MAKE or "make",
        "--no-print-directory",
        *args,
        f"PY={sys.executable}",
        f"VENV_OK={VENV_STAMP}",
    ]


def make(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        make_cmd(*args),
        cwd=root,
        env=_make_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def stages_run(proc: subprocess.CompletedProcess) -> list[str]:
    """The stages a make run started, in order (``configure`` left out)."""
    return [s for s in STAGE_LINE.findall(proc.stdout) if s != "configure"]


def write_region(root: Path, name: str, config: dict) -> Path:
    path = root / "data" / "regions" / f"{name}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def with_changes(config: dict, **changes: dict) -> dict:
    """A copy of a region config with sections updated."""
    cfg = {k: dict(v) for k, v in config.items()}
    for section, values in changes.items():
        cfg.setdefault(section, {}).update(values)
    return cfg


def clean(root: Path, region: str) -> None:
    """What `make clean` does."""
    shutil.rmtree(root / "data" / "interim" / region, ignore_errors=True)
    shutil.rmtree(root / "outputs" / region, ignore_errors=True)


def leftovers(root: Path, region: str) -> list[str]:
    """Temporary files (and SQLite side files) under the region's folders."""
    found = []
    for top in (root / "data" / "interim" / region, root / "outputs" / region):
        for p in top.rglob("*"):
            if ".tmp-" in p.name or p.name.endswith(("-journal", "-wal", "-shm")):
                found.append(str(p.relative_to(root)))
    return sorted(found)


def configured_run(region: TinyRegion, name: str = "tiny") -> Path:
    """``heatlink configure`` then ``heatlink all``: the outputs `make all` would leave, in
    one process (fast); returns the GeoPackage."""
    for stage in ("configure", "all"):
        proc = run_cli(stage, "--region", name, root=region.root)
        assert proc.returncode == 0, proc.stderr
    return region.root / "outputs" / name / "heat_links.gpkg"


# --- comparing GeoPackages --------------------------------------------------------------


def read_layers(gpkg: Path) -> dict[str, pd.DataFrame]:
    """Every layer and table of a GeoPackage, indexed by fid, in file order."""
    return {
        name: pyogrio.read_dataframe(gpkg, layer=name, fid_as_index=True)
        for name, _ in pyogrio.list_layers(gpkg)
    }


def without_times(layers: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Layers without the values that record when the run happened."""
    out = dict(layers)
    out["layer_styles"] = out["layer_styles"].drop(columns="update_time")
    info = out["run_info"]
    out["run_info"] = info[~info["key"].str.match(TIME_KEYS)]
    return out


def assert_same_layers(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    """Same layers, columns, dtypes, fids, values and exactly the same geometries."""
    assert list(got) == list(want)
    for name, b in want.items():
        a = got[name]
        assert list(a.columns) == list(b.columns), name
        assert a.dtypes.astype(str).to_dict() == b.dtypes.astype(str).to_dict(), name
        if isinstance(b, gpd.GeoDataFrame):
            assert isinstance(a, gpd.GeoDataFrame), name
            assert a.crs == b.crs, name
            wkb_a = shapely.to_wkb(a.geometry.to_numpy())
            wkb_b = shapely.to_wkb(b.geometry.to_numpy())
            assert list(wkb_a) == list(wkb_b), f"{name}: geometries differ"
            a = pd.DataFrame(a.drop(columns=a.geometry.name))
            b = pd.DataFrame(b.drop(columns=b.geometry.name))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)


def blank_times(src: Path, dst: Path) -> bytes:
    """The bytes of a copy of ``src`` whose time values have every digit replaced by 0.

    Same-length replacements leave SQLite's page layout alone, so two files that differ
    only in these values become byte-identical.
    """
    shutil.copy(src, dst)
    db = sqlite3.connect(dst)
    try:
        db.create_function("zeros", 1, lambda s: re.sub(r"\d", "0", s))
        with db:
            db.execute("UPDATE gpkg_contents SET last_change = zeros(last_change)")
            db.execute("UPDATE layer_styles SET update_time = zeros(update_time)")
            db.execute(
                "UPDATE run_info SET value = zeros(value) "
                "WHERE key LIKE 'stage:%' OR key IN ('run_start', 'run_end')"
            )
    finally:
        db.close()
    return dst.read_bytes()


def run_info_inputs(gpkg: Path) -> dict[str, dict]:
    with sqlite3.connect(gpkg) as db:
        rows = db.execute("SELECT value FROM run_info WHERE key = 'input'").fetchall()
    return {info["key"]: info for info in (json.loads(v) for (v,) in rows)}


# --- killing a run ------------------------------------------------------------------------

# Run in place of `python -m pipeline` (make's HEATLINK) to stop a stage at one moment
# until the test kills it: a deterministic moment on any machine, however fast.
PAUSE_SCRIPT = """\
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the project root's pipeline/, as `python -m` has it
MOMENT = os.environ["HEATLINK_TEST_PAUSE"]
READY = Path(os.environ["HEATLINK_TEST_READY"])


def pause():
    READY.write_text(str(os.getpid()))
    time.sleep(600)  # until the test kills the process group
    sys.exit(99)


if MOMENT == "route_links: between the renames of its outputs":
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "attachments.parquet":  # route_segments is already in place
            pause()
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace

elif MOMENT == "export_geopackage: inside a write transaction on its temporary file":
    import sqlite3

    real_connect = sqlite3.connect

    class PauseAfterWrite:
        def __init__(self, con):
            self.con = con

        def __getattr__(self, name):
            return getattr(self.con, name)

        def __enter__(self):
            self.con.__enter__()
            return self

        def __exit__(self, *exc):
            return self.con.__exit__(*exc)

        def executemany(self, *args, **kwargs):
            cursor = self.con.executemany(*args, **kwargs)
            pause()  # uncommitted rows: the -journal is beside the temporary file
            return cursor

    def connect(database, *args, **kwargs):
        con = real_connect(database, *args, **kwargs)
        return PauseAfterWrite(con) if ".heat_links.tmp-" in str(database) else con

    sqlite3.connect = connect

from pipeline.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
"""


def kill_make_when(root: Path, moment, *args: str, env: dict | None = None) -> str:
    """Start ``make *args`` in its own process group, SIGKILL the whole group as soon as
    ``moment()`` is true, and return make's output so far. Fails if the run ends first."""
    out = root / "killed-run.out"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            make_cmd(*args),
            cwd=root,
            env=env or _make_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        try:
            while not moment():
                if proc.poll() is not None:
                    pytest.fail(f"the run ended before the moment:\n{out.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the moment never came:\n{out.read_text()}")
                time.sleep(0.005)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # wait until every process of the group is gone (reaped), as after a real kill
    for _ in range(1000):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    return out.read_text()


def paused_env(root: Path, moment: str) -> tuple[dict[str, str], list[str], Path]:
    """Environment and make arguments that pause a stage at ``moment``; the ready file."""
    script = root / "pause_then_run.py"
    script.write_text(PAUSE_SCRIPT)
    ready = root / "paused.pid"
    env = {**_make_env(), "HEATLINK_TEST_PAUSE": moment, "HEATLINK_TEST_READY": str(ready)}
    return env, [f"HEATLINK={sys.executable} {script}"], ready


def touch(path: Path) -> None:
    """Make ``path`` newer than everything written so far, as an edit would."""
    os.utime(path)


KILL_MOMENTS = {
    # from scratch: make is killed wherever it is once build_road_graph has started
    "first run, as build_road_graph starts": "log",
    # after a complete run and an edit of route_links.py: three outputs, one renamed
    "route_links: between the renames of its outputs": "route_links.py",
    # after a complete run and an edit of export_geopackage.py
    "export_geopackage: inside a write transaction on its temporary file": ("export_geopackage.py"),
}


@pytest.fixture(scope="module")
def synthetic_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped synthetic region's inputs, made once by its generator."""
    raw = tmp_path_factory.mktemp("synthetic") / "raw"
    subprocess.run(
        [sys.executable, "-m", "pipeline.datasets.synthetic", "--out", str(raw), "--size", "small"],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return raw


@pytest.fixture
def synthetic_region(tmp_path: Path, synthetic_inputs: Path) -> TinyRegion:
    """The shipped synthetic region (its region file as shipped) in a temporary root."""
    shutil.copytree(synthetic_inputs, tmp_path / "data" / "raw" / "synthetic")
    regions = tmp_path / "data" / "regions"
    regions.mkdir(parents=True)
    shutil.copy(REPO / "data" / "regions" / "synthetic.yml", regions / "synthetic.yml")
    return TinyRegion(tmp_path, regions / "synthetic.yml", {})


@needs_make
@pytest.mark.parametrize("moment", list(KILL_MOMENTS))
def test_sigkill_then_rerun_recovers(synthetic_region: TinyRegion, moment: str) -> None:
    """SIGKILL the whole `make all` process group of the synthetic region at one moment;
    the next `make all` exits 0, leaves no temporary file and writes the layers of a
    clean run."""
    root = make_ready(synthetic_region.root)
    out, interim = root / "outputs" / "synthetic", root / "data" / "interim" / "synthetic"
    reference = root / "reference.gpkg"
    shutil.copy(configured_run(synthetic_region, "synthetic"), reference)
    before = reference.read_bytes()

    edited = KILL_MOMENTS[moment]
    if edited == "log":
        clean(root, "synthetic")
        log = out / "logs" / "build_road_graph.log"
        kill_make_when(root, log.exists, "all", "REGION=synthetic")
        assert not (out / "report.html").exists()
    else:
        touch(root / "pipeline" / "stages" / edited)
        env, args, ready = paused_env(root, moment)
        kill_make_when(root, ready.exists, "all", "REGION=synthetic", *args, env=env)
        if edited == "route_links.py":  # the moment: one output renamed, two still temporary
            assert (interim / "route_segments.parquet").stat().st_mtime_ns > (
                interim / "routes.parquet"
            ).stat().st_mtime_ns
            temps = {p.name.split(".tmp-")[0] for p in interim.glob(".*.tmp-*")}
            assert temps == {".routes", ".attachments"}
        else:  # the moment: a temporary GeoPackage with its journal; the old one intact
            assert [p.suffix for p in sorted(out.glob(".heat_links.tmp-*"))] == [
                ".gpkg",
                ".gpkg-journal",
            ]
            assert (out / "heat_links.gpkg").read_bytes() == before
        assert leftovers(root, "synthetic")  # the kill left something for the rerun to remove

    rerun = make(root, "all", "REGION=synthetic")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert leftovers(root, "synthetic") == []
    assert_same_layers(
        without_times(read_layers(out / "heat_links.gpkg")), without_times(read_layers(reference))
    )
    assert (out / "report.html").is_file() and (out / "links.csv").is_file()


# --- repeated runs --------------------------------------------------------------------------


def test_two_clean_runs_give_identical_layers(tiny_region: TinyRegion) -> None:
    """Two runs from scratch: every layer and table is equal (fids, values, dtypes, and
    geometries bit for bit), run_info too except the times of the run.

    The two .gpkg files are not byte-identical, and only time values differ:
    ``gpkg_contents.last_change`` (GDAL's time of each layer's write),
    ``layer_styles.update_time`` and the ``run_info`` rows ``stage:*``, ``run_start`` and
    ``run_end``. With those values zeroed (same length, so the same page layout), the
    files are byte-identical: header, schema, fids, page order and all.
    """
    root = tiny_region.root
    runs = []
    for n in (1, 2):
        clean(root, "tiny")
        proc = run_cli("all", "--region", "tiny", root=root)
        assert proc.returncode == 0, proc.stderr
        runs.append(shutil.copy(root / "outputs" / "tiny" / "heat_links.gpkg", root / f"{n}.gpkg"))
    first, second = runs
    assert_same_layers(without_times(read_layers(second)), without_times(read_layers(first)))
    assert first.read_bytes() != second.read_bytes()
    assert blank_times(first, root / "1-blank.gpkg") == blank_times(second, root / "2-blank.gpkg")


# --- side by side, and from any folder ----------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[int, int] | None]:
    """Each file or link under ``root`` with its time and size; each folder with None."""
    entries: dict[str, tuple[int, int] | None] = {}
    for p in root.rglob("*"):
        if "__pycache__" in p.parts:
            continue
        st = p.lstat()
        is_dir = p.is_dir() and not p.is_symlink()
        entries[str(p.relative_to(root))] = None if is_dir else (st.st_mtime_ns, st.st_size)
    return entries


@needs_make
def test_two_regions_run_at_the_same_time(tiny_region: TinyRegion) -> None:
    """`make all REGION=a` and `make all REGION=b` at once: both succeed, each writes only
    its own folders, and each GeoPackage holds its own region's result."""
    root = make_ready(tiny_region.root)
    tiny_region.region_file.unlink()
    base = dict(tiny_region.config)
    base["region"] = {k: v for k, v in base["region"].items() if k != "name"}
    write_region(root, "a", base)
    # b: the same inputs, but routes are capped below the one route's 540 m
    write_region(root, "b", with_changes(base, routing={"max_link_length_m": 500}))
    before = _snapshot(root)

    procs = {
        r: subprocess.Popen(
            make_cmd("all", f"REGION={r}"),
            cwd=root,
            env=_make_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ("a", "b")
    }
    results = {r: p.communicate(timeout=600) for r, p in procs.items()}
    for r, p in procs.items():
        assert p.returncode == 0, f"region {r}:\n" + "".join(results[r])
        assert f"GeoPackage: outputs/{r}/heat_links.gpkg" in results[r][0]

    after = _snapshot(root)
    changed = {p for p, stat in after.items() if p not in before or before[p] != stat}
    own = ("data/interim/a", "outputs/a", "data/interim/b", "outputs/b")
    foreign = {p for p in changed if not any(p == o or p.startswith(f"{o}/") for o in own)}
    assert foreign <= {"data/interim", "outputs"}
    assert set(before) <= set(after)  # nothing removed
    for r in ("a", "b"):
        gpkg = root / "outputs" / r / "heat_links.gpkg"
        with sqlite3.connect(gpkg) as db:
            (config,) = db.execute("SELECT value FROM run_info WHERE key = 'config'").fetchone()
        assert json.loads(config)["region"]["name"] == r
        log = (root / "outputs" / r / "logs" / "route_links.log").read_text(encoding="utf-8")
        assert f"region {r}" in log
    links = {
        r: pyogrio.read_info(root / "outputs" / r / "heat_links.gpkg", layer="links") for r in "ab"
    }
    assert links["a"]["features"] == 1 and links["b"]["features"] == 0
    rejected = gpd.read_file(root / "outputs" / "b" / "heat_links.gpkg", layer="rejected_links")
    assert list(rejected["reason"]) == ["beyond_max_length"]
    # and the two runs did overlap in time
    span = {r: _run_span(root / "outputs" / r / "logs") for r in ("a", "b")}
    assert span["a"][0] < span["b"][1] and span["b"][0] < span["a"][1], span


def _run_span(logs: Path) -> tuple[str, str]:
    """The first and last time stamps in a region's stage logs."""
    stamps = [
        line[:23]
        for log in logs.glob("*.log")
        for line in log.read_text(encoding="utf-8").splitlines()
        if line[:4].isdigit()
    ]
    return min(stamps), max(stamps)


def test_region_without_candidate_links_runs(tiny_region: TinyRegion) -> None:
    """A region whose only zone is out of straight-line reach has no candidate pair; the
    run still ends with a GeoPackage whose link layers are empty."""
    tiny_region.write_config(routing={"max_link_length_m": 300})
    proc = run_cli("all", "--region", "tiny", root=tiny_region.root)
    assert proc.returncode == 0, proc.stderr
    gpkg = tiny_region.root / "outputs" / "tiny" / "heat_links.gpkg"
    for layer in ("links", "rejected_links", "corridors"):
        assert pyogrio.read_info(gpkg, layer=layer)["features"] == 0, layer


ODD_INPUTS = {
    "sources": "data/raw/r/my inputs ü/sites ä ö.csv",
    "roads": "data/raw/r/Straßen & Wege (2024)/roads ü.gpkg",
    "heat_demand": "data/raw/r/chaleur #1 l'été 100%/heat $demand ø.tif",
}


@needs_make
def test_inputs_in_any_folder_run_under_make(tiny_region: TinyRegion) -> None:
    """Inputs in folders with spaces, non-ASCII letters and Make's special characters run
    under `make all`; the provenance keeps their real paths; a second `make all` with
    nothing changed runs no stage."""
    root = make_ready(tiny_region.root)
    raw = root / "data" / "raw" / "tiny"
    moved = {"sources": "sites.csv", "roads": "roads.gpkg", "heat_demand": "heat.tif"}
    config = dict(tiny_region.config)
    for section, rel in ODD_INPUTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(raw / moved[section], root / rel)
        config = with_changes(config, **{section: {"path": rel}})
    config["region"] = {k: v for k, v in config["region"].items() if k != "name"}
    write_region(root, "r", config)

    proc = make(root, "all", "REGION=r")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stages_run(proc) == ["all"]  # a fresh region: every stage, in one process
    gpkg = root / "outputs" / "r" / "heat_links.gpkg"
    inputs = run_info_inputs(gpkg)
    assert {k: v["path"] for k, v in inputs.items()} == {
        f"{section}.path": rel for section, rel in ODD_INPUTS.items()
    }
    for section, rel in ODD_INPUTS.items():
        info = inputs[f"{section}.path"]
        assert info["sha256"] == hashlib.sha256((root / rel).read_bytes()).hexdigest()
        assert info["name"] == Path(rel).name
    page = (root / "outputs" / "r" / "report.html").read_text(encoding="utf-8")
    assert all(html.escape(rel) in page for rel in ODD_INPUTS.values())

    again = make(root, "all", "REGION=r")
    assert again.returncode == 0, again.stdout + again.stderr
    assert STAGE_LINE.findall(again.stdout) == []  # not even configure
    targets = [f"outputs/r/{f}" for f in ("heat_links.gpkg", "report.html", "links.csv")]
    assert make(root, "-q", *targets, "REGION=r").returncode == 0


# --- what make says and reruns --------------------------------------------------------------


@needs_make
def test_missing_input_names_its_key(tiny_region: TinyRegion) -> None:
    """A missing input file under make: one line naming the file and the config key that
    names it, exit status 2, no stage run."""
    root = make_ready(tiny_region.root)
    tiny_region.write_config(sources={"path": "data/raw/tiny/no such sites.csv"})
    proc = make(root, "all", "REGION=tiny")
    assert proc.returncode == 2
    ours = [line for line in proc.stderr.splitlines() if line.startswith("heatlink:")]
    assert len(ours) == 1, proc.stderr
    assert "data/raw/tiny/no such sites.csv" in ours[0] and "'sources.path'" in ours[0]
    assert "input file not found" in ours[0]
    # the rest is make's own summary of the failed target
    others = [line for line in proc.stderr.splitlines() if line not in ours]
    assert all(line.startswith("make: ***") for line in others), proc.stderr
    assert "No rule to make target" not in proc.stderr and "Traceback" not in proc.stderr
    assert stages_run(proc) == []  # stopped before the fresh run


@needs_make
def test_region_name_differing_from_its_file_stops(tiny_region: TinyRegion) -> None:
    """``a.yml`` saying ``region.name: b`` stops with one line naming ``region.name`` and
    writes nothing into b's folders."""
    root = make_ready(tiny_region.root)
    copied = with_changes(tiny_region.config, region={"name": "b"})
    write_region(root, "a", copied)  # copied from b.yml, name left unchanged
    write_region(root, "b", copied)
    proc = make(root, "all", "REGION=a")
    assert proc.returncode == 2
    ours = [line for line in proc.stderr.splitlines() if line.startswith("heatlink:")]
    assert len(ours) == 1, proc.stderr
    assert "region.name" in ours[0] and "a.yml" in ours[0]
    assert "Traceback" not in proc.stderr
    assert not (root / "data" / "interim" / "b").exists()
    assert not (root / "outputs" / "b").exists()
    assert not (root / "outputs" / "a").exists()


@needs_make
def test_editing_routing_reruns_routing_and_what_follows(tiny_region: TinyRegion) -> None:
    """After a complete run, `make all` runs nothing; editing only
    ``routing.max_link_length_m`` reruns route_links and the stages after it, no other;
    then `make all` runs nothing again, not even ``configure``."""
    root = make_ready(tiny_region.root)
    configured_run(tiny_region)
    nothing = make(root, "all", "REGION=tiny")
    assert nothing.returncode == 0, nothing.stdout + nothing.stderr
    assert STAGE_LINE.findall(nothing.stdout) == []

    tiny_region.write_config(routing={"max_link_length_m": 1500})
    proc = make(root, "all", "REGION=tiny")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(stages_run(proc)) == sorted(STAGE_NAMES[STAGE_NAMES.index("route_links") :])
    routing = json.loads((root / "data/interim/tiny/config/routing.json").read_text())
    assert routing["max_link_length_m"] == 1500

    settled = make(root, "all", "REGION=tiny")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert STAGE_LINE.findall(settled.stdout) == [], "after the edit, make all reruns configure"


# --- the declared contract of each stage ----------------------------------------------------


def parse_stage_rules(stages_mk: Path) -> dict[str, tuple[list[str], list[str]]]:
    """``{stage: (targets, prerequisites)}`` from the rules ``heatlink configure`` wrote."""
    lines = stages_mk.read_text(encoding="utf-8").splitlines()
    rules = {}
    for head, recipe in zip(lines, lines[1:], strict=False):
        m = re.fullmatch(r"\t\$\(HEATLINK\) (\w+) --region \$\(REGION\)", recipe)
        if m:
            targets, _, prereqs = re.split(r" (&?:) ", head, maxsplit=1)
            rules[m.group(1)] = (targets.split(), re.findall(r"\$\([^)]*\)|\S+", prereqs))
    return rules


def test_make_rules_agree_with_the_declaration(
    tiny_region: TinyRegion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every declared output is the target of its stage's rule, and every rule's
    prerequisites hold the stage's declared reads, input links, config slices, module
    and package files, each of which exists or is made by an earlier rule."""
    root = tiny_region.root
    proc = run_cli("configure", "--region", "tiny", root=root)
    assert proc.returncode == 0, proc.stderr
    monkeypatch.chdir(root)  # as configure ran: paths relative to the project root
    cfg = load_region_file(tiny_region.region_file, root=".")
    paths = RegionPaths("tiny", Path("."))

    def rel(p: Path) -> str:
        return os.path.relpath(p, root)

    rules = parse_stage_rules(paths.stages_mk)
    assert list(rules) == list(STAGE_NAMES)
    made_by: dict[str, str] = {}
    for stage in STAGES:
        targets, prereqs = rules[stage.name]
        assert targets == [rel(getattr(paths, w)) for w in stage.writes], stage.name
        for name in stage.reads:  # made by an earlier stage
            assert rel(getattr(paths, name)) in prereqs, (stage.name, name)
            assert rel(getattr(paths, name)) in made_by, (stage.name, name)
        for key, real in stage.input_files(cfg).items():
            link = paths.input_links / key
            assert rel(link) in prereqs, (stage.name, key)
            assert link.resolve() == real.resolve(), key
        for section in stage.config:
            slice_ = paths.config_slices / f"{section}.json"
            assert rel(slice_) in prereqs and slice_.is_file(), (stage.name, section)
            dumped = getattr(cfg, section)
            dumped = None if dumped is None else dumped.model_dump(mode="json")
            assert json.loads(slice_.read_text()) == dumped, section
        assert stage.module_file in prereqs and (REPO / stage.module_file).is_file()
        for pattern in stage.package_files:
            assert f"$(wildcard {pattern})" in prereqs, (stage.name, pattern)
            assert list(REPO.glob(pattern)), f"{stage.name}: '{pattern}' matches no file"
        for p in prereqs:  # nothing make could not find or make
            if p.startswith(("data/interim/tiny/", "outputs/tiny/")) and "/inputs/" not in p:
                assert p in made_by or "/config/" in p, (stage.name, p)
        made_by |= dict.fromkeys(targets, stage.name)
    assert set(made_by) == {rel(getattr(paths, w)) for s in STAGES for w in s.writes}


def _recording(cls: type, names: set[str]) -> tuple[type, set[str]]:
    """A subclass of ``cls`` recording which of ``names`` are read from outside the
    object (not the reads its own properties make)."""
    seen: set[str] = set()
    depth = [0]

    class Recording(cls):  # type: ignore[misc,valid-type]
        def __getattribute__(self, name: str):
            if depth[0] == 0 and name in names:
                seen.add(name)
            depth[0] += 1
            try:
                return super().__getattribute__(name)
            finally:
                depth[0] -= 1

    return Recording, seen


# Reading these reads the whole config: they count as reading every section.
WHOLE_CONFIG = {"model_dump", "model_dump_json", "model_copy", "model_fields_set"}
PATHS_ALWAYS_ALLOWED = {"root", "region", "interim", "outputs", "logs"}


def test_each_stage_reads_only_what_it_declares(tiny_region: TinyRegion) -> None:
    """Run every stage's ``run()`` in-process with a recording config and paths: the
    sections it reads are among its declared ``config``, the files it names among its
    declared ``reads`` and ``writes``, and it names every one of those files."""
    root = tiny_region.root
    pipe = LineString([(X0 + 300, Y0 + 450), (X0 + 450, Y0 + 450)])
    add_existing_network(tiny_region, [pipe], annual_demand_mwh=900.0)
    cfg, _ = with_region_extent(load_region_file(tiny_region.region_file, root=root))
    sections = set(RegionFile.model_fields)
    path_names = {n for n in dir(RegionPaths) if isinstance(getattr(RegionPaths, n), property)}

    read: dict[str, set[str]] = {}
    named: dict[str, set[str]] = {}
    for stage in STAGES:
        Cfg, cfg_seen = _recording(RegionFile, sections | WHOLE_CONFIG | {"crs"})
        Paths, paths_seen = _recording(RegionPaths, path_names | {"root", "region"})
        module = __import__(f"pipeline.stages.{stage.name}", fromlist=["run"])
        module.run(Paths("tiny", root), Cfg.model_construct(**dict(cfg)))
        read[stage.name] = {"region" if s == "crs" else s for s in cfg_seen - WHOLE_CONFIG} | (
            sections if cfg_seen & WHOLE_CONFIG else set()
        )
        named[stage.name] = set(paths_seen)

    undeclared_config = {
        name: sorted(seen - set(BY_NAME[name].config)) for name, seen in read.items()
    }
    undeclared_paths = {
        name: sorted(
            seen - set(BY_NAME[name].reads) - set(BY_NAME[name].writes) - PATHS_ALWAYS_ALLOWED
        )
        for name, seen in named.items()
    }
    assert {k: v for k, v in undeclared_config.items() if v} == {}
    assert {k: v for k, v in undeclared_paths.items() if v} == {}
    # and each stage names its declared files through RegionPaths, so that the Make
    # targets and prerequisites are the files it writes and reads
    unnamed = {
        name: sorted({*BY_NAME[name].reads, *BY_NAME[name].writes} - seen)
        for name, seen in named.items()
    }
    assert {k: v for k, v in unnamed.items() if v} == {}
    # and the run made what the declaration says
    paths = RegionPaths("tiny", root)
    assert all(getattr(paths, w).is_file() for s in STAGES for w in s.writes)
    assert pyogrio.read_info(paths.geopackage, layer="existing_networks")["features"] == 1
