"""Given demand zones (zones.path), linear heat density classes and the GB default CRS."""

from __future__ import annotations

import shutil
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import yaml
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pyproj import CRS
from shapely.geometry import LineString, Point, Polygon, box

from conftest import REPO, X0, Y0, run_cli
from pipeline.config import ZonesConfig
from pipeline.errors import InputError
from pipeline.readers.raster import Grid
from pipeline.readers.zones import read_given_zones
from pipeline.stages.build_demand_zones import build_demand_zones, given_zones

BNG = CRS.from_epsg(27700)


def _grid(data: np.ndarray, cell_m: float = 100.0) -> Grid:
    return Grid(data, Affine(cell_m, 0, 0, 0, -cell_m, cell_m * data.shape[0]), BNG)


def _zones(*polygons: Polygon) -> gpd.GeoDataFrame:
    ids = [f"HNZ-{i + 1}" for i in range(len(polygons))]
    return gpd.GeoDataFrame({"zone_id": ids}, geometry=list(polygons), crs=27700)


# --- energy kept ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=48).map(np.array),
    x_frac=st.floats(0.01, 0.99),
    y_frac=st.floats(0.01, 0.99),
    apex=st.tuples(st.floats(-50, 650), st.floats(-50, 450)),
)
def test_zones_and_the_rest_add_up_to_the_map(
    data: np.ndarray, x_frac: float, y_frac: float, apex: tuple[float, float]
) -> None:
    """Cut the map into a triangle and the three pieces of the rest, at any angle and
    off the cell edges: the four zones' demand adds up to the map's total."""
    a = np.resize(data, (4, 6))
    grid = _grid(a)  # 600 m x 400 m
    frame = box(-100, -100, 700, 500)
    x, y = 600 * x_frac, 400 * y_frac
    triangle = Polygon([(x, y), (x + 137.0, y - 61.0), apex]).buffer(0)
    if triangle.is_empty or triangle.area < 1:
        triangle = box(x, y, x + 30, y + 30)
    rest = frame.difference(triangle)
    pieces = [triangle, rest.intersection(box(-100, -100, x, 500))]
    pieces += [rest.intersection(box(x, -100, 700, y)), rest.intersection(box(x, y, 700, 500))]
    pieces = [p for p in pieces if not p.is_empty]
    zones = given_zones(grid, _zones(*pieces), ZonesConfig())
    assert zones["annual_demand_mwh"].sum() == pytest.approx(a.sum(), rel=1e-9, abs=1e-6)


def test_a_cut_cell_counts_with_its_area_share() -> None:
    a = np.array([[400.0, 200.0], [100.0, 800.0]])
    # covers the top-left cell whole, half of the top-right, nothing of the bottom row
    zones = given_zones(_grid(a), _zones(box(0, 100, 150, 200), box(0, 0, 10, 10)), ZonesConfig())
    assert zones["annual_demand_mwh"].tolist() == pytest.approx([500.0, 1.0])
    assert zones["n_cells"].tolist() == [2, 1]
    assert zones["area_ha"].tolist() == pytest.approx([1.5, 0.01])
    assert zones["peak_demand_mw"].tolist() == pytest.approx([500.0 / 2000, 1.0 / 2000])
    assert zones["zone_id"].tolist() == ["HNZ-1", "HNZ-2"]


def test_nodata_counts_as_no_demand_and_zone_off_the_map_has_none() -> None:
    a = np.array([[np.nan, 200.0]])
    zones = given_zones(
        _grid(a), _zones(box(0, 0, 200, 100), box(5000, 0, 5100, 100)), ZonesConfig()
    )
    assert zones["annual_demand_mwh"].tolist() == [200.0, 0.0]


# --- linear heat density and class -------------------------------------------------------


