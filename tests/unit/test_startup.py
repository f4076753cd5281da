"""Start-up (issue 12): a stage process imports only what its module needs at import time.

Each stage runs as its own process, so every package its module imports at the top is
paid for before ``run()`` starts. Heavy packages that only some code paths need
(plotting, OSM readers, solvers, raster and GDAL bindings) are imported inside the
functions that use them. These tests check which packages are loaded after importing
the CLI and one stage module in a fresh interpreter; the timings are in the benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.stages import STAGE_NAMES

ROOT = Path(__file__).resolve().parents[2]

# Loaded only inside the functions (or code paths) that need them.
HEAVY = ("matplotlib", "osmnx", "pyrosm", "osmium", "scipy", "rasterio", "pyogrio", "networkx")
# Stages whose module needs the road graph's networkx at import time.
NETWORKX_AT_IMPORT = {"build_road_graph", "route_links", "design_networks"}


def loaded_after(*modules: str) -> set[str]:
    """Top-level packages loaded by importing ``modules`` in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def test_cli_imports_no_geodata_stack():
    """`heatlink configure` and `--help` need the config, not geopandas or pandas."""
    loaded = loaded_after("pipeline.cli")
    assert not loaded & {*HEAVY, "geopandas", "pandas", "shapely", "pyarrow"}
    assert {"pydantic", "pyproj"} <= loaded  # the config is validated at start


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_stage_module_imports_no_heavy_packages(stage):
    allowed = {"networkx"} if stage in NETWORKX_AT_IMPORT else set()
    loaded = loaded_after("pipeline.cli", f"pipeline.stages.{stage}")
    assert sorted(loaded & set(HEAVY) - allowed) == []


def test_heavy_packages_still_load_where_used():
    """The lazy imports are real: the functions that need a package still get it."""
    code = (
        "import sys\n"
        "from pipeline.stages import allocate_heat\n"
        "allocate_heat._row(3, __import__('numpy').array([0, 2]), __import__('numpy').ones(2))\n"
        "print('scipy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"
