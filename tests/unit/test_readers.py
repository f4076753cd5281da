"""Unit tests of pipeline.readers: the border checks every input goes through.

Each case is a small file built here: a bad geometry, an infinite number, a truncated
GeoTIFF, a zip without its .shp, a table with only a header. Each must either stop with
one InputError naming the file (and the row and column), or run and log what it dropped.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import CRS
from shapely.geometry import LineString, Point, Polygon, box

import pipeline.stages.ingest_roads as ingest_roads
from conftest import X0, Y0, grid_roads, tiny_config, to_lonlat, write_raster
from pipeline.config import (
    BuildingDemandConfig,
    ExistingNetworksConfig,
    HotmapsIndustrialConfig,
    RoadsConfig,
    SourcesConfig,
)
from pipeline.errors import InputError
from pipeline.io import read_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.checks import LINES, check_finite, check_geometries
from pipeline.readers.gdal import read_vector
from pipeline.readers.raster import read_heat_raster
from pipeline.readers.tables import read_building_demand, read_hotmaps_industrial, read_sites
from pipeline.stages.ingest_heat_networks import group_networks, read_heat_pipes

BNG = CRS.from_epsg(27700)
REGION = box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 500)


def _bad_roads() -> gpd.GeoDataFrame:
    """The grid's 10 streets plus one null, one empty and one zero-length line."""
    roads = grid_roads()
    bad = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3},
        geometry=[None, LineString(), LineString([(X0, Y0), (X0, Y0)])],
        crs=27700,
    )
    return gpd.GeoDataFrame(pd.concat([roads, bad], ignore_index=True), crs=27700)


# --- geometries ------------------------------------------------------------------------


def test_check_geometries_counts_each_problem(caplog: pytest.LogCaptureFixture) -> None:
    gdf = _bad_roads()
    gdf.loc[len(gdf)] = ["bus_stop", Point(X0, Y0)]
    with caplog.at_level(logging.WARNING, logger="heatlink.readers"):
        kept, counts = check_geometries(gdf, file="roads.gpkg", kinds=LINES, what="road lines")
    assert len(kept) == 10
    assert counts == {"null": 1, "empty": 1, "zero-length": 1, "other type": 1}
    assert "roads.gpkg: dropped 4 of 14 road lines: 1 null, 1 empty, 1 zero-length" in caplog.text


def test_check_geometries_can_refuse_instead() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(0, 0), None, Point(1, 1)], crs=27700)
    with pytest.raises(
        InputError, match=r"sites.gpkg: sites without a usable geometry at feature 2"
    ):
        check_geometries(gdf, file="sites.gpkg", what="sites", on_bad="error")


def test_check_geometries_repairs_invalid_polygons() -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    kept, counts = check_geometries(gpd.GeoDataFrame(geometry=[bowtie], crs=27700), file="b")
    assert counts == {"repaired": 1} and kept.geometry.is_valid.all()
    assert kept.geometry.area.iloc[0] == pytest.approx(50.0)


def test_road_layer_with_bad_geometries_runs_and_logs_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "roads.gpkg"
    _bad_roads().to_file(path, driver="GPKG")
    paths = RegionPaths("tiny", tmp_path)
    with caplog.at_level(logging.INFO):
        ingest_roads.run(paths, tiny_config(tmp_path, {"path": str(path)}))
    assert len(gpd.read_parquet(paths.roads)) == 10
    # the empty line has no extent, so GDAL's bbox filter leaves it out; the rest are counted
    assert "dropped 2 of 12 road lines: 1 null, 1 zero-length" in caplog.text
    assert "1 of 13 road lines lie outside the region's bbox (or have no geometry)" in caplog.text


def test_roads_outside_the_region_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    roads = grid_roads().rename(columns={"highway": "road_class"})
    far = LineString([(X0 + 5000, Y0), (X0 + 5100, Y0)])
    roads.loc[len(roads)] = ["residential", far]
    with caplog.at_level(logging.INFO, logger="heatlink.readers"):
        kept = ingest_roads.select_roads(
            roads, rules=RoadsConfig(path="r.gpkg").rules(), region=REGION, crs=BNG
        )
    assert len(kept) == 10
    assert "skipped 1 of 11 followed road lines outside the region" in caplog.text


