"""Heat-demand rasters (GeoTIFF or any single-band raster GDAL reads), read with rasterio.

:func:`read_heat_raster` reads only the window covering the region, plus a margin, and
says what it set aside: nodata and NaN cells are counted in an INFO line; negative cells
(often an undeclared negative nodata value) are set to zero with a WARNING giving their
count, share and energy. A missing CRS, a raster outside the region, and a truncated or
corrupt file (at open or at read time) each end with one
:class:`~pipeline.errors.InputError` naming the file.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS, Geod
from shapely.geometry import Polygon

from pipeline.engineering.demand import cell_energy_mwh
from pipeline.errors import InputError
from pipeline.geo import transform_geometry
from pipeline.readers.checks import require_crs, require_file

log = logging.getLogger("heatlink.readers.raster")

MARGIN_CELLS = 2
CORRUPT_FIX = "download or export the raster again; `gdalinfo -checksum FILE` shows the damage"


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
    """True area of each cell: constant in a projected CRS, by row on the ellipsoid.

    Examples
    --------
    >>> cell_areas_m2(Affine(100, 0, 0, 0, -100, 0), CRS(27700), (1, 2)).tolist()
    [[10000.0, 10000.0]]
    """
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


def _first_line(exc: BaseException) -> str:
    """GDAL's own message: rasterio's read errors point at the exception they chain."""
    while exc.__cause__ is not None and "previous exception" in str(exc):
        exc = exc.__cause__
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _window(ds: object, bounds: tuple[float, ...], *, path: Path) -> object:
    """The window of ``ds`` covering ``bounds`` (in the raster's CRS), with a margin."""
    from rasterio.windows import Window, from_bounds

    f = from_bounds(*bounds, transform=ds.transform)
    col0 = max(math.floor(f.col_off) - MARGIN_CELLS, 0)
    row0 = max(math.floor(f.row_off) - MARGIN_CELLS, 0)
    col1 = min(math.ceil(f.col_off + f.width) + MARGIN_CELLS, ds.width)
    row1 = min(math.ceil(f.row_off + f.height) + MARGIN_CELLS, ds.height)
    if col1 <= col0 or row1 <= row0:
        raise InputError(
            "the raster does not cover the region",
            where=path,
            fix="check 'region.bbox' and the raster's extent and CRS",
        )
    return Window(col0, row0, col1 - col0, row1 - row0)


def read_raster_window(path: Path, *, key: str, region: Polygon, crs: CRS) -> Grid:
    """Band 1 of a raster over the region (plus 2 cells), NaN where nodata.

    Parameters
    ----------
    path
        The raster file.
    key
        The config key naming it, for messages.
    region
        The region polygon in ``crs``.
    crs
        The region's CRS.
    """
    import rasterio
    from rasterio.errors import RasterioError

    require_file(path, key=key)
    try:
        with rasterio.open(path) as ds:
            src_crs = require_crs(ds.crs and ds.crs.to_wkt(), file=path, what="raster")
            bounds = transform_geometry(region, crs, src_crs).bounds
            win = _window(ds, bounds, path=path)
            data = ds.read(1, window=win, masked=True).astype("float64")
            transform = ds.window_transform(win)
    except RasterioError as exc:
        raise InputError(
            f"the raster cannot be read; it is truncated, corrupt or not a raster "
            f"({_first_line(exc)})",
            where=path,
            fix=CORRUPT_FIX,
        ) from None
    return Grid(data.filled(np.nan), transform, src_crs)


def clean_heat_cells(grid: Grid, *, units: str, file: Path | str) -> Grid:
    """Zero negative cells and count them, and count the NaN (nodata) cells, in the log.

    Negative heat demand has no meaning; a raster with an undeclared negative nodata
    value (-9999) would otherwise subtract energy. NaN cells stay NaN (no demand).

    Examples
    --------
    >>> g = Grid(np.array([[1.0, -2.0], [np.nan, 3.0]]), Affine(100, 0, 0, 0, -100, 0),
    ...          CRS(27700))
    >>> clean_heat_cells(g, units="MWh/ha/yr", file="heat.tif").data.tolist()
    [[1.0, 0.0], [nan, 3.0]]
    """
    data = grid.data.copy()
    n = data.size
    nodata = int(np.isnan(data).sum())
    if nodata:
        log.info("%s: %d of %d cells (%.1f %%) are nodata", file, nodata, n, 100 * nodata / n)
    negative = np.nan_to_num(data, nan=0.0) < 0
    if negative.any():
        areas = cell_areas_m2(grid.transform, grid.crs, data.shape)
        energy = cell_energy_mwh(data[negative], units=units, cell_area_m2=areas[negative])
        log.warning(
            "%s: %d of %d cells (%.1f %%) are negative, %.0f MWh/yr in all; set to 0 "
            "(declare the raster's nodata value if they mean no data)",
            file,
            int(negative.sum()),
            n,
            100 * negative.sum() / n,
            float(energy.sum()),
        )
        data[negative] = 0.0
    return Grid(data, grid.transform, grid.crs)


def read_heat_raster(path: Path, *, key: str, units: str, region: Polygon, crs: CRS) -> Grid:
    """The heat-demand raster over the region, nodata as NaN and negative cells zeroed.

    See :func:`read_raster_window` and :func:`clean_heat_cells`.
    """
    grid = read_raster_window(path, key=key, region=region, crs=crs)
    return clean_heat_cells(grid, units=units, file=path)
