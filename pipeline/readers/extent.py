"""The extent of an input file in longitude/latitude, and the region's extent from it.

``region.bbox`` is optional: without it, the region is the extent of the road file, or,
when the roads come from Overpass, of the site and heat-demand files together. Each
format's own metadata gives the extent cheaply where it has one (an OSM header's box, a
GeoPackage's or Shapefile's extent, a GeoTIFF's bounds); otherwise the file is scanned.
"""

from __future__ import annotations

from pathlib import Path

from pyproj import CRS, Transformer

from pipeline.config import Bbox, RegionFile, input_files
from pipeline.errors import InputError

WGS84 = CRS.from_epsg(4326)
OSM_SUFFIXES = (".pbf", ".osm", ".bz2", ".o5m")
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc")


def _to_wgs84(bounds: tuple[float, ...], crs: CRS | str | None, *, path: Path) -> Bbox:
    from pipeline.readers.checks import require_crs

    src = require_crs(crs, file=path)
    if src.equals(WGS84):
        return tuple(float(b) for b in bounds)  # type: ignore[return-value]
    t = Transformer.from_crs(src, WGS84, always_xy=True)
    return tuple(float(b) for b in t.transform_bounds(*bounds))  # type: ignore[return-value]


def _osm_extent(path: Path) -> Bbox:
    import osmium

    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if box.valid():
        return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    west = south = float("inf")
    east = north = float("-inf")
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        lon, lat = node.location.lon, node.location.lat
        west, east = min(west, lon), max(east, lon)
        south, north = min(south, lat), max(north, lat)
    return (west, south, east, north)


def _raster_extent(path: Path) -> Bbox:
    import rasterio

    try:
        with rasterio.open(path) as ds:
            return _to_wgs84(tuple(ds.bounds), ds.crs, path=path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"not a raster GDAL can open ({str(exc).splitlines()[0]})",
            where=path,
            fix="check the file opens in QGIS, or set region.bbox",
        ) from None


def _csv_extent(path: Path, *, crs: str | int | None) -> Bbox:
    import pandas as pd

    head = pd.read_csv(path, nrows=0).columns
    cols, src = (("lon", "lat"), WGS84) if {"lon", "lat"} <= set(head) else (("x", "y"), crs)
    table = pd.read_csv(path, usecols=list(cols)).apply(pd.to_numeric, errors="coerce").dropna()
    if table.empty:
        raise InputError(
            "no coordinates to take the region's extent from",
            where=path,
            fix="give lat/lon (or x/y with sources.crs) columns, or set region.bbox",
        )
    xs, ys = table[cols[0]], table[cols[1]]
    return _to_wgs84((xs.min(), ys.min(), xs.max(), ys.max()), src, path=path)


def _vector_extent(path: Path, *, layer: str | None) -> Bbox:
    import pyogrio

    try:
        layers = [layer] if layer else [str(n) for n, _ in pyogrio.list_layers(path)]
        boxes = []
        for name in layers:
            info = pyogrio.read_info(path, layer=name, force_total_bounds=True)
            if info["features"] and info["geometry_type"]:
                boxes.append(_to_wgs84(tuple(info["total_bounds"]), info["crs"], path=path))
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"GDAL cannot read this file ({str(exc).splitlines()[0]})",
            where=path,
            fix="check the file opens in QGIS, or set region.bbox",
        ) from None
    if not boxes:
        raise InputError(
            "no features to take the region's extent from", where=path, fix="set region.bbox"
        )
    return _union(boxes)


def _union(boxes: list[Bbox]) -> Bbox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def file_extent_wgs84(
    path: Path,
    *,
    key: str,
    layer: str | None = None,
    roads: bool = False,
    csv_crs: str | int | None = None,
) -> Bbox:
    """``(west, south, east, north)`` of a file's contents in longitude/latitude.

    Parameters
    ----------
    path
        An OSM file, a raster, a CSV with lat/lon or x/y columns, or a GDAL vector file.
    key
        The config key that names the file, for messages.
    layer
        The layer of a multi-layer vector file; all layers when None.
    roads
        The file holds roads: without ``layer``, take the road layer of a known format
        (OS Open Roads, Geofabrik) as ``ingest_roads`` does.
    csv_crs
        The CRS of x/y columns in a CSV.
    """
    from pipeline.readers.checks import require_file

    require_file(path, key=key)
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES) and not name.endswith(".shp.bz2"):
        return _osm_extent(path)
    if name.endswith(RASTER_SUFFIXES):
        return _raster_extent(path)
    if name.endswith(".csv"):
        return _csv_extent(path, crs=csv_crs)
    if roads:
        from pipeline.readers.gdal import choose_road_layer

        layer = choose_road_layer(path, layer)
    return _vector_extent(path, layer=layer)


def region_extent_wgs84(cfg: RegionFile) -> tuple[Bbox, str]:
    """The extent of the region when ``region.bbox`` is not set, and what it came from.

    The road file's extent; with roads from Overpass, the site and heat-demand files'.
    """
    if cfg.roads.path is not None:
        box = file_extent_wgs84(cfg.roads.path, key="roads.path", layer=cfg.roads.layer, roads=True)
        return box, "roads.path"
    files = input_files(cfg.sources, "sources") | input_files(cfg.heat_demand, "heat_demand")
    boxes = [
        file_extent_wgs84(path, key=key, csv_crs=cfg.sources.crs)
        for key, path in files.items()
        if key != "sources.hotmaps_industrial.path"  # a national table, not the region
    ]
    return _union(boxes), ", ".join(files)


def with_region_extent(cfg: RegionFile) -> tuple[RegionFile, str | None]:
    """``cfg`` with ``region.bbox`` set from the inputs when it was not given, and a note
    for the log saying so (None when the file gave a bbox)."""
    if cfg.region.bbox is not None:
        return cfg, None
    box, source = region_extent_wgs84(cfg)
    region = cfg.region.model_copy(update={"bbox": box, "bbox_crs": "EPSG:4326"})
    note = (
        f"region.bbox is not set: the region is the extent of {source}, "
        f"[{box[0]:.5f}, {box[1]:.5f}, {box[2]:.5f}, {box[3]:.5f}] (lon/lat)"
    )
    return cfg.model_copy(update={"region": region}), note
