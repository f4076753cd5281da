"""Ingest the road corridors that pipes may follow.

Inputs
    One of:

    - ``roads.path``, a road file:

      - an OpenStreetMap extract, ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz``
        (a Geofabrik county file, an Overpass or JOSM export), read with pyosmium in two
        passes (node locations into an in-memory index, then the highway ways), in any
        order of nodes and ways; clipped extracts, whose ways refer to nodes missing from
        the file, are fine: each way keeps its runs of located nodes (osmnx's XML reader
        is not used: it fails on clipped ways or drops them whole);
      - a Geofabrik shapefile download, the ``.shp.zip`` itself (read through GDAL's
        ``/vsizip/``; layer ``gis_osm_roads_free_1``, class in ``fclass``);
      - an OS Open Roads GeoPackage (layer ``road_link``, class in ``road_function``,
        refined by ``form_of_way``, ``trunk_road`` and ``primary_route`` where present);
      - any other line layer GDAL reads, with its class column in ``roads.class_column``;
        a layer with no class column runs, every line getting ``roads.default_class``
        (a warning says so).

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
    ``roads.class_column``, ``roads.class_map``, ``roads.classes``, ``roads.default_class``.

Method
    Each source's classes are mapped onto the common classes by the tables in
    ``pipeline/data/road_classes.csv`` (documented in ``docs/road_classes.md``), with
    ``roads.class_map`` taking precedence. A value in no table becomes ``other``, which is
    not followed by default; such values are logged with their counts. Only classes whose
    rule in ``roads.classes`` (merged over the defaults) has ``follow: true`` are kept.
    The readers (:mod:`pipeline.readers`) log the lines they drop: null, empty and
    zero-length geometries, and lines outside the region.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.config import RegionFile, RoadClassRule, RoadsConfig
from pipeline.data import ROAD_CLASS_SCHEMAS, load_road_classes
from pipeline.errors import InputError
from pipeline.geo import region_polygon
from pipeline.io import write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.checks import LINES, Expect, drop_outside
from pipeline.readers.gdal import choose_road_layer, layer_info, read_vector
from pipeline.readers.osm import is_osm_file, read_osm_roads
from pipeline.readers.overpass import overpass_roads

log = logging.getLogger("heatlink.ingest_roads")

WGS84 = CRS.from_epsg(4326)
CLASS_COLUMNS = {  # column found in a layer -> schema of its values, in search order
    "fclass": "geofabrik",
    "road_function": "os_open_roads",
    "highway": "osm",
}
OS_CLASS_COLUMNS = ("road_function", "road_classification")
NAME_COLUMNS = ("name", "name_1", "name1")
ANY_SCHEMA = "any"  # a user's class column: every table is tried
NO_CLASS = "none"  # no class column: every line gets roads.default_class
OUTPUT_COLUMNS = ["road_class", "road_class_source", "cost_factor", "name", "osm_id"]


@dataclass(frozen=True)
class RoadSource:
    """Road lines as read, before their classes are mapped.

    Attributes
    ----------
    roads
        LineStrings with ``road_class_source``, ``name`` and ``osm_id``, in the source CRS.
    schema
        Which table maps ``road_class_source``: one of ``ROAD_CLASS_SCHEMAS``,
        ``"any"`` for a user's class column, or ``"none"`` when the layer has no class
        column (every line then gets ``roads.default_class``).
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
    out = out[(out.geom_type == "LineString") & (out.length > 0)]
    out = drop_outside(out, region, what="followed road lines")
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


# --- GDAL layers: OS Open Roads, Geofabrik shapefiles, anything else -------------------


def detect_schema(
    fields: Sequence[str], class_column: str | None, *, where: Path
) -> tuple[str, str | None]:
    """Which column holds the road class, and which table maps its values.

    ``fclass`` means Geofabrik, ``road_function`` OS Open Roads and ``highway`` OSM;
    ``roads.class_column`` overrides the search (and a column of another name is mapped
    by all tables and ``roads.class_map``). Without any: ``("none", None)``.

    Examples
    --------
    >>> detect_schema(["osm_id", "fclass"], None, where=Path("r.shp"))
    ('geofabrik', 'fclass')
    >>> detect_schema(["osm_id"], None, where=Path("r.shp"))
    ('none', None)
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
    return NO_CLASS, None


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
    path: Path,
    *,
    layer: str | None,
    class_column: str | None,
    region_wgs84: Polygon,
    default_class: str = "unclassified",
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
    default_class
        ``roads.default_class``, named in the warning when the layer has no class column.
    """
    name = choose_road_layer(path, layer)
    fields = layer_info(path, layer=name).fields
    schema, column = detect_schema(fields, class_column, where=path)
    extra = ["form_of_way", "trunk_road", "primary_route", "road_classification", "class"]
    wanted = ([column] if column else []) + [
        c for c in (*extra, *NAME_COLUMNS, "osm_id") if c in fields and c != column
    ]
    gdf = read_vector(
        path,
        key="roads.path",
        layer=name,
        columns=wanted,
        region_wgs84=region_wgs84,
        expect=Expect(LINES, "road lines"),
    )
    if column is None:
        _warn_no_class(path, fields=fields, n=len(gdf), default_class=default_class)
    else:
        log.info("read layer '%s' of %s; road class from '%s' (%s)", name, path, column, schema)
    return RoadSource(_road_columns(gdf, schema=schema, column=column), schema, path)


