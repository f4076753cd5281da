"""Shared fixtures: a tiny hand-built region written to disk in real formats."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from affine import Affine
from pyproj import Transformer
from shapely.geometry import LineString

from pipeline.config import RegionFile

REPO = Path(__file__).resolve().parents[1]

# The tiny region: a 5 x 5 street grid of 100 m blocks in EPSG:27700 at (X0, Y0).
X0, Y0 = 530_000.0, 180_000.0


@dataclass
class TinyRegion:
    root: Path
    region_file: Path
    config: dict

    def write_config(self, **changes: dict) -> Path:
        """Rewrite the region file with sections updated (None deletes a key)."""
        cfg = {k: dict(v) for k, v in self.config.items()}
        for section, values in changes.items():
            cfg.setdefault(section, {})
            for key, value in values.items():
                if value is None:
                    cfg[section].pop(key, None)
                else:
                    cfg[section][key] = value
        self.region_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return self.region_file


def grid_roads(n: int = 5, spacing: float = 100.0) -> gpd.GeoDataFrame:
    """Streets of an n x n grid, one LineString per street through every junction."""
    xs = X0 + spacing * np.arange(n)
    ys = Y0 + spacing * np.arange(n)
    lines = [LineString([(x, y) for x in xs]) for y in ys]
    lines += [LineString([(x, y) for y in ys]) for x in xs]
    return gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=27700)


def write_raster(path: Path, data: np.ndarray, transform: Affine, crs: str | None) -> None:
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "transform": transform,
        "nodata": 0,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data.astype("float32"), 1)


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    return Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)


@pytest.fixture
def tiny_region(tmp_path: Path) -> TinyRegion:
    """A region on disk: roads GeoPackage, heat GeoTIFF (MWh/ha), site CSV, region file."""
    return make_tiny_region(tmp_path)


def make_tiny_region(tmp_path: Path) -> TinyRegion:
    """The :func:`tiny_region` fixture's region, made under ``tmp_path`` (any scope)."""
    raw = tmp_path / "data" / "raw" / "tiny"
    raw.mkdir(parents=True)
    grid_roads().to_file(raw / "roads.gpkg", layer="roads", driver="GPKG")
    # 600 m x 600 m of 100 m cells starting 50 m south-west of the grid; one dense 2x2 block
    heat = np.zeros((6, 6))
    heat[1:3, 3:5] = 500.0  # MWh/ha, 4 cells -> 2000 MWh/yr
    write_raster(raw / "heat.tif", heat, Affine(100, 0, X0 - 50, 0, -100, Y0 + 550), "EPSG:27700")
    lon, lat = to_lonlat(X0 + 10, Y0 + 20)
    pd.DataFrame(
        {
            "site_id": ["S1"],
            "name": ["Hypothetical DC"],
            "it_load_mw": [5.0],
            "lat": [lat],
            "lon": [lon],
        }
    ).to_csv(raw / "sites.csv", index=False)
    config = {
        "region": {
            "name": "tiny",
            "crs": 27700,
            "bbox": [X0 - 100, Y0 - 100, X0 + 500, Y0 + 500],
            "bbox_crs": 27700,
        },
        "sources": {"path": "data/raw/tiny/sites.csv"},
        "roads": {"path": "data/raw/tiny/roads.gpkg"},
        "heat_demand": {"path": "data/raw/tiny/heat.tif", "units": "MWh/ha/yr"},
        "zones": {"min_cell_density_mwh_per_ha": 100, "min_zone_demand_mwh": 500},
    }
    (tmp_path / "data" / "regions").mkdir(parents=True)
    region = TinyRegion(tmp_path, tmp_path / "data" / "regions" / "tiny.yml", config)
    region.write_config()
    return region


def add_existing_network(region: TinyRegion, lines: list[LineString], **settings: object) -> Path:
    """Give the tiny region an existing heat network: pipes as a GeoPackage line layer.

    Writes ``data/raw/tiny/networks.gpkg`` (EPSG:27700) and an ``existing_networks``
    section with ``settings`` (``annual_demand_mwh``, temperatures, ...) into the region
    file, which it returns. ``region.config`` keeps the section for later rewrites.
    """
    path = region.root / "data" / "raw" / "tiny" / "networks.gpkg"
    gpd.GeoDataFrame({"kind": ["heat"] * len(lines)}, geometry=lines, crs=27700).to_file(
        path, layer="pipes", driver="GPKG"
    )
    region.config["existing_networks"] = {"path": "data/raw/tiny/networks.gpkg", **settings}
    return region.write_config()


def tiny_config(tmp_path: Path, roads: dict) -> RegionFile:
    """A validated config of the tiny region with the given ``roads`` section, its other
    inputs named in ``tmp_path``."""
    return RegionFile.model_validate(
        {
            "region": {
                "name": "tiny",
                "crs": 27700,
                "bbox": [X0 - 100, Y0 - 100, X0 + 500, Y0 + 500],
                "bbox_crs": 27700,
            },
            "sources": {"path": str(tmp_path / "sites.csv")},
            "roads": roads,
            "heat_demand": {"path": str(tmp_path / "heat.tif"), "units": "MWh/ha/yr"},
        }
    )


def run_cli(*args: str, root: Path) -> subprocess.CompletedProcess:
    """Run ``python -m pipeline`` in ``root`` as a user would."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