def test_unclassified_road_layer_runs_with_the_default_class(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "lines.gpkg"
    roads = grid_roads().drop(columns="highway")
    roads["osm_id"] = range(len(roads))
    roads.to_file(path, driver="GPKG")
    paths = RegionPaths("tiny", tmp_path)
    cfg = tiny_config(tmp_path, {"path": str(path), "default_class": "residential"})
    with caplog.at_level(logging.WARNING):
        ingest_roads.run(paths, cfg)
    out = gpd.read_parquet(paths.roads)
    assert len(out) == 10 and set(out["road_class"]) == {"residential"}
    assert "all 10 lines get roads.default_class 'residential'" in caplog.text
    assert "columns: osm_id" in caplog.text


def test_default_class_that_is_not_followed_leaves_no_roads(tmp_path: Path) -> None:
    path = tmp_path / "lines.gpkg"
    grid_roads().drop(columns="highway").assign(osm_id=1).to_file(path, driver="GPKG")
    cfg = tiny_config(tmp_path, {"path": str(path), "default_class": "motorway"})
    with pytest.raises(InputError, match="no roads inside the region"):
        ingest_roads.run(RegionPaths("tiny", tmp_path), cfg)


# --- CRS and zips ----------------------------------------------------------------------


def _write_shapefile(folder: Path) -> Path:
    folder.mkdir()
    grid_roads().to_file(folder / "roads.shp")
    return folder


def test_layer_without_crs_names_the_file_and_the_fix(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path / "shp")
    (shp / "roads.prj").unlink()
    with pytest.raises(InputError) as err:
        read_vector(shp / "roads.shp", key="roads.path")
    msg = str(err.value)
    assert msg.startswith(f"{shp / 'roads.shp'}: the layer 'roads' has no CRS")
    assert "ogr2ogr -a_srs" in msg and ".prj" in msg


def test_shp_zip_without_its_shp_says_so(tmp_path: Path) -> None:
    shp = _write_shapefile(tmp_path / "shp")
    path = tmp_path / "roads.shp.zip"
    with zipfile.ZipFile(path, "w") as z:
        for part in ("roads.dbf", "roads.prj", "roads.shx"):
            z.write(shp / part, part)
    cfg = tiny_config(tmp_path, {"path": str(path)})
    with pytest.raises(InputError) as err:
        ingest_roads.run(RegionPaths("tiny", tmp_path), cfg)
    msg = str(err.value)
    assert msg.startswith(f"{path}: the zip holds no .shp file (it holds: roads.dbf")
    assert "no CRS" not in msg


def test_table_only_layer_is_not_a_layer_of_geometries(tmp_path: Path) -> None:
    path = tmp_path / "table.gpkg"
    pd.DataFrame({"a": [1]}).pipe(gpd.GeoDataFrame).to_file(path, driver="GPKG")
    with pytest.raises(InputError, match="has no geometries"):
        read_vector(path, key="roads.path")


# --- numbers ---------------------------------------------------------------------------


def _sites_csv(tmp_path: Path, rows: list[dict]) -> SourcesConfig:
    path = tmp_path / "sites.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return SourcesConfig(path=path)


def _site(**values: object) -> dict:
    lon, lat = to_lonlat(X0 + 10, Y0 + 20)
    return {"site_id": "S1", "name": "DC", "it_load_mw": 5.0, "lat": lat, "lon": lon} | values


def test_infinite_it_load_stops_at_ingest_naming_row_and_column(tmp_path: Path) -> None:
    cfg = _sites_csv(tmp_path, [_site(), _site(site_id="S2", it_load_mw="inf")])
    with pytest.raises(InputError) as err:
        read_sites(cfg)
    assert str(err.value).startswith(f"{cfg.path}: it_load_mw is infinite at line 3")


def test_every_site_number_is_checked(tmp_path: Path) -> None:
    rows = [_site(heat_output_mw="-inf"), _site(site_id="S2", source_temp_c=float("inf"))]
    cfg = _sites_csv(tmp_path, rows)
    with pytest.raises(InputError) as err:
        read_sites(cfg)
    msg = str(err.value)
    assert "heat_output_mw is infinite at line 2" in msg
    assert "source_temp_c is infinite at line 3" in msg


def test_infinite_or_missing_coordinates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    pd.DataFrame(
        {"site_id": ["A", "B"], "name": "n", "it_load_mw": 1, "x": [X0, "inf"], "y": [None, Y0]}
    ).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        read_sites(SourcesConfig(path=path, crs=27700))
    msg = str(err.value)
    assert "y is missing or not a number at line 2" in msg and "x is infinite at line 3" in msg


def test_infinite_it_load_in_a_geopackage_names_the_feature(tmp_path: Path) -> None:
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(
        {"site_id": ["A", "B"], "name": "n", "it_load_mw": [1.0, np.inf]},
        geometry=[Point(X0, Y0), Point(X0 + 1, Y0)],
        crs=27700,
    ).to_file(path, driver="GPKG")
    with pytest.raises(InputError, match="it_load_mw is infinite at feature 2"):
        read_sites(SourcesConfig(path=path))


def test_site_csv_with_only_a_header_says_it_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site_id,name,it_load_mw,lat,lon\n")
    with pytest.raises(InputError) as err:
        read_sites(SourcesConfig(path=path))
    msg = str(err.value)
    assert msg.startswith(f"{path}: the file has no sites") and "outside" not in msg


def test_check_finite_lists_all_problems_at_once() -> None:
    df = pd.DataFrame({"a": [1.0, np.inf, -np.inf], "b": ["x", "2", ""]})
    with pytest.raises(InputError) as err:
        check_finite(df, ["a", "b"], file="t.csv", labels=["S1", "S2", "S3"], required=["b"])
    msg = str(err.value)
    assert "a is infinite at S2, S3" in msg and "b is missing or not a number at S1, S3" in msg


HOTMAPS = "SiteID;SiteName;geom;Excess_Heat_Total"


def _hotmaps(tmp_path: Path, *rows: str) -> HotmapsIndustrialConfig:
    path = tmp_path / "hotmaps.csv"
    path.write_text("\n".join([HOTMAPS, *rows]) + "\n")
    return HotmapsIndustrialConfig(path=path)


def test_hotmaps_infinite_heat_is_refused(tmp_path: Path) -> None:
    cfg = _hotmaps(tmp_path, "1;A;SRID=4326;POINT(10 55);12", "2;B;SRID=4326;POINT(10 55);inf")
    with pytest.raises(InputError, match="Excess_Heat_Total is infinite at line 3"):
        read_hotmaps_industrial(cfg)


def test_hotmaps_infinite_coordinate_is_refused(tmp_path: Path) -> None:
    cfg = _hotmaps(tmp_path, "1;A;SRID=4326;POINT(1e999 55);12")
    with pytest.raises(InputError, match="x is infinite at line 2"):
        read_hotmaps_industrial(cfg)


def test_building_demand_must_be_finite(tmp_path: Path) -> None:
    path = tmp_path / "buildings.csv"
    pd.DataFrame({"x": [X0, X0 + 1], "y": [Y0, Y0], "demand_mwh": [1.0, np.inf]}).to_csv(
        path, index=False
    )
    cfg = BuildingDemandConfig(
        path=path, crs=27700, demand_column="demand_mwh", demand_units="MWh/yr"
    )
    with pytest.raises(InputError, match="demand_mwh is infinite at line 3"):
        read_building_demand(cfg)


def test_building_layer_with_null_geometry_is_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "buildings.gpkg"
    gpd.GeoDataFrame(
        {"demand_mwh": [1.0, 2.0, 3.0]},
        geometry=[box(X0, Y0, X0 + 9, Y0 + 9), None, None],
        crs=27700,
    ).to_file(path, driver="GPKG")
    cfg = BuildingDemandConfig(path=path, demand_column="demand_mwh", demand_units="MWh/yr")
    with caplog.at_level(logging.WARNING):
        out = read_building_demand(cfg)
    assert out["demand"].tolist() == [1.0]
    assert "dropped 2 of 3 buildings: 2 null" in caplog.text


# --- existing networks -----------------------------------------------------------------


def test_network_pipes_dropped_and_outside_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "pipes.gpkg"
    gpd.GeoDataFrame(
        geometry=[
            LineString([(X0, Y0), (X0 + 100, Y0)]),
            LineString([(X0, Y0), (X0, Y0)]),
            LineString([(X0 + 5000, Y0), (X0 + 5100, Y0)]),
        ],
        crs=27700,
    ).to_file(path, driver="GPKG")
    with caplog.at_level(logging.INFO):
        pipes = read_heat_pipes(ExistingNetworksConfig(path=path))
        nets = group_networks(pipes, region=REGION, crs=BNG, join_within_m=50)
    assert len(pipes) == 2 and len(nets) == 1
    assert "dropped 1 of 3 network lines or polygons: 1 zero-length" in caplog.text
    assert "skipped 1 of 2 network pipes outside the region" in caplog.text


# --- heat rasters ----------------------------------------------------------------------

RASTER_T = Affine(100, 0, X0 - 50, 0, -100, Y0 + 550)


def _heat(tmp_path: Path, data: np.ndarray, name: str = "heat.tif") -> Path:
    path = tmp_path / name
    write_raster(path, data, RASTER_T, "EPSG:27700")
    return path


def test_negative_cells_are_zeroed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = np.full((6, 6), 100.0)
    data[:2, :] = -9999.0  # an undeclared nodata value: a third of the raster
    data[5, 5] = 0.0  # the declared nodata
    path = _heat(tmp_path, data)
    with caplog.at_level(logging.INFO, logger="heatlink.readers"):
        grid = read_heat_raster(
            path, key="heat_demand.path", units="MWh/ha/yr", region=REGION, crs=BNG
        )
    assert (np.nan_to_num(grid.data) >= 0).all()
    assert np.nansum(grid.data) == pytest.approx(100.0 * 23)
    assert "12 of 36 cells (33.3 %) are negative, -119988 MWh/yr in all; set to 0" in caplog.text
    assert "1 of 36 cells (2.8 %) are nodata" in caplog.text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "negative" in warnings[0].getMessage()


@pytest.mark.parametrize("keep", [0.5, 0.05], ids=["read-time", "open-time"])
def test_truncated_geotiff_is_one_line_naming_the_file(tmp_path: Path, keep: float) -> None:
    whole = _heat(tmp_path, np.random.default_rng(1).uniform(1, 9, (600, 600)), "whole.tif")
    data = whole.read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: int(len(data) * keep)])
    region = box(X0 - 50, Y0 + 550 - 60_000, X0 + 59_950, Y0 + 550)
    with pytest.raises(InputError) as err:
        read_heat_raster(path, key="heat_demand.path", units="MWh/ha/yr", region=region, crs=BNG)
    msg = str(err.value)
    assert msg.startswith(f"{path}: the raster cannot be read; it is truncated, corrupt")
    assert "\n" not in msg and "gdalinfo" in msg


