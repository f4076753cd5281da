"""Ingest the road corridors that pipes may follow.

Inputs
    ``roads.path``: an OpenStreetMap extract (``.osm.pbf``, ``.osm``, ``.osm.bz2``),
    read with pyosmium, which copes with clipped extracts whose ways refer to nodes that
    are not in the file; or any line layer GDAL reads (GeoPackage, Shapefile, GeoJSON),
    with the road class in ``roads.class_column``.
Outputs
    ``data/interim/<region>/roads.parquet``: LineStrings in the region CRS that intersect
    the region, with ``road_class`` (the OSM ``highway`` value or the class column) and
    ``name``.
Config keys
    ``region.crs``, ``region.bbox``, ``roads.path``, ``roads.layer``,
    ``roads.class_column``, ``roads.classes``, ``roads.exclude_classes``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import Polygon
from tqdm import tqdm

from pipeline.config import RegionFile, RoadsConfig
from pipeline.errors import InputError
from pipeline.geo import region_polygon, transform_geometry
from pipeline.io import read_vector, require_file, write_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.ingest_roads")

OSM_SUFFIXES = (".pbf", ".osm", ".bz2", ".gz")
WGS84 = CRS.from_epsg(4326)


def is_osm_file(path: Path) -> bool:
    """True for OSM PBF or XML files, which pyosmium reads."""
    name = path.name.lower()
    return name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz"))


def read_osm_roads(path: Path, bbox_wgs84: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Read the ``highway`` ways of an OSM file as LineStrings in EPSG:4326.

    A way whose nodes are partly missing (a clipped extract) is kept as the runs of at
    least two consecutive nodes that are present; the count of such ways is logged.
    Only ways whose bounding box meets ``bbox_wgs84`` are kept.
    """
    import osmium

    xs: list[float] = []
    ys: list[float] = []
    part: list[int] = []
    ids: list[int] = []
    classes: list[str] = []
    names: list[str] = []
    n_ways = n_clipped = 0
    proc = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        for way in tqdm(
            proc, desc="reading OSM ways", unit=" ways", mininterval=2, leave=False, disable=None
        ):
            n_ways += 1
            run_x: list[float] = []
            run_y: list[float] = []
            clipped = False
            for nd in [*way.nodes, None]:
                if nd is not None and nd.location.valid():
                    run_x.append(nd.location.lon)
                    run_y.append(nd.location.lat)
                    continue
                clipped |= nd is not None
                if len(run_x) >= 2:
                    k = len(ids)
                    xs.extend(run_x)
                    ys.extend(run_y)
                    part.extend([k] * len(run_x))
                    ids.append(way.id)
                    classes.append(way.tags.get("highway"))
                    names.append(way.tags.get("name", ""))
                run_x, run_y = [], []
            n_clipped += clipped
    except RuntimeError as exc:
        raise InputError(
            f"pyosmium cannot read this OSM file ({exc})",
            where=path,
            fix="check it is a complete .osm.pbf or .osm download (try `osmium fileinfo`)",
        ) from None
    if n_clipped:
        log.info(
            "%d of %d highway ways refer to nodes missing from the extract (clipped); "
            "kept their parts with node locations",
            n_clipped,
            n_ways,
        )
    coords = np.column_stack([xs, ys]) if xs else np.empty((0, 2))
    geoms = shapely.linestrings(coords, indices=np.asarray(part, dtype=np.intp))
    gdf = gpd.GeoDataFrame(
        {"osm_id": np.asarray(ids, dtype="int64"), "road_class": classes, "name": names},
        geometry=gpd.GeoSeries(geoms),
        crs=WGS84,
    )
    return gdf[gdf.intersects(shapely.box(*bbox_wgs84))]


def read_gdal_roads(cfg: RoadsConfig, region_wgs84: Polygon) -> gpd.GeoDataFrame:
    """Read a GDAL line layer with its class column, only features near the region."""
    import pyogrio

    require_file(cfg.path, key="roads.path")
    layer_crs = None
    try:
        info = pyogrio.read_info(cfg.path, layer=cfg.layer)
        layer_crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    except Exception:
        pass  # read_vector below reports unreadable files and bad layers properly
    bbox = None
    if layer_crs is not None:
        bbox = transform_geometry(region_wgs84, WGS84, layer_crs).bounds
    gdf = read_vector(
        cfg.path, key="roads.path", layer=cfg.layer, columns=[cfg.class_column], bbox=bbox
    )
    if gdf.crs is None:
        raise InputError(
            "the road layer has no CRS",
            where=cfg.path,
            fix="assign one in QGIS or with ogr2ogr -a_srs",
        )
    line_types = {"LineString", "MultiLineString"}
    if len(gdf) and not gdf.geom_type.isin(line_types).any():
        raise InputError(
            f"the layer holds {sorted(set(gdf.geom_type.dropna()))[0]} geometries, not lines",
            where=cfg.path,
            fix="point 'roads.path' (and 'roads.layer') at a line layer",
        )
    gdf = gdf[gdf.geom_type.isin(line_types)].explode(index_parts=False)
    out = gpd.GeoDataFrame(
        {
            "osm_id": pd.array([pd.NA] * len(gdf), dtype="Int64"),
            "road_class": gdf[cfg.class_column].astype("string").str.strip().to_numpy(),
            "name": "",
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    return out


def select_roads(
    roads: gpd.GeoDataFrame, *, cfg: RoadsConfig, region: Polygon, crs: CRS
) -> gpd.GeoDataFrame:
    """Keep the road classes pipes may follow, reproject and keep roads in the region.

    Parameters
    ----------
    roads
        LineStrings with ``road_class``, in any CRS.
    cfg
        The ``roads`` section: ``classes`` to keep (all when unset) and
        ``exclude_classes`` never followed.
    region
        Region polygon in ``crs``.
    crs
        Region CRS.
    """
    cls = roads["road_class"].astype("string")
    keep = cls.notna() & ~cls.isin(cfg.exclude_classes)
    if cfg.classes is not None:
        keep &= cls.isin(cfg.classes)
    out = roads.loc[keep.to_numpy()].to_crs(crs)
    out = out[~out.geometry.is_empty & out.geometry.notna()]
    out = out[out.intersects(region)]
    out = out[out.length > 0]
    return gpd.GeoDataFrame(out.reset_index(drop=True), crs=crs)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the road file, select roads and write roads.parquet."""
    rcfg = cfg.roads
    region = region_polygon(cfg.region, cfg.crs)
    region_wgs84 = region_polygon(cfg.region, WGS84)
    if is_osm_file(rcfg.path):
        require_file(rcfg.path, key="roads.path")
        raw = read_osm_roads(rcfg.path, region_wgs84.bounds)
    else:
        raw = read_gdal_roads(rcfg, region_wgs84)
    counts = raw["road_class"].value_counts(dropna=False)
    log.info(
        "read %d road lines from %s; classes: %s",
        len(raw),
        rcfg.path,
        ", ".join(f"{k}={v}" for k, v in counts.head(15).items()),
    )
    roads = select_roads(raw, cfg=rcfg, region=region, crs=cfg.crs)
    if roads.empty:
        raise InputError(
            f"no roads inside the region after filtering ({len(raw)} lines read)",
            where=rcfg.path,
            fix="check 'region.bbox' covers the road file, and 'roads.classes' / "
            "'roads.exclude_classes' / 'roads.class_column'",
        )
    log.info("kept %d road lines, %.1f km", len(roads), roads.length.sum() / 1000)
    write_geoparquet(roads, paths.roads)
    log.info("wrote %s", paths.roads)
