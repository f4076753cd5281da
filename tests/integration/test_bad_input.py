"""Bad input ends with one line naming the file or key, exit status 2, outputs intact."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import LineString, box

from conftest import X0, Y0, TinyRegion, run_cli, to_lonlat, write_raster


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_clean_failure(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) >= 1
    last = lines[-1]
    assert last.startswith("heatlink: error: ")
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in last, last


@pytest.fixture
def built(tiny_region: TinyRegion) -> TinyRegion:
    """The tiny region, run once successfully."""
    proc = run_cli("all", "--region", "tiny", root=tiny_region.root)
    assert proc.returncode == 0, proc.stderr
    assert "wrote outputs/tiny/heat_links.gpkg" in proc.stdout
    return tiny_region


def _outputs(region: TinyRegion) -> dict[str, str]:
    files = [
        *(region.root / "data/interim/tiny").glob("*.*"),
        region.root / "outputs/tiny/heat_links.gpkg",
    ]
    return {p.name: _digest(p) for p in files if p.is_file()}


def _no_temp_files(region: TinyRegion) -> None:
    leftovers = [p for p in region.root.rglob(".*tmp-*")]
    assert leftovers == []


CASES = {
    "missing_sites_file": (
        {"sources": {"path": "data/raw/tiny/nope.csv"}},
        ["data/raw/tiny/nope.csv", "sources.path"],
    ),
    "unknown_key": (
        {"routing": {"max_link_lenght_m": 1500}},
        ["routing.max_link_lenght_m", "max_link_length_m"],
    ),
    "out_of_range": (
        {"routing": {"max_link_length_m": -5}},
        ["routing.max_link_length_m", "greater than 0"],
    ),
    "missing_units": (
        {"heat_demand": {"units": None}},
        ["heat_demand.units"],
    ),
    "bad_units": (
        {"heat_demand": {"units": "MW"}},
        ["heat_demand.units", "MWh/ha/yr"],
    ),
    "unknown_road_class_column": (
        {"roads": {"class_column": "fclass"}},
        ["roads.gpkg", "fclass"],
    ),
    "no_roads_in_region": (
        {"roads": {"classes": {"residential": {"follow": False}}}},
        ["roads.gpkg", "no roads inside the region"],
    ),
    "no_such_road_layer": (
        {"roads": {"layer": "road_link"}},
        ["roads.gpkg", "no layer 'road_link'", "roads.layer"],
    ),
    "not_projected_crs": (
        {"region": {"crs": 4326}},
        ["region.crs", "not a projected CRS"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config(built: TinyRegion, case: str) -> None:
    changes, needles = CASES[case]
    before = _outputs(built)
    built.write_config(**changes)
    proc = run_cli("all", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, *needles)
    assert _outputs(built) == before
    _no_temp_files(built)


def test_raster_without_crs(built: TinyRegion) -> None:
    path = built.root / "data/raw/tiny/heat.tif"
    write_raster(path, np.ones((6, 6)), Affine(100, 0, X0, 0, -100, Y0 + 500), None)
    before = _outputs(built)
    proc = run_cli("ingest_heat_demand", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, "heat.tif", "no CRS")
    assert _outputs(built) == before


def test_unreadable_raster(built: TinyRegion) -> None:
    (built.root / "data/raw/tiny/heat.tif").write_text("not a tiff")
    proc = run_cli("ingest_heat_demand", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, "heat.tif")


def _rewrite_sites(region: TinyRegion, rows: list[dict]) -> None:
    pd.DataFrame(rows).to_csv(region.root / "data/raw/tiny/sites.csv", index=False)


def test_sites_all_outside(built: TinyRegion) -> None:
    lon, lat = to_lonlat(X0 + 90_000, Y0)
    _rewrite_sites(built, [{"site_id": "A", "name": "a", "it_load_mw": 1, "lat": lat, "lon": lon}])
    before = _outputs(built)
    proc = run_cli("all", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, "sites.csv", "outside the region")
    assert _outputs(built) == before


def test_sites_swapped(built: TinyRegion) -> None:
    lon, lat = to_lonlat(X0 + 10, Y0 + 10)
    _rewrite_sites(built, [{"site_id": "A", "name": "a", "it_load_mw": 1, "lat": lon, "lon": lat}])
    proc = run_cli("ingest_sources", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, "sites.csv", "line 2", "swapped")


def test_sites_missing_column(built: TinyRegion) -> None:
    lon, lat = to_lonlat(X0 + 10, Y0 + 10)
    _rewrite_sites(built, [{"site_id": "A", "name": "a", "lat": lat, "lon": lon}])
    proc = run_cli("ingest_sources", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, "sites.csv", "it_load_mw")


def test_roads_file_not_a_vector(built: TinyRegion) -> None:
    (built.root / "data/raw/tiny/roads.gpkg").write_bytes(b"\x00garbage")
    proc = run_cli("ingest_roads", "--region", "tiny", root=built.root)
    _assert_clean_failure(proc, "roads.gpkg")


def test_roads_zip_without_road_layer(built: TinyRegion) -> None:
    """A Geofabrik-like .shp.zip holding no gis_osm_roads_free_1 layer."""
    parts = built.root / "zip_parts"
    parts.mkdir()
    for name, geometry in [
        ("gis_osm_railways_free_1", LineString([(X0, Y0), (X0 + 100, Y0)])),
        ("gis_osm_buildings_a_free_1", box(X0, Y0, X0 + 10, Y0 + 10)),
    ]:
        gdf = gpd.GeoDataFrame({"osm_id": ["1"]}, geometry=[geometry], crs=27700)
        gdf.to_file(parts / f"{name}.shp", driver="ESRI Shapefile")
    with zipfile.ZipFile(built.root / "data/raw/tiny/county-free.shp.zip", "w") as zf:
        for part in sorted(parts.iterdir()):
            zf.write(part, part.name)
    before = _outputs(built)
    built.write_config(roads={"path": "data/raw/tiny/county-free.shp.zip"})
    proc = run_cli("all", "--region", "tiny", root=built.root)
    _assert_clean_failure(
        proc,
        "county-free.shp.zip",
        "no road layer",
        "gis_osm_railways_free_1",
        "gis_osm_buildings_a_free_1",
        "roads.layer",
    )
    assert _outputs(built) == before
    _no_temp_files(built)


def test_unknown_region_lists_known(tiny_region: TinyRegion) -> None:
    proc = run_cli("all", "--region", "atlantis", root=tiny_region.root)
    _assert_clean_failure(proc, "atlantis", "tiny")


def test_config_outside_repo(tiny_region: TinyRegion, tmp_path_factory) -> None:
    """`--config FILE` runs a region file kept anywhere."""
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "my_region.yml"
    elsewhere.write_text(tiny_region.region_file.read_text())
    proc = run_cli("all", "--config", str(elsewhere), root=tiny_region.root)
    assert proc.returncode == 0, proc.stderr
    assert (tiny_region.root / "outputs/tiny/heat_links.gpkg").is_file()
    assert (tiny_region.root / "outputs/tiny/logs/route_links.log").read_text().count("wrote") == 1
