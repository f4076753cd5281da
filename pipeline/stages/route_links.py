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
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm

from pipeline.config import RegionFile, RoutingConfig
from pipeline.io import atomic_path, read_geoparquet
from pipeline.paths import RegionPaths
from pipeline.stages.build_road_graph import graph_from_tables

log = logging.getLogger("heatlink.route_links")

NO_ROAD_NEARBY = "no_road_nearby"
UNREACHABLE = "unreachable"
BEYOND_MAX_LENGTH = "beyond_max_length"
SPLIT_TOLERANCE_M = 0.01
SUBSTRING_TOL_M = 1e-6
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
class RoutingResult:
    """Output of :func:`route_links`."""

    routes: gpd.GeoDataFrame
    attachments: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame  # link_id, segment_id and geometry of each road edge used


def _start_node(G: nx.Graph, u: int, v: int, geom: shapely.LineString) -> int:
    """Which end of edge (u, v) its geometry starts at."""
    x0, y0 = geom.coords[0]
    du = (G.nodes[u]["x"] - x0) ** 2 + (G.nodes[u]["y"] - y0) ** 2
    dv = (G.nodes[v]["x"] - x0) ** 2 + (G.nodes[v]["y"] - y0) ** 2
    return u if du <= dv else v


def split_edges(G: nx.Graph, at: dict[tuple[int, int], list[float]]) -> dict:
    """Split edges of ``G`` in place at distances along their geometry.

    Parameters
    ----------
    G
        The road graph; edges carry ``geometry`` and ``length_m``.
    at
        For an edge ``(u, v)``, distances along its geometry (from the geometry's start).

    Returns
    -------
    ``{(u, v, distance): node}`` for every requested split, where ``node`` is the new
    node, or an end node when the distance is within 1 cm of an end.
    """
    found: dict = {}
    pieces: list[tuple] = []
    next_id = max(G.nodes, default=-1) + 1
    for (u, v), dists in at.items():
        data = G.edges[u, v]
        geom = data["geometry"]
        length = geom.length
        a = _start_node(G, u, v, geom)
        b = v if a == u else u
        cuts: list[tuple[float, int]] = [(0.0, a)]
        for d in sorted(set(dists)):
            if d <= SPLIT_TOLERANCE_M:
                node = a
            elif d >= length - SPLIT_TOLERANCE_M:
                node = b
            elif d - cuts[-1][0] <= SPLIT_TOLERANCE_M:
                node = cuts[-1][1]
            else:
                node = next_id
                next_id += 1
                p = geom.interpolate(d)
                G.add_node(node, x=p.x, y=p.y, component=G.nodes[u]["component"], split=True)
                cuts.append((d, node))
            found[(u, v, d)] = node
        if len(cuts) == 1:
            continue
        cuts.append((length, b))
        G.remove_edge(u, v)
        attrs = {
            "road_class": data["road_class"],
            "cost_factor": data.get("cost_factor", 1.0),
            "parent_edge": data.get("parent_edge", f"{min(u, v)}-{max(u, v)}"),
        }
        for (d0, n0), (d1, n1) in zip(cuts[:-1], cuts[1:], strict=True):
            pieces.append((n0, n1, geom, d0, d1, attrs))
    if pieces:
        geoms = substrings(
            np.array([p[2] for p in pieces], dtype=object),
            np.array([p[3] for p in pieces]),
            np.array([p[4] for p in pieces]),
        )
        G.add_edges_from(
            (n0, n1, {"length_m": float(g.length), **attrs, "geometry": g})
            for (n0, n1, _, _, _, attrs), g in zip(pieces, geoms, strict=True)
        )
    return found


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


