"""Build demand zones: connected areas of dense heat demand (Hotmaps method).

Inputs
    ``data/interim/<region>/heat_demand_mwh_per_cell.tif`` from ingest_heat_demand.
Outputs
    ``data/interim/<region>/demand_zones.parquet``: one polygon per zone with
    ``zone_id``, ``annual_demand_mwh``, ``peak_demand_mw``, ``area_ha`` and ``n_cells``.
Config keys
    ``zones.min_cell_density_mwh_per_ha``, ``zones.min_zone_demand_mwh``,
    ``zones.close_gaps``, ``zones.full_load_hours_h``; ``region.crs`` (the raster's CRS).

Method
    1. keep cells whose density is at least the threshold;
    2. close one-cell gaps with a 3x3 dilation then erosion (optional);
    3. label 8-connected components;
    4. sum each component's demand (cells added by the closing count with their own
       demand) and drop components below the minimum annual demand.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from pipeline.config import RegionFile, ZonesConfig
from pipeline.engineering.demand import M2_PER_HA, peak_demand_mw
from pipeline.io import write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.raster import Grid

log = logging.getLogger("heatlink.build_demand_zones")

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
COLUMNS = ["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha", "n_cells", "geometry"]


def build_demand_zones(energy: Grid, cfg: ZonesConfig) -> gpd.GeoDataFrame:
    """Label connected dense-demand areas of a grid of MWh per cell.

    Parameters
    ----------
    energy
        Annual heat demand per cell (MWh), on a projected grid.
    cfg
        The ``zones`` section.

    Returns
    -------
    Zones sorted by annual demand, largest first, ``zone_id`` ``Z0001``, ``Z0002``, ...

    Examples
    --------
    Two dense blocks of 1 ha cells, one of 4 cells and one of 1 cell, with a 300 MWh
    minimum: only the block of 4 cells (4 x 400 MWh) is a zone.

    >>> from affine import Affine
    >>> from pyproj import CRS
    >>> a = np.zeros((5, 5)); a[0:2, 0:2] = 400.0; a[4, 4] = 200.0
    >>> g = Grid(a, Affine(100, 0, 0, 0, -100, 500), CRS(27700))
    >>> cfg = ZonesConfig(min_cell_density_mwh_per_ha=150, min_zone_demand_mwh=300)
    >>> z = build_demand_zones(g, cfg)
    >>> z[["zone_id", "annual_demand_mwh", "n_cells", "area_ha"]].values.tolist()
    [['Z0001', 1600.0, 4, 4.0]]
    """
    import rasterio.features
    from scipy import ndimage

    cell_ha = energy.cell_area_m2 / M2_PER_HA
    data = np.nan_to_num(energy.data)
    dense = data / cell_ha >= cfg.min_cell_density_mwh_per_ha
    if cfg.close_gaps:
        # pad so that closing does not erode zones touching the raster edge
        dense = (
            ndimage.binary_closing(np.pad(dense, 1), structure=EIGHT_CONNECTED, border_value=0)[
                1:-1, 1:-1
            ]
            | dense
        )
    labels, n = ndimage.label(dense, structure=EIGHT_CONNECTED)
    if n == 0:
        return gpd.GeoDataFrame(columns=COLUMNS, geometry="geometry", crs=energy.crs)
    index = np.arange(1, n + 1)
    demand = ndimage.sum_labels(data, labels, index)
    cells = ndimage.sum_labels(np.ones_like(data), labels, index).astype(int)
    keep = demand >= cfg.min_zone_demand_mwh
    polys: dict[int, list] = {int(i): [] for i in index[keep]}
    for geom, value in rasterio.features.shapes(
        labels.astype("int32"), mask=np.isin(labels, index[keep]), transform=energy.transform
    ):
        polys[int(value)].append(shapely.geometry.shape(geom))
    kept = index[keep]
    geoms = [shapely.union_all(polys[int(i)]) for i in kept]
    zones = gpd.GeoDataFrame(
        {
            "annual_demand_mwh": demand[keep],
            "peak_demand_mw": peak_demand_mw(demand[keep], full_load_hours_h=cfg.full_load_hours_h),
            "area_ha": cells[keep] * cell_ha,
            "n_cells": cells[keep],
        },
        geometry=geoms,
        crs=energy.crs,
    )
    zones = zones.sort_values("annual_demand_mwh", ascending=False, kind="stable")
    zones.insert(0, "zone_id", [f"Z{i + 1:04d}" for i in range(len(zones))])
    return gpd.GeoDataFrame(zones.reset_index(drop=True)[COLUMNS], crs=energy.crs)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the reprojected heat demand, build the zones and write them."""
    import rasterio

    with rasterio.open(paths.heat_demand) as ds:
        # the raster is in the region CRS by construction; take the CRS from config so
        # that PROJ versions that describe it differently cannot split the two
        grid = Grid(ds.read(1).astype("float64"), ds.transform, cfg.crs)
    zones = build_demand_zones(grid, cfg.zones)
    total = float(np.nansum(grid.data))
    in_zones = float(zones["annual_demand_mwh"].sum())
    log.info(
        "%d zones from %d cells: %.0f of %.0f MWh/yr (%.0f %%) is in zones",
        len(zones),
        grid.data.size,
        in_zones,
        total,
        100 * in_zones / total if total else 0,
    )
    if zones.empty:
        log.warning(
            "no zone reaches %.0f MWh/ha and %.0f MWh/yr; lower "
            "zones.min_cell_density_mwh_per_ha or zones.min_zone_demand_mwh",
            cfg.zones.min_cell_density_mwh_per_ha,
            cfg.zones.min_zone_demand_mwh,
        )
    write_geoparquet(zones, paths.demand_zones)
    log.info("wrote %s", paths.demand_zones)
