"""Vector layers GDAL reads: GeoPackage, Shapefile (also zipped), GeoJSON, GML and more.

One entry point, :func:`read_vector`, used by every stage that reads a vector file: it
checks the file exists, picks the layer, checks the layer has geometries and a CRS, reads
only the columns and the area asked for, and drops unusable geometries with a count in
the log (:func:`pipeline.readers.checks.check_geometries`). GDAL failures become one-line
:class:`~pipeline.errors.InputError` messages naming the file.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.errors import InputError
from pipeline.geo import transform_geometry
from pipeline.readers.checks import (
    ANY_FEATURES,
    Expect,
    check_geometries,
    require_columns,
    require_crs,
    require_file,
)

if TYPE_CHECKING:
    import geopandas as gpd

log = logging.getLogger("heatlink.readers.gdal")

WGS84 = CRS.from_epsg(4326)
GDAL_FIX = "give a GeoPackage, Shapefile, GeoJSON or other format GDAL reads"
SHAPEFILE_PARTS = (".dbf", ".shx", ".prj", ".cpg", ".qpj", ".sbn", ".sbx")
ROAD_LAYER_NAMES = ("road_link", "RoadLink")  # OS Open Roads GeoPackage, GML
GEOFABRIK_ROAD_LAYER = re.compile(r"^gis_osm_roads_(free|\d+)_1$")


@dataclass(frozen=True)
class LayerInfo:
    """What GDAL says about one layer, before reading it.

    Attributes
    ----------
    name
        The layer's name.
    fields
        Its attribute columns.
    crs
        Its CRS.
    geometry_type
        GDAL's geometry type, for example ``LineString``.
    n_features
        Number of features, -1 when the driver cannot tell without reading.
    """

    name: str
    fields: list[str]
    crs: CRS
    geometry_type: str
    n_features: int = -1


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _check_zip(path: Path) -> None:
    """A zip must be readable and hold a whole Shapefile, or another vector file."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"not a readable zip file ({_first_line(exc)})", where=path, fix="download it again"
        ) from None
    lower = [m.lower() for m in members]
    has_parts = any(m.endswith(SHAPEFILE_PARTS) for m in lower)
    if (path.name.lower().endswith(".shp.zip") or has_parts) and not any(
        m.endswith(".shp") for m in lower
    ):
        raise InputError(
            f"the zip holds no .shp file (it holds: {', '.join(members[:8]) or 'nothing'})",
            where=path,
            fix="download the zip again, or add the layer's .shp with its .shx, .dbf and .prj",
        )


def list_layers(path: Path, *, fix: str = GDAL_FIX) -> list[tuple[str, str]]:
    """``(name, geometry type)`` of each layer of a GDAL vector file.

    InputError when GDAL cannot open the file, or when a zip holds no ``.shp``.
    """
    import pyogrio

    if path.name.lower().endswith(".zip"):
        _check_zip(path)
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise InputError(
            f"GDAL cannot read this file ({_first_line(exc)})", where=path, fix=fix
        ) from None
    return [(str(n), str(t)) for n, t in layers]


def choose_layer(
    path: Path,
    layer: str | None,
    *,
    key: str,
    prefer: Callable[[str], bool] | None = None,
    known: str = "",
    fix: str = "",
) -> str:
    """The layer to read: ``layer`` if given, else the first ``prefer`` accepts, else the
    only one.

    Parameters
    ----------
    path
        The file.
    layer
        The configured layer name, or None.
    key
        The config key naming the file (``roads.path``); ``<section>.layer`` is named in
        messages.
    prefer
        Recognises a known layer name (``road_link``) when no layer is configured.
    known
        What ``prefer`` looks for ("road layer road_link"), for the message when the
        file has several layers and none is known.
    fix
        The fix in that message; by default, to choose one with ``<section>.layer``.
    """
    layer_key = f"{key.rsplit('.', 1)[0]}.layer"
    require_file(path, key=key)
    layers = list_layers(path)
    names = [n for n, _ in layers]
    listed = ", ".join(f"{n} ({t})" for n, t in layers) or "none"
    if layer is not None:
        if layer not in names:
            raise InputError(
                f"no layer '{layer}' (layers: {listed})",
                where=path,
                fix=f"set '{layer_key}' to one of them",
            )
        return layer
    found = [n for n in names if prefer is not None and prefer(n)]
    if found or len(names) == 1:
        return (found or names)[0]
    kind = "zip" if path.name.lower().endswith(".zip") else "file"
    raise InputError(
        f"the {kind} holds no {known} (layers: {listed})"
        if known
        else f"the {kind} has {len(names)} layers ({listed})",
        where=path,
        fix=fix or f"choose one with '{layer_key}'",
    )


