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
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import Polygon

from pipeline.config import ExistingNetworksConfig, RegionFile
from pipeline.errors import InputError
from pipeline.geo import region_polygon
from pipeline.io import read_vector, require_file, write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.stages.ingest_roads import is_osm_file

log = logging.getLogger("heatlink.ingest_heat_networks")

HEAT_SUBSTANCES = ("heat", "hot_water", "steam", "district_heating")
HEAT_TAG_KEYS = ("substance", "type", "content")
COLUMNS = ["network_id", "n_pipes", "length_m", "geometry"]


def read_osm_heat_pipes(path: Path) -> gpd.GeoDataFrame:
    """Read ``man_made=pipeline`` ways with a heat ``substance`` from an OSM file."""
    import osmium

    rows = []
    try:
        proc = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.TagFilter(("man_made", "pipeline")))
        )
        for way in proc:
            # substance=* is today's tag; older data (Krems, 2013) has type=heat
            if not any(way.tags.get(k) in HEAT_SUBSTANCES for k in HEAT_TAG_KEYS):
                continue
            xy = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
            if len(xy) >= 2:
                rows.append({"osm_id": way.id, "geometry": shapely.LineString(xy)})
    except RuntimeError as exc:
        raise InputError(
            f"pyosmium cannot read this OSM file ({exc})",
            where=path,
            fix="check it is a complete .osm.pbf or .osm download",
        ) from None
    return gpd.GeoDataFrame(rows, columns=["osm_id", "geometry"], crs=4326)


def read_heat_pipes(cfg: ExistingNetworksConfig) -> gpd.GeoDataFrame:
    """Read the existing network pipes or areas named by the config."""
    require_file(cfg.path, key="existing_networks.path")
    if is_osm_file(cfg.path):
        return read_osm_heat_pipes(cfg.path)
    gdf = read_vector(cfg.path, key="existing_networks.path", layer=cfg.layer, where=cfg.where)
    if gdf.crs is None:
        raise InputError("the layer has no CRS", where=cfg.path, fix="assign one in QGIS")
    shapes = {"LineString", "MultiLineString", "Polygon", "MultiPolygon"}
    if len(gdf) and not gdf.geom_type.isin(shapes).all():
        found = sorted(set(gdf.geom_type.dropna()) - shapes)
        raise InputError(
            f"existing networks must be lines or polygons, found {', '.join(found)}",
            where=cfg.path,
            fix="point 'existing_networks.path' (and '.layer') at the network's pipes or area",
        )
    return gdf


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
    gdf = pipes.to_crs(crs)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.intersects(region)]
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
