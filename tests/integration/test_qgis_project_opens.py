"""The QGIS project of a real run: its structure, run identity, and (where PyQGIS is
installed) that QGIS opens it with every layer valid, also after the folder is moved."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pyogrio
import pytest
from test_runs import configured_run

from conftest import TinyRegion
from pipeline.qgis_project import GROUPS, HIDDEN
from pipeline.stages.export_geopackage import LAYERS, STYLE_FILES

pytestmark = pytest.mark.slow

QGIS_SCRIPT = """
import json, sys
from qgis.core import QgsApplication, QgsProject
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
ok = project.read(sys.argv[1])
root = project.layerTreeRoot()
extent = project.viewSettings().defaultViewExtent()
out = {
    "read": ok,
    "crs": project.crs().authid(),
    "groups": {
        g.name(): [n.name() for n in g.children()] for g in root.children()
    },
    "visible": sorted(l.name() for l in root.checkedLayers()),
    "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
    "layers": {
        layer.name(): {
            "valid": layer.isValid(),
            "count": layer.featureCount(),
            "crs": layer.crs().authid(),
            "renderer": layer.renderer().type(),
            "source": layer.source(),
        }
        for layer in project.mapLayers().values()
    },
}
app.exitQgis()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The outputs folder of one run of the tiny region."""
    from conftest import make_tiny_region

    region: TinyRegion = make_tiny_region(tmp_path_factory.mktemp("qgis"))
    return configured_run(region).parent


def _project(qgz: Path) -> ET.Element:
    with zipfile.ZipFile(qgz) as archive:
        (name,) = archive.namelist()
        assert name == "heat_links.qgs"
        return ET.fromstring(archive.read(name))


def _canonical(element: ET.Element) -> str:
    return ET.canonicalize(ET.tostring(element, encoding="unicode"), strip_text=True)


def test_every_layer_is_in_the_project_with_its_stored_style(tiny_run: Path) -> None:
    gpkg, qgz = tiny_run / "heat_links.gpkg", tiny_run / "heat_links.qgz"
    doc = _project(qgz)
    layers = {m.findtext("layername"): m for m in doc.iter("maplayer")}
    stored = {n for n, _ in pyogrio.list_layers(gpkg)} - {"layer_styles", "run_info"}
    assert set(layers) == stored == set(LAYERS)
    with sqlite3.connect(gpkg) as db:
        qml = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles"))
    for name, element in layers.items():
        assert element.findtext("datasource") == f"./heat_links.gpkg|layername={name}"
        assert element.findtext("provider") == "ogr"
        if name in STYLE_FILES:  # the renderer stored in the GeoPackage, as it is there
            want = ET.fromstring(qml[name]).find("renderer-v2")
            assert _canonical(element.find("renderer-v2")) == _canonical(want), name
    tree = {
        g.get("name"): [n.get("name") for n in g.findall("layer-tree-layer")]
        for g in doc.findall("layer-tree-group/layer-tree-group")
    }
    assert tree == {group: list(names) for group, names in GROUPS}
    assert doc.findtext("projectCrs/spatialrefsys/authid") == "EPSG:27700"


def test_every_layer_carries_the_run_id_of_run_info(tiny_run: Path) -> None:
    gpkg = tiny_run / "heat_links.gpkg"
    with sqlite3.connect(gpkg) as db:
        (run_id,) = db.execute("SELECT value FROM run_info WHERE key = 'run_id'").fetchone()
        assert len(run_id) == 16
        for name in LAYERS:
            assert pyogrio.read_info(gpkg, layer=name)["fields"][-1] == "run_id", name
            values = {v for (v,) in db.execute(f'SELECT DISTINCT run_id FROM "{name}"')}
            assert values <= {run_id}, name
        assert {v for (v,) in db.execute("SELECT run_id FROM demand_zones")} == {run_id}


def test_a_different_config_gets_a_different_run_id(tiny_region: TinyRegion) -> None:
    """Two runs of the same inputs and config share their run_id, so comparing runs stays
    meaningful; a run with a changed setting gets another."""

    def run_id() -> str:
        gpkg = configured_run(tiny_region)
        with sqlite3.connect(gpkg) as db:
            return db.execute("SELECT value FROM run_info WHERE key = 'run_id'").fetchone()[0]

    first = run_id()
    assert run_id() == first
    tiny_region.write_config(routing={"max_link_length_m": 1500})
    assert run_id() != first


def _open_in_qgis(qgz: Path) -> dict:
    system_python = shutil.which("python3", path="/usr/bin")
    probe = subprocess.run(
        [system_python or "python3", "-c", "import qgis.core"], capture_output=True
    )
    if system_python is None or probe.returncode != 0:
        pytest.skip("PyQGIS is not installed (apt install python3-qgis to run this check)")
    proc = subprocess.run(
        [system_python, "-c", QGIS_SCRIPT, str(qgz)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
        cwd=Path("/"),  # relative sources must resolve from the project, not from here
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _assert_opens(got: dict, folder: Path) -> None:
    assert got["read"] and got["crs"] == "EPSG:27700"
    assert got["groups"] == {group: list(names) for group, names in GROUPS}
    assert set(got["layers"]) == set(LAYERS)
    assert got["visible"] == sorted(set(LAYERS) - HIDDEN)
    for name, layer in got["layers"].items():
        assert layer["valid"], (name, layer["source"])
        assert layer["crs"] == "EPSG:27700", name
        assert layer["source"].startswith(str(folder / "heat_links.gpkg")), name
        assert (
            layer["count"] == pyogrio.read_info(folder / "heat_links.gpkg", layer=name)["features"]
        ), name
    assert got["layers"]["network_pipes"]["renderer"] == "graduatedSymbol"
    xmin, ymin, xmax, ymax = got["extent"]
    for name in ("sources", "demand_zones", "links"):
        bx0, by0, bx1, by1 = pyogrio.read_info(folder / "heat_links.gpkg", layer=name)[
            "total_bounds"
        ]
        assert xmin <= bx0 and ymin <= by0 and bx1 <= xmax and by1 <= ymax, name


def test_qgis_opens_the_project_with_every_layer_valid(tiny_run: Path, tmp_path: Path) -> None:
    """Open the .qgz in real QGIS (Debian's python3-qgis): it reads, every layer is valid
    with all its features, the groups and the CRS are there, and the default view covers
    the layers; then move the output folder elsewhere and open it again."""
    _assert_opens(_open_in_qgis(tiny_run / "heat_links.qgz"), tiny_run)
    moved = tmp_path / "somewhere else" / "handed over"
    shutil.copytree(tiny_run, moved, ignore=shutil.ignore_patterns("logs"))
    shutil.rmtree(tiny_run.parent / "gone", ignore_errors=True)
    original = tiny_run.rename(tiny_run.parent / "gone")  # the old folder no longer exists
    try:
        _assert_opens(_open_in_qgis(moved / "heat_links.qgz"), moved)
    finally:
        original.rename(tiny_run)