def attach(
    G: nx.Graph,
    sites: gpd.GeoDataFrame,
    sinks: gpd.GeoDataFrame,
    max_snap_distance_m: float,
    *,
    edges: gpd.GeoDataFrame | None = None,
) -> tuple[list[Attachment], list[Attachment]]:
    """Join sites and sinks to the closest point of the nearest road, splitting edges.

    A sink (zone polygon or network line) joins where the nearest road comes closest to
    it (spur 0 when a road touches it). Roads are also split where they cross a zone's
    boundary or a network's line, so a route reaching a sink has a node where it does.
    """
    if edges is None:
        edge_list = list(G.edges(data="geometry"))
    else:  # the graph's own edge table: much faster than iterating a large graph
        edge_list = list(
            zip(
                edges["u"].astype(int).tolist(),
                edges["v"].astype(int).tolist(),
                edges.geometry.to_numpy().tolist(),
                strict=True,
            )
        )
    geoms = np.array([g for _, _, g in edge_list], dtype=object)
    tree = shapely.STRtree(geoms)
    requests: dict[tuple[int, int], list[float]] = defaultdict(list)
    pending: list[list[tuple | None]] = []
    for layer, kind in ((sites, "site"), (sinks, "sink")):
        items: list[tuple | None] = [None] * len(layer)
        shapes = layer.geometry.to_numpy()
        if len(shapes) and len(geoms):
            src, hit = tree.query_nearest(shapes, max_distance=max_snap_distance_m)
            for i, e in zip(src, hit, strict=True):
                if items[i] is not None:  # equidistant roads: keep the first
                    continue
                u, v, g = edge_list[e]
                near = shapely.shortest_line(g, shapes[i]) if kind == "sink" else shapes[i]
                pos = float(g.project(shapely.Point(near.coords[0])))
                requests[(u, v)].append(pos)
                items[i] = (u, v, pos, shapes[i])
        pending.append(items)
    if len(sinks) and len(geoms):
        shapes = sinks.geometry.to_numpy()
        edges_of = np.where(shapely.get_dimensions(shapes) == 2, shapely.boundary(shapes), shapes)
        for z, e in zip(*tree.query(edges_of, predicate="intersects"), strict=True):
            u, v, g = edge_list[e]
            crossing = shapely.get_coordinates(g.intersection(edges_of[z]))
            requests[(u, v)].extend(shapely.line_locate_point(g, shapely.points(crossing)))
        # roads near an existing network get a node beside each of its vertices, so a
        # link can end at the network's nearest point, not only at one attachment
        is_net = (sinks["sink_kind"] == "network").to_numpy()
        vertices = shapely.points(shapely.get_coordinates(shapes[is_net]))
        if len(vertices):
            near, hit = tree.query_nearest(vertices, max_distance=max_snap_distance_m)
            for p, e in zip(vertices[near], hit, strict=True):
                u, v, g = edge_list[e]
                requests[(u, v)].append(float(g.project(p)))
    nodes = split_edges(G, requests)

    def resolve(item: tuple | None) -> Attachment:
        if item is None:
            return Attachment(None, np.nan, None)
        u, v, pos, shape = item
        n = nodes[(u, v, pos)]
        node = shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"])
        # the spur runs to the node itself, which a split within SPLIT_TOLERANCE_M of an
        # existing node moves by up to that much from the nearest point of the road
        return Attachment(n, float(shapely.distance(shape, node)), node)

    return [resolve(i) for i in pending[0]], [resolve(i) for i in pending[1]]


def sink_targets(
    G: nx.Graph, sinks: gpd.GeoDataFrame, sink_att: list[Attachment], reach_m: float
) -> list[dict[int, float]]:
    """For each sink, the graph nodes a link may end at and the spur from each.

    A zone's targets are the nodes inside or on it (spur 0); a network's are the nodes
    within ``reach_m`` of it, with the straight spur to its nearest point. Each sink's
    attachment node is a target too, with its spur.
    """
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    points = shapely.points([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in node_ids])
    targets: list[dict[int, float]] = [{} for _ in range(len(sinks))]
    shapes = sinks.geometry.to_numpy()
    is_zone = (sinks["sink_kind"] == "zone").to_numpy()
    if len(node_ids) and len(sinks):
        tree = shapely.STRtree(points)
        zi, ni = tree.query(shapes[is_zone], predicate="intersects")
        zone_rows = np.flatnonzero(is_zone)
        for z, n in zip(zone_rows[zi], ni, strict=True):
            targets[z][int(node_ids[n])] = 0.0
        net_rows = np.flatnonzero(~is_zone)
        k, ni = tree.query(shapes[~is_zone], predicate="dwithin", distance=reach_m)
        spurs = shapely.distance(shapes[net_rows[k]], points[ni])
        for z, n, d in zip(net_rows[k], ni, spurs, strict=True):
            targets[z][int(node_ids[n])] = float(d)
    for z, att in enumerate(sink_att):
        if att.node is not None:
            targets[z][att.node] = min(targets[z].get(att.node, np.inf), att.spur_m)
    return targets


