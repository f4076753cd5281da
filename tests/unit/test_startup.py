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
# The tabular stack; a stage whose common path does not need it imports it where used.
TABLES = ("pandas", "geopandas", "pyarrow")
# Stages (and readers) that run their common path without it: ingest_heat_demand reads
# and writes rasters, and only its building and vector paths need tables.
NO_TABLES_AT_IMPORT = ("pipeline.stages.ingest_heat_demand", "pipeline.readers.checks")


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


@pytest.mark.parametrize("module", NO_TABLES_AT_IMPORT)
def test_raster_path_imports_no_tables(module):
    """ingest_heat_demand's raster path (and the checks its raster reader uses) does
    without pandas, geopandas and pyarrow; the building paths import them."""
    loaded = loaded_after("pipeline.cli", module)
    assert sorted(loaded & set(TABLES)) == []


def test_no_work_at_import():
    """Importing the CLI and every stage reads no package table (export_geopackage's
    LAYERS is read from fields.csv when first used) and builds no WGS 84 transformer."""
    code = (
        "import json, pyproj\n"
        "made = []\n"
        "real = pyproj.Transformer.from_crs\n"
        "def from_crs(src, dst, **kw):\n"
        "    made.append(pyproj.CRS.from_user_input(dst).to_epsg())\n"
        "    return real(src, dst, **kw)\n"
        "pyproj.Transformer.from_crs = from_crs\n"
        "from pathlib import Path\n"
        "import pipeline.data, pipeline.cli\n"
        "read = []\n"
        "for name in ('load_fields', 'load_pipe_catalogue', 'load_twin_casings'):\n"
        "    f = getattr(pipeline.data, name)\n"
        "    setattr(pipeline.data, name, lambda f=f, n=name: read.append(n) or f())\n"
        "from pipeline.stages import STAGE_NAMES\n"
        "import importlib\n"
        "for s in STAGE_NAMES:\n"
        "    importlib.import_module(f'pipeline.stages.{s}')\n"
        "from pipeline.config import load_region_file\n"
        "load_region_file(Path('data/regions/synthetic.yml'))\n"
        "from pipeline.stages import export_geopackage\n"
        "at_import = [list(read), made, 'LAYERS' in vars(export_geopackage)]\n"
        "print(json.dumps([*at_import, len(export_geopackage.LAYERS)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    read, transformed_to, layers_made, n_layers = json.loads(out.stdout)
    assert read == []
    assert 4326 not in transformed_to  # the bbox is checked in its CRS's own geographic CRS
    assert not layers_made
    assert n_layers > 0  # and LAYERS is still there when asked for
