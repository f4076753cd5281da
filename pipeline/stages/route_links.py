"""Route candidate pipes along the roads from each source to each sink in reach.

Inputs
    ``sources.parquet``, ``demand_zones.parquet``, ``heat_networks.parquet``,
    ``graph_nodes.parquet`` and ``graph_edges.parquet`` in ``data/interim/<region>/``.
Outputs
    ``data/interim/<region>/routes.parquet``: one row per candidate pair of a site and a
    sink (a demand zone or an existing network) whose straight-line distance is within
    ``routing.max_link_length_m``, with the route geometry where one was found, its
    length-weighted civils ``civils_factor``, and a ``reason`` code where the pair failed
    (``no_road_nearby``, ``unreachable``, ``beyond_max_length``);
    ``data/interim/<region>/attachments.parquet``: where each site and sink joins the
    road graph and the length of its spur; ``data/interim/<region>/route_segments.parquet``:
    each route's road edges, for the corridors layer.
Config keys
    ``routing.max_link_length_m``, ``routing.max_snap_distance_m``.

Method
    Each step is a function of that name. Sinks table: the demand zones and the existing
    networks are the sinks. Attach: each site and sink joins the graph at the closest point
    on the nearest road; that edge is split there (a new node), and the straight spur to it
    counts in the route length; a spur longer than ``max_snap_distance_m`` is a rejection.
    Sink targets: the nodes a link to a sink may end at, each with its spur; a zone's are
    the nodes inside it and its attachment node, an existing network's the nodes within
    ``max_snap_distance_m`` of it, with the straight spur to its nearest point. Sinks in
    reach: the sinks within the maximum link length of a site in a straight line (an
    STRtree). Route from site: one Dijkstra per site, bounded by the maximum link length
    less the site's spur, finds every reachable node at once, and the link to each sink in
    reach ends at the target that minimises road distance plus spur: a zone's first node
    by network distance, an existing network's nearest point. Tabulate routes: the routes
    with their link ids and detour ratios, their road segments and the attachments.
"""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.config import RegionFile, RoutingConfig
from pipeline.executor import Executor, LocalExecutor
from pipeline.geo import PointsByX
from pipeline.io import atomic_path, read_geoparquet, to_spatial_parquet
from pipeline.paths import RegionPaths
from pipeline.route_search import (
    TILE_MARGIN_M,
    Batch,
    EdgeArrays,
    Found,
    TileSource,
    edge_arrays,
    edge_key,
    route_batch,
)

log = logging.getLogger("heatlink.route_links")

NO_ROAD_NEARBY = "no_road_nearby"
UNREACHABLE = "unreachable"
BEYOND_MAX_LENGTH = "beyond_max_length"
SPLIT_TOLERANCE_M = 0.01
SUBSTRING_TOL_M = 1e-6
BATCH_SOURCES = 25  # sources per search task; they share one tile of the graph
SEGMENT_COLUMNS = [
    "link_id",
    "segment_id",
    "from_node",
    "to_node",
    "length_m",
    "road_class",
    "cost_factor",
    "parent_edge",
    "geometry",
]

EDGE_COLUMNS = ["u", "v", "length_m", "road_class", "cost_factor", "geometry"]
"""What routing reads of graph_edges.parquet (not its bbox columns)."""
ROUTE_COLUMNS = [
    "link_id",
    "site_id",
    "sink_id",
    "sink_kind",
    "zone_id",
    "reason",
    "route_length_m",
    "network_length_m",
    "site_spur_m",
    "zone_spur_m",
    "straight_distance_m",
    "detour_ratio",
    "civils_factor",
    "geometry",
]


@dataclass
class Attachment:
    """Where a site or zone joins the graph."""

    node: int | None  # graph node after splitting; None when no road is near enough
    spur_m: float  # straight distance from the site or zone to that node
    point: shapely.Point | None  # the node's location


