"""Ingest the road corridors that pipes may follow.

Inputs
    One of:

    - ``roads.path``, a road file:

      - an OpenStreetMap extract, ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz``
        (a Geofabrik county file, an Overpass or JOSM export), read with pyosmium in two
        passes so that memory follows the highway ways, not the whole file; clipped
        extracts, whose ways refer to nodes missing from the file, are fine (osmnx's XML
        reader is not used: it fails on clipped ways or drops them whole);
      - a Geofabrik shapefile download, the ``.shp.zip`` itself (read through GDAL's
        ``/vsizip/``; layer ``gis_osm_roads_free_1``, class in ``fclass``);
      - an OS Open Roads GeoPackage (layer ``road_link``, class in ``road_function``,
        refined by ``form_of_way``, ``trunk_road`` and ``primary_route`` where present);
      - any other line layer GDAL reads, with its class column in ``roads.class_column``.

    - ``roads.overpass_place`` or ``roads.overpass_polygon_wgs84``: the ``highway`` ways
      downloaded from the Overpass API through osmnx, cached as
      ``data/raw/<region>/roads_overpass_<hash of the query>.gpkg`` and read from there on
      later runs (delete the file to download again).
Outputs
    ``data/interim/<region>/roads.parquet``: LineStrings in the region CRS that meet the
    region and whose class pipes may follow, with ``road_class`` (the common class, one of
    ``pipeline.config.ROAD_CLASSES``), ``road_class_source`` (the value in the source),
    ``cost_factor`` (civils cost multiplier of the class), ``name`` and ``osm_id`` (the
    OSM way id; empty for other sources).
Config keys
    ``region.crs``, ``region.bbox``, ``region.bbox_crs``, ``roads.path``,
    ``roads.overpass_place``, ``roads.overpass_polygon_wgs84``, ``roads.layer``,
    ``roads.class_column``, ``roads.class_map``, ``roads.classes``.

Method
    Each source's classes are mapped onto the common classes by the tables in
    ``pipeline/data/road_classes.csv`` (documented in ``docs/road_classes.md``), with
    ``roads.class_map`` taking precedence. A value in no table becomes ``other``, which is
    not followed by default; such values are logged with their counts. Only classes whose
    rule in ``roads.classes`` (merged over the defaults) has ``follow: true`` are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import Polygon
from tqdm import tqdm

from pipeline.config import RegionFile, RoadClassRule, RoadsConfig
from pipeline.data import ROAD_CLASS_SCHEMAS, load_road_classes
from pipeline.errors import InputError
from pipeline.geo import region_polygon, transform_geometry
from pipeline.io import atomic_path, list_layers, read_vector, require_file, write_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.ingest_roads")

WGS84 = CRS.from_epsg(4326)
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
ROAD_LAYER_NAMES = ("road_link", "RoadLink")  # OS Open Roads GeoPackage, GML
GEOFABRIK_ROAD_LAYER = re.compile(r"^gis_osm_roads_(free|\d+)_1$")
CLASS_COLUMNS = {  # column found in a layer -> schema of its values, in search order
    "fclass": "geofabrik",
    "road_function": "os_open_roads",
    "highway": "osm",
}
OS_CLASS_COLUMNS = ("road_function", "road_classification")
NAME_COLUMNS = ("name", "name_1", "name1")
ANY_SCHEMA = "any"  # a user's class column: every table is tried
OUTPUT_COLUMNS = ["road_class", "road_class_source", "cost_factor", "name", "osm_id"]
OVERPASS_TAGS: dict[str, bool | str | list[str]] = {"highway": True}


@dataclass(frozen=True)
class RoadSource:
    """Road lines as read, before their classes are mapped.

    Attributes
    ----------
    roads
        LineStrings with ``road_class_source``, ``name`` and ``osm_id``, in the source CRS.
    schema
        Which table maps ``road_class_source``: one of ``ROAD_CLASS_SCHEMAS``, or
        ``"any"`` for a user's class column.
    where
        The file read, for messages.
    """

    roads: gpd.GeoDataFrame
    schema: str
    where: Path


# --- mapping source classes onto the common classes ------------------------------------


def road_class_table(schema: str, class_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """Lower-cased source value -> common class for one schema, with overrides.

    Parameters
    ----------
    schema
        One of ``ROAD_CLASS_SCHEMAS``, or ``"any"`` to merge all tables (OSM first).
    class_map
        ``roads.class_map``: source value -> common class; wins over the tables.

    Examples
    --------
    >>> table = road_class_table("osm", {"road": "unclassified"})
    >>> table["motorway_link"], table["road"], table["living_street"]
    ('motorway', 'unclassified', 'residential')
    """
    rows = load_road_classes()
    schemas = ROAD_CLASS_SCHEMAS if schema == ANY_SCHEMA else (schema,)
    table: dict[str, str] = {}
    for name in reversed(schemas):  # earlier schemas win
        part = rows[rows["schema"] == name]
        table.update(zip(part["raw_value"].str.lower(), part["road_class"], strict=True))
    table.update({k.strip().lower(): v for k, v in (class_map or {}).items()})
    return table


def _lookup(value: str, table: Mapping[str, str]) -> str | None:
    """The class of one source value; ``a; b`` tries the whole, then b, then a."""
    key = value.strip().lower()
    parts = [p.strip() for p in key.split(";") if p.strip()]
    for candidate in (key, *reversed(parts)):
        if candidate in table:
            return table[candidate]
    return None


def classify_roads(
    raw: pd.Series, *, schema: str, class_map: Mapping[str, str] | None = None
) -> tuple[pd.Series, dict[str, int]]:
    """Map source road classes onto the common classes.

    Matching ignores case. A value made of parts separated by ``;`` (an OSM multi-value
    such as ``footway;service``, or a derived OS Open Roads value such as
    ``A Road; trunk road``) is looked up whole, then part by part from the last.

    Parameters
    ----------
    raw
        Source class of each road (``road_class_source``).
    schema
        Which table to use: ``osm``, ``geofabrik``, ``os_open_roads`` or ``any``.
    class_map
        ``roads.class_map``, winning over the tables.

    Returns
    -------
    classes, unmapped
        The common class of each road (``other`` where no table has the value), and the
        count of roads of each value that no table has (empty values as ``(empty)``).

    Examples
    --------
    >>> classes, unmapped = classify_roads(
    ...     pd.Series(["A Road; trunk road", "Local Road", "Cart Track"]), schema="os_open_roads")
    >>> classes.tolist(), unmapped
    (['trunk', 'residential', 'other'], {'Cart Track': 1})
    """
    table = road_class_table(schema, class_map)
    values = raw.astype("string").fillna("").str.strip()
    mapping: dict[str, str] = {}
    unmapped: dict[str, int] = {}
    counts = values.value_counts()
    for value, count in counts.items():
        found = _lookup(str(value), table)
        mapping[str(value)] = found or "other"
        if found is None:
            unmapped[str(value) or "(empty)"] = int(count)
    classes = values.map(mapping).astype(object)
    return pd.Series(classes.to_numpy(), index=raw.index, name="road_class"), unmapped


def select_roads(
    roads: gpd.GeoDataFrame,
    *,
    rules: Mapping[str, RoadClassRule],
    region: Polygon,
    crs: CRS,
) -> gpd.GeoDataFrame:
    """Keep the roads pipes may follow inside the region, in the region CRS.

    Parameters
    ----------
    roads
        Lines with ``road_class`` (a common class) in any CRS, and optionally
        ``road_class_source``, ``name`` and ``osm_id``.
    rules
        Per common class: whether pipes may follow it, and its cost factor
        (``RoadsConfig.rules()``).
    region
        Region polygon in ``crs``.
    crs
        Region CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        One LineString per row with the columns of ``OUTPUT_COLUMNS``; ``cost_factor``
        is the class's.

    Examples
    --------
    >>> from pipeline.config import DEFAULT_ROAD_CLASS_RULES
    >>> from shapely.geometry import LineString, box
    >>> roads = gpd.GeoDataFrame({"road_class": ["motorway", "primary"]},
    ...     geometry=[LineString([(0, 0), (100, 0)])] * 2, crs=27700)
    >>> kept = select_roads(roads, rules=DEFAULT_ROAD_CLASS_RULES,
    ...     region=box(-10, -10, 110, 10), crs=CRS(27700))
    >>> kept[["road_class", "cost_factor"]].values.tolist()
    [['primary', 1.4]]
    """
    cls = roads["road_class"].astype(object)
    follow = cls.map(lambda c: rules[c].follow if c in rules else False).astype(bool)
    out = roads.loc[follow.to_numpy()]
    out = out[out.geometry.notna() & ~out.geometry.is_empty]
    out = out.explode(index_parts=False).to_crs(crs)
    out = out[out.geom_type == "LineString"]
    out = out[out.intersects(region) & (out.length > 0)]
    n = len(out)
    columns = {
        "road_class": out["road_class"].astype(str).to_numpy(),
        "road_class_source": (
            out["road_class_source"].astype("string").fillna("").to_numpy(dtype=object)
            if "road_class_source" in out
            else out["road_class"].astype(str).to_numpy()
        ),
        "cost_factor": out["road_class"].map(lambda c: rules[c].cost_factor).to_numpy(float),
        "name": (
            out["name"].astype("string").fillna("").to_numpy(dtype=object)
            if "name" in out
            else np.full(n, "", dtype=object)
        ),
        "osm_id": (
            pd.array(out["osm_id"], dtype="Int64")
            if "osm_id" in out
            else pd.array([pd.NA] * n, dtype="Int64")
        ),
    }
    return gpd.GeoDataFrame(columns, geometry=out.geometry.to_numpy(), crs=crs)


# --- OpenStreetMap files: two passes with pyosmium -------------------------------------


def is_osm_file(path: Path) -> bool:
    """True for OSM PBF or XML files, which pyosmium reads."""
    return path.name.lower().endswith(OSM_SUFFIXES)


def way_lines(
    refs: np.ndarray, way_len: np.ndarray, node_ids: np.ndarray, node_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LineStrings of ways from their node references and the node locations known.

    A way whose nodes are partly missing (a clipped extract) gives one line for each run
    of at least two consecutive nodes that are present.

    Parameters
    ----------
    refs
        Node ids of all ways, concatenated in way order.
    way_len
        Number of node references of each way.
    node_ids, node_xy
        Ids and (x, y) of the nodes found, in any order.

    Returns
    -------
    lines, way_index, clipped
        The LineStrings; for each, the index of its way; for each way, whether some of
        its nodes were missing.

    Examples
    --------
    Way 0 runs over nodes 1, 2, 9, 3, 4 and node 9 is missing: two lines.

    >>> lines, way_index, clipped = way_lines(
    ...     np.array([1, 2, 9, 3, 4, 3, 4]), np.array([5, 2]),
    ...     np.array([1, 2, 3, 4]), np.array([[0, 0], [1, 0], [2, 0], [3, 0]]))
    >>> [list(g.coords) for g in lines], way_index.tolist(), clipped.tolist()
    ([[(0.0, 0.0), (1.0, 0.0)], [(2.0, 0.0), (3.0, 0.0)], [(2.0, 0.0), (3.0, 0.0)]], [0, 0, 1], [True, False])
    """  # noqa: E501
    refs = np.asarray(refs, dtype=np.int64)
    order = np.argsort(node_ids, kind="stable")
    sorted_ids = np.asarray(node_ids, dtype=np.int64)[order]
    sorted_xy = np.asarray(node_xy, dtype=float).reshape(-1, 2)[order]
    n_ways = len(way_len)
    way_of_ref = np.repeat(np.arange(n_ways), way_len)
    pos = np.searchsorted(sorted_ids, refs)
    present = np.zeros(len(refs), dtype=bool)
    if len(sorted_ids):
        inside = pos < len(sorted_ids)
        present[inside] = sorted_ids[pos[inside]] == refs[inside]
    # a run starts at a present node whose predecessor is missing or in another way
    continues = np.zeros(len(refs), dtype=bool)
    continues[1:] = present[:-1] & (way_of_ref[1:] == way_of_ref[:-1])
    starts = present & ~continues
    run = np.cumsum(starts) - 1
    run_len = np.bincount(run[present], minlength=int(starts.sum()))
    long_runs = np.flatnonzero(run_len >= 2)
    new_id = np.full(len(run_len), -1)
    new_id[long_runs] = np.arange(len(long_runs))
    keep = present & (new_id[np.where(present, run, 0)] >= 0)
    lines = shapely.linestrings(sorted_xy[pos[keep]], indices=new_id[run[keep]])
    way_index = way_of_ref[starts][long_runs]
    clipped = np.bincount(way_of_ref[~present], minlength=n_ways) > 0
    return np.asarray(lines, dtype=object), way_index, clipped


