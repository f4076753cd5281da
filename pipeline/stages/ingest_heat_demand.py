"""Ingest the heat-demand map: clip, convert to energy per cell and reproject.

Inputs
    ``heat_demand.path``: a single-band GeoTIFF in any CRS whose cell values are in the
    declared ``heat_demand.units`` (``MWh/ha/yr``, ``MWh/cell/yr``, ``kWh/m2/yr`` or
    ``GJ/ha/yr``). Nodata cells and cells of 0 (the Hotmaps nodata value) hold no demand
    (the nodata count is logged); negative cells are set to 0 with a warning giving their
    count, share and energy. A truncated or corrupt file stops with one line naming it
    (:mod:`pipeline.readers.raster`).
Outputs
    ``data/interim/<region>/heat_demand_mwh_per_cell.tif``: float32 MWh per cell per
    year on a ``heat_demand.resolution_m`` grid in the region CRS, covering the region.
Config keys
    ``region.crs``, ``region.bbox``, ``heat_demand.path``, ``heat_demand.units``,
    ``heat_demand.resolution_m``.
Method
    Values are turned into a density (MWh/m2) using each source cell's true area, then
    reprojected with area-weighted averaging and multiplied by the target cell area, so
    the total energy is kept (checked and logged).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.config import BuildingDemandConfig, HeatDemandConfig, RegionFile
from pipeline.engineering.buildings import (
    DEFAULT_LEVELS,
    SPECIFIC_HEAT_DEMAND_KWH_PER_M2,
    building_heat_demand_mwh,
    building_type,
)
from pipeline.engineering.demand import cell_energy_mwh
from pipeline.errors import InputError
from pipeline.geo import crs_label, region_polygon
from pipeline.io import atomic_path
from pipeline.paths import RegionPaths
from pipeline.readers.checks import drop_outside
from pipeline.readers.raster import Grid, cell_areas_m2, read_heat_raster

if TYPE_CHECKING:  # the raster path does not need pandas: building paths import it
    import geopandas as gpd
    import pandas as pd

__all__ = ["Grid", "cell_areas_m2", "read_heat_demand", "reproject_heat_demand"]

log = logging.getLogger("heatlink.ingest_heat_demand")


def region_grid(
    region: Polygon, resolution_m: float, *, origin: tuple[float, float] = (0.0, 0.0)
) -> tuple[Affine, tuple[int, int]]:
    """A north-up grid of ``resolution_m`` cells covering the region, aligned to ``origin``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> t, shape = region_grid(box(120, 40, 380, 290), 100)
    >>> (t.c, t.f), shape
    ((100.0, 300.0), (3, 3))
    """
    xmin, ymin, xmax, ymax = region.bounds
    x0, y0 = origin
    xmin = x0 + math.floor((xmin - x0) / resolution_m) * resolution_m
    ymin = y0 + math.floor((ymin - y0) / resolution_m) * resolution_m
    width = math.ceil((xmax - xmin) / resolution_m)
    height = math.ceil((ymax - ymin) / resolution_m)
    transform = Affine(resolution_m, 0, xmin, 0, -resolution_m, ymin + height * resolution_m)
    return transform, (height, width)


def rasterise_demand(
    geoms: np.ndarray, demand_mwh: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Sum building demand into grid cells, keeping the total.

    A point adds its demand to the cell holding it; a polygon shares its demand between
    the cells it covers in proportion to its area in each. Demand of buildings outside
    the grid is dropped (the caller clips to the region first).

    Parameters
    ----------
    geoms
        Points or polygons in the grid's CRS.
    demand_mwh
        Annual demand of each, MWh.
    transform, shape
        The grid (north-up, square cells).

    Returns
    -------
    MWh per cell per year.

    Examples
    --------
    A 20 m x 10 m building straddling two 100 m cells, three quarters in the west one,
    and a point of 2 MWh in the north-east cell:

    >>> from shapely.geometry import Point, box
    >>> t = Affine(100, 0, 0, 0, -100, 200)
    >>> rasterise_demand(np.array([box(85, 40, 105, 50), Point(250, 150)]),
    ...                  np.array([8.0, 2.0]), t, (2, 3))
    array([[0., 0., 2.],
           [6., 2., 0.]])
    """
    height, width = shape
    cell = transform.a
    x0, y1 = transform.c, transform.f
    total = np.zeros(height * width)
    demand_mwh = np.asarray(demand_mwh, dtype="float64")
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any():
        xy = shapely.get_coordinates(geoms[is_point])
        col = np.floor((xy[:, 0] - x0) / cell).astype(np.int64)
        row = np.floor((y1 - xy[:, 1]) / cell).astype(np.int64)
        ok = (col >= 0) & (col < width) & (row >= 0) & (row < height)
        total += np.bincount(
            row[ok] * width + col[ok], weights=demand_mwh[is_point][ok], minlength=total.size
        )
    polys, poly_demand = geoms[~is_point], demand_mwh[~is_point]
    if len(polys):
        rows, cols = np.divmod(np.arange(height * width), width)
        cells = shapely.box(
            x0 + cols * cell, y1 - (rows + 1) * cell, x0 + (cols + 1) * cell, y1 - rows * cell
        )
        b, c = shapely.STRtree(cells).query(polys, predicate="intersects")
        part = shapely.area(shapely.intersection(polys[b], cells[c]))
        whole = shapely.area(polys)[b]
        share = np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)
        total += np.bincount(c, weights=poly_demand[b] * share, minlength=total.size)
    return total.reshape(shape)


