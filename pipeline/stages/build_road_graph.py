"""Build the undirected road graph that pipes are routed on.

Inputs
    ``data/interim/<region>/roads.parquet`` from ingest_roads.
Outputs
    ``data/interim/<region>/graph_nodes.parquet``: ``node_id``, ``x``, ``y``,
    ``component`` (0 is the largest connected component) and the point geometry;
    ``data/interim/<region>/graph_edges.parquet``: ``u``, ``v``, ``length_m``,
    ``road_class``, ``cost_factor`` (the class's civils cost multiplier, from ingest_roads;
    1.0 when roads.parquet has none) and the edge's LineString, which runs from node ``u``
    to node ``v``; its rows are sorted along a Hilbert curve, with the ``bbox`` covering
    column of GeoParquet 1.1, so a reader can take one area's edges (route_links' tasks).
Config keys
    none (the road selection is made by ingest_roads).

Method
    Road lines are split where they share an exact vertex with another line (rounded to
    1 mm) and at their ends, as OSM ways share nodes at junctions. Lines that cross
    without a shared vertex (bridges, tunnels) stay unconnected. Self-loops are dropped
    and of parallel edges the shortest is kept. The graph is undirected because pipes
    ignore one-way rules; ``G.graph["crs"]`` holds the CRS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from pipeline.config import RegionFile
from pipeline.io import atomic_path, read_geoparquet, to_spatial_parquet, write_point_parquet
from pipeline.paths import RegionPaths

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger("heatlink.build_road_graph")

SNAP_M = 0.001


def _row_keys(key: np.ndarray) -> np.ndarray:
    """One int64 per row of a two-column int64 array, in the rows' lexicographic order.

    Equal rows get equal keys, and ``np.unique`` of the keys orders them as
    ``np.unique(key, axis=0)`` orders the rows, several times faster. The columns are
    offset by their minimum, or replaced by their ranks when the offset values would
    overflow int64 (a region thousands of km wide at 1 mm).

    Examples
    --------
    >>> _row_keys(np.array([[5, 1], [2, 9], [5, 0], [2, 9]])).tolist()
    [31, 9, 30, 9]
    """
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64)
    x, y = key[:, 0], key[:, 1]
    x0, y0 = int(x.min()), int(y.min())
    span_x, span_y = int(x.max()) - x0 + 1, int(y.max()) - y0 + 1
    if span_x * span_y > np.iinfo(np.int64).max:
        x = np.unique(x, return_inverse=True)[1].ravel()
        y = np.unique(y, return_inverse=True)[1].ravel()
        x0 = y0 = 0
        span_y = int(y.max()) + 1
    return (x - x0) * span_y + (y - y0)


def _first_smallest(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Mask of the first smallest ``value`` in each run of equal ``group`` values.

    The same rows as keeping the first row of each group after
    ``np.lexsort((value, group))`` when ``group`` is sorted, without a sort.

    Examples
    --------
    >>> group = np.array([1, 1, 1, 2, 3, 3])
    >>> _first_smallest(group, np.array([5.0, 4.0, 4.0, 9.0, 1.0, 2.0])).tolist()
    [False, True, False, True, True, False]
    """
    keep = np.zeros(len(group), dtype=bool)
    if len(group) == 0:
        return keep
    start = np.ones(len(group), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    run = np.cumsum(start) - 1
    smallest = np.flatnonzero(value == np.minimum.reduceat(value, np.flatnonzero(start))[run])
    first = np.ones(len(smallest), dtype=bool)
    first[1:] = run[smallest[1:]] != run[smallest[:-1]]
    keep[smallest[first]] = True
    return keep


def node_road_lines(roads: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split road lines into edges between junctions.

    Parameters
    ----------
    roads
        LineStrings with ``road_class`` and optionally ``cost_factor`` (1.0 when
        missing) in a projected CRS.

    Returns
    -------
    nodes, edges
        Node points with ``node_id``, ``x``, ``y``, numbered in (x, y) order; edges
        with ``u``, ``v``, ``length_m``, ``road_class``, ``cost_factor`` and geometry
        running from ``u`` to ``v``, ordered by (min(u, v), max(u, v)).

    Examples
    --------
    A T junction: a 200 m street and a 50 m side street meeting at its middle vertex
    make three edges of 100, 100 and 50 m.

    >>> from shapely.geometry import LineString
    >>> roads = gpd.GeoDataFrame({"road_class": ["residential", "service"]},
    ...     geometry=[LineString([(0, 0), (100, 0), (200, 0)]),
    ...               LineString([(100, 0), (100, 50)])], crs=27700)
    >>> nodes, edges = node_road_lines(roads)
    >>> len(nodes), sorted(edges["length_m"].tolist())
    (4, [50.0, 100.0, 100.0])
    """
    nodes, edges = node_vertices(road_vertices(roads))
    points = shapely.points(nodes["x"].to_numpy(), nodes["y"].to_numpy())
    return gpd.GeoDataFrame(nodes, geometry=points, crs=roads.crs), edges


@dataclass
class RoadVertices:
    """The vertices of road lines, by line, and each line's class and cost factor."""

    coords: np.ndarray  # (n, 2)
    line_idx: np.ndarray  # the line of each vertex
    road_class: object  # an array, by line
    cost_factor: np.ndarray  # by line
    crs: object


def road_vertices(roads: gpd.GeoDataFrame) -> RoadVertices:
    """What :func:`node_vertices` needs of the road lines, so the lines themselves can be
    freed before the edges are made (a national table holds gigabytes of them)."""
    coords, line_idx = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    return RoadVertices(
        coords,
        line_idx,
        roads["road_class"].array,
        roads["cost_factor"].to_numpy(dtype=float)
        if "cost_factor" in roads
        else np.ones(len(roads)),
        roads.crs,
    )


def node_vertices(roads: RoadVertices) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """:func:`node_road_lines` on the lines' vertices; it lets go of ``roads``' vertex
    arrays as soon as its own copies replace them (memory at national size). Its nodes
    have ``x`` and ``y`` but no point geometries, which cost about 200 bytes a node."""
    coords, line_idx = roads.coords, roads.line_idx
    key = coords / SNAP_M
    key = _row_keys(np.rint(key, out=key).astype(np.int64))  # one int64 per vertex, by (x, y)
    roads.coords = roads.line_idx = None  # the copies below replace them
    # drop repeated consecutive vertices of a line
    dup = np.zeros(len(coords), dtype=bool)
    dup[1:] = (line_idx[1:] == line_idx[:-1]) & (key[1:] == key[:-1])
    coords, line_idx, key = coords[~dup], line_idx[~dup], key[~dup]
    first = np.ones(len(coords), dtype=bool)
    first[1:] = line_idx[1:] != line_idx[:-1]
    last = np.ones(len(coords), dtype=bool)
    last[:-1] = line_idx[1:] != line_idx[:-1]
    _, vid, counts = np.unique(key, return_inverse=True, return_counts=True)
    vid = vid.ravel()
    del key
    is_node = first | last | (counts[vid] >= 2)
    # drop lines left with a single vertex
    single = first & last
    is_node &= ~single

    node_pos = np.flatnonzero(is_node)
    starts, ends = node_pos[:-1], node_pos[1:]
    same_line = line_idx[starts] == line_idx[ends]
    starts, ends = starts[same_line], ends[same_line]

    # compact node ids over the vertices that are nodes, in (x, y) order
    node_vids, node_first = np.unique(vid[node_pos], return_index=True)
    node_xy = coords[node_pos[node_first]]
    node_of_vid = np.zeros(len(counts), dtype=np.int64)
    node_of_vid[node_vids] = np.arange(len(node_vids))
    u, v = node_of_vid[vid[starts]], node_of_vid[vid[ends]]

    # drop self-loops and order the edges by node pair (min(u, v), max(u, v)), in line
    # order within a pair; the lines are made in that order because geometries created
    # in table order are written and freed several times faster than shuffled ones
    pair = np.minimum(u, v) * len(node_vids) + np.maximum(u, v)  # one int64 per node pair
    order = np.flatnonzero(u != v)
    order = order[np.argsort(pair[order], kind="stable")]
    u, v, pair, starts, ends = u[order], v[order], pair[order], starts[order], ends[order]
    n_vertices = ends - starts + 1
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(n_vertices, out=offsets[1:])
    vertex_idx = np.arange(offsets[-1]) + np.repeat(starts - offsets[:-1], n_vertices)
    geoms = shapely.from_ragged_array(
        shapely.GeometryType.LINESTRING, coords[vertex_idx], (offsets,)
    )
    length = shapely.length(geoms)
    keep = _first_smallest(pair, length)  # of parallel edges keep the shortest
    line_of_edge = line_idx[starts[keep]]
    edges = gpd.GeoDataFrame(
        {
            "u": u[keep],
            "v": v[keep],
            "length_m": length[keep],
            "road_class": roads.road_class.take(line_of_edge),
            "cost_factor": roads.cost_factor[line_of_edge],
        },
        geometry=geoms[keep],
        crs=roads.crs,
    )
    nodes = pd.DataFrame(
        {"node_id": np.arange(len(node_vids)), "x": node_xy[:, 0], "y": node_xy[:, 1]}
    )
    return nodes, edges


def label_components(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> np.ndarray:
    """Connected-component label of each node; 0 is the largest component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(nodes)
    uv = (edges["u"].to_numpy(), edges["v"].to_numpy())
    adj = coo_matrix((np.ones(len(edges)), uv), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
    return rank[labels]


def graph_from_tables(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> nx.Graph:
    """The networkx graph of node and edge tables; ``G.graph["crs"]`` is their CRS.

    Edges carry ``length_m``, ``road_class``, ``cost_factor`` (1.0 when the edge table
    has none) and ``geometry``.
    """
    import networkx as nx  # imported here: building the graph tables does not need it

    cost_factor = (
        edges["cost_factor"].to_numpy(dtype=float)
        if "cost_factor" in edges
        else np.ones(len(edges))
    )
    G = nx.Graph(crs=CRS.from_user_input(edges.crs))
    # plain Python lists iterate several times faster than pandas/Arrow columns
    G.add_nodes_from(
        (i, {"x": x, "y": y, "component": c})
        for i, x, y, c in zip(
            nodes["node_id"].astype(int).tolist(),
            nodes["x"].tolist(),
            nodes["y"].tolist(),
            nodes["component"].astype(int).tolist(),
            strict=True,
        )
    )
    G.add_edges_from(
        (u, v, {"length_m": length, "road_class": rc, "cost_factor": cf, "geometry": g})
        for u, v, length, rc, cf, g in zip(
            edges["u"].astype(int).tolist(),
            edges["v"].astype(int).tolist(),
            edges["length_m"].astype(float).tolist(),
            edges["road_class"].to_numpy(dtype=object).tolist(),
            cost_factor.tolist(),
            edges.geometry.to_numpy().tolist(),
            strict=True,
        )
    )
    return G


def build_road_graph(roads: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Node the road lines and label connected components.

    Returns the node table (with ``component``) and edge table; turn them into a
    networkx graph with :func:`graph_from_tables`.
    """
    nodes, edges = node_road_lines(roads)
    nodes["component"] = label_components(nodes, edges)
    return nodes, edges


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Build the graph tables from roads.parquet and write them."""
    roads = read_geoparquet(paths.roads)
    n_lines = len(roads)
    vertices = road_vertices(roads)
    del roads  # free the lines before the edges are made
    nodes, edges = node_vertices(vertices)
    del vertices
    nodes["component"] = label_components(nodes, edges)
    sizes = nodes["component"].value_counts()
    log.info(
        "%d road lines -> %d nodes, %d edges, %.1f km; %d connected components "
        "(largest holds %.1f %% of nodes)",
        n_lines,
        len(nodes),
        len(edges),
        edges["length_m"].sum() / 1000,
        len(sizes),
        100 * sizes.iloc[0] / len(nodes) if len(nodes) else 0,
    )
    with atomic_path(paths.graph_nodes) as tmp_n, atomic_path(paths.graph_edges) as tmp_e:
        write_point_parquet(nodes, tmp_n, crs=edges.crs)
        to_spatial_parquet(edges, tmp_e)  # tasks of route_links read it by tile
    log.info("wrote %s and %s", paths.graph_nodes, paths.graph_edges)
