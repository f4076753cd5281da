"""End-to-end runs of the shipped regions, checked as a GIS analyst would check them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
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
    assert set(listed) == set(LAYERS)
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
    assert np.abs(links["design_heat_mw"].to_numpy() - design).max() < 1e-9
    assert links["dn"].notna().all() and (links["heat_loss_pct"] > 0).all()


def test_reasons_are_known_codes(region_run) -> None:
    region, root, _ = region_run
    reasons = set(_layer(root, region, "rejected_links")["reason"])
    codes = {code for reason in reasons for code in reason.split(";")}
    assert codes <= {"no_road_nearby", "unreachable", "beyond_max_length", *REASON_CODES}
    if region == "synthetic":  # built to show every routing outcome
        assert {"beyond_max_length", "unreachable", "no_road_nearby"} <= reasons
