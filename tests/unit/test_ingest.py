"""Unit tests of the ingest stages' cores on small hand-built inputs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import box

from conftest import X0, Y0, to_lonlat, write_raster
from pipeline.config import HeatDemandConfig, SourcesConfig
from pipeline.errors import InputError
from pipeline.readers.tables import read_sites
from pipeline.stages.ingest_heat_demand import (
    Grid,
    cell_areas_m2,
    read_heat_demand,
    reproject_heat_demand,
)
from pipeline.stages.ingest_sources import SiteInput, ingest_sources

REGION = box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 500)
BNG = CRS.from_epsg(27700)


def _sites_csv(tmp_path: Path, rows: list[dict]) -> SourcesConfig:
    path = tmp_path / "sites.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return SourcesConfig(path=path)


def _site(site_id: str, x: float, y: float, **extra: object) -> dict:
    lon, lat = to_lonlat(x, y)
    return {
        "site_id": site_id,
        "name": f"site {site_id}",
        "it_load_mw": 10.0,
        "lat": lat,
        "lon": lon,
        **extra,
    }


def _ingest(cfg: SourcesConfig) -> tuple[gpd.GeoDataFrame, list[str]]:
    return ingest_sources([SiteInput(read_sites(cfg), cfg.path)], cfg=cfg, region=REGION, crs=BNG)


class TestSources:
    def test_heat_from_it_load_or_given(self, tmp_path: Path) -> None:
        cfg = _sites_csv(
            tmp_path,
            [
                _site("A", X0, Y0, cooling="air"),
                _site("B", X0 + 100, Y0, cooling="liquid", heat_output_mw=3.0),
                _site("C", X0 + 200, Y0, cooling="liquid"),
            ],
        )
        sites, skipped = _ingest(cfg)
        assert skipped == []
        by_id = sites.set_index("site_id")
        # 10 MW IT x 0.7 utilisation x 0.8 capture (air) = 5.6 MW
        assert by_id.loc["A", "heat_available_mw"] == pytest.approx(5.6)
        assert by_id.loc["B", "heat_available_mw"] == pytest.approx(3.0)
        assert by_id.loc["C", "heat_available_mw"] == pytest.approx(10 * 0.7 * 0.95)
        assert by_id["heat_assumed"].tolist() == [True, False, True]
        assert by_id.loc["A", "source_temp_c"] == 30.0
        assert by_id.loc["C", "source_temp_c"] == 45.0
        assert by_id.loc["A", "kind"] == "data_centre"
        assert sites.crs.equals(BNG)
        assert sites.geometry.iloc[0].distance(gpd.points_from_xy([X0], [Y0])[0]) < 0.01

    def test_xy_with_declared_crs(self, tmp_path: Path) -> None:
        path = tmp_path / "sites.csv"
        pd.DataFrame(
            {"site_id": ["A"], "name": ["a"], "it_load_mw": [1], "x": [X0], "y": [Y0]}
        ).to_csv(path, index=False)
        sites, _ = _ingest(SourcesConfig(path=path, crs=27700))
        assert sites.geometry.iloc[0].x == pytest.approx(X0)

    def test_xy_without_crs_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "sites.csv"
        pd.DataFrame(
            {"site_id": ["A"], "name": ["a"], "it_load_mw": [1], "x": [X0], "y": [Y0]}
        ).to_csv(path, index=False)
        with pytest.raises(InputError, match="sources.crs"):
            _ingest(SourcesConfig(path=path))

    def test_outside_sites_are_skipped(self, tmp_path: Path) -> None:
        cfg = _sites_csv(tmp_path, [_site("IN", X0, Y0), _site("FAR", X0 + 50_000, Y0)])
        sites, skipped = _ingest(cfg)
        assert sites["site_id"].tolist() == ["IN"]
        assert skipped == ["FAR"]

    def test_all_outside_is_an_error(self, tmp_path: Path) -> None:
        cfg = _sites_csv(tmp_path, [_site("FAR", X0 + 50_000, Y0)])
        with pytest.raises(InputError, match="all 1 sites are outside"):
            _ingest(cfg)

    def test_swapped_lat_lon_names_the_line(self, tmp_path: Path) -> None:
        good = _site("OK", X0, Y0)
        bad = _site("SWAP", X0 + 100, Y0)
        bad["lat"], bad["lon"] = bad["lon"], bad["lat"]
        cfg = _sites_csv(tmp_path, [good, bad])
        with pytest.raises(InputError, match=r"line 3 .*swapped"):
            _ingest(cfg)

    def test_bad_values_are_all_listed(self, tmp_path: Path) -> None:
        rows = [
            _site("A", X0, Y0, cooling="water"),
            _site("A", X0, Y0),
            _site("C", X0, Y0, it_load_mw="lots"),
        ]
        rows[2]["it_load_mw"] = "lots"
        cfg = _sites_csv(tmp_path, rows)
        with pytest.raises(InputError) as err:
            _ingest(cfg)
        msg = str(err.value)
        assert "duplicate site_id" in msg and "line 2, line 3" in msg
        assert "it_load_mw must be a number >= 0 at line 4" in msg
        assert "cooling must be one of air, liquid at line 2" in msg

    def test_missing_column(self, tmp_path: Path) -> None:
        row = _site("A", X0, Y0)
        del row["it_load_mw"]
        cfg = _sites_csv(tmp_path, [row])
        with pytest.raises(InputError, match="missing required column.*it_load_mw"):
            _ingest(cfg)

    def test_geopackage_points(self, tmp_path: Path) -> None:
        path = tmp_path / "sites.gpkg"
        gpd.GeoDataFrame(
            {"site_id": ["A"], "name": ["a"], "it_load_mw": [2.0]},
            geometry=gpd.points_from_xy([X0 + 5], [Y0 + 5]),
            crs=27700,
        ).to_file(path, driver="GPKG")
        sites, _ = _ingest(SourcesConfig(path=path))
        assert sites.geometry.iloc[0].x == pytest.approx(X0 + 5)


class TestHeatDemand:
    def test_reprojection_keeps_the_total(self) -> None:
        """A Hotmaps-like 100 m grid in EPSG:3035 reprojected to EPSG:27700 at 100 m."""
        rng = np.random.default_rng(1)
        data = rng.gamma(2.0, 150.0, size=(40, 40))  # MWh/ha
        data[rng.random(data.shape) < 0.3] = np.nan  # nodata cells
        t = Transformer.from_crs(27700, 3035, always_xy=True)
        x, y = t.transform(X0, Y0)
        src = Grid(data, Affine(100, 0, round(x, -2), 0, -100, round(y, -2) + 4000), CRS(3035))
        # the region covers the whole source grid with margin
        region = box(X0 - 3000, Y0 - 3000, X0 + 7000, Y0 + 7000)
        out = reproject_heat_demand(
            src, units="MWh/ha/yr", region=region, crs=BNG, resolution_m=100
        )
        assert out.data.sum() == pytest.approx(np.nansum(data), rel=0.01)
        coarse = reproject_heat_demand(
            src, units="MWh/ha/yr", region=region, crs=BNG, resolution_m=250
        )
        assert coarse.data.sum() == pytest.approx(np.nansum(data), rel=0.01)

    def test_geographic_cells_use_their_true_area(self) -> None:
        # one 0.01 x 0.01 degree cell at the equator is about 1.1 km x 1.1 km
        area = cell_areas_m2(Affine(0.01, 0, 0, 0, -0.01, 0.005), CRS(4326), (1, 1))
        assert area[0, 0] == pytest.approx(1.2306e6, rel=0.01)

    def test_raster_without_crs_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "nocrs.tif"
        write_raster(path, np.ones((3, 3)), Affine(100, 0, X0, 0, -100, Y0 + 300), None)
        cfg = HeatDemandConfig(path=path, units="MWh/ha/yr")
        with pytest.raises(InputError, match="no CRS"):
            read_heat_demand(cfg, REGION, BNG)

    def test_raster_outside_region_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "far.tif"
        write_raster(path, np.ones((3, 3)), Affine(100, 0, 0, 0, -100, 300), "EPSG:27700")
        cfg = HeatDemandConfig(path=path, units="MWh/ha/yr")
        with pytest.raises(InputError, match="does not cover the region"):
            read_heat_demand(cfg, REGION, BNG)

    def test_reads_only_the_window_over_the_region(self, tmp_path: Path) -> None:
        path = tmp_path / "big.tif"
        write_raster(
            path,
            np.ones((200, 200)),
            Affine(100, 0, X0 - 10_000, 0, -100, Y0 + 10_000),
            "EPSG:27700",
        )
        grid = read_heat_demand(HeatDemandConfig(path=path, units="MWh/ha/yr"), REGION, BNG)
        assert grid.data.shape[0] < 20 and grid.data.shape[1] < 20
        with rasterio.open(path) as ds:
            assert ds.shape == (200, 200)