@dataclass
class _HighwayWays:
    ids: array
    lengths: array
    refs: array
    highway: list[str]
    name: list[str]


def _osm_progress(iterable: object, desc: str, unit: str) -> tqdm:
    return tqdm(iterable, desc=desc, unit=unit, unit_scale=True, mininterval=2, disable=None)


def _read_highway_ways(path: Path) -> _HighwayWays:
    """Pass 1: the id, node references, class and name of every ``highway`` way."""
    import osmium

    ways = _HighwayWays(array("q"), array("q"), array("q"), [], [])
    proc = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(
        osmium.filter.KeyFilter("highway")
    )
    for way in _osm_progress(proc, "OSM pass 1/2: highway ways", " ways"):
        nodes = way.nodes
        if len(nodes) < 2:
            continue
        ways.refs.extend([n.ref for n in nodes])
        ways.lengths.append(len(nodes))
        ways.ids.append(way.id)
        ways.highway.append(sys.intern(way.tags.get("highway")))
        ways.name.append(way.tags.get("name", ""))
    return ways


def _read_node_locations(path: Path, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2: ids and (lon, lat) of the nodes in ``wanted`` that the file holds.

    Only the wanted nodes' locations are kept, so memory follows ``wanted`` (the nodes of
    highway ways), not the number of nodes in the file. Every node still passes through
    Python once, at about 2.5 microseconds each.
    """
    import osmium

    wanted_set = set(wanted.tolist())
    ids = array("q")
    xy = array("d")
    proc = osmium.FileProcessor(str(path), osmium.osm.NODE)
    for node in _osm_progress(proc, "OSM pass 2/2: node locations", " nodes"):
        if node.id in wanted_set:
            loc = node.location
            if loc.valid():
                ids.append(node.id)
                xy.extend((loc.lon, loc.lat))
    return np.frombuffer(ids, dtype=np.int64), np.frombuffer(xy, dtype=float).reshape(-1, 2)


def read_osm_roads(path: Path, bbox_wgs84: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Read the ``highway`` ways of an OSM file as LineStrings in EPSG:4326.

    Two passes keep memory in proportion to the highway ways rather than the file: the
    first collects the ways' tags and node references, the second the locations of only
    those nodes. A way whose nodes are partly missing (a clipped extract) is kept as its
    runs of at least two consecutive nodes that are present; the count is logged.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz``.
    bbox_wgs84
        Only lines meeting this (lon, lat) box are returned.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id``, ``road_class_source`` (the ``highway`` value) and ``name``.
    """
    try:
        ways = _read_highway_ways(path)
        wanted = np.unique(np.frombuffer(ways.refs, dtype=np.int64))
        node_ids, node_xy = _read_node_locations(path, wanted)
    except RuntimeError as exc:
        raise InputError(
            f"pyosmium cannot read this OSM file ({str(exc).splitlines()[0]})",
            where=path,
            fix="check it is a complete .osm.pbf or .osm download (try `osmium fileinfo`)",
        ) from None
    lines, way_index, clipped = way_lines(
        np.frombuffer(ways.refs, dtype=np.int64),
        np.frombuffer(ways.lengths, dtype=np.int64),
        node_ids,
        node_xy,
    )
    log.info(
        "read %d highway ways referring to %d nodes, %d of them in the file",
        len(ways.ids),
        len(wanted),
        len(node_ids),
    )
    if clipped.any():
        log.info(
            "%d of %d highway ways refer to nodes missing from the extract (clipped); "
            "kept their parts with node locations",
            int(clipped.sum()),
            len(ways.ids),
        )
    gdf = gpd.GeoDataFrame(
        {
            "osm_id": np.frombuffer(ways.ids, dtype=np.int64)[way_index],
            "road_class_source": np.asarray(ways.highway, dtype=object)[way_index],
            "name": np.asarray(ways.name, dtype=object)[way_index],
        },
        geometry=gpd.GeoSeries(lines),
        crs=WGS84,
    )
    return gdf[gdf.intersects(shapely.box(*bbox_wgs84))].reset_index(drop=True)


