"""Ingest the heat-demand map: clip, convert to energy per cell and reproject.

Inputs
    ``heat_demand.path``: a single-band GeoTIFF in any CRS whose cell values are in the
    declared ``heat_demand.units`` (``MWh/ha/yr``, ``MWh/cell/yr``, ``kWh/m2/yr`` or
    ``GJ/ha/yr``). Nodata cells and cells of 0 (the Hotmaps nodata value) hold no demand.
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
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Geod
from rasterio.warp import Resampling, reproject
from rasterio.windows import Window, from_bounds
from shapely.geometry import Polygon

from pipeline.config import HeatDemandConfig, RegionFile
from pipeline.engineering.demand import cell_energy_mwh
from pipeline.errors import InputError
from pipeline.geo import crs_label, region_polygon, transform_geometry
from pipeline.io import atomic_path, require_file
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.ingest_heat_demand")


@dataclass(frozen=True)
class Grid:
    """A raster array with its georeferencing."""

    data: np.ndarray
    transform: Affine
    crs: CRS

    @property
    def cell_area_m2(self) -> float:
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)


def cell_areas_m2(transform: Affine, crs: CRS, shape: tuple[int, int]) -> np.ndarray:
    """True area of each cell: constant in a projected CRS, by row on the ellipsoid."""
    if crs.is_projected:
        factor = crs.axis_info[0].unit_conversion_factor
        area = abs(transform.a * transform.e) * factor**2
        return np.full(shape, area)
    geod = Geod(ellps="WGS84")
    rows = np.arange(shape[0])
    lat_top = transform.f + transform.e * rows
    lat_bot = lat_top + transform.e
    width = abs(transform.a)
    areas = np.array(
        [
            abs(geod.polygon_area_perimeter([0, width, width, 0], [t, t, b, b])[0])
            for t, b in zip(lat_top, lat_bot, strict=True)
        ]
    )
    return np.repeat(areas[:, None], shape[1], axis=1)


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
    values = np.where(np.isfinite(source.data), source.data, 0.0)
    src_area = cell_areas_m2(source.transform, source.crs, values.shape)
    energy = cell_energy_mwh(values, units=units, cell_area_m2=src_area)
    # MWh/m2, padded with zeros: outside the raster there is no demand (not unknown
    # demand), so target cells on its edge average over zeros, not over less area
    density = np.pad(energy / src_area, 2)
    src_transform = source.transform @ Affine.translation(-2, -2)
    xmin, ymin, xmax, ymax = region.bounds
    # align to the source grid when only clipping, else to whole multiples of the cell size
    x0, y0 = (source.transform.c, source.transform.f) if source.crs.equals(crs) else (0.0, 0.0)
    xmin = x0 + math.floor((xmin - x0) / resolution_m) * resolution_m
    ymin = y0 + math.floor((ymin - y0) / resolution_m) * resolution_m
    width = math.ceil((xmax - xmin) / resolution_m)
    height = math.ceil((ymax - ymin) / resolution_m)
    transform = Affine(resolution_m, 0, xmin, 0, -resolution_m, ymin + height * resolution_m)
    dst = np.zeros((height, width), dtype="float64")
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
    """Read the part of the GeoTIFF that covers the region (plus a margin of 2 cells)."""
    require_file(cfg.path, key="heat_demand.path")
    try:
        ds = rasterio.open(cfg.path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"not a raster GDAL can read ({exc})",
            where=cfg.path,
            fix="give a GeoTIFF",
        ) from None
    with ds:
        if ds.crs is None:
            raise InputError(
                "the raster has no CRS",
                where=cfg.path,
                fix="assign one, e.g. `gdal_edit.py -a_srs EPSG:3035 FILE`",
            )
        src_crs = CRS.from_user_input(ds.crs.to_wkt())
        bounds = transform_geometry(region, crs, src_crs).bounds
        f = from_bounds(*bounds, transform=ds.transform)
        col0, row0 = math.floor(f.col_off) - 2, math.floor(f.row_off) - 2
        col1 = math.ceil(f.col_off + f.width) + 2
        row1 = math.ceil(f.row_off + f.height) + 2
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, ds.width), min(row1, ds.height)
        if col1 <= col0 or row1 <= row0:
            raise InputError(
                "the raster does not cover the region",
                where=cfg.path,
                fix="check 'region.bbox' and the raster's extent and CRS",
            )
        win = Window(col0, row0, col1 - col0, row1 - row0)
        data = ds.read(1, window=win, masked=True).astype("float64")
        transform = ds.window_transform(win)
    arr = data.filled(np.nan)
    arr[arr < 0] = np.nan
    return Grid(arr, transform, src_crs)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read, reproject and write the heat-demand raster in MWh per cell."""
    hcfg = cfg.heat_demand
    region = region_polygon(cfg.region, cfg.crs)
    source = read_heat_demand(hcfg, region, cfg.crs)
    src_total = float(
        np.nansum(
            cell_energy_mwh(
                np.nan_to_num(source.data),
                units=hcfg.units,
                cell_area_m2=cell_areas_m2(source.transform, source.crs, source.data.shape),
            )
        )
    )
    log.info(
        "read %d x %d cells (%s, %s), %.0f MWh/yr in the window",
        *source.data.shape,
        hcfg.units,
        crs_label(source.crs),
        src_total,
    )
    out = reproject_heat_demand(
        source, units=hcfg.units, region=region, crs=cfg.crs, resolution_m=hcfg.resolution_m
    )
    total = float(out.data.sum())
    log.info(
        "reprojected to %d x %d cells of %.0f m: %.0f MWh/yr (%.2f %% of the source window)",
        *out.data.shape,
        hcfg.resolution_m,
        total,
        100 * total / src_total if src_total else 0.0,
    )
    if total <= 0:
        raise InputError(
            "no heat demand inside the region",
            where=hcfg.path,
            fix="check 'region.bbox', the raster's CRS and 'heat_demand.units'",
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
