"""Build demand zones: connected areas of dense heat demand (Hotmaps method), or the
zones given in a polygon layer; and the linear heat density class of each zone.

Inputs
    ``data/interim/<region>/heat_demand_mwh_per_cell.tif`` from ingest_heat_demand;
    ``data/interim/<region>/roads.parquet`` (the roads pipes may follow) from ingest_roads;
    ``zones.path``, a polygon layer of given zones, when set.
Outputs
    ``data/interim/<region>/demand_zones.parquet``: one polygon per zone with
    ``zone_id``, ``annual_demand_mwh``, ``peak_demand_mw``, ``area_ha``, ``n_cells``,
    ``linear_heat_density_kwh_per_m`` and ``zone_class``.
Config keys
    ``zones.min_cell_density_mwh_per_ha``, ``zones.min_zone_demand_mwh``,
    ``zones.close_gaps``, ``zones.full_load_hours_h``, ``zones.path``, ``zones.layer``,
    ``zones.id_column``, ``zones.lhd_baseline_kwh_per_m``,
    ``zones.lhd_stringent_kwh_per_m``; ``region.crs`` (the raster's CRS), ``region.bbox``.

Method
    Zones from the heat map (the default):

    1. keep cells whose density is at least the threshold;
    2. close one-cell gaps with a 3x3 dilation then erosion (optional);
    3. label 8-connected components;
    4. sum each component's demand (cells added by the closing count with their own
       demand) and drop components below the minimum annual demand.

    Given zones (``zones.path``): each zone's annual demand is the heat map's sum over
    its polygon, a cell cut by the boundary counting with the share of its area inside,
    so that energy is kept (zones that do not overlap plus the rest add up to the map's
    total). ``zone_id`` is the zone's own identifier (``zones.id_column``).

    Then, for every zone, the linear heat density is its annual demand over the length
    of followable road inside it (NaN with no road inside), classed ``stringent``,
    ``baseline`` or ``below`` by ``zones.lhd_stringent_kwh_per_m`` and
    ``zones.lhd_baseline_kwh_per_m``.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from pipeline.config import RegionFile, ZonesConfig
from pipeline.engineering.demand import M2_PER_HA, peak_demand_mw
from pipeline.engineering.zoning import zone_class, zone_linear_heat_density_kwh_per_m
from pipeline.geo import region_polygon
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.raster import Grid

log = logging.getLogger("heatlink.build_demand_zones")

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
DEMAND_COLUMNS = ["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha", "n_cells"]
COLUMNS = [*DEMAND_COLUMNS, "linear_heat_density_kwh_per_m", "zone_class", "geometry"]


def build_demand_zones(
    energy: Grid,
    cfg: ZonesConfig,
    *,
    roads: gpd.GeoSeries | None = None,
    given: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The demand zones of a grid of MWh per cell, with their linear heat density class.

    Parameters
    ----------
    energy
        Annual heat demand per cell (MWh), on a projected grid.
    cfg
        The ``zones`` section.
    roads
        The lines pipes may follow, in the grid's CRS; None for none.
    given
        Given zones (``zone_id`` and polygons in the grid's CRS); None to draw them from
        the grid (:func:`raster_zones`).

    Returns
    -------
    One row per zone (:data:`COLUMNS`).

    Examples
    --------
    Two dense blocks of 1 ha cells, one of 4 cells and one of 1 cell, with a 300 MWh
    minimum: only the block of 4 cells (4 x 400 MWh) is a zone. A street of 200 m runs
    through it: 1,600 MWh/yr over 200 m is 8,000 kWh/m/yr, ``stringent``.

    >>> from affine import Affine
    >>> from pyproj import CRS
    >>> from shapely.geometry import LineString
    >>> a = np.zeros((5, 5)); a[0:2, 0:2] = 400.0; a[4, 4] = 200.0
    >>> g = Grid(a, Affine(100, 0, 0, 0, -100, 500), CRS(27700))
    >>> cfg = ZonesConfig(min_cell_density_mwh_per_ha=150, min_zone_demand_mwh=300)
    >>> street = gpd.GeoSeries([LineString([(0, 350), (400, 350)])], crs=27700)
    >>> z = build_demand_zones(g, cfg, roads=street)
    >>> z[["zone_id", "annual_demand_mwh", "n_cells", "area_ha"]].values.tolist()
    [['Z0001', 1600.0, 4, 4.0]]
    >>> z[["linear_heat_density_kwh_per_m", "zone_class"]].values.tolist()
    [[8000.0, 'stringent']]
    """
    zones = raster_zones(energy, cfg) if given is None else given_zones(energy, given, cfg)
    if roads is None:
        roads = gpd.GeoSeries([], crs=energy.crs)
    length_m = road_length_in_zones_m(zones.geometry.to_numpy(), roads.to_numpy())
    lhd = zone_linear_heat_density_kwh_per_m(
        annual_demand_mwh=zones["annual_demand_mwh"].to_numpy(dtype=float), road_length_m=length_m
    )
    zones["linear_heat_density_kwh_per_m"] = lhd
    zones["zone_class"] = zone_class(
        lhd,
        baseline_kwh_per_m=cfg.lhd_baseline_kwh_per_m,
        stringent_kwh_per_m=cfg.lhd_stringent_kwh_per_m,
    )
    return gpd.GeoDataFrame(zones[COLUMNS], geometry="geometry", crs=energy.crs)