def is_road_layer(name: str) -> bool:
    """A layer name known to hold roads: OS Open Roads' or Geofabrik's.

    >>> is_road_layer("gis_osm_roads_free_1"), is_road_layer("gis_osm_buildings_a_free_1")
    (True, False)
    """
    return name in ROAD_LAYER_NAMES or GEOFABRIK_ROAD_LAYER.match(name) is not None


def choose_road_layer(path: Path, layer: str | None) -> str:
    """``roads.layer`` if given, else the layer of known road formats, else the only one."""
    return choose_layer(
        path,
        layer,
        key="roads.path",
        prefer=is_road_layer,
        known="road layer road_link or gis_osm_roads_free_1",
        fix="set 'roads.layer' to the layer holding the roads, or download the Geofabrik "
        "shapefile zip or the OS Open Roads GeoPackage, which have one",
    )


def layer_info(path: Path, *, layer: str) -> LayerInfo:
    """Fields, CRS and geometry type of a layer; InputError when it has no geometry or CRS."""
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputError(
            f"GDAL cannot read layer '{layer}' ({_first_line(exc)})",
            where=path,
            fix="check the file opens in QGIS or ogrinfo",
        ) from None
    if not info.get("geometry_type"):
        raise InputError(
            f"layer '{layer}' has no geometries (it is a table only)",
            where=path,
            fix="point the config at a layer with geometries (in a zip, include the .shp)",
        )
    crs = require_crs(info.get("crs"), file=path, what=f"layer '{layer}'")
    fields = [str(f) for f in info["fields"]]
    n = int(info.get("features", -1))
    return LayerInfo(layer, fields, crs, str(info["geometry_type"]), n)


def read_vector(
    path: Path,
    *,
    key: str,
    layer: str | None = None,
    columns: list[str] | None = None,
    region_wgs84: Polygon | None = None,
    where: str | None = None,
    expect: Expect = ANY_FEATURES,
) -> gpd.GeoDataFrame:
    """Read a GDAL vector layer: checked, filtered, with unusable geometries dropped.

    Parameters
    ----------
    path
        The file (a ``.zip`` is read through ``/vsizip/``).
    key
        The config key that named it, for messages.
    layer
        Layer name; required when the file has several layers.
    columns
        Columns to read; all when None.
    region_wgs84
        Only features meeting this polygon's bounding box (in EPSG:4326) are read.
    where
        An OGR SQL condition on the layer's columns.
    expect
        The geometries wanted, for :func:`~pipeline.readers.checks.check_geometries`.

    Returns
    -------
    geopandas.GeoDataFrame
        The features in the layer's CRS, index 0..n-1 as read (dropped rows removed).
    """
    require_file(path, key=key)
    info = layer_info(path, layer=choose_layer(path, layer, key=key))
    if columns is not None:
        require_columns(
            info.fields,
            columns,
            file=path,
            fix="rename the column or set the matching key in the region file",
        )
    bbox = None
    if region_wgs84 is not None:
        bbox = transform_geometry(region_wgs84, WGS84, info.crs).bounds
    gdf = _read_dataframe(path, layer=info.name, columns=columns, bbox=bbox, where=where)
    if bbox is not None and where is None and info.n_features > len(gdf):
        log.info(
            "%s: %d of %d %s lie outside the region's bbox (or have no geometry); not read",
            path,
            info.n_features - len(gdf),
            info.n_features,
            expect.what,
        )
    gdf, _ = check_geometries(
        gdf,
        file=path,
        kinds=expect.kinds,
        what=expect.what,
        on_bad=expect.on_bad,
        key=key,
    )
    return gdf


def _read_dataframe(
    path: Path,
    *,
    layer: str,
    columns: list[str] | None,
    bbox: tuple[float, float, float, float] | None,
    where: str | None,
) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        return pyogrio.read_dataframe(
            path, layer=layer, columns=columns, bbox=bbox, where=where, use_arrow=True
        )
    except Exception as exc:
        if where:
            raise InputError(
                f"GDAL failed reading this file with the filter {where!r} ({_first_line(exc)})",
                where=path,
                fix="check the filter uses the layer's column names, e.g. \"kind = 'heat'\"",
            ) from None
        raise InputError(
            f"GDAL failed reading this file ({_first_line(exc)})",
            where=path,
            fix="check the file opens in QGIS or ogrinfo",
        ) from None
