"""Roads downloaded from the Overpass API through osmnx, cached under ``data/raw/<region>/``.

The query (a place name or a lon/lat polygon, and the ``highway`` tag) is hashed into the
cache file name, ``roads_overpass_<hash>.gpkg``; later runs read that file through
:func:`pipeline.readers.gdal.read_vector` and never touch the network. Being offline, an
unknown place or an empty answer each end with one :class:`~pipeline.errors.InputError`
naming the config key and what to do instead. osmnx is imported inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.config import RoadsConfig
from pipeline.errors import InputError
from pipeline.io import atomic_path

log = logging.getLogger("heatlink.readers.overpass")

WGS84 = CRS.from_epsg(4326)
OVERPASS_TAGS: dict[str, bool | str | list[str]] = {"highway": True}


def overpass_query(cfg: RoadsConfig) -> dict[str, object]:
    """The Overpass query of the roads section, as a plain dict (hashed for the cache)."""
    if cfg.overpass_place is not None:
        return {"place": cfg.overpass_place, "tags": OVERPASS_TAGS}
    if cfg.overpass_polygon_wgs84 is not None:
        ring = [[float(x), float(y)] for x, y in cfg.overpass_polygon_wgs84]
        return {"polygon_wgs84": ring, "tags": OVERPASS_TAGS}
    raise ValueError("the roads section names a file, not an Overpass query")


def overpass_cache_path(cfg: RoadsConfig, raw_dir: Path) -> Path:
    """``raw_dir/roads_overpass_<12 hex digits of the query's SHA-256>.gpkg``."""
    text = json.dumps(overpass_query(cfg), sort_keys=True)
    return raw_dir / f"roads_overpass_{hashlib.sha256(text.encode()).hexdigest()[:12]}.gpkg"


def _overpass_key(cfg: RoadsConfig) -> str:
    return (
        "roads.overpass_place" if cfg.overpass_place is not None else "roads.overpass_polygon_wgs84"
    )


@contextmanager
def _osmnx_settings(**values: object) -> Iterator[None]:
    """Set osmnx settings for a block, then restore them."""
    import osmnx as ox

    old = {k: getattr(ox.settings, k) for k in values}
    for k, v in values.items():
        setattr(ox.settings, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def check_overpass_reachable(timeout_s: float = 15) -> None:
    """Raise a ``requests`` error fast when the Overpass API cannot be reached.

    osmnx itself would wait 60 s before its first request when the status endpoint
    is unreachable; this check turns being offline into an immediate error.
    """
    import osmnx as ox
    import requests

    requests.get(ox.settings.overpass_url.rstrip("/") + "/status", timeout=timeout_s)


def _query_polygon(cfg: RoadsConfig) -> Polygon | None:
    """The polygon of ``roads.overpass_polygon_wgs84``; InputError when it is not one."""
    if cfg.overpass_polygon_wgs84 is None:
        return None
    key = "roads.overpass_polygon_wgs84"
    try:
        polygon = Polygon(cfg.overpass_polygon_wgs84)
    except ValueError as exc:
        raise InputError(
            f"not a polygon ({exc})", where=key, fix="give at least 3 [lon, lat] points"
        ) from None
    if not polygon.is_valid:
        raise InputError(
            "the polygon is not valid (it crosses itself)",
            where=key,
            fix="list the [lon, lat] corners in order around the area",
        )
    return polygon


def download_overpass_roads(cfg: RoadsConfig) -> gpd.GeoDataFrame:
    """Download the ``highway`` ways of a place or polygon through osmnx.

    osmnx's own HTTP cache and log files are switched off, so nothing is written into
    the project; the caller caches the result.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id``, ``highway``, ``name`` and LineStrings in EPSG:4326.
    """
    import osmnx as ox
    import requests

    key = _overpass_key(cfg)
    offline_fix = (
        "check the internet connection and try again, or download an extract yourself "
        "(for example a Geofabrik .osm.pbf or .shp.zip from https://download.geofabrik.de) "
        f"into data/raw/<region>/ and set 'roads.path' to it instead of '{key}'"
    )
    polygon = _query_polygon(cfg)
    try:
        with _osmnx_settings(use_cache=False, log_file=False, log_console=False):
            check_overpass_reachable()
            if polygon is not None:
                features = ox.features_from_polygon(polygon, tags=OVERPASS_TAGS)
            else:
                features = ox.features_from_place(cfg.overpass_place, tags=OVERPASS_TAGS)
    except (requests.RequestException, OSError) as exc:
        raise InputError(
            f"the Overpass download failed ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]})",
            where=key,
            fix=offline_fix,
        ) from None
    except (ox._errors.InsufficientResponseError, TypeError, ValueError) as exc:
        raise InputError(
            f"no roads downloaded ({str(exc).splitlines()[0][:200]})",
            where=key,
            fix="check the place name at https://nominatim.openstreetmap.org (it must have "
            "a boundary polygon), or give roads.overpass_polygon_wgs84 or roads.path",
        ) from None
    flat = features.reset_index()
    ways = flat[(flat["element"] == "way") & (flat.geom_type == "LineString")]
    if ways.empty:
        raise InputError(
            "the download holds no highway ways", where=key, fix="check the area has roads"
        )
    skipped = len(flat) - len(ways)
    log.info("downloaded %d highway ways (skipped %d highway nodes and areas)", len(ways), skipped)
    return gpd.GeoDataFrame(
        {
            "osm_id": ways["id"].astype("int64").to_numpy(),
            "highway": ways["highway"].astype("string").fillna("").to_numpy(dtype=object),
            "name": (
                ways["name"].astype("string").fillna("").to_numpy(dtype=object)
                if "name" in ways
                else ""
            ),
        },
        geometry=ways.geometry.to_numpy(),
        crs=WGS84,
    )


def overpass_roads(cfg: RoadsConfig, *, raw_dir: Path) -> Path:
    """The cached GeoPackage of the Overpass query, downloading it when not yet cached."""
    import pyogrio

    cache = overpass_cache_path(cfg, raw_dir)
    if cache.is_file():
        log.info("using the cached Overpass download %s (delete it to download again)", cache)
        return cache
    log.info("downloading roads from Overpass for %s", json.dumps(overpass_query(cfg)))
    roads = download_overpass_roads(cfg)
    with atomic_path(cache) as tmp:
        pyogrio.write_dataframe(roads, tmp, layer="roads", driver="GPKG")
    log.info("cached %d highway ways in %s", len(roads), cache)
    return cache