def raster_zones(energy: Grid, cfg: ZonesConfig) -> gpd.GeoDataFrame:
    """Label connected dense-demand areas of a grid of MWh per cell.

    Returns
    -------
    Zones sorted by annual demand, largest first, ``zone_id`` ``Z0001``, ``Z0002``, ...,
    with the :data:`DEMAND_COLUMNS`.
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
        return gpd.GeoDataFrame(
            columns=[*DEMAND_COLUMNS, "geometry"], geometry="geometry", crs=energy.crs
        )
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
    return gpd.GeoDataFrame(zones.reset_index(drop=True)[[*DEMAND_COLUMNS, "geometry"]])


def given_zones(energy: Grid, given: gpd.GeoDataFrame, cfg: ZonesConfig) -> gpd.GeoDataFrame:
    """The annual demand of given zones: the grid's sum over each polygon, energy kept.

    A cell cut by a zone's boundary counts with the share of its area inside
    (:func:`cell_cover_fractions`). ``n_cells`` counts the cells the zone covers at least
    in part, ``area_ha`` is the polygon's area. The zones keep their order and ``zone_id``.

    Examples
    --------
    A zone covering one 1 ha cell of 400 MWh whole and half of its 200 MWh neighbour:

    >>> from pyproj import CRS
    >>> from shapely.geometry import box
    >>> g = Grid(np.array([[400.0, 200.0]]), Affine(100, 0, 0, 0, -100, 100), CRS(27700))
    >>> z = gpd.GeoDataFrame({"zone_id": ["HNZ-1"]}, geometry=[box(0, 0, 150, 100)], crs=27700)
    >>> given_zones(g, z, ZonesConfig())[["zone_id", "annual_demand_mwh", "n_cells",
    ...     "area_ha"]].values.tolist()
    [['HNZ-1', 500.0, 2, 1.5]]
    """
    data = np.nan_to_num(energy.data)
    demand = np.zeros(len(given))
    cells = np.zeros(len(given), dtype=int)
    for i, polygon in enumerate(given.geometry.to_numpy()):
        rows, cols, fraction = cell_cover_fractions(energy.transform, data.shape, polygon)
        demand[i] = float(np.sum(data[rows, cols] * fraction))
        cells[i] = int(np.count_nonzero(fraction))
    zones = gpd.GeoDataFrame(
        {
            "zone_id": given["zone_id"].astype(str).to_numpy(),
            "annual_demand_mwh": demand,
            "peak_demand_mw": peak_demand_mw(demand, full_load_hours_h=cfg.full_load_hours_h),
            "area_ha": shapely.area(given.geometry.to_numpy()) / M2_PER_HA,
            "n_cells": cells,
        },
        geometry=given.geometry.to_numpy(),
        crs=energy.crs,
    )
    return zones


def cell_cover_fractions(
    transform: Affine, shape: tuple[int, int], polygon: BaseGeometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells of a north-up grid that ``polygon`` covers, and the share of each covered.

    Returns
    -------
    rows, cols, fraction
        Index arrays of the cells meeting the polygon and the share (0-1] of each cell's
        area inside it.

    Examples
    --------
    A triangle over the lower-left half of a 2 x 2 grid of 10 m cells covers the
    lower-left cell whole and half of the two cells next to it:

    >>> from shapely.geometry import Polygon
    >>> r, c, f = cell_cover_fractions(Affine(10, 0, 0, 0, -10, 20), (2, 2),
    ...     Polygon([(0, 0), (20, 0), (0, 20)]))
    >>> sorted(zip(r.tolist(), c.tolist(), f.tolist()))
    [(0, 0, 0.5), (1, 0, 1.0), (1, 1, 0.5)]
    """
    if transform.b != 0 or transform.d != 0:
        raise ValueError("the grid must be north-up (no rotation)")
    xmin, ymin, xmax, ymax = polygon.bounds
    c_lo, c_hi = sorted(((xmin - transform.c) / transform.a, (xmax - transform.c) / transform.a))
    r_lo, r_hi = sorted(((ymin - transform.f) / transform.e, (ymax - transform.f) / transform.e))
    rows = np.arange(max(int(np.floor(r_lo)), 0), min(int(np.ceil(r_hi)), shape[0]))
    cols = np.arange(max(int(np.floor(c_lo)), 0), min(int(np.ceil(c_hi)), shape[1]))
    rr, cc = (a.ravel() for a in np.meshgrid(rows, cols, indexing="ij"))
    x0 = transform.c + transform.a * cc
    y0 = transform.f + transform.e * rr
    boxes = shapely.box(
        np.minimum(x0, x0 + transform.a),
        np.minimum(y0, y0 + transform.e),
        np.maximum(x0, x0 + transform.a),
        np.maximum(y0, y0 + transform.e),
    )
    shapely.prepare(polygon)
    fraction = np.where(shapely.contains_properly(polygon, boxes), 1.0, 0.0)
    edge = (fraction == 0) & shapely.intersects(polygon, boxes)
    cell_m2 = abs(transform.a * transform.e)
    fraction[edge] = shapely.area(shapely.intersection(boxes[edge], polygon)) / cell_m2
    inside = fraction > 0
    return rr[inside], cc[inside], fraction[inside]