@dataclass
class AttachedGraph:
    """The road graph's tables after attaching sites and sinks (:func:`attach`)."""

    nodes: pd.DataFrame  # node_id, x, y, component; split nodes appended
    edges: gpd.GeoDataFrame  # u, v, length_m, road_class, cost_factor, parent_edge, geometry
    site_att: list[Attachment]
    sink_att: list[Attachment]
    n_pieces: int = 0
    """The pieces of split edges, the last rows of ``edges``."""
    dead_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """The rows of the edges that were split: they stay in ``edges`` (not copying a
    national table), marked not ``alive``."""

    @property
    def removed(self) -> np.ndarray:
        """The split edges, by :func:`~pipeline.route_search.edge_key`."""
        rows = self.dead_rows
        return edge_key(self.edges["u"].to_numpy()[rows], self.edges["v"].to_numpy()[rows])

    def edge_arrays(self) -> EdgeArrays:
        """The searchable arrays of the graph's edges (its alive rows)."""
        return edge_arrays(self.edges).subset(self.alive)

    @property
    def alive(self) -> np.ndarray:
        """Mask of the rows of ``edges`` that are edges of the graph."""
        mask = np.ones(len(self.edges), dtype=bool)
        mask[self.dead_rows] = False
        return mask

    def component(self, node_ids: np.ndarray) -> np.ndarray:
        """The connected component of each node (by id)."""
        return self.nodes["component"].to_numpy()[self._rows(node_ids)]

    def xy(self, node_ids: np.ndarray) -> np.ndarray:
        rows = self._rows(node_ids)
        return np.column_stack([self.nodes["x"].to_numpy()[rows], self.nodes["y"].to_numpy()[rows]])

    def _rows(self, node_ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(node_ids, dtype=np.int64)
        if self._ids_are_rows:
            return ids
        return pd.Index(self.nodes["node_id"]).get_indexer(ids)

    @cached_property
    def _ids_are_rows(self) -> bool:
        """Whether node ids are their rows, as build_road_graph and splitting number them."""
        ids = self.nodes["node_id"].to_numpy()
        return bool(np.array_equal(ids, np.arange(len(ids))))


@dataclass
class RoutingResult:
    """Output of :func:`route_links`."""

    routes: gpd.GeoDataFrame
    attachments: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame  # link_id, segment_id and geometry of each road edge used


def _starts_at_v(start_xy: np.ndarray, u_xy: np.ndarray, v_xy: np.ndarray) -> np.ndarray:
    """Whether each edge's geometry starts at its ``v`` end (nearer v than u)."""
    du = ((u_xy - start_xy) ** 2).sum(axis=1)
    dv = ((v_xy - start_xy) ** 2).sum(axis=1)
    return dv < du


def split_edges(
    nodes: pd.DataFrame, edges: gpd.GeoDataFrame, at: dict[int, list[float]]
) -> tuple[AttachedGraph, dict]:
    """Split edges at distances along their geometry.

    Parameters
    ----------
    nodes, edges
        The graph's node table (``node_id``, ``x``, ``y``, ``component``) and edge table
        (``u``, ``v``, ``length_m``, ``road_class``, ``cost_factor``, ``parent_edge``,
        geometry).
    at
        For an edge (by row of ``edges``), distances along its geometry from its start.

    Returns
    -------
    The graph with the new nodes appended to the node table (ids from
    ``max(node_id) + 1``, in the order of ``at``) and each split edge replaced by its
    pieces, which are appended to the edge table (each runs from its ``u`` to its ``v``
    and keeps its road class, cost factor and parent edge ``u-v``) while the split edge's
    row is marked dead; and ``{(row, distance): node}``
    for every requested split, where ``node`` is the new node or an end node when the
    distance is within 1 cm of an end.
    """
    found: dict = {}
    new_nodes: list[tuple[int, float, int]] = []  # (id, distance, edge row)
    pieces: list[tuple[int, int, int, float, float]] = []  # (row, from, to, d0, d1)
    next_id = int(nodes["node_id"].max()) + 1 if len(nodes) else 0
    rows = np.fromiter(at, dtype=np.int64, count=len(at))
    geoms = edges.geometry.to_numpy()
    u_all, v_all = edges["u"].to_numpy(), edges["v"].to_numpy()
    attached = AttachedGraph(nodes, edges, [], [])
    starts = shapely.get_coordinates(shapely.get_point(geoms[rows], 0))
    at_v = _starts_at_v(starts, attached.xy(u_all[rows]), attached.xy(v_all[rows]))
    for k, (row, dists) in enumerate(at.items()):
        length = geoms[row].length
        a, b = (v_all[row], u_all[row]) if at_v[k] else (u_all[row], v_all[row])
        cuts: list[tuple[float, int]] = [(0.0, int(a))]
        for d in sorted(set(dists)):
            if d <= SPLIT_TOLERANCE_M:
                node = int(a)
            elif d >= length - SPLIT_TOLERANCE_M:
                node = int(b)
            elif d - cuts[-1][0] <= SPLIT_TOLERANCE_M:
                node = cuts[-1][1]
            else:
                node = next_id
                next_id += 1
                new_nodes.append((node, d, row))
                cuts.append((d, node))
            found[(row, d)] = node
        if len(cuts) > 1:
            cuts.append((length, int(b)))
            pieces += [(row, n0, n1, d0, d1) for (d0, n0), (d1, n1) in pairwise(cuts)]
    split = np.unique([p[0] for p in pieces]).astype(np.int64)
    graph = AttachedGraph(
        _add_nodes(nodes, edges, new_nodes),
        _append_pieces(edges, pieces),
        [],
        [],
        n_pieces=len(pieces),
        dead_rows=split,
    )
    return graph, found


def _add_nodes(
    nodes: pd.DataFrame, edges: gpd.GeoDataFrame, new: list[tuple[int, float, int]]
) -> pd.DataFrame:
    """The node table with split nodes appended: each at its distance along its edge,
    in the component of the edge's ``u``."""
    if not new:
        return nodes
    ids, dist, rows = (np.array(c) for c in zip(*new, strict=True))
    pts = shapely.line_interpolate_point(edges.geometry.to_numpy()[rows], dist)
    xy = shapely.get_coordinates(pts)
    comp = AttachedGraph(nodes, edges, [], []).component(edges["u"].to_numpy()[rows])
    added = pd.DataFrame({"node_id": ids, "x": xy[:, 0], "y": xy[:, 1], "component": comp})
    return pd.concat([nodes, added], ignore_index=True)


def _append_pieces(
    edges: gpd.GeoDataFrame, pieces: list[tuple[int, int, int, float, float]]
) -> gpd.GeoDataFrame:
    """The edge table with the pieces of split edges appended at the end."""
    if not pieces:
        return edges
    row, n0, n1, d0, d1 = (np.array(c) for c in zip(*pieces, strict=True))
    parents = edges.iloc[row]
    geoms = substrings(parents.geometry.to_numpy(), d0.astype(float), d1.astype(float))
    lo = np.minimum(parents["u"].to_numpy(), parents["v"].to_numpy())
    hi = np.maximum(parents["u"].to_numpy(), parents["v"].to_numpy())
    own = np.char.add(np.char.add(lo.astype(str), "-"), hi.astype(str)).astype(object)
    parent = parents["parent_edge"].to_numpy(dtype=object)
    added = gpd.GeoDataFrame(
        {
            "u": n0.astype(np.int64),
            "v": n1.astype(np.int64),
            "length_m": shapely.length(geoms),
            "road_class": parents["road_class"].to_numpy(),
            "cost_factor": parents["cost_factor"].to_numpy(),
            "parent_edge": np.where(pd.isna(parent), own, parent),
        },
        geometry=geoms,
        crs=edges.crs,
    )
    return gpd.GeoDataFrame(pd.concat([edges, added], ignore_index=True), crs=edges.crs)


def substrings(lines: np.ndarray, start_m: np.ndarray, end_m: np.ndarray) -> np.ndarray:
    """The part of each line between two distances along it (0 <= start < end <= length),
    as :func:`shapely.ops.substring` gives it, for many lines at once.

    Examples
    --------
    >>> line = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    >>> [p.wkt for p in substrings(np.array([line, line]), np.array([5.0, 0.0]),
    ...                            np.array([15.0, 10.0]))]
    ['LINESTRING (5 0, 10 0, 10 5)', 'LINESTRING (0 0, 10 0)']
    """
    coords, piece = shapely.get_coordinates(lines, return_index=True)
    step = np.zeros(len(coords))
    step[1:] = np.where(
        piece[1:] == piece[:-1], np.linalg.norm(np.diff(coords, axis=0), axis=1), 0.0
    )
    along = np.cumsum(step)
    along -= along[np.searchsorted(piece, piece)]  # distance from the start of its line
    # vertices strictly between the ends; one within 1 µm of an end is that end (the
    # running sum over all lines can differ from the line's own by rounding)
    inner = (along > start_m[piece] + SUBSTRING_TOL_M) & (along < end_m[piece] - SUBSTRING_TOL_M)
    n = len(lines)
    ends = [shapely.line_interpolate_point(lines, d) for d in (start_m, end_m)]
    xy = np.concatenate(
        [shapely.get_coordinates(ends[0]), coords[inner], shapely.get_coordinates(ends[1])]
    )
    owner = np.concatenate([np.arange(n), piece[inner], np.arange(n)])
    order = np.concatenate([np.full(n, -np.inf), along[inner], np.full(n, np.inf)])
    sort = np.lexsort((order, owner))
    return shapely.linestrings(xy[sort], indices=owner[sort])


def graph_tables(
    nodes: pd.DataFrame, edges: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The node and edge tables of :mod:`~pipeline.stages.build_road_graph` as routing
    uses them: node ``node_id``, ``x``, ``y``, ``component``; edge ``u``, ``v``,
    ``length_m``, ``road_class``, ``cost_factor`` (1.0 when absent), ``parent_edge``
    (empty) and the geometry, on a fresh index."""
    n = pd.DataFrame(
        {
            "node_id": nodes["node_id"].to_numpy(dtype=np.int64),
            "x": nodes["x"].to_numpy(dtype=float),
            "y": nodes["y"].to_numpy(dtype=float),
            "component": nodes["component"].to_numpy(dtype=np.int64),
        }
    )
    e = gpd.GeoDataFrame(
        {
            "u": edges["u"].to_numpy(dtype=np.int64),
            "v": edges["v"].to_numpy(dtype=np.int64),
            "length_m": edges["length_m"].to_numpy(dtype=float),
            "road_class": edges["road_class"].to_numpy(dtype=object),
            "cost_factor": (
                edges["cost_factor"].to_numpy(dtype=float)
                if "cost_factor" in edges
                else np.ones(len(edges))
            ),
            "parent_edge": np.full(len(edges), None, dtype=object),
        },
        geometry=edges.geometry.to_numpy(),
        crs=edges.crs,
    )
    return n, e


def attach(
    nodes: pd.DataFrame,
    edges: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    sinks: gpd.GeoDataFrame,
    max_snap_distance_m: float,
) -> AttachedGraph:
    """Join sites and sinks to the closest point of the nearest road, splitting edges.

    A sink (zone polygon or network line) joins where the nearest road comes closest to
    it (spur 0 when a road touches it). Roads are also split where they cross a zone's
    boundary or a network's line, so a route reaching a sink has a node where it does.
    ``nodes`` and ``edges`` are :func:`graph_tables`.
    """
    geoms = edges.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    requests: dict[int, list[float]] = defaultdict(list)
    pending: list[list[tuple | None]] = []
    for layer, kind in ((sites, "site"), (sinks, "sink")):
        items: list[tuple | None] = [None] * len(layer)
        shapes = layer.geometry.to_numpy()
        if len(shapes) and len(geoms):
            src, hit = tree.query_nearest(shapes, max_distance=max_snap_distance_m)
            for i, e in zip(src.tolist(), hit.tolist(), strict=True):
                if items[i] is not None:  # equidistant roads: keep the first
                    continue
                g = geoms[e]
                near = shapely.shortest_line(g, shapes[i]) if kind == "sink" else shapes[i]
                pos = float(g.project(shapely.Point(near.coords[0])))
                requests[e].append(pos)
                items[i] = (e, pos, shapes[i])
        pending.append(items)
    if len(sinks) and len(geoms):
        _request_sink_crossings(tree, geoms, sinks, max_snap_distance_m, requests)
    graph, split_at = split_edges(nodes, edges, requests)

    def resolve(item: tuple | None) -> Attachment:
        if item is None:
            return Attachment(None, np.nan, None)
        e, pos, shape = item
        n = split_at[(e, pos)]
        node = shapely.Point(graph.xy(np.array([n]))[0])
        # the spur runs to the node itself, which a split within SPLIT_TOLERANCE_M of an
        # existing node moves by up to that much from the nearest point of the road
        return Attachment(n, float(shapely.distance(shape, node)), node)

    graph.site_att = [resolve(i) for i in pending[0]]
    graph.sink_att = [resolve(i) for i in pending[1]]
    return graph


def _request_sink_crossings(
    tree: shapely.STRtree,
    geoms: np.ndarray,
    sinks: gpd.GeoDataFrame,
    max_snap_distance_m: float,
    requests: dict[int, list[float]],
) -> None:
    """Add splits where roads cross a zone's boundary or a network's line, and beside
    each vertex of a network near a road, so a link can end at the network's nearest
    point, not only at one attachment."""
    shapes = sinks.geometry.to_numpy()
    edges_of = np.where(shapely.get_dimensions(shapes) == 2, shapely.boundary(shapes), shapes)
    for z, e in zip(*tree.query(edges_of, predicate="intersects"), strict=True):
        g = geoms[e]
        crossing = shapely.get_coordinates(g.intersection(edges_of[z]))
        requests[int(e)].extend(shapely.line_locate_point(g, shapely.points(crossing)))
    is_net = (sinks["sink_kind"] == "network").to_numpy()
    vertices = shapely.points(shapely.get_coordinates(shapes[is_net]))
    if len(vertices):
        near, hit = tree.query_nearest(vertices, max_distance=max_snap_distance_m)
        for p, e in zip(vertices[near], hit, strict=True):
            requests[int(e)].append(float(geoms[e].project(p)))


def sink_targets(
    graph: AttachedGraph, sinks: gpd.GeoDataFrame, reach_m: float
) -> list[dict[int, float]]:
    """For each sink, the graph nodes a link may end at and the spur from each.

    A zone's targets are the nodes inside or on it (spur 0); a network's are the nodes
    within ``reach_m`` of it, with the straight spur to its nearest point. Each sink's
    attachment node is a target too, with its spur. Nodes are tested by coordinates
    within each sink's box, without a point geometry per node.
    """
    x, y = graph.nodes["x"].to_numpy(), graph.nodes["y"].to_numpy()
    node_ids = graph.nodes["node_id"].to_numpy()
    points = PointsByX(x, y)
    targets: list[dict[int, float]] = [{} for _ in range(len(sinks))]
    shapes = sinks.geometry.to_numpy()
    is_zone = (sinks["sink_kind"] == "zone").to_numpy()
    for z, (x0, y0, x1, y1) in enumerate(shapely.bounds(shapes)):
        pad = 0.0 if is_zone[z] else reach_m
        if np.isnan(x0):
            continue
        near = points.in_box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        if is_zone[z]:
            shapely.prepare(shapes[z])
            inside = near[shapely.intersects_xy(shapes[z], x[near], y[near])]
            targets[z] = dict.fromkeys(node_ids[inside].tolist(), 0.0)
        else:
            spur = shapely.distance(shapes[z], shapely.points(x[near], y[near]))
            keep = spur <= reach_m
            targets[z] = dict(zip(node_ids[near[keep]].tolist(), spur[keep].tolist(), strict=True))
    for z, att in enumerate(graph.sink_att):
        if att.node is not None:
            targets[z][att.node] = min(targets[z].get(att.node, np.inf), att.spur_m)
    return targets


def sinks_table(zones: gpd.GeoDataFrame, networks: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Demand zones and existing networks as one table of sinks.

    Columns ``sink_id`` (the zone or network id), ``sink_kind`` (``zone`` or ``network``)
    and the geometry.
    """
    parts = [
        gpd.GeoDataFrame(
            {"sink_id": zones["zone_id"].astype(str).to_numpy(), "sink_kind": "zone"},
            geometry=zones.geometry.to_numpy(),
            crs=zones.crs,
        )
    ]
    if networks is not None and len(networks):
        parts.append(
            gpd.GeoDataFrame(
                {"sink_id": networks["network_id"].astype(str).to_numpy(), "sink_kind": "network"},
                geometry=networks.geometry.to_numpy(),
                crs=networks.crs,
            )
        )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=zones.crs)


def route_links(
    nodes: pd.DataFrame,
    edges: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    cfg: RoutingConfig,
    *,
    networks: gpd.GeoDataFrame | None = None,
    executor: Executor | None = None,
    edge_store: Path | None = None,
) -> RoutingResult:
    """Route every candidate pair of a site and a sink (zone or network) along the roads.

    Parameters
    ----------
    nodes, edges
        The road graph's node and edge tables
        (:func:`~pipeline.stages.build_road_graph.build_road_graph`).
    sites
        Source points with ``site_id``, in the graph's CRS.
    zones
        Zone polygons with ``zone_id``, in the graph's CRS.
    cfg
        The ``routing`` section.
    networks
        Existing heat networks with ``network_id`` (lines or polygons), if any.
    executor
        Where the batches of searches run (:mod:`pipeline.executor`); here by default.
    edge_store
        ``edges`` as build_road_graph writes them (rows sorted along a Hilbert curve,
        with bbox columns), on storage the executor's workers can read, for workers that
        do not share this process's memory. Without it such workers read a copy written
        to a temporary folder, which serves a cluster on this machine only.

    Returns
    -------
    Candidate routes (columns ``ROUTE_COLUMNS``; ``reason`` is null for routes within
    the maximum length; ``zone_id`` is empty for links to networks) and the attachment of
    each site and sink.

    Examples
    --------
    A straight 1 km road; a site 10 m beside its west end and a 100 m square zone
    straddling its east end. The route is the 10 m spur plus the road up to the zone's
    edge at x = 950, where the zone's first node is.

    >>> from shapely.geometry import LineString, Point, box
    >>> from pipeline.stages.build_road_graph import build_road_graph
    >>> roads = gpd.GeoDataFrame({"road_class": ["residential"]},
    ...     geometry=[LineString([(0, 0), (1000, 0)])], crs=27700)
    >>> nodes, edges = build_road_graph(roads)
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[Point(0, 10)], crs=27700)
    >>> zones = gpd.GeoDataFrame({"zone_id": ["Z1"]},
    ...     geometry=[box(950, -50, 1050, 50)], crs=27700)
    >>> r = route_links(nodes, edges, sites, zones, RoutingConfig()).routes
    >>> r[["site_id", "zone_id", "route_length_m", "straight_distance_m"]].round(1).values.tolist()
    [['S1', 'Z1', 960.0, 950.0]]
    """
    sinks = sinks_table(zones, networks)
    nodes, edges = graph_tables(nodes, edges)
    graph = attach(nodes, edges, sites, sinks, cfg.max_snap_distance_m)
    targets = sink_targets(graph, sinks, cfg.max_snap_distance_m)
    pairs = candidate_pairs(graph, sites, sinks, targets, cfg.max_link_length_m)
    batches = plan_batches(graph, pairs, targets, cfg.max_link_length_m)
    executor = executor or LocalExecutor()
    if executor.in_process or not batches:
        found = search(graph, batches, executor, TileSource(arrays=graph.edge_arrays()))
    elif edge_store is not None:
        found = search(graph, batches, executor, _store(graph, edge_store))
    else:
        with tempfile.TemporaryDirectory(prefix="heatlink-edges.") as tmp:
            to_spatial_parquet(edges, Path(tmp) / "graph_edges.parquet")
            found = search(
                graph, batches, executor, _store(graph, Path(tmp) / "graph_edges.parquet")
            )
    return tabulate_routes(graph, pairs, found, sites, sinks, cfg.max_link_length_m)


def sinks_in_reach(
    sites: gpd.GeoDataFrame, sinks: gpd.GeoDataFrame, max_link_length_m: float
) -> dict[int, list[int]]:
    """The sinks within ``max_link_length_m`` of each site in a straight line.

    Returns
    -------
    ``{site: [sink, ...]}`` by position in ``sites`` and ``sinks``, for the sites with a
    sink in reach.
    """
    site_idx, sink_idx = shapely.STRtree(sinks.geometry.to_numpy()).query(
        sites.geometry.to_numpy(), predicate="dwithin", distance=max_link_length_m
    )
    by_site: dict[int, list[int]] = defaultdict(list)
    for s, z in zip(site_idx, sink_idx, strict=True):
        by_site[int(s)].append(int(z))
    return dict(by_site)


def candidate_pairs(
    graph: AttachedGraph,
    sites: gpd.GeoDataFrame,
    sinks: gpd.GeoDataFrame,
    targets: list[dict[int, float]],
    max_link_length_m: float,
) -> pd.DataFrame:
    """One row per site and sink within reach in a straight line, by site: ``site`` and
    ``sink`` (positions in their tables) and the ``reason`` known before any search:
    ``no_road_nearby`` when either has no road near enough, ``unreachable`` when none of
    the sink's targets is in the site's connected component (of the whole graph)."""
    in_reach = sinks_in_reach(sites, sinks, max_link_length_m)
    site_pos = [s for s in sorted(in_reach) for _ in in_reach[s]]
    sink_pos = [z for s in sorted(in_reach) for z in in_reach[s]]
    comps: dict[int, set[int]] = {}
    reasons: list[str | None] = []
    for s, z in zip(site_pos, sink_pos, strict=True):
        node = graph.site_att[s].node
        if node is None or not targets[z]:
            reasons.append(NO_ROAD_NEARBY)
            continue
        if z not in comps:
            comps[z] = set(graph.component(np.fromiter(targets[z], dtype=np.int64)).tolist())
        own = int(graph.component(np.array([node]))[0])
        reasons.append(None if own in comps[z] else UNREACHABLE)
    return pd.DataFrame(
        {
            "site": np.array(site_pos, dtype=np.int64),
            "sink": np.array(sink_pos, dtype=np.int64),
            "reason": pd.Series(reasons, dtype=object),
        }
    )


def plan_batches(
    graph: AttachedGraph,
    pairs: pd.DataFrame,
    targets: list[dict[int, float]],
    max_link_length_m: float,
    *,
    batch_sources: int | None = None,
) -> list[Batch]:
    """The searches to run, in batches of ``batch_sources`` sources that are neighbours
    along a Hilbert curve through their attachment points (:data:`BATCH_SOURCES` by
    default).

    Each source searches up to ``max_link_length_m`` less its spur; a batch's tile is
    its sources' box grown by the longest of their searches.
    """
    todo = pairs.index[pairs["reason"].isna()].to_numpy()
    site_of = pairs["site"].to_numpy()[todo]
    sources = np.unique(site_of)
    if not len(sources):
        return []
    node = np.array([graph.site_att[s].node for s in sources], dtype=np.int64)
    limit = max_link_length_m - np.array([graph.site_att[s].spur_m for s in sources])
    xy = graph.xy(node)
    order = _hilbert_order(xy)
    batches = []
    per_batch = batch_sources or BATCH_SOURCES
    for b, chunk in enumerate(np.array_split(order, -(-len(order) // per_batch))):
        chunk = np.sort(chunk)
        mine = np.isin(site_of, sources[chunk])
        keys = todo[mine]
        pair_source = np.searchsorted(sources[chunk], site_of[mine])
        t_pair, t_node, t_spur = [], [], []
        for i, z in enumerate(pairs["sink"].to_numpy()[keys]):
            t_pair += [i] * len(targets[z])
            t_node += list(targets[z])
            t_spur += list(targets[z].values())
        grow = float(limit[chunk].max()) + TILE_MARGIN_M
        lo, hi = xy[chunk].min(axis=0) - grow, xy[chunk].max(axis=0) + grow
        batches.append(
            Batch(
                batch_id=b,
                bbox=(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
                source_node=node[chunk],
                limit_m=limit[chunk],
                pair_source=pair_source.astype(np.int64),
                pair_key=keys.astype(np.int64),
                target_pair=np.array(t_pair, dtype=np.int64),
                target_node=np.array(t_node, dtype=np.int64),
                target_spur_m=np.array(t_spur, dtype=np.float64),
            )
        )
    return batches


def _hilbert_order(xy: np.ndarray) -> np.ndarray:
    """Positions of the points ``xy`` in the order of a Hilbert curve through them."""
    if len(xy) < 2:
        return np.arange(len(xy))
    lo, hi = xy.min(axis=0) - 1.0, xy.max(axis=0) + 1.0
    h = gpd.GeoSeries(shapely.points(xy)).hilbert_distance(total_bounds=(*lo, *hi))
    return np.argsort(h.to_numpy(), kind="stable")


def search(
    graph: AttachedGraph, batches: list[Batch], executor: Executor, tiles: TileSource
) -> Found:
    """Run every batch's searches on ``executor``, each over its tile of ``tiles``; the
    pairs found, by pair key."""
    return _merge(executor.map(route_batch, batches, desc="routing", shared=tiles))


def _store(graph: AttachedGraph, edge_store: Path) -> TileSource:
    """Tiles read from the edge table on disk, with the edges routing split replaced."""
    pieces = graph.edges.iloc[len(graph.edges) - graph.n_pieces :]
    return TileSource(
        store=str(Path(edge_store).absolute()), removed=graph.removed, pieces=edge_arrays(pieces)
    )


def _merge(parts: list[Found]) -> Found:
    """One :class:`Found` of several, in pair-key order."""
    if not parts:
        return Found.empty()
    keys = np.concatenate([p.pair_key for p in parts])
    paths = [p.path(i) for p in parts for i in range(len(p.pair_key))]
    order = np.argsort(keys, kind="stable")
    paths = [paths[i] for i in order]
    lengths = np.array([len(p) for p in paths], dtype=np.int64)
    return Found(
        pair_key=keys[order],
        target_node=np.concatenate([p.target_node for p in parts])[order],
        network_length_m=np.concatenate([p.network_length_m for p in parts])[order],
        target_spur_m=np.concatenate([p.target_spur_m for p in parts])[order],
        path_nodes=np.concatenate(paths) if paths else np.zeros(0, dtype=np.int64),
        path_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
    )


def tabulate_routes(
    graph: AttachedGraph,
    pairs: pd.DataFrame,
    found: Found,
    sites: gpd.GeoDataFrame,
    sinks: gpd.GeoDataFrame,
    max_link_length_m: float,
) -> RoutingResult:
    """The routes of every pair (:func:`candidate_pairs`, :func:`search`) with link ids
    and detour ratios, their road segments, and the attachments of the sites and sinks."""
    s, z = pairs["site"].to_numpy(), pairs["sink"].to_numpy()
    kind = sinks["sink_kind"].to_numpy()[z]
    sink_id = sinks["sink_id"].to_numpy()[z]
    site_spur = np.array([graph.site_att[i].spur_m for i in s], dtype=float)
    routes = pd.DataFrame(
        {
            "link_id": [f"L{i + 1:05d}" for i in range(len(pairs))],
            "site_id": sites["site_id"].to_numpy()[s],
            "sink_id": sink_id,
            "sink_kind": kind,
            "zone_id": np.where(kind == "zone", sink_id, None),
            "reason": pairs["reason"].to_numpy(dtype=object),
            "route_length_m": np.nan,
            "network_length_m": np.nan,
            "site_spur_m": site_spur,
            "zone_spur_m": np.nan,
            "straight_distance_m": shapely.distance(
                sites.geometry.to_numpy()[s], sinks.geometry.to_numpy()[z]
            ),
        }
    )
    searched = routes["reason"].isna().to_numpy()
    k = found.pair_key
    routes.loc[searched, "reason"] = BEYOND_MAX_LENGTH  # until a target is found
    routes.loc[k, "reason"] = None
    routes.loc[k, "network_length_m"] = found.network_length_m
    routes.loc[k, "zone_spur_m"] = found.target_spur_m
    length = site_spur[k] + found.network_length_m + found.target_spur_m
    routes.loc[k, "route_length_m"] = length
    routes.loc[k[length > max_link_length_m], "reason"] = BEYOND_MAX_LENGTH
    steps = _path_steps(graph, found)
    weighted = np.bincount(steps["pair"], steps["weighted"], minlength=len(k))
    # spurs are dug at a cost factor of 1
    with np.errstate(invalid="ignore", divide="ignore"):
        civils = (weighted + site_spur[k] + found.target_spur_m) / length
    civils = np.where(length > 0, civils, 1.0)
    routes["civils_factor"] = np.nan
    routes.loc[k, "civils_factor"] = civils
    geometry = np.full(len(routes), None, dtype=object)
    ends = (sites.geometry.to_numpy()[s[k]], sinks.geometry.to_numpy()[z[k]])
    geometry[k] = _route_geometries(graph, found, steps, *ends, site_spur[k])
    straight = routes["straight_distance_m"]
    routes["detour_ratio"] = (routes["route_length_m"] / straight).where(straight > 0)
    crs = sites.crs if sites.crs is not None else graph.edges.crs
    routes = gpd.GeoDataFrame(routes, geometry=geometry, crs=crs)[ROUTE_COLUMNS]
    segments = _segment_table(graph, routes["link_id"].to_numpy()[k], steps, crs)
    attachments = _attachment_table(graph, sites, sinks, crs)
    return RoutingResult(routes, attachments, segments)


def _path_steps(graph: AttachedGraph, found: Found) -> dict[str, np.ndarray]:
    """Every road edge of every found path, in path order: the pair (position in
    ``found``), the step's ``from``/``to`` nodes, the edge's row in the edge table, and
    its length times its cost factor."""
    n_nodes = np.diff(found.path_start)
    step_of = np.repeat(np.arange(len(n_nodes)), np.maximum(n_nodes - 1, 0))
    last = np.zeros(len(found.path_nodes), dtype=bool)
    last[found.path_start[1:] - 1] = True
    a = found.path_nodes[~last]
    first = np.zeros(len(found.path_nodes), dtype=bool)
    first[found.path_start[:-1]] = True
    b = found.path_nodes[~first]
    e = graph.edges
    keys = edge_key(e["u"].to_numpy(), e["v"].to_numpy())
    keys[graph.dead_rows] = -1  # never on a path
    order = np.argsort(keys, kind="stable")
    rows = order[np.searchsorted(keys[order], edge_key(a, b))]
    cost = e["length_m"].to_numpy() * e["cost_factor"].to_numpy()
    return {"pair": step_of, "from": a, "to": b, "row": rows, "weighted": cost[rows]}


def _route_geometries(
    graph: AttachedGraph,
    found: Found,
    steps: dict[str, np.ndarray],
    site_geoms: np.ndarray,
    sink_geoms: np.ndarray,
    site_spur_m: np.ndarray,
) -> np.ndarray:
    """Each found route's line: the site's spur, its edges in path order (each turned to
    run along the path) and the spur to the sink's nearest point."""
    geoms = graph.edges.geometry.to_numpy()[steps["row"]]
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bounds = np.searchsorted(owner, np.arange(len(geoms) + 1))
    starts = coords[bounds[:-1]] if len(geoms) else np.zeros((0, 2))
    flip = _starts_at_v(starts, graph.xy(steps["from"]), graph.xy(steps["to"]))
    step_bounds = np.searchsorted(steps["pair"], np.arange(len(found.pair_key) + 1))
    first_xy = graph.xy(found.path_nodes[found.path_start[:-1]])
    out = np.full(len(found.pair_key), None, dtype=object)
    for i in range(len(found.pair_key)):
        parts = [first_xy[i : i + 1]]
        for j in range(step_bounds[i], step_bounds[i + 1]):
            xy = coords[bounds[j] : bounds[j + 1]]
            parts.append((xy[::-1] if flip[j] else xy)[1:])
        if site_spur_m[i] > 0:
            parts.insert(0, shapely.get_coordinates(site_geoms[i]))
        if found.target_spur_m[i] > 0:
            end = shapely.shortest_line(shapely.Point(parts[-1][-1]), sink_geoms[i])
            parts.append(shapely.get_coordinates(end)[-1:])
        xy = np.concatenate(parts)
        out[i] = shapely.linestrings(xy) if len(xy) > 1 else None
    return out


def _segment_table(
    graph: AttachedGraph, link_ids: np.ndarray, steps: dict[str, np.ndarray], crs: object
) -> gpd.GeoDataFrame:
    """One row per road edge of each routed link, in path order from the site: the edge's
    ``segment_id`` (``u-v``, smaller node first), the path's ``from_node`` and ``to_node``,
    its ``length_m``, ``road_class`` and ``cost_factor``, and for a piece of a split edge
    the ``parent_edge`` it was cut from (``u-v`` of the graph's edge; empty otherwise)."""
    e = graph.edges.iloc[steps["row"]]
    lo = np.minimum(steps["from"], steps["to"])
    hi = np.maximum(steps["from"], steps["to"])
    return gpd.GeoDataFrame(
        {
            "link_id": link_ids[steps["pair"]],
            "segment_id": [f"{a}-{b}" for a, b in zip(lo.tolist(), hi.tolist(), strict=True)],
            "from_node": steps["from"],
            "to_node": steps["to"],
            "length_m": e["length_m"].to_numpy(),
            "road_class": e["road_class"].to_numpy(),
            "cost_factor": e["cost_factor"].to_numpy(),
            "parent_edge": e["parent_edge"].to_numpy(),
        },
        geometry=e.geometry.to_numpy(),
        crs=crs,
    )[SEGMENT_COLUMNS]


def _attachment_table(
    graph: AttachedGraph, sites: gpd.GeoDataFrame, sinks: gpd.GeoDataFrame, crs: object
) -> gpd.GeoDataFrame:
    atts = graph.site_att + graph.sink_att
    sizes = graph.nodes["component"].value_counts()
    comps = [
        int(graph.component(np.array([a.node]))[0]) if a.node is not None else None for a in atts
    ]
    return gpd.GeoDataFrame(
        {
            "id": list(sites["site_id"]) + list(sinks["sink_id"]),
            "kind": ["site"] * len(sites) + list(sinks["sink_kind"]),
            "snap_distance_m": [a.spur_m for a in atts],
            "component": pd.array(comps, dtype="Int64"),
            "component_nodes": pd.array(
                [sizes.get(c) if c is not None else None for c in comps], dtype="Int64"
            ),
        },
        geometry=[a.point for a in atts],
        crs=crs,
    )


def run(paths: RegionPaths, cfg: RegionFile, *, executor: Executor | None = None) -> None:
    """Read sources, zones and graph; route (on ``executor``); write routes and
    attachments."""
    sites = read_geoparquet(paths.sources)
    zones = read_geoparquet(paths.demand_zones)
    networks = read_geoparquet(paths.heat_networks)
    edges = read_geoparquet(paths.graph_edges, columns=EDGE_COLUMNS)
    nodes = pd.read_parquet(paths.graph_nodes, columns=["node_id", "x", "y", "component"])
    log.info(
        "%d sites, %d zones, %d existing networks, graph of %d nodes and %d edges; "
        "max link %.0f m, max spur %.0f m",
        len(sites),
        len(zones),
        len(networks),
        len(nodes),
        len(edges),
        cfg.routing.max_link_length_m,
        cfg.routing.max_snap_distance_m,
    )
    result = route_links(
        nodes,
        edges,
        sites,
        zones,
        cfg.routing,
        networks=networks,
        executor=executor,
        edge_store=paths.graph_edges,
    )
    routes = result.routes
    counts = routes["reason"].fillna("routed").value_counts()
    log.info(
        "%d candidate pairs: %s",
        len(routes),
        ", ".join(f"{k} {v}" for k, v in counts.items()) or "none",
    )
    far = result.attachments["snap_distance_m"].isna()
    if far.any():
        log.info(
            "no road within %.0f m of: %s",
            cfg.routing.max_snap_distance_m,
            ", ".join(result.attachments.loc[far, "id"].astype(str).head(20)),
        )
    with (
        atomic_path(paths.routes) as tmp_r,
        atomic_path(paths.attachments) as tmp_a,
        atomic_path(paths.route_segments) as tmp_s,
    ):
        routes.to_parquet(tmp_r, index=False)
        result.attachments.to_parquet(tmp_a, index=False)
        result.segments.to_parquet(tmp_s, index=False)
    log.info("wrote %s, %s and %s", paths.routes, paths.attachments, paths.route_segments)
