"""End-to-end runs of the shipped regions, checked as a GIS analyst would check them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from shapely.ops import substring

from conftest import REPO, run_cli
from pipeline.engineering.viability import REASON_CODES
from pipeline.stages.export_geopackage import LAYERS

pytestmark = pytest.mark.slow

MAKE_INPUTS = {
    "synthetic": ["pipeline.datasets.synthetic", "--out", "data/raw/synthetic", "--size", "small"],
    "helsinki": ["pipeline.datasets.helsinki", "--out", "data/raw/helsinki"],
}


@pytest.fixture(scope="module", params=sorted(MAKE_INPUTS))
def region_run(request, tmp_path_factory) -> tuple[str, Path, dict]:
    """Make the region's inputs in a fresh root and run every stage, as `make all` does."""
    region = request.param
    root = tmp_path_factory.mktemp(region)
    (root / "data" / "regions").mkdir(parents=True)
    shutil.copy(REPO / "data" / "regions" / f"{region}.yml", root / "data" / "regions")
    committed = REPO / "data" / "raw" / region
    if committed.is_dir():
        for f in committed.iterdir():
            if f.is_file() and not f.name.startswith("."):
                (root / "data" / "raw" / region).mkdir(parents=True, exist_ok=True)
                shutil.copy(f, root / "data" / "raw" / region)
    subprocess.run(
        [sys.executable, "-m", *MAKE_INPUTS[region]],
        cwd=root,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    proc = run_cli("all", "--region", region, root=root)
    assert proc.returncode == 0, proc.stderr
    cfg = yaml.safe_load((root / "data" / "regions" / f"{region}.yml").read_text())
    return region, root, cfg


def _layer(root: Path, region: str, name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(root / "outputs" / region / "heat_links.gpkg", layer=name)


def test_layers_fields_and_crs(region_run) -> None:
    region, root, cfg = region_run
    gpkg = root / "outputs" / region / "heat_links.gpkg"
    listed = {name: geom for name, geom in pyogrio.list_layers(gpkg)}
    assert set(listed) == set(LAYERS) | {"layer_styles", "run_info"}
    for name, (geom_type, fields) in LAYERS.items():
        info = pyogrio.read_info(gpkg, layer=name)
        assert list(info["fields"]) == fields, name
        assert info["geometry_type"] == geom_type, name
        assert pyogrio.read_info(gpkg, layer=name)["crs"] == f"EPSG:{cfg['region']['crs']}"


def test_links_within_max_length_and_follow_roads(region_run) -> None:
    region, root, cfg = region_run
    links = _layer(root, region, "links")
    assert len(links) > 0
    max_len = cfg.get("routing", {}).get("max_link_length_m", 2000)
    assert (links["route_length_m"] <= max_len + 1e-6).all()
    # route_length_m is the geometry's length (spurs included) within 1 %
    assert ((links.length - links["route_length_m"]).abs() <= 0.01 * links["route_length_m"]).all()
    # without its spurs, every route lies within 1 m of a road line
    roads = gpd.read_parquet(root / "data" / "interim" / region / "roads.parquet")
    tree = shapely.STRtree(roads.geometry.to_numpy())
    for link in links.itertuples():
        on_road = substring(
            link.geometry, link.site_spur_m, link.geometry.length - link.zone_spur_m
        )
        if on_road.length < 0.01:  # the link is all spur: check where it meets the road
            on_road = shapely.Point(on_road.coords[0])
        near = roads.geometry.to_numpy()[tree.query(on_road, predicate="dwithin", distance=1.0)]
        assert shapely.union_all(near).buffer(1.0).covers(on_road), link.link_id


def test_pairs_are_viable_or_rejected_never_both(region_run) -> None:
    region, root, _ = region_run
    links = _layer(root, region, "links")
    rejected = _layer(root, region, "rejected_links")
    pairs = set(zip(links["site_id"], links["zone_id"], strict=True))
    bad = set(zip(rejected["site_id"], rejected["zone_id"], strict=True))
    assert not pairs & bad
    assert len(pairs) == len(links) and len(bad) == len(rejected)
    assert rejected["reason"].notna().all()


def test_energy_and_sizes_are_consistent(region_run) -> None:
    region, root, _ = region_run
    links = _layer(root, region, "links")
    sources = _layer(root, region, "sources").set_index("site_id")
    zones = _layer(root, region, "demand_zones").set_index("zone_id")
    balance = links["heat_sent_mwh"] - links["delivered_heat_mwh"] - links["annual_heat_loss_mwh"]
    assert balance.abs().max() < 1e-6
    pumped = links["heat_sent_mwh"] - links["source_heat_mwh"] - links["hp_electricity_mwh"]
    assert pumped.abs().max() < 1e-6
    cop = links["cop"].to_numpy(dtype=float)
    lift = np.where(np.isnan(cop), 1.0, cop / (cop - 1.0))
    output = sources.loc[links["site_id"], "heat_available_mw"].to_numpy() * lift
    design = np.minimum(output, zones.loc[links["zone_id"], "peak_demand_mw"].to_numpy())
    assert np.abs(links["design_network_heat_mw"].to_numpy() - design).max() < 1e-9
    assert links["dn"].notna().all() and (links["heat_loss_pct"] > 0).all()


def test_reasons_are_known_codes(region_run) -> None:
    region, root, _ = region_run
    reasons = set(_layer(root, region, "rejected_links")["reason"])
    codes = {code for reason in reasons for code in reason.split(";")}
    assert codes <= {"no_road_nearby", "unreachable", "beyond_max_length", *REASON_CODES}
    if region == "synthetic":  # built to show every routing outcome
        assert {"beyond_max_length", "unreachable", "no_road_nearby"} <= reasons


def test_styles_descriptions_and_provenance(region_run) -> None:
    import json
    import sqlite3
    import xml.etree.ElementTree as ET

    from pipeline.data import load_fields
    from pipeline.stages.export_geopackage import STYLE_FILES

    region, root, _ = region_run
    gpkg = root / "outputs" / region / "heat_links.gpkg"
    with sqlite3.connect(gpkg) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200  # GeoPackage 1.2
        styles = db.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        columns = set(db.execute("SELECT table_name, column_name FROM gpkg_data_columns"))
        described = dict(
            ((t, c), d)
            for t, c, d in db.execute(
                "SELECT table_name, column_name, description FROM gpkg_data_columns"
            )
        )
        info = dict(db.execute("SELECT key, value FROM run_info WHERE key != 'input'"))
        inputs = [
            json.loads(v) for (v,) in db.execute("SELECT value FROM run_info WHERE key = 'input'")
        ]
    assert {s[0] for s in styles} == set(STYLE_FILES)
    for table, geom_col, qml, default in styles:
        assert default == 1 and geom_col == "geom"
        renderer = ET.fromstring(qml).find("renderer-v2")
        attr = renderer.get("attr")
        if attr:
            assert attr in pyogrio.read_info(gpkg, layer=table)["fields"], (table, attr)
    fields = load_fields()
    for row in fields.itertuples():
        assert (row.layer, row.field) in columns
        assert described[(row.layer, row.field)] == row.description
    assert json.loads(info["config"])["region"]["name"] == region
    assert {"geopandas", "shapely", "pyproj", "networkx", "GDAL"} <= set(
        json.loads(info["versions"])
    )
    assert info["run_start"] <= info["run_end"]
    assert inputs and all(len(i["sha256"]) == 64 and i["size_bytes"] > 0 for i in inputs)
    if region == "helsinki":  # a PBF without replication headers still records its timestamp key
        assert any("osm_timestamp" in i for i in inputs)


def test_report_and_links_csv(region_run) -> None:
    import re

    region, root, _ = region_run
    out = root / "outputs" / region
    page = (out / "report.html").read_text(encoding="utf-8")
    sources = _layer(root, region, "sources")
    links = _layer(root, region, "links")
    rejected = _layer(root, region, "rejected_links")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert "overview map" in images
    assert sum(a.startswith("map of ") for a in images) >= 1
    assert not re.search(r'(src|href)="https?://', page)  # opens offline
    summary = re.search(r"<h2>Summary</h2>\s*<p>(.*?)</p>", page, flags=re.S).group(1)
    assert f"{len(sources)} heat sources" in summary
    assert f"{len(links)} viable links" in summary and f"{len(rejected)} rejected" in summary
    sources_table = re.search(r"<h2>Sources</h2>\s*(<table.*?</table>)", page, flags=re.S).group(1)
    assert sources_table.count("<tr") == len(sources) + 1  # and the header row
    table = pd.read_csv(out / "links.csv")
    assert len(table) == len(links) + len(rejected)
    assert table["viable"].sum() == len(links)


def test_designed_networks_replace_the_recommended_links(region_run) -> None:
    """Both network layers are written; every recommended link is in exactly one network;
    the pipes add up to each network's trench; on the synthetic region one source serves
    two zones along a shared street, so its trench is shorter than point to point."""
    region, root, _ = region_run
    networks = _layer(root, region, "networks")
    pipes = _layer(root, region, "network_pipes")
    links = _layer(root, region, "links")
    recommended = links[links["recommended"].astype(bool)]
    assert len(networks) >= 1 and len(pipes) >= 1
    assert networks["n_links"].sum() == len(recommended)
    assert set(pipes["network_id"]) == set(networks["network_id"])
    served = {
        (s, k)
        for sites, sinks in zip(networks["site_ids"], networks["sink_ids"], strict=True)
        for s in sites.split(";")
        for k in sinks.split(";")
    }
    assert set(zip(recommended["site_id"], recommended["sink_id"], strict=True)) <= served
    trench = pipes.groupby("network_id")["length_m"].sum()
    np.testing.assert_allclose(trench[networks["network_id"]], networks["trench_length_m"])
    assert (networks["trench_length_m"] <= networks["p2p_trench_length_m"] + 1e-6).all()
    assert (networks["capex_eur"] <= networks["p2p_capex_eur"] * (1 + 1e-9)).all()
    assert pipes["dn"].notna().all() and (pipes["design_network_heat_mw"] > 0).all()
    csv = pd.read_csv(root / "outputs" / region / "networks.csv")
    assert csv["network_id"].tolist() == networks["network_id"].tolist()
    if region == "synthetic":
        shared = networks[(networks["n_sinks"] >= 2) & (networks["trench_saving_pct"] > 5)]
        assert len(shared) >= 1
        net = shared.iloc[0]
        assert net["trench_length_m"] < net["p2p_trench_length_m"]
        own = pipes[pipes["network_id"] == net["network_id"]]
        assert own["dn"].nunique() >= 2  # the trunk steps down after its branch


QGIS_SCRIPT = """
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
    renderer = layer.renderer()
    ranges = renderer.ranges() if renderer.type() == "graduatedSymbol" else []
    out[name] = {
        "valid": layer.isValid(),
        "count": layer.featureCount(),
        "renderer": renderer.type(),
        "attribute": renderer.classAttribute() if ranges else None,
        "widths": [r.symbol().width() for r in ranges],
    }
print(json.dumps(out))
"""


def test_network_layers_open_styled_in_qgis(region_run) -> None:
    """Open the two network layers in real QGIS (Debian's python3-qgis): valid, every
    feature there, and the pipes drawn wider for a larger DN by their stored style."""
    import json
    import os

    system_python = shutil.which("python3", path="/usr/bin")
    probe = subprocess.run(
        [system_python or "python3", "-c", "import qgis.core"], capture_output=True
    )
    if system_python is None or probe.returncode != 0:
        pytest.skip("PyQGIS is not installed (apt install python3-qgis to run this check)")
    region, root, _ = region_run
    gpkg = root / "outputs" / region / "heat_links.gpkg"
    proc = subprocess.run(
        [system_python, "-c", QGIS_SCRIPT, str(gpkg), "network_pipes", "networks"],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("network_pipes", "networks"):
        assert got[name]["valid"]
        assert got[name]["count"] == len(_layer(root, region, name))
    pipes = got["network_pipes"]
    assert (pipes["renderer"], pipes["attribute"]) == ("graduatedSymbol", "dn")
    assert pipes["widths"] == sorted(pipes["widths"]) and len(set(pipes["widths"])) >= 3


def test_report_screenshot_has_a_map(region_run, tmp_path) -> None:
    """Render the report in headless Chromium (Debian's package) and look at the map."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt install chromium to run this check)")
    import matplotlib.image

    region, root, _ = region_run
    shot = tmp_path / f"{region}.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1400",
            f"--screenshot={shot}",
            (root / "outputs" / region / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = matplotlib.image.imread(shot)[..., :3]
    map_area = pixels[250:1200, 100:1000]  # the overview map sits below the summary
    assert (map_area.mean(axis=2) < 0.95).mean() > 0.05  # not blank: roads, zones, links
    assert len(np.unique((map_area * 255).astype(int).reshape(-1, 3), axis=0)) > 50


@pytest.mark.parametrize("region_run", ["synthetic"], indirect=True)
def test_dask_executor_writes_the_same_geopackage(region_run, tmp_path) -> None:
    """`heatlink all --executor dask` (a LocalCluster) writes the layers the local
    executor does, value for value and geometry for geometry."""
    pytest.importorskip("distributed")
    from test_runs import assert_same_layers, read_layers, without_times

    region, root, _ = region_run
    copy = tmp_path / "dask"
    shutil.copytree(root, copy, symlinks=True)
    shutil.rmtree(copy / "outputs")
    for f in (copy / "data" / "interim" / region).glob("*.parquet"):
        f.unlink()
    proc = run_cli("all", "--region", region, "--executor", "dask", root=copy)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"Dask: \d+ workers", proc.stderr), proc.stderr
    gpkg = Path("outputs") / region / "heat_links.gpkg"
    assert_same_layers(
        without_times(read_layers(copy / gpkg)), without_times(read_layers(root / gpkg))
    )
