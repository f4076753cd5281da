"""Heat demand from buildings and from rasters in other units and CRSs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
from affine import Affine
from pyproj import CRS
from shapely.geometry import Point, box

from conftest import X0, Y0, to_lonlat
from pipeline.config import BuildingDemandConfig
from pipeline.errors import InputError
from pipeline.stages.ingest_heat_demand import (
    Grid,
    buildings_grid,
    read_building_demand,
    read_osm_buildings,
    reproject_heat_demand,
)

BNG = CRS.from_epsg(27700)
REGION = box(X0, Y0, X0 + 300, Y0 + 200)


def test_building_points_csv_in_kwh(tmp_path: Path) -> None:
    rows = []
    for i, (x, y, kwh) in enumerate([(50, 50, 2e6), (60, 40, 1e6), (250, 150, 5e5)]):
        lon, lat = to_lonlat(X0 + x, Y0 + y)
        rows.append({"id": i, "lat": lat, "lon": lon, "heat_kwh": kwh})
    path = tmp_path / "buildings.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    cfg = BuildingDemandConfig(path=path, demand_column="heat_kwh", demand_units="kWh/yr")
    b = read_building_demand(cfg, BNG)
    grid = buildings_grid(b, REGION, 100)
    assert grid.data.sum() == pytest.approx(3500.0)  # MWh, total kept
    assert grid.data[1, 0] == pytest.approx(3000.0)  # south-west cell holds the first two
    assert grid.data[0, 2] == pytest.approx(500.0)


def test_building_polygons_are_spread_by_area(tmp_path: Path) -> None:
    path = tmp_path / "buildings.gpkg"
    gpd.GeoDataFrame(
        {"mwh": [100.0]}, geometry=[box(X0 + 50, Y0 + 20, X0 + 150, Y0 + 40)], crs=27700
    ).to_file(path, driver="GPKG")
    cfg = BuildingDemandConfig(path=path, demand_column="mwh", demand_units="MWh/yr")
    grid = buildings_grid(read_building_demand(cfg, BNG), REGION, 100)
    assert grid.data[1, :2].tolist() == pytest.approx([50.0, 50.0])
    assert grid.data.sum() == pytest.approx(100.0)


def test_building_demand_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "buildings.gpkg"
    gpd.GeoDataFrame(
        {"mwh": [1.0, -5.0]}, geometry=[Point(X0, Y0), Point(X0 + 1, Y0)], crs=27700
    ).to_file(path, driver="GPKG")
    cfg = BuildingDemandConfig(path=path, demand_column="mwh", demand_units="MWh/yr")
    with pytest.raises(InputError, match="feature 2"):
        read_building_demand(cfg, BNG)
    cfg = BuildingDemandConfig(path=path, demand_column="heat", demand_units="MWh/yr")
    with pytest.raises(InputError, match="no column 'heat'"):
        read_building_demand(cfg, BNG)


def test_osm_buildings_footprint_times_storeys(tmp_path: Path) -> None:
    """A 20 m x 20 m, 4-storey apartment block: 1600 m2 x 140 kWh/m2 = 224 MWh/yr."""
    path = tmp_path / "b.osm.pbf"
    x, y = X0 + 100, Y0 + 100
    corners = [(x, y), (x + 20, y), (x + 20, y + 20), (x, y + 20)]
    with osmium.SimpleWriter(str(path)) as w:
        for i, c in enumerate(corners, start=1):
            w.add_node(osmium.osm.mutable.Node(id=i, location=to_lonlat(*c), tags={}))
        w.add_way(
            osmium.osm.mutable.Way(
                id=7,
                nodes=[1, 2, 3, 4, 1],
                tags={"building": "apartments", "building:levels": "4"},
            )
        )
    b = read_osm_buildings(path, BNG)
    assert len(b) == 1
    assert b["footprint_m2"].iloc[0] == pytest.approx(400.0, rel=1e-3)
    assert b["levels"].iloc[0] == 4
    assert b["demand_mwh"].iloc[0] == pytest.approx(400 * 4 * 140 / 1000, rel=1e-3)


def test_geographic_raster_per_hectare_uses_true_cell_areas() -> None:
    """A density map in EPSG:4326: per-hectare values times each cell's true area."""
    lon, lat = to_lonlat(X0, Y0)
    cell = 0.002  # degrees; about 136 m x 222 m at 52 deg N
    data = np.full((5, 5), 100.0)  # MWh/ha
    src = Grid(data, Affine(cell, 0, lon - 0.005, 0, -cell, lat + 0.005), CRS(4326))
    out = reproject_heat_demand(
        src,
        units="MWh/ha/yr",
        region=box(X0 - 2000, Y0 - 2000, X0 + 2000, Y0 + 2000),
        crs=BNG,
        resolution_m=50,
    )
    from pipeline.stages.ingest_heat_demand import cell_areas_m2

    expected = (data * cell_areas_m2(src.transform, src.crs, data.shape) / 10_000).sum()
    assert out.data.sum() == pytest.approx(expected, rel=0.01)
