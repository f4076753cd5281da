"""OpenStreetMap files (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz``), read with pyosmium.

- :func:`read_osm_roads`: ``highway`` ways as lines, in two passes (node locations in
  C++, then the ways) so that no node passes through Python; clipped extracts are fine.
- :func:`read_osm_data_centres`: ``telecom=data_center`` and ``building=data_center``
  features as points.
- :func:`read_osm_heat_pipes`: ``man_made=pipeline`` ways carrying heat.
- :func:`read_osm_buildings`: building footprints and their storey tags, with pyrosm.

Everything is returned in EPSG:4326. pyosmium and pyrosm are imported inside the
functions, so importing this module is cheap. An unreadable file ends with one
:class:`~pipeline.errors.InputError` naming it; what is dropped is logged with a count.
"""

from __future__ import annotations

import logging
import sys
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from tqdm import tqdm

from pipeline.errors import InputError
from pipeline.readers.checks import LINES, check_geometries, require_file

log = logging.getLogger("heatlink.readers.osm")

WGS84 = CRS.from_epsg(4326)
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
DATA_CENTRE_TAG_VALUES = ("data_center", "data_centre")
HEAT_SUBSTANCES = ("heat", "hot_water", "steam", "district_heating")
HEAT_TAG_KEYS = ("substance", "type", "content")
OSM_FIX = "check it is a complete .osm.pbf or .osm download (try `osmium fileinfo`)"


@contextmanager
def _osm_errors(path: Path) -> Iterator[None]:
    """Turn pyosmium's failures on a broken file into one InputError naming it."""
    try:
        yield
    except RuntimeError as exc:
        first = (str(exc).splitlines() or ["unreadable"])[0]
        raise InputError(
            f"pyosmium cannot read this OSM file ({first})", where=path, fix=OSM_FIX
        ) from None


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


LOCATION_INDEX = "flex_mem"
"""pyosmium node-location index for :func:`read_osm_roads`. ``flex_mem`` keeps (id,
location) pairs, 16 bytes a node, while the file is an extract, and moves to dense blocks
of 8 bytes a node id once the ids are dense enough (a large country or the planet), all in
memory. The ``dense_*`` indexes take 8 bytes per id up to the largest node id (about
100 GB today) whatever the file's size, ``sparse_mem_array`` is flex_mem's sparse mode
without the switch, and the ``*_file_array`` indexes are slower."""


@dataclass
class _HighwayWays:
    """The ``highway`` ways of a file; a clipped way's node references are kept apart."""

    ids: array = field(default_factory=lambda: array("q"))
    highway: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    wkb: list[bytes] = field(default_factory=list)
    """WKB LineString of each way whose nodes all have locations."""
    whole: array = field(default_factory=lambda: array("q"))
    """Index of each of those ways."""
    clipped: array = field(default_factory=lambda: array("q"))
    """Index of each way with nodes missing from the file."""
    clipped_len: array = field(default_factory=lambda: array("q"))
    clipped_refs: array = field(default_factory=lambda: array("q"))
    located_ids: array = field(default_factory=lambda: array("q"))
    """Ids and (lon, lat) of the located nodes of the clipped ways."""
    located_xy: array = field(default_factory=lambda: array("d"))

    def add_clipped(self, way: object) -> None:
        """Keep a clipped way's references and the locations found, for :func:`way_lines`."""
        self.clipped.append(len(self.ids))
        self.clipped_len.append(len(way.nodes))
        for node in way.nodes:
            self.clipped_refs.append(node.ref)
            if node.location.valid():
                self.located_ids.append(node.ref)
                self.located_xy.extend((node.location.lon, node.location.lat))


def _osm_progress(iterable: Iterable, desc: str, unit: str) -> tqdm:
    return tqdm(iterable, desc=desc, unit=unit, unit_scale=True, mininterval=2, disable=None)