def _warn_no_class(path: Path, *, fields: Sequence[str], n: int, default_class: str) -> None:
    log.warning(
        "%s: no road-class column (looked for %s; columns: %s), so all %d lines get "
        "roads.default_class '%s'. Set roads.class_column to the column holding the class, "
        "or roads.default_class to another common class",
        path,
        ", ".join(CLASS_COLUMNS),
        ", ".join(fields) or "none",
        n,
        default_class,
    )


def _road_columns(gdf: gpd.GeoDataFrame, *, schema: str, column: str | None) -> gpd.GeoDataFrame:
    """``osm_id``, ``road_class_source`` and ``name`` of road lines read from a layer."""
    if column is None:
        source = pd.Series("", index=gdf.index, dtype="string")
    elif schema == "os_open_roads":
        source = os_open_roads_classes(gdf, column)
    else:
        source = gdf[column].astype("string").str.strip()
    name_column = next((c for c in NAME_COLUMNS if c in gdf), None)
    return gpd.GeoDataFrame(
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


# --- the stage ------------------------------------------------------------------------


def read_roads(cfg: RoadsConfig, *, region_wgs84: Polygon, raw_dir: Path) -> RoadSource:
    """Read the roads named by the ``roads`` section, whichever kind of source it is."""
    if cfg.path is None:
        cache = overpass_roads(cfg, raw_dir=raw_dir)
        return read_gdal_roads(cache, layer="roads", class_column=None, region_wgs84=region_wgs84)
    if is_osm_file(cfg.path):
        return RoadSource(read_osm_roads(cfg.path, region_wgs84.bounds), "osm", cfg.path)
    return read_gdal_roads(
        cfg.path,
        layer=cfg.layer,
        class_column=cfg.class_column,
        region_wgs84=region_wgs84,
        default_class=cfg.default_class,
    )


def road_classes(source: RoadSource, cfg: RoadsConfig) -> pd.Series:
    """The common class of each line read; values in no table are logged as ``other``."""
    if source.schema == NO_CLASS:
        return pd.Series(cfg.default_class, index=source.roads.index, name="road_class")
    classes, unmapped = classify_roads(
        source.roads["road_class_source"], schema=source.schema, class_map=cfg.class_map
    )
    if unmapped:
        log.warning(
            "%d lines have classes in no %s table and count as 'other' (not followed "
            "unless roads.classes says so): %s. Map them with roads.class_map",
            sum(unmapped.values()),
            source.schema,
            _counts(unmapped),
        )
    return classes


def _counts(items: Mapping[str, int], limit: int = 20) -> str:
    ranked = sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k}={v}" for k, v in ranked[:limit])
    return text + (f", ... ({len(ranked) - limit} more)" if len(ranked) > limit else "")


def _log_kept(raw: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, rules: Mapping) -> None:
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


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the roads, map their classes, keep those pipes may follow, write roads.parquet."""
    rcfg = cfg.roads
    source = read_roads(
        rcfg,
        region_wgs84=region_polygon(cfg.region, WGS84),
        raw_dir=paths.root / "data" / "raw" / paths.region,
    )
    log.info("read %d road lines from %s", len(source.roads), source.where)
    raw = source.roads.assign(road_class=road_classes(source, rcfg).to_numpy())
    rules = rcfg.rules()
    roads = select_roads(raw, rules=rules, region=region_polygon(cfg.region, cfg.crs), crs=cfg.crs)
    if roads.empty:
        raise InputError(
            f"no roads inside the region after filtering ({len(raw)} lines read)",
            where=source.where,
            fix="check 'region.bbox' covers the road file, and 'roads.classes' / "
            "'roads.class_map' / 'roads.class_column'",
        )
    _log_kept(raw, roads, rules)
    write_geoparquet(roads, paths.roads)
    log.info("wrote %s", paths.roads)