def test_raster_without_crs_says_so(tmp_path: Path) -> None:
    path = tmp_path / "heat.tif"
    write_raster(path, np.ones((6, 6)), RASTER_T, None)
    with pytest.raises(InputError, match="heat.tif: the raster has no CRS"):
        read_heat_raster(path, key="heat_demand.path", units="MWh/ha/yr", region=REGION, crs=BNG)


# --- other one-line messages -----------------------------------------------------------


def test_semicolon_csv_says_it_is_not_comma_separated(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site_id;name;it_load_mw;lat;lon\nS1;DC;5;51.5;-0.1\n")
    with pytest.raises(InputError) as err:
        read_sites(SourcesConfig(path=path))
    msg = str(err.value)
    assert "separated by semicolons, not commas" in msg and "comma-separated" in msg


def test_missing_road_file_names_the_key(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, {"path": str(tmp_path / "nope.gpkg")})
    with pytest.raises(InputError) as err:
        ingest_roads.run(RegionPaths("tiny", tmp_path), cfg)
    assert str(err.value).startswith(
        f"{tmp_path / 'nope.gpkg'}: file not found (set by 'roads.path')"
    )


def test_truncated_intermediate_names_the_stage_to_rerun(tmp_path: Path) -> None:
    path = tmp_path / "roads.parquet"
    grid_roads().to_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError) as err:
        read_geoparquet(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: intermediate file is truncated or corrupt")
    assert "run ingest_roads again" in msg