def _read_highway_ways(path: Path) -> _HighwayWays:
    """The tags and LineString (as WKB) of every ``highway`` way with two nodes or more.

    Pass 1 stores the location of every node of the file in a :data:`LOCATION_INDEX`
    index, in C++; pass 2 reads only the ways, and pyosmium builds each highway way's WKB
    from the index. Two passes make the order of the file irrelevant (an Overpass export
    may put the ways before their nodes). A way with a node missing from the file (a
    clipped extract) or without a valid location keeps its node references instead.
    """
    import osmium

    locations = osmium.NodeLocationsForWays(osmium.index.create_map(LOCATION_INDEX))
    locations.ignore_errors()  # a missing node leaves an invalid location on the way
    with osmium.io.Reader(str(path), osmium.osm.NODE) as reader:
        osmium.apply(reader, locations)
    # the same handler, so it sorts the index before the first way
    proc = (
        osmium.FileProcessor(str(path), osmium.osm.WAY)
        .with_filter(osmium.filter.KeyFilter("highway"))
        .with_filter(locations)
    )
    wkb = osmium.geom.WKBFactory()
    ways = _HighwayWays()
    for way in _osm_progress(proc, "OSM: highway ways", " ways"):
        if len(way.nodes) < 2:
            continue
        try:
            ways.wkb.append(bytes.fromhex(wkb.create_linestring(way, osmium.geom.use_nodes.ALL)))
            ways.whole.append(len(ways.ids))
        except osmium.InvalidLocationError:
            ways.add_clipped(way)
        ways.ids.append(way.id)
        ways.highway.append(sys.intern(way.tags.get("highway")))
        ways.name.append(way.tags.get("name", ""))
    _locate_negative_ids(path, ways)
    return ways


def _locate_negative_ids(path: Path, ways: _HighwayWays) -> None:
    """Add the locations of negative node ids that clipped ways refer to.

    pyosmium's index holds positive ids only, and negative ids are new objects in a JOSM
    file never uploaded; this pass over the nodes in Python runs only for such files.
    """
    import osmium

    refs = np.frombuffer(ways.clipped_refs, dtype=np.int64)
    wanted = set(refs[refs < 0].tolist()) - set(ways.located_ids)
    if not wanted:
        return
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if node.id in wanted and node.location.valid():
            ways.located_ids.append(node.id)
            ways.located_xy.extend((node.location.lon, node.location.lat))


def _np(values: array, dtype: type = np.int64) -> np.ndarray:
    return np.frombuffer(values, dtype=dtype)


def _highway_lines(ways: _HighwayWays) -> tuple[np.ndarray, np.ndarray]:
    """The LineStrings of the ways read and, for each, its way's index, in way order.

    A clipped way gives one line per run of at least two consecutive located nodes
    (:func:`way_lines`); the numbers of clipped ways and of ways left without a line are
    logged.
    """
    whole = shapely.from_wkb(ways.wkb) if ways.wkb else np.empty(0, dtype=object)
    parts, part_way, missing = way_lines(
        _np(ways.clipped_refs),
        _np(ways.clipped_len),
        _np(ways.located_ids),
        _np(ways.located_xy, float).reshape(-1, 2),
    )
    clipped = _np(ways.clipped)
    if missing.any():
        log.info(
            "%d of %d highway ways refer to nodes missing from the extract (clipped); kept "
            "their parts with node locations (%d lines); %d of them have no two "
            "consecutive located nodes and are skipped",
            int(missing.sum()),
            len(ways.ids),
            len(parts),
            len(clipped) - len(np.unique(part_way)),
        )
    way_index = np.concatenate([_np(ways.whole), clipped[part_way]])
    order = np.argsort(way_index, kind="stable")
    lines = np.concatenate([np.asarray(whole, dtype=object), parts])
    return lines[order], way_index[order]


def read_osm_roads(
    path: Path, bbox_wgs84: tuple[float, float, float, float], *, key: str = "roads.path"
) -> gpd.GeoDataFrame:
    """Read the ``highway`` ways of an OSM file as LineStrings in EPSG:4326.

    The first pass keeps the location of every node of the file in a pyosmium index
    (:data:`LOCATION_INDEX`, about 16 bytes a node for an extract), without a node
    passing through Python; the second reads the ways and builds each highway way's line
    from the index as WKB, decoded by shapely in one call. A way whose nodes are partly
    missing (a clipped extract) is kept as its runs of at least two consecutive nodes
    that are present; the counts are logged.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz``.
    bbox_wgs84
        Only lines meeting this (lon, lat) box are returned; the others are counted.
    key
        The config key naming the file, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id``, ``road_class_source`` (the ``highway`` value) and ``name``.
    """
    require_file(path, key=key)
    with _osm_errors(path):
        ways = _read_highway_ways(path)
    lines, way_index = _highway_lines(ways)
    log.info("read %d highway ways of 2 nodes or more: %d lines", len(ways.ids), len(lines))
    gdf = gpd.GeoDataFrame(
        {
            "osm_id": np.frombuffer(ways.ids, dtype=np.int64)[way_index],
            "road_class_source": np.asarray(ways.highway, dtype=object)[way_index],
            "name": np.asarray(ways.name, dtype=object)[way_index],
        },
        geometry=gpd.GeoSeries(lines),
        crs=WGS84,
    )
    gdf, _ = check_geometries(gdf, file=path, kinds=LINES, what="highway lines")
    inside = gdf.intersects(shapely.box(*bbox_wgs84)).to_numpy()
    if not inside.all():
        log.info(
            "%s: skipped %d of %d highway lines outside the region's bbox",
            path,
            int((~inside).sum()),
            len(gdf),
        )
    return gdf.loc[inside].reset_index(drop=True)