def _path_geometry(G: nx.Graph, path: list[int]) -> tuple[np.ndarray, float]:
    """Coordinates of a node path along its edges, and the sum of length x cost factor."""
    parts = [np.array([[G.nodes[path[0]]["x"], G.nodes[path[0]]["y"]]])]
    weighted = 0.0
    for a, b in zip(path[:-1], path[1:], strict=True):
        data = G.edges[a, b]
        geom = data["geometry"]
        weighted += data["length_m"] * data.get("cost_factor", 1.0)
        xy = shapely.get_coordinates(geom)
        if _start_node(G, a, b, geom) != a:
            xy = xy[::-1]
        parts.append(xy[1:])
    return np.concatenate(parts), weighted


def _walk_back(pred: dict[int, list[int]], target: int) -> list[int]:
    path = [target]
    while pred[path[-1]]:
        path.append(pred[path[-1]][0])
    return path[::-1]


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
    G: nx.Graph,
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    cfg: RoutingConfig,
    *,
    networks: gpd.GeoDataFrame | None = None,
    edges: gpd.GeoDataFrame | None = None,
    copy_graph: bool = True,
) -> RoutingResult:
    """Route every candidate pair of a site and a sink (zone or network) along the roads.

    Parameters
    ----------
    G
        Road graph (see :mod:`pipeline.stages.build_road_graph`).
    sites
        Source points with ``site_id``, in the graph's CRS.
    zones
        Zone polygons with ``zone_id``, in the graph's CRS.
    cfg
        The ``routing`` section.
    networks
        Existing heat networks with ``network_id`` (lines or polygons), if any.
    edges
        ``G``'s edge table (``u``, ``v``, geometry), when at hand; it saves iterating a
        large graph.
    copy_graph
        Route on a copy of ``G`` (the default). With False, ``G`` is changed in place
        (edges are split where sites and sinks join), which saves copying a large graph
        that the caller does not need again.

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
    >>> from pipeline.stages.build_road_graph import build_road_graph, graph_from_tables
    >>> roads = gpd.GeoDataFrame({"road_class": ["residential"]},
    ...     geometry=[LineString([(0, 0), (1000, 0)])], crs=27700)
    >>> G = graph_from_tables(*build_road_graph(roads))
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[Point(0, 10)], crs=27700)
    >>> zones = gpd.GeoDataFrame({"zone_id": ["Z1"]},
    ...     geometry=[box(950, -50, 1050, 50)], crs=27700)
    >>> r = route_links(G, sites, zones, RoutingConfig()).routes
    >>> r[["site_id", "zone_id", "route_length_m", "straight_distance_m"]].round(1).values.tolist()
    [['S1', 'Z1', 960.0, 950.0]]
    """
    if copy_graph:
        G = G.copy()
    sinks = sinks_table(zones, networks)
    site_att, sink_att = attach(G, sites, sinks, cfg.max_snap_distance_m, edges=edges)
    targets = sink_targets(G, sinks, sink_att, cfg.max_snap_distance_m)
    in_reach = sinks_in_reach(sites, sinks, cfg.max_link_length_m)
    rows: list[dict] = []
    for s in tqdm(
        sorted(in_reach), desc="routing", unit=" sources", mininterval=2, leave=False, disable=None
    ):
        rows += route_from_site(
            G,
            sites["site_id"].iat[s],
            sites.geometry.iat[s],
            site_att[s],
            sinks,
            {z: targets[z] for z in in_reach[s]},
            max_link_length_m=cfg.max_link_length_m,
        )
    return tabulate_routes(G, rows, sites, sinks, site_att, sink_att)


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