# --- GDAL layers: OS Open Roads, Geofabrik shapefiles, anything else -------------------


def choose_layer(path: Path, layer: str | None) -> str | None:
    """The road layer of a file: ``layer`` if given, else a known road layer, else the only one.

    A GeoPackage with ``road_link`` (OS Open Roads) or a zip with
    ``gis_osm_roads_free_1`` (Geofabrik) needs no ``roads.layer``.
    """
    require_file(path, key="roads.path")
    layers = list_layers(
        path,
        fix="give an OSM file, a Geofabrik .shp.zip, a GeoPackage or another line layer GDAL reads",
    )
    names = [n for n, _ in layers]
    listed = ", ".join(f"{n} ({t})" for n, t in layers)
    if layer is not None:
        if layer not in names:
            raise InputError(
                f"no layer '{layer}' (layers: {listed or 'none'})",
                where=path,
                fix="set 'roads.layer' to the road layer, or remove it to detect "
                "road_link / gis_osm_roads_free_1",
            )
        return layer
    known = [n for n in names if n in ROAD_LAYER_NAMES or GEOFABRIK_ROAD_LAYER.match(n)]
    if known:
        return known[0]
    if len(names) == 1:
        return names[0]
    what = "zip" if path.name.lower().endswith(".zip") else "file"
    raise InputError(
        f"the {what} holds no road layer road_link or gis_osm_roads_free_1 (layers: "
        f"{listed or 'none'})",
        where=path,
        fix="set 'roads.layer' to the layer holding the roads, or download the Geofabrik "
        "shapefile zip or the OS Open Roads GeoPackage, which have one",
    )