def read_osm_data_centres(path: Path, *, key: str) -> gpd.GeoDataFrame:
    """Data centres tagged in OSM (``telecom=data_center``, ``building=data_center``).

    Nodes give their point; ways and multipolygons a point on their surface (outlines
    that cannot be built, in clipped extracts, are skipped and counted).

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id`` (``OSMn<id>``, ``OSMw<id>``, ``OSMr<id>``), ``name`` (or operator)
        and points in EPSG:4326.
    """
    import osmium

    require_file(path, key=key)
    tags = [(k, v) for k in ("telecom", "building") for v in DATA_CENTRE_TAG_VALUES]
    rows: list[dict] = []
    broken = 0
    with _osm_errors(path):
        proc = (
            osmium.FileProcessor(str(path))
            .with_areas(osmium.filter.TagFilter(*tags))
            .with_filter(osmium.filter.TagFilter(*tags))
        )
        for obj in proc:
            found = _data_centre_point(obj)
            if found is None:
                broken += obj.is_area()
                continue
            name = obj.tags.get("name") or obj.tags.get("operator") or ""
            rows.append({"site_id": f"OSM{found[0]}", "name": name, "geometry": found[1]})
    if broken:
        log.warning("%s: skipped %d data-centre outlines that cannot be built", path, broken)
    return gpd.GeoDataFrame(rows, columns=["site_id", "name", "geometry"], crs=WGS84)


def _data_centre_point(obj: object) -> tuple[str, shapely.Point] | None:
    """The id and point of a tagged node or area; None for other objects and broken areas."""
    import osmium

    if obj.is_node():
        return f"n{obj.id}", shapely.Point(obj.location.lon, obj.location.lat)
    if not obj.is_area():
        return None
    try:
        outline = shapely.from_wkb(osmium.geom.WKBFactory().create_multipolygon(obj))
    except RuntimeError:  # broken or clipped outline
        return None
    return f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}", outline.representative_point()


def read_osm_heat_pipes(path: Path, *, key: str) -> gpd.GeoDataFrame:
    """``man_made=pipeline`` ways carrying heat (``substance``, or the older ``type``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_id`` and LineStrings in EPSG:4326; ways with fewer than two located nodes
        are skipped and counted.
    """
    import osmium

    require_file(path, key=key)
    rows = []
    short = 0
    with _osm_errors(path):
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
            if len(xy) < 2:
                short += 1
                continue
            rows.append({"osm_id": way.id, "geometry": shapely.LineString(xy)})
    if short:
        log.warning("%s: skipped %d heat pipes with fewer than 2 located nodes", path, short)
    pipes = gpd.GeoDataFrame(rows, columns=["osm_id", "geometry"], crs=WGS84)
    return check_geometries(pipes, file=path, what="heat pipes")[0]


BUILDING_TAGS = ("building:levels", "building:min_level", "height")


def read_osm_buildings(path: Path, *, key: str) -> gpd.GeoDataFrame:
    """Buildings of an OSM PBF with their ``building`` and storey tags, via pyrosm.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building sorted by ``osm_type`` and ``id``, with ``building`` and
        the tags of ``BUILDING_TAGS`` (None where untagged), footprints in EPSG:4326.
    """
    import pyrosm

    require_file(path, key=key)
    if not path.name.lower().endswith(".pbf"):
        raise InputError(
            "OSM buildings are read from a .osm.pbf file",
            where=path,
            fix="convert it with `osmium cat FILE -o FILE.osm.pbf`, or give a heat map",
        )
    try:
        raw = pyrosm.OSM(str(path)).get_buildings()
    except Exception as exc:  # pyrosm raises plain exceptions on unreadable files
        raise InputError(
            f"cannot read buildings from this OSM file ({exc})",
            where=path,
            fix="check it is a complete .osm.pbf extract",
        ) from None
    if raw is None or raw.empty:
        raise InputError(
            "no buildings in this OSM file",
            where=path,
            fix="use an extract with buildings, or give heat_demand.path or .buildings",
        )
    for col in BUILDING_TAGS:
        if col not in raw:
            raw[col] = None
    raw = raw.sort_values(["osm_type", "id"], kind="stable").reset_index(drop=True)
    return check_geometries(raw, file=path, what="buildings")[0].reset_index(drop=True)