def route_from_site(
    G: nx.Graph,
    site_id: object,
    site_geom: shapely.Geometry,
    att: Attachment,
    sinks: gpd.GeoDataFrame,
    targets: dict[int, dict[int, float]],
    *,
    max_link_length_m: float,
) -> list[dict]:
    """Route one site to each sink in its reach: one bounded Dijkstra, then each link.

    A pure worker over one source, so that a local loop or a task scheduler can call it.

    Parameters
    ----------
    G
        The road graph, with the sites and sinks attached (:func:`attach`).
    site_id, site_geom, att
        The site, its geometry and its attachment.
    sinks
        The sinks table (:func:`sinks_table`).
    targets
        For each sink in reach (by position in ``sinks``), its targets
        (:func:`sink_targets`).
    max_link_length_m
        The longest route, spurs included.

    Returns
    -------
    One row per sink in reach, with the columns of ``ROUTE_COLUMNS`` but ``link_id`` and
    ``detour_ratio``, and ``_path``, the route's graph nodes, where one was found.
    """
    dist: dict[int, float] = {}
    pred: dict[int, list[int]] = {}
    if att.node is not None:
        pred, dist = nx.dijkstra_predecessor_and_distance(
            G, att.node, cutoff=max_link_length_m - att.spur_m, weight="length_m"
        )
    rows = []
    for z, target in targets.items():
        kind = sinks["sink_kind"].iat[z]
        sink_geom = sinks.geometry.iat[z]
        row = {
            "site_id": site_id,
            "sink_id": sinks["sink_id"].iat[z],
            "sink_kind": kind,
            "zone_id": sinks["sink_id"].iat[z] if kind == "zone" else None,
            "straight_distance_m": float(site_geom.distance(sink_geom)),
            "site_spur_m": att.spur_m,
            "zone_spur_m": np.nan,
            "network_length_m": np.nan,
            "route_length_m": np.nan,
            "civils_factor": np.nan,
            "reason": _unrouted_reason(G, att, target, dist),
            "geometry": None,
        }
        if row["reason"] is None:
            row.update(_route_to_target(G, site_geom, att, sink_geom, target, dist, pred))
            if row["route_length_m"] > max_link_length_m:
                row["reason"] = BEYOND_MAX_LENGTH
        rows.append(row)
    return rows


def _unrouted_reason(
    G: nx.Graph, att: Attachment, target: dict[int, float], dist: dict[int, float]
) -> str | None:
    """Why a site cannot reach a sink's targets, or None when it reaches one."""
    if att.node is None or not target:
        return NO_ROAD_NEARBY
    comp = G.nodes[att.node]["component"]
    if all(G.nodes[t]["component"] != comp for t in target):
        return UNREACHABLE
    if not any(t in dist for t in target):
        return BEYOND_MAX_LENGTH
    return None


def _route_to_target(
    G: nx.Graph,
    site_geom: shapely.Geometry,
    att: Attachment,
    sink_geom: shapely.Geometry,
    target: dict[int, float],
    dist: dict[int, float],
    pred: dict[int, list[int]],
) -> dict:
    """The route to the reached target with the least road distance plus spur.

    Its length, spurs and civils factor, its geometry from the site to the sink, and its
    graph nodes as ``_path``.
    """
    total, t = min((dist[t] + spur, t) for t, spur in target.items() if t in dist)
    spur = target[t]
    path = _walk_back(pred, t)
    xy, weighted = _path_geometry(G, path)
    if att.spur_m > 0:
        xy = np.vstack([shapely.get_coordinates(site_geom), xy])
    if spur > 0:
        end = shapely.shortest_line(shapely.Point(xy[-1]), sink_geom)
        xy = np.vstack([xy, shapely.get_coordinates(end)[-1:]])
    length = att.spur_m + total
    return {
        "_path": path,
        "zone_spur_m": spur,
        "network_length_m": dist[t],
        "route_length_m": length,
        # spurs are dug at a cost factor of 1
        "civils_factor": (weighted + att.spur_m + spur) / length if length > 0 else 1.0,
        "geometry": shapely.linestrings(xy) if len(xy) > 1 else None,
    }