def detect_schema(
    fields: Sequence[str], class_column: str | None, *, where: Path
) -> tuple[str, str]:
    """Which column holds the road class, and which table maps its values.

    ``fclass`` means Geofabrik, ``road_function`` OS Open Roads and ``highway`` OSM;
    ``roads.class_column`` overrides the search (and a column of another name is mapped
    by all tables and ``roads.class_map``).
    """
    if class_column is not None:
        if class_column not in fields:
            raise InputError(
                f"no road-class column '{class_column}' (columns: {', '.join(fields)})",
                where=where,
                fix="set 'roads.class_column' to one of the columns",
            )
        schema = CLASS_COLUMNS.get(class_column, ANY_SCHEMA)
        if class_column in OS_CLASS_COLUMNS:
            schema = "os_open_roads"
        return schema, class_column
    for column, schema in CLASS_COLUMNS.items():
        if column in fields:
            return schema, column
    raise InputError(
        f"no road-class column found: looked for {', '.join(CLASS_COLUMNS)} (columns: "
        f"{', '.join(fields) or 'none'})",
        where=where,
        fix="set 'roads.class_column' to the column holding the road class, and "
        "'roads.class_map' to map its values onto the common classes",
    )


def _truthy(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "t", "y", "yes"]).fillna(False).astype(bool)