def test_linear_heat_density_and_classes() -> None:
    a = np.full((2, 6), 500.0)  # three zones of 4 ha (2,000 MWh/yr) each
    zones = _zones(box(0, 0, 200, 200), box(200, 0, 400, 200), box(400, 0, 600, 200))
    roads = gpd.GeoSeries(
        [
            LineString([(-50, 100), (300, 100)]),  # 200 m in zone 1, 100 m in zone 2
            LineString([(250, 50), (250, 150)]),  # 100 m more in zone 2
        ],
        crs=27700,
    )
    z = build_demand_zones(_grid(a), ZonesConfig(), roads=roads, given=zones)
    # zone 1: 2,000,000 kWh / 200 m; zone 2: / 200 m; zone 3: no road
    assert z["linear_heat_density_kwh_per_m"].tolist()[:2] == [10_000.0, 10_000.0]
    assert np.isnan(z["linear_heat_density_kwh_per_m"].iloc[2])
    assert z["zone_class"].tolist() == ["stringent", "stringent", "below"]
    # the thresholds are config
    cfg = ZonesConfig(lhd_baseline_kwh_per_m=10_000, lhd_stringent_kwh_per_m=20_000)
    assert build_demand_zones(_grid(a), cfg, roads=roads, given=zones)["zone_class"].tolist() == [
        "baseline",
        "baseline",
        "below",
    ]
    cfg = ZonesConfig(lhd_baseline_kwh_per_m=10_001, lhd_stringent_kwh_per_m=20_000)
    assert (
        build_demand_zones(_grid(a), cfg, roads=roads, given=zones)["zone_class"].tolist()
        == ["below"] * 3
    )


def test_zones_config_checks() -> None:
    with pytest.raises(ValidationError, match="zones.path needs zones.id_column"):
        ZonesConfig(path="hnz.gpkg")
    with pytest.raises(ValidationError, match="need zones.path"):
        ZonesConfig(id_column="hnz_id")
    with pytest.raises(ValidationError, match="must be at least"):
        ZonesConfig(lhd_baseline_kwh_per_m=8000, lhd_stringent_kwh_per_m=4000)


# --- reading the given zones ----------------------------------------------------------------


def _write(tmp_path, gdf: gpd.GeoDataFrame):
    path = tmp_path / "hnz.gpkg"
    gdf.to_file(path, layer="zones", driver="GPKG")
    return path


REGION = box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 500)


def _read(path, id_column: str = "hnz_id") -> gpd.GeoDataFrame:
    return read_given_zones(path, id_column=id_column, layer=None, crs=BNG, region=REGION)


def test_reads_reprojects_and_keeps_the_ids(tmp_path) -> None:
    polys = [box(X0, Y0, X0 + 200, Y0 + 200), box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)]
    gdf = gpd.GeoDataFrame({"hnz_id": [7, 8], "name": ["a", "b"]}, geometry=polys, crs=27700)
    path = _write(tmp_path, gdf.to_crs(4326))
    zones = _read(path)
    assert zones["zone_id"].tolist() == ["7"]  # the second zone is outside the region
    assert zones.crs.equals(BNG)
    assert zones.geometry.iloc[0].area == pytest.approx(40_000, rel=1e-6)


@pytest.mark.parametrize(
    ("hnz_id", "geometry", "words"),
    [
        (["A", "A"], None, "zone identifiers in 'hnz_id' are repeated: A"),
        (["A", None], None, "zones without an identifier in 'hnz_id' at feature 2"),
        (["A", "B"], [box(X0, Y0, X0 + 1, Y0 + 1), Point(X0, Y0)], "Point at feature 2"),
        (
            ["A", "B"],
            [box(0, 0, 1, 1), box(2, 2, 3, 3)],
            "no zone lies in the region",
        ),
    ],
)
def test_bad_zone_files(tmp_path, hnz_id, geometry, words) -> None:
    geometry = geometry or [box(X0, Y0, X0 + 100, Y0 + 100), box(X0, Y0, X0 + 50, Y0 + 50)]
    path = _write(tmp_path, gpd.GeoDataFrame({"hnz_id": hnz_id}, geometry=geometry, crs=27700))
    with pytest.raises(InputError, match=words) as err:
        _read(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_id_column_names_the_file_and_key(tmp_path) -> None:
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(X0, Y0, X0 + 1, Y0 + 1)], crs=27700)
    path = _write(tmp_path, gdf)
    with pytest.raises(InputError, match=r"missing column\(s\) hnz_id") as err:
        _read(path)
    assert str(path) in str(err.value) and "zones.id_column" in str(err.value)