def road_length_in_zones_m(zones: np.ndarray, roads: np.ndarray) -> np.ndarray:
    """Length of the road lines inside each zone polygon, in the CRS's units.

    Examples
    --------
    >>> from shapely.geometry import LineString, box
    >>> road_length_in_zones_m(np.array([box(0, 0, 100, 100), box(500, 0, 600, 100)]),
    ...     np.array([LineString([(-50, 50), (150, 50)])])).tolist()
    [100.0, 0.0]
    """
    length = np.zeros(len(zones))
    if len(zones) == 0 or len(roads) == 0:
        return length
    zone_idx, road_idx = shapely.STRtree(roads).query(zones, predicate="intersects")
    pieces = shapely.intersection(roads[road_idx], zones[zone_idx])
    np.add.at(length, zone_idx, shapely.length(pieces))
    return length


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the heat demand, the roads and any given zones; build the zones; write them."""
    import rasterio

    with rasterio.open(paths.heat_demand) as ds:
        # the raster is in the region CRS by construction; take the CRS from config so
        # that PROJ versions that describe it differently cannot split the two
        grid = Grid(ds.read(1).astype("float64"), ds.transform, cfg.crs)
    roads = read_geoparquet(paths.roads, columns=["geometry"]).geometry
    given = None
    if cfg.zones.path is not None:
        from pipeline.readers.zones import read_given_zones

        given = read_given_zones(
            cfg.zones.path,
            id_column=str(cfg.zones.id_column),
            layer=cfg.zones.layer,
            crs=cfg.crs,
            region=region_polygon(cfg.region, cfg.crs),
        )
    zones = build_demand_zones(
        grid, cfg.zones, roads=roads.set_crs(cfg.crs, allow_override=True), given=given
    )
    _log_zones(zones, grid, cfg.zones, given=given is not None)
    write_geoparquet(zones, paths.demand_zones)
    log.info("wrote %s", paths.demand_zones)


def _log_zones(zones: gpd.GeoDataFrame, grid: Grid, cfg: ZonesConfig, *, given: bool) -> None:
    total = float(np.nansum(grid.data))
    in_zones = float(zones["annual_demand_mwh"].sum())
    log.info(
        "%d %szones from %d cells: %.0f of %.0f MWh/yr (%.0f %%) is in zones",
        len(zones),
        "given " if given else "",
        grid.data.size,
        in_zones,
        total,
        100 * in_zones / total if total else 0,
    )
    counts = zones["zone_class"].value_counts()
    log.info(
        "zone classes by linear heat density (%g and %g kWh/m/yr): %s",
        cfg.lhd_baseline_kwh_per_m,
        cfg.lhd_stringent_kwh_per_m,
        ", ".join(f"{counts.get(c, 0)} {c}" for c in ("stringent", "baseline", "below")),
    )
    if zones.empty and not given:
        log.warning(
            "no zone reaches %.0f MWh/ha and %.0f MWh/yr; lower "
            "zones.min_cell_density_mwh_per_ha or zones.min_zone_demand_mwh",
            cfg.min_cell_density_mwh_per_ha,
            cfg.min_zone_demand_mwh,
        )
