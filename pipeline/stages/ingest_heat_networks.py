"""Ingest existing heat networks: a second kind of sink, reached at their nearest point.

Inputs
    ``existing_networks.path`` (optional): lines or polygons in any layer GDAL reads
    (filtered by ``existing_networks.where``), or an OSM file whose
    ``man_made=pipeline`` ways carrying ``substance`` (or the older ``type``) ``heat``,
    ``hot_water``, ``steam`` or ``district_heating`` are read.
Outputs
    ``data/interim/<region>/heat_networks.parquet``: one row per network in the region
    CRS (pipes closer than ``existing_networks.join_within_m`` are one network), with
    ``network_id`` (``N0001``, ...), ``n_pipes`` and ``length_m``. Empty when no
    existing networks are configured.
Config keys
    ``region.*``, ``existing_networks.*``.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.config import ExistingNetworksConfig, RegionFile
from pipeline.geo import region_polygon
from pipeline.io import write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.checks import LINES, POLYGONS, Expect, drop_outside
from pipeline.readers.gdal import read_vector

log = logging.getLogger("heatlink.ingest_heat_networks")

COLUMNS = ["network_id", "n_pipes", "length_m", "geometry"]


def read_heat_pipes(cfg: ExistingNetworksConfig) -> gpd.GeoDataFrame:
    """Read the existing network pipes or areas named by the config.

    Unusable geometries and features that are neither lines nor polygons are dropped
    and counted in the log.
    """
    from pipeline.readers.osm import is_osm_file, read_osm_heat_pipes

    key = "existing_networks.path"
    if is_osm_file(cfg.path):
        return read_osm_heat_pipes(cfg.path, key=key)
    return read_vector(
        cfg.path,
        key=key,
        layer=cfg.layer,
        where=cfg.where,
        expect=Expect(LINES | POLYGONS, "network lines or polygons"),
    )


def group_networks(
    pipes: gpd.GeoDataFrame, *, region: Polygon, crs: CRS, join_within_m: float
) -> gpd.GeoDataFrame:
    """Reproject, keep pipes in the region and join pipes within ``join_within_m``.

    Examples
    --------
    Two pipes 10 m apart are one network, a third 1 km away another:

    >>> from shapely.geometry import LineString, box
    >>> pipes = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)]),
    ...     LineString([(110, 0), (200, 0)]), LineString([(0, 1000), (50, 1000)])], crs=27700)
    >>> nets = group_networks(pipes, region=box(-10, -10, 300, 1100), crs=CRS(27700),
    ...                       join_within_m=50)
    >>> nets[["network_id", "n_pipes", "length_m"]].values.tolist()
    [['N0001', 2, 190.0], ['N0002', 1, 50.0]]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    gdf = pipes.to_crs(crs)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = drop_outside(gdf, region, what="network pipes")
    if gdf.empty:
        return gpd.GeoDataFrame(columns=COLUMNS, geometry="geometry", crs=crs)
    geoms = gdf.geometry.to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=join_within_m)
    n = len(geoms)
    _, label = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)))
    parts = [shapely.union_all(geoms[label == k]) for k in range(label.max() + 1)]
    nets = gpd.GeoDataFrame({"n_pipes": np.bincount(label)}, geometry=parts, crs=crs)
    nets["length_m"] = np.where(
        nets.geom_type.str.contains("Polygon"), nets.boundary.length, nets.length
    )
    nets = nets.sort_values("length_m", ascending=False, kind="stable").reset_index(drop=True)
    nets.insert(0, "network_id", [f"N{i + 1:04d}" for i in range(len(nets))])
    return gpd.GeoDataFrame(nets[COLUMNS], geometry="geometry", crs=crs)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read existing networks (if configured), group them and write heat_networks.parquet."""
    ncfg = cfg.existing_networks
    region = region_polygon(cfg.region, cfg.crs)
    if ncfg is None:
        nets = gpd.GeoDataFrame(columns=COLUMNS, geometry="geometry", crs=cfg.crs)
        log.info("no existing_networks configured")
    else:
        pipes = read_heat_pipes(ncfg)
        nets = group_networks(pipes, region=region, crs=cfg.crs, join_within_m=ncfg.join_within_m)
        log.info(
            "read %d pipes from %s; %d networks in the region, %.1f km",
            len(pipes),
            ncfg.path,
            len(nets),
            nets["length_m"].sum() / 1000 if len(nets) else 0.0,
        )
    write_geoparquet(nets, paths.heat_networks)
    log.info("wrote %s", paths.heat_networks)