def tabulate_routes(
    G: nx.Graph,
    rows: list[dict],
    sites: gpd.GeoDataFrame,
    sinks: gpd.GeoDataFrame,
    site_att: list[Attachment],
    sink_att: list[Attachment],
) -> RoutingResult:
    """The routes of ``rows`` (:func:`route_from_site`) with link ids and detour ratios,
    their road segments, and the attachments of the sites and sinks."""
    crs = G.graph.get("crs", sites.crs)
    routes = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=[c for c in ROUTE_COLUMNS if c not in ("link_id",)]),
        geometry="geometry",
        crs=crs,
    )
    routes.insert(0, "link_id", [f"L{i + 1:05d}" for i in range(len(routes))])
    segments = _segment_table(G, routes["link_id"], [r.get("_path") for r in rows], crs)
    straight = routes["straight_distance_m"]
    routes["detour_ratio"] = (routes["route_length_m"] / straight).where(straight > 0)
    attachments = _attachment_table(G, sites, sinks, site_att, sink_att, routes.crs)
    return RoutingResult(
        gpd.GeoDataFrame(routes[ROUTE_COLUMNS], crs=routes.crs), attachments, segments
    )


def _segment_table(
    G: nx.Graph, link_ids: pd.Series, paths: list[list[int] | None], crs: object
) -> gpd.GeoDataFrame:
    """One row per road edge of each routed link, in path order from the site: the edge's
    ``segment_id`` (``u-v``, smaller node first), the path's ``from_node`` and ``to_node``,
    its ``length_m``, ``road_class`` and ``cost_factor``, and for a piece of a split edge
    the ``parent_edge`` it was cut from (``u-v`` of the graph's edge; empty otherwise)."""
    rows = []
    for lid, path in zip(link_ids, paths, strict=True):
        for a, b in pairwise(path or []):
            u, v = min(a, b), max(a, b)
            data = G.edges[u, v]
            rows.append(
                (
                    lid,
                    f"{u}-{v}",
                    a,
                    b,
                    data["length_m"],
                    data["road_class"],
                    data.get("cost_factor", 1.0),
                    data.get("parent_edge"),
                    data["geometry"],
                )
            )
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=SEGMENT_COLUMNS),
        geometry="geometry",
        crs=crs,
    )


def _attachment_table(
    G: nx.Graph,
    sites: gpd.GeoDataFrame,
    sinks: gpd.GeoDataFrame,
    site_att: list[Attachment],
    sink_att: list[Attachment],
    crs: object,
) -> gpd.GeoDataFrame:
    atts = site_att + sink_att
    sizes = pd.Series([G.nodes[n]["component"] for n in G]).value_counts()
    comps = [G.nodes[a.node]["component"] if a.node is not None else None for a in atts]
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


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read sources, zones and graph; route; write routes and attachments."""
    sites = read_geoparquet(paths.sources)
    zones = read_geoparquet(paths.demand_zones)
    networks = read_geoparquet(paths.heat_networks)
    edges = read_geoparquet(paths.graph_edges)
    G = graph_from_tables(read_geoparquet(paths.graph_nodes), edges)
    log.info(
        "%d sites, %d zones, %d existing networks, graph of %d nodes and %d edges; "
        "max link %.0f m, max spur %.0f m",
        len(sites),
        len(zones),
        len(networks),
        G.number_of_nodes(),
        G.number_of_edges(),
        cfg.routing.max_link_length_m,
        cfg.routing.max_snap_distance_m,
    )
    result = route_links(
        G, sites, zones, cfg.routing, networks=networks, edges=edges, copy_graph=False
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