def reproject_heat_demand(
    source: Grid, *, units: str, region: Polygon, crs: CRS, resolution_m: float
) -> Grid:
    """Reproject a heat-demand grid to MWh per cell on a regular grid over the region.

    Parameters
    ----------
    source
        Cell values in ``units``; NaN where there is no data.
    units
        Declared units of the values.
    region
        Region polygon in ``crs``.
    crs
        Target projected CRS.
    resolution_m
        Target cell size.

    Returns
    -------
    Energy in MWh per target cell per year (0 where no demand).

    Examples
    --------
    A 2x2 grid of 100 MWh/ha cells of 1 ha each holds 400 MWh; on a 50 m grid over the
    same area it still does.

    >>> from affine import Affine
    >>> from shapely.geometry import box
    >>> g = Grid(np.full((2, 2), 100.0), Affine(100, 0, 0, 0, -100, 200), CRS(27700))
    >>> out = reproject_heat_demand(g, units="MWh/ha/yr", region=box(0, 0, 200, 200),
    ...                             crs=CRS(27700), resolution_m=50)
    >>> out.data.shape, round(float(out.data.sum()), 6)
    ((4, 4), 400.0)
    """
    from rasterio.warp import Resampling, reproject

    values = np.where(np.isfinite(source.data), source.data, 0.0)
    src_area = cell_areas_m2(source.transform, source.crs, values.shape)
    energy = cell_energy_mwh(values, units=units, cell_area_m2=src_area)
    # MWh/m2, padded with zeros: outside the raster there is no demand (not unknown
    # demand), so target cells on its edge average over zeros, not over less area
    density = np.pad(energy / src_area, 2)
    src_transform = source.transform @ Affine.translation(-2, -2)
    # align to the source grid when only clipping, else to whole multiples of the cell size
    origin = (source.transform.c, source.transform.f) if source.crs.equals(crs) else (0.0, 0.0)
    transform, shape = region_grid(region, resolution_m, origin=origin)
    dst = np.zeros(shape, dtype="float64")
    reproject(
        density,
        dst,
        src_transform=src_transform,
        src_crs=source.crs,
        dst_transform=transform,
        dst_crs=crs,
        resampling=Resampling.average,
        src_nodata=None,
        dst_nodata=None,
    )
    return Grid(dst * resolution_m**2, transform, crs)


def read_heat_demand(cfg: HeatDemandConfig, region: Polygon, crs: CRS) -> Grid:
    """The part of the GeoTIFF that covers the region (plus a margin of 2 cells), NaN
    where nodata and negative cells set to 0 (both counted in the log)."""
    return read_heat_raster(
        cfg.path, key="heat_demand.path", units=cfg.units, region=region, crs=crs
    )


STOREY_HEIGHT_M = 3.5
"""Storey height that turns an OSM ``height`` into storeys (assumption: older city blocks)."""


def _first_number(values: pd.Series) -> pd.Series:
    """The first number in each tag value ('5', '3.5', '12.13 m'), NaN when there is none."""
    import pandas as pd

    return pd.to_numeric(
        values.astype("string").str.extract(r"(\d+(?:\.\d+)?)", expand=False), errors="coerce"
    )


def read_osm_buildings(
    path: Path, crs: CRS, *, default_levels: float | None = None
) -> gpd.GeoDataFrame:
    """Buildings of an OSM PBF with their storeys, floor area and estimated heat demand.

    Storeys come from ``building:levels`` (minus ``building:min_level``), else
    ``height`` / 3.5 m, else a default for the building type; demand is footprint x
    storeys x specific demand by type (:mod:`pipeline.engineering.buildings`).
    ``default_levels``, when given, replaces the per-type default storeys.

    Returns
    -------
    One row per building, sorted by OSM type and id, in ``crs``, with ``osm_type``,
    ``id``, ``building``, ``type``, ``levels``, ``levels_source``, ``footprint_m2``,
    ``specific_kwh_per_m2``, ``demand_mwh`` and the footprint geometry.
    """
    from pipeline.readers import osm

    raw = osm.read_osm_buildings(path, key="heat_demand.osm_buildings.path")
    return osm_building_demand(raw, crs, default_levels=default_levels)


