"""Existing heat networks from OSM pipelines and GDAL layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
import pytest
from pyproj import CRS
from shapely.geometry import LineString, box

from conftest import X0, Y0, to_lonlat
from pipeline.config import ExistingNetworksConfig
from pipeline.errors import InputError
from pipeline.stages.ingest_heat_networks import group_networks, read_heat_pipes

BNG = CRS.from_epsg(27700)


def test_osm_pipelines_old_and_new_tagging(tmp_path: Path) -> None:
    path = tmp_path / "pipes.osm.pbf"
    pts = [to_lonlat(X0 + 100 * i, Y0) for i in range(6)]
    with osmium.SimpleWriter(str(path)) as w:
        for i, p in enumerate(pts, start=1):
            w.add_node(osmium.osm.mutable.Node(id=i, location=p, tags={}))
        pipe = {"man_made": "pipeline"}
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2], tags={**pipe, "substance": "heat"}))
        w.add_way(osmium.osm.mutable.Way(id=2, nodes=[3, 4], tags={**pipe, "type": "heat"}))
        w.add_way(osmium.osm.mutable.Way(id=3, nodes=[5, 6], tags={**pipe, "substance": "gas"}))
    pipes = read_heat_pipes(ExistingNetworksConfig(path=path))
    assert sorted(pipes["osm_id"]) == [1, 2]


def test_gdal_layer_with_filter(tmp_path: Path) -> None:
    path = tmp_path / "pipes.gpkg"
    gpd.GeoDataFrame(
        {"kind": ["heat", "cold"]},
        geometry=[LineString([(X0, Y0), (X0 + 100, Y0)]), LineString([(X0, Y0), (X0, Y0 + 9)])],
        crs=27700,
    ).to_file(path, driver="GPKG")
    cfg = ExistingNetworksConfig(path=path, where="kind = 'heat'")
    assert len(read_heat_pipes(cfg)) == 1
    with pytest.raises(InputError, match="filter"):
        read_heat_pipes(ExistingNetworksConfig(path=path, where="colour = 'red'"))


def test_points_are_not_networks(tmp_path: Path) -> None:
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0]), crs=27700).to_file(path)
    with pytest.raises(InputError, match="lines or polygons"):
        read_heat_pipes(ExistingNetworksConfig(path=path))


def test_networks_outside_the_region_are_dropped() -> None:
    pipes = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (10, 0)]), LineString([(X0, Y0), (X0 + 10, Y0)])], crs=27700
    )
    nets = group_networks(
        pipes, region=box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50), crs=BNG, join_within_m=50
    )
    assert nets["network_id"].tolist() == ["N0001"] and nets["length_m"].iloc[0] == 10