def os_open_roads_classes(layer: pd.DataFrame, column: str = "road_function") -> pd.Series:
    """The source class of OS Open Roads links: ``column``, qualified where it matters.

    ``road_function`` alone does not say which roads are trunk roads, primary routes or
    motorway slip roads, so one qualifier is appended after ``; `` when other columns say
    so (the first that applies): ``motorway slip road`` (``form_of_way`` Slip Road on a
    motorway by ``road_classification`` or ``class``), ``trunk road`` (``trunk_road``
    true), ``primary route`` (``primary_route`` true). Motorways get no qualifier.

    Examples
    --------
    >>> links = pd.DataFrame({"road_function": ["A Road", "A Road", "B Road", "Motorway"],
    ...     "class": ["Motorway", "A Road", "B Road", "Motorway"],
    ...     "form_of_way": ["Slip Road", "Single Carriageway", "Single Carriageway",
    ...                     "Slip Road"],
    ...     "trunk_road": [False, True, False, True]})
    >>> os_open_roads_classes(links).tolist()
    ['A Road; motorway slip road', 'A Road; trunk road', 'B Road', 'Motorway']
    """
    base = layer[column].astype("string").str.strip()
    motorway = base.str.lower().eq("motorway").fillna(False).astype(bool)
    no = pd.Series(False, index=layer.index)
    classification = next((c for c in ("road_classification", "class") if c in layer), None)
    by_class = (
        layer[classification].astype("string").str.strip().str.lower().eq("motorway")
        if classification
        else no
    )
    slip = (
        layer["form_of_way"].astype("string").str.strip().str.lower().eq("slip road")
        if "form_of_way" in layer
        else no
    )
    qualifiers = [
        ("motorway slip road", slip.fillna(False).astype(bool) & by_class.fillna(False)),
        ("trunk road", _truthy(layer["trunk_road"]) if "trunk_road" in layer else no),
        ("primary route", _truthy(layer["primary_route"]) if "primary_route" in layer else no),
    ]
    qualifier = pd.Series(pd.NA, index=layer.index, dtype="string")
    for label, mask in reversed(qualifiers):  # the first that applies wins
        qualifier = qualifier.mask(mask.to_numpy() & ~motorway.to_numpy(), label)
    return base.where(qualifier.isna(), base + "; " + qualifier)