def osm_building_demand(
    raw: gpd.GeoDataFrame, crs: CRS, *, default_levels: float | None = None
) -> gpd.GeoDataFrame:
    """Storeys, floor area and heat demand of OSM buildings as read by
    :func:`pipeline.readers.osm.read_osm_buildings`; see :func:`read_osm_buildings`."""
    import geopandas as gpd

    b = raw.to_crs(crs)
    geom = shapely.make_valid(b.geometry.values)
    kind = b["building"].map(building_type)
    tagged = _first_number(b["building:levels"])
    min_level = _first_number(b["building:min_level"]).fillna(0.0)
    from_height = _first_number(b["height"]) / STOREY_HEIGHT_M
    levels = np.where(
        tagged.notna(),
        np.maximum(tagged - min_level, 1.0),
        np.where(
            from_height.notna(),
            np.maximum(from_height, 1.0),
            default_levels if default_levels is not None else kind.map(DEFAULT_LEVELS),
        ),
    ).astype(float)
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
            "levels": levels,
            "levels_source": source,
            "footprint_m2": footprint,
            "specific_kwh_per_m2": specific,
            "demand_mwh": building_heat_demand_mwh(footprint, levels, specific),
        },
        geometry=geom,
        crs=crs,
    )


def read_building_demand(cfg: BuildingDemandConfig, crs: CRS) -> gpd.GeoDataFrame:
    """Read building-level demand (points or polygons) as ``demand_mwh`` in ``crs``."""
    import geopandas as gpd

    from pipeline.readers import tables

    raw = tables.read_building_demand(cfg)
    factor = 0.001 if cfg.demand_units == "kWh/yr" else 1.0
    out = gpd.GeoDataFrame(
        {"demand_mwh": raw["demand"].to_numpy() * factor},
        geometry=raw.geometry.to_numpy(),
        crs=raw.crs,
    ).to_crs(crs)
    out["geometry"] = out.geometry.make_valid()
    return out


def buildings_grid(buildings: gpd.GeoDataFrame, region: Polygon, resolution_m: float) -> Grid:
    """Rasterise building demand onto a grid over the region (MWh per cell)."""
    transform, shape = region_grid(region, resolution_m)
    data = rasterise_demand(
        buildings.geometry.to_numpy(), buildings["demand_mwh"].to_numpy(), transform, shape
    )
    return Grid(data, transform, CRS.from_user_input(buildings.crs))


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Make the heat-demand grid (MWh per cell) from the configured input and write it."""
    import rasterio

    hcfg = cfg.heat_demand
    region = region_polygon(cfg.region, cfg.crs)
    if hcfg.path is not None:
        out, src_total = _from_raster(hcfg, region, cfg.crs)
    else:
        if hcfg.buildings is not None:
            buildings = read_building_demand(hcfg.buildings, cfg.crs)
            what = hcfg.buildings.path
        else:
            buildings = read_osm_buildings(
                hcfg.osm_buildings.path, cfg.crs, default_levels=hcfg.osm_buildings.default_levels
            )
            what = hcfg.osm_buildings.path
        src_total = float(buildings["demand_mwh"].sum())
        log.info("read %d buildings, %.0f MWh/yr, from %s", len(buildings), src_total, what)
        buildings = drop_outside(buildings, region, file=what, what="buildings")
        out = buildings_grid(buildings, region, hcfg.resolution_m)
    total = float(out.data.sum())
    log.info(
        "%d x %d cells of %.0f m: %.0f MWh/yr inside the region (%.2f %% of what was read)",
        *out.data.shape,
        hcfg.resolution_m,
        total,
        100 * total / src_total if src_total else 0.0,
    )
    if total <= 0:
        raise InputError(
            "no heat demand inside the region",
            where=", ".join(map(str, hcfg.input_paths())),
            fix="check 'region.bbox', the input's CRS and 'heat_demand.units'",
        )
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "width": out.data.shape[1],
        "height": out.data.shape[0],
        "count": 1,
        "crs": f"EPSG:{out.crs.to_epsg()}" if out.crs.to_epsg() else out.crs.to_wkt(),
        "transform": out.transform,
        "compress": "deflate",
    }
    with atomic_path(paths.heat_demand) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(out.data.astype("float32"), 1)
        dst.update_tags(units="MWh/cell/yr")
    log.info("wrote %s", paths.heat_demand)


def _from_raster(hcfg: HeatDemandConfig, region: Polygon, crs: CRS) -> tuple[Grid, float]:
    source = read_heat_demand(hcfg, region, crs)
    src_area = cell_areas_m2(source.transform, source.crs, source.data.shape)
    src_total = float(
        np.nansum(
            cell_energy_mwh(np.nan_to_num(source.data), units=hcfg.units, cell_area_m2=src_area)
        )
    )
    log.info(
        "read %d x %d cells (%s, %s), %.0f MWh/yr in the window read",
        *source.data.shape,
        hcfg.units,
        crs_label(source.crs),
        src_total,
    )
    out = reproject_heat_demand(
        source, units=hcfg.units, region=region, crs=crs, resolution_m=hcfg.resolution_m
    )
    return out, src_total