# --- a region run with given zones --------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    """The synthetic region, its inputs made and run once with zones from the heat map."""
    root = tmp_path_factory.mktemp("synthetic")
    (root / "data" / "regions").mkdir(parents=True)
    shutil.copy(REPO / "data" / "regions" / "synthetic.yml", root / "data" / "regions")
    subprocess.run(
        [sys.executable, "-m", "pipeline.datasets.synthetic", "--out", "data/raw/synthetic"]
        + ["--size", "small", "--seed", "0"],
        cwd=root,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    proc = run_cli("all", "--region", "synthetic", root=root)
    assert proc.returncode == 0, proc.stderr
    return root


def test_region_run_with_given_zones(synthetic_root) -> None:
    """Draw the synthetic region's zones as a pilot-zone file would give them (EPSG:27700
    polygons with an identifier), run the region on them, and get the same demand back
    under the given identifiers, with links to them."""
    root = synthetic_root
    drawn = gpd.read_parquet(root / "data" / "interim" / "synthetic" / "demand_zones.parquet")
    assert set(drawn["zone_class"]) <= {"below", "baseline", "stringent"}
    hnz = gpd.GeoDataFrame(
        {"hnz_id": [f"HNZ-{i:02d}" for i in range(len(drawn), 0, -1)], "note": "pilot"},
        geometry=drawn.geometry.to_numpy(),
        crs=drawn.crs,
    )
    hnz.to_file(root / "data" / "raw" / "synthetic" / "hnz.gpkg", layer="hnz", driver="GPKG")
    region_file = root / "data" / "regions" / "synthetic.yml"
    cfg = yaml.safe_load(region_file.read_text())
    cfg["zones"] = {"path": "data/raw/synthetic/hnz.gpkg", "id_column": "hnz_id"}
    region_file.write_text(yaml.safe_dump(cfg, sort_keys=False))

    proc = run_cli("all", "--region", "synthetic", root=root)
    assert proc.returncode == 0, proc.stderr
    gpkg = root / "outputs" / "synthetic" / "heat_links.gpkg"
    zones = gpd.read_file(gpkg, layer="demand_zones").set_index("zone_id")
    assert sorted(zones.index) == sorted(hnz["hnz_id"])
    # the polygons are the drawn zones' cells, so each given zone holds the same demand
    expected = dict(zip(hnz["hnz_id"], drawn["annual_demand_mwh"], strict=True))
    assert zones["annual_demand_mwh"].to_dict() == pytest.approx(expected, rel=1e-9)
    assert (
        zones["n_cells"].tolist()
        == drawn.set_index(hnz["hnz_id"]).loc[zones.index]["n_cells"].tolist()
    )
    lhd = dict(zip(hnz["hnz_id"], drawn["linear_heat_density_kwh_per_m"], strict=True))
    assert zones["linear_heat_density_kwh_per_m"].to_dict() == pytest.approx(lhd, rel=1e-9)
    links = gpd.read_file(gpkg, layer="links")
    assert len(links) and set(links["zone_id"].dropna()) <= set(hnz["hnz_id"])
    log = (root / "outputs" / "synthetic" / "logs" / "build_demand_zones.log").read_text()
    assert f"{len(hnz)} given zones" in log


# --- region.crs: auto ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bbox", "epsg"),
    [
        ((-3.25, 55.92, -3.15, 55.97), 27700),  # Edinburgh
        ((-0.75, 52.55, -0.45, 52.75), 27700),  # Rutland
        ((-5.1, 54.85, -4.95, 54.95), 27700),  # Stranraer, across the North Channel from NI
        ((-4.7, 54.05, -4.3, 54.42), 27700),  # the Isle of Man
        ((-6.0, 54.55, -5.8, 54.65), 32630),  # Belfast: Irish grid country, UTM kept
        ((-6.4, 53.25, -6.1, 53.45), 32629),  # Dublin
        ((-6.0, 54.5, -4.9, 54.9), 32630),  # across the North Channel
        ((-2.25, 49.15, -2.0, 49.3), 32630),  # Jersey
        ((24.8, 60.1, 25.1, 60.3), 32635),  # Helsinki
        ((9.85, 57.0, 10.0, 57.1), 32632),  # Aalborg
    ],
)
def test_auto_crs_is_british_national_grid_inside_great_britain(bbox, epsg) -> None:
    from pipeline.config import RegionConfig

    region = RegionConfig(crs="auto", bbox=bbox)
    assert region.projected_crs().to_epsg() == epsg