def read_gdal_roads(
    path: Path, *, layer: str | None, class_column: str | None, region_wgs84: Polygon
) -> RoadSource:
    """Read the road layer of a GDAL file (zips through ``/vsizip/``), near the region only.

    Parameters
    ----------
    path
        GeoPackage, ``.shp.zip``, Shapefile, GeoJSON or any GDAL vector file.
    layer
        ``roads.layer``; found for OS Open Roads and Geofabrik when None.
    class_column
        ``roads.class_column``; found (``fclass``, ``road_function``, ``highway``) when None.
    region_wgs84
        The region in EPSG:4326; only features in its bounding box are read.
    """
    import pyogrio

    layer = choose_layer(path, layer)
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputError(
            f"GDAL cannot read layer '{layer}' ({str(exc).splitlines()[0]})",
            where=path,
            fix="check the file opens in QGIS or ogrinfo",
        ) from None
    fields = [str(f) for f in info["fields"]]
    schema, column = detect_schema(fields, class_column, where=path)
    extra = ["form_of_way", "trunk_road", "primary_route", "road_classification", "class"]
    wanted = [column] + [
        c for c in (*extra, *NAME_COLUMNS, "osm_id") if c in fields and c != column
    ]
    layer_crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    if layer_crs is None:
        raise InputError(
            "the road layer has no CRS",
            where=path,
            fix="assign one in QGIS or with ogr2ogr -a_srs",
        )
    bbox = transform_geometry(region_wgs84, WGS84, layer_crs).bounds
    gdf = read_vector(path, key="roads.path", layer=layer, columns=wanted, bbox=bbox)
    line_types = {"LineString", "MultiLineString"}
    if len(gdf) and not gdf.geom_type.isin(line_types).any():
        raise InputError(
            f"layer '{layer}' holds {sorted(set(gdf.geom_type.dropna()))[0]} geometries, not lines",
            where=path,
            fix="point 'roads.path' (and 'roads.layer') at a line layer",
        )
    gdf = gdf[gdf.geom_type.isin(line_types)]
    if schema == "os_open_roads":
        source = os_open_roads_classes(gdf, column)
    else:
        source = gdf[column].astype("string").str.strip()
    name_column = next((c for c in NAME_COLUMNS if c in gdf), None)
    roads = gpd.GeoDataFrame(
        {
            "osm_id": (
                pd.to_numeric(gdf["osm_id"], errors="coerce").astype("Int64")
                if "osm_id" in gdf
                else pd.array([pd.NA] * len(gdf), dtype="Int64")
            ),
            "road_class_source": source.to_numpy(dtype=object),
            "name": (
                gdf[name_column].astype("string").fillna("").to_numpy(dtype=object)
                if name_column
                else ""
            ),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    log.info("read layer '%s' of %s; road class from '%s' (%s)", layer, path, column, schema)
    return RoadSource(roads, schema, path)


# --- Overpass through osmnx, cached under data/raw/<region>/ ---------------------------


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
    polygon = None
    if cfg.overpass_polygon_wgs84 is not None:
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


# --- the stage ------------------------------------------------------------------------


def read_roads(cfg: RoadsConfig, *, region_wgs84: Polygon, raw_dir: Path) -> RoadSource:
    """Read the roads named by the ``roads`` section, whichever kind of source it is."""
    if cfg.path is None:
        cache = overpass_roads(cfg, raw_dir=raw_dir)
        return read_gdal_roads(cache, layer="roads", class_column=None, region_wgs84=region_wgs84)
    if is_osm_file(cfg.path):
        require_file(cfg.path, key="roads.path")
        return RoadSource(read_osm_roads(cfg.path, region_wgs84.bounds), "osm", cfg.path)
    return read_gdal_roads(
        cfg.path, layer=cfg.layer, class_column=cfg.class_column, region_wgs84=region_wgs84
    )


def _counts(items: Mapping[str, int], limit: int = 20) -> str:
    ranked = sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k}={v}" for k, v in ranked[:limit])
    return text + (f", ... ({len(ranked) - limit} more)" if len(ranked) > limit else "")


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the roads, map their classes, keep those pipes may follow, write roads.parquet."""
    rcfg = cfg.roads
    region = region_polygon(cfg.region, cfg.crs)
    region_wgs84 = region_polygon(cfg.region, WGS84)
    source = read_roads(
        rcfg, region_wgs84=region_wgs84, raw_dir=paths.root / "data" / "raw" / paths.region
    )
    raw = source.roads
    log.info("read %d road lines from %s", len(raw), source.where)
    classes, unmapped = classify_roads(
        raw["road_class_source"], schema=source.schema, class_map=rcfg.class_map
    )
    if unmapped:
        log.warning(
            "%d lines have classes in no %s table and count as 'other' (not followed "
            "unless roads.classes says so): %s. Map them with roads.class_map",
            sum(unmapped.values()),
            source.schema,
            _counts(unmapped),
        )
    raw = raw.assign(road_class=classes.to_numpy())
    rules = rcfg.rules()
    roads = select_roads(raw, rules=rules, region=region, crs=cfg.crs)
    if roads.empty:
        raise InputError(
            f"no roads inside the region after filtering ({len(raw)} lines read)",
            where=source.where,
            fix="check 'region.bbox' covers the road file, and 'roads.classes' / "
            "'roads.class_map' / 'roads.class_column'",
        )
    read_counts = raw["road_class"].value_counts().to_dict()
    dropped = {c: n for c, n in read_counts.items() if not rules[c].follow}
    log.info("read by class: %s", _counts(read_counts))
    if dropped:
        log.info("not followed (may still be crossed): %s", _counts(dropped))
    km = (roads.length.groupby(roads["road_class"]).sum() / 1000).round(1).to_dict()
    log.info(
        "kept %d road lines, %.1f km: %s",
        len(roads),
        roads.length.sum() / 1000,
        ", ".join(f"{c}={v} km" for c, v in sorted(km.items(), key=lambda kv: -kv[1])),
    )
    write_geoparquet(roads, paths.roads)
    log.info("wrote %s", paths.roads)
