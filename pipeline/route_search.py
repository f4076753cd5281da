"""Bounded road searches from sources, one batch of sources at a time.

``route_links`` attaches every site and sink to the road graph once, over the whole
edge table, and then hands the searches out in **batches**: sources that lie close
together, in the order of a Hilbert curve through their attachment points. A batch reads
only its **tile**, the edges whose bounding boxes meet the box of its sources grown by
the search limit, and :func:`route_sources` searches it with
``scipy.sparse.csgraph.dijkstra`` on a CSR matrix. The same function runs in a local
loop or as a Dask task (:mod:`pipeline.executor`); a task is sent arrays and the path of
the tile store, never a networkx graph.

Why a tile gives the whole graph's answer: a route of road length at most ``L`` never
leaves the disc of radius ``L`` around its start, so every node a search bounded by
``L`` settles, and every edge it relaxes, lies inside the tile. Local node indices
follow the global node ids, so ties between equal-length paths break the same way in
every tile, and the routes do not depend on how the sources were batched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd

TILE_MARGIN_M = 1.0  # tiles are grown by this much beyond the search limit (rounding)


@dataclass
class Batch:
    """The searches of one batch of sources.

    Sources are by position in the batch; pairs are (source, sink) candidates, keyed by
    the caller's ``pair_key``; targets are the nodes a pair's link may end at.
    """

    batch_id: int
    bbox: tuple[float, float, float, float]  # the tile: xmin, ymin, xmax, ymax
    source_node: np.ndarray  # int64 graph node each source starts at
    limit_m: np.ndarray  # float64 longest road distance each source searches
    pair_source: np.ndarray  # int64 source of each pair, by position in the batch
    pair_key: np.ndarray  # int64 the caller's key of each pair
    target_pair: np.ndarray  # int64 pair of each target, by position in the batch
    target_node: np.ndarray  # int64
    target_spur_m: np.ndarray  # float64 straight spur from the target node to the sink


@dataclass
class Found:
    """The pairs of a batch whose search reached a target.

    ``path_nodes[path_start[i]:path_start[i + 1]]`` is pair ``i``'s node path from the
    source to its ``target_node``.
    """

    pair_key: np.ndarray
    target_node: np.ndarray
    network_length_m: np.ndarray  # road distance to the target, spurs excluded
    target_spur_m: np.ndarray
    path_nodes: np.ndarray
    path_start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @classmethod
    def empty(cls) -> Found:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, np.zeros(0), np.zeros(0), none)

    def path(self, i: int) -> np.ndarray:
        return self.path_nodes[self.path_start[i] : self.path_start[i + 1]]


@dataclass(frozen=True)
class EdgeArrays:
    """The searchable part of an edge table: ends, length and bounding box."""

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    bounds: np.ndarray  # (n, 4) xmin, ymin, xmax, ymax

    def tile(self, bbox: tuple[float, float, float, float]) -> EdgeArrays:
        """The edges whose bounding boxes meet ``bbox``."""
        return self.subset(meets(self.bounds, bbox))

    def subset(self, keep: np.ndarray) -> EdgeArrays:
        return EdgeArrays(self.u[keep], self.v[keep], self.length_m[keep], self.bounds[keep])

    def concat(self, other: EdgeArrays) -> EdgeArrays:
        return EdgeArrays(
            np.concatenate([self.u, other.u]),
            np.concatenate([self.v, other.v]),
            np.concatenate([self.length_m, other.length_m]),
            np.concatenate([self.bounds, other.bounds]),
        )


def meets(bounds: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Mask of the boxes (rows of xmin, ymin, xmax, ymax) that meet ``bbox``.

    >>> meets(np.array([[0, 0, 1, 1], [2, 2, 3, 3]]), (1.0, 1.0, 1.5, 1.5)).tolist()
    [True, False]
    """
    x0, y0, x1, y1 = bbox
    return (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)


def _csr(edges: EdgeArrays) -> tuple[np.ndarray, object]:
    """The tile's nodes (sorted global ids) and its symmetric CSR matrix of lengths; of
    parallel edges the shortest is kept."""
    from scipy.sparse import csr_array

    nodes, inverse = np.unique(np.concatenate([edges.u, edges.v]), return_inverse=True)
    n_e = len(edges.u)
    a, b = inverse[:n_e], inverse[n_e:]
    keep = a != b
    i = np.concatenate([a[keep], b[keep]])
    j = np.concatenate([b[keep], a[keep]])
    w = np.tile(edges.length_m[keep], 2)  # explicit zeros in a CSR matrix are edges
    order = np.lexsort((w, j, i))
    i, j, w = i[order], j[order], w[order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    i, j, w = i[first], j[first], w[first]
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=len(nodes)), out=indptr[1:])
    return nodes, csr_array((w, j, indptr), shape=(len(nodes), len(nodes)))


def route_sources(edges: EdgeArrays, batch: Batch) -> Found:
    """Search from each source of ``batch`` over ``edges`` and pick each pair's target.

    One Dijkstra per source, bounded by its ``limit_m`` (nodes at exactly the limit are
    reached). Each pair ends at the reached target with the least road distance plus
    spur; ties go to the smaller node id.

    Examples
    --------
    A path 0 - 1 - 2 of 100 m edges; one source at node 0 looks for node 2 (spur 5 m)
    or node 1 (spur 150 m), and another pair with a limit too short to reach node 2.

    >>> e = EdgeArrays(np.array([0, 1]), np.array([1, 2]), np.array([100.0, 100.0]),
    ...                np.zeros((2, 4)))
    >>> b = Batch(0, (0, 0, 0, 0), source_node=np.array([0, 0]),
    ...     limit_m=np.array([500.0, 150.0]), pair_source=np.array([0, 1]),
    ...     pair_key=np.array([7, 8]), target_pair=np.array([0, 0, 1]),
    ...     target_node=np.array([2, 1, 2]), target_spur_m=np.array([5.0, 150.0, 0.0]))
    >>> f = route_sources(e, b)
    >>> f.pair_key.tolist(), f.target_node.tolist(), f.network_length_m.tolist()
    ([7], [2], [200.0])
    >>> f.path(0).tolist()
    [0, 1, 2]
    """
    from scipy.sparse.csgraph import dijkstra

    nodes, graph = _csr(edges)
    src = np.searchsorted(nodes, batch.source_node)
    src_ok = (src < len(nodes)) & (nodes[np.minimum(src, len(nodes) - 1)] == batch.source_node)
    if not len(nodes) or not src_ok.any():
        return Found.empty()
    starts, row_of = np.unique(src[src_ok], return_inverse=True)
    limit = float(batch.limit_m[src_ok].max())
    dist, pred = dijkstra(
        graph, directed=True, indices=starts, limit=limit, return_predecessors=True
    )
    source_row = np.full(len(src), -1)
    source_row[src_ok] = row_of
    # each target's road distance from its pair's source, within that source's limit
    t_src = batch.pair_source[batch.target_pair]
    t_col = np.searchsorted(nodes, batch.target_node)
    t_col_c = np.minimum(t_col, len(nodes) - 1)
    t_row = source_row[t_src]
    ok = (t_row >= 0) & (nodes[t_col_c] == batch.target_node)
    d = np.full(len(t_col), np.inf)
    d[ok] = dist[t_row[ok], t_col_c[ok]]
    ok &= d <= batch.limit_m[t_src]
    # per pair, the reached target with the least distance plus spur, then node id
    cand = np.flatnonzero(ok)
    total = d[cand] + batch.target_spur_m[cand]
    order = np.lexsort((batch.target_node[cand], total, batch.target_pair[cand]))
    cand = cand[order]
    pair = batch.target_pair[cand]
    best = cand[np.r_[True, pair[1:] != pair[:-1]]] if len(cand) else cand
    paths = [_walk_back(pred[t_row[t]], t_col_c[t], nodes) for t in best]
    return Found(
        pair_key=batch.pair_key[batch.target_pair[best]],
        target_node=batch.target_node[best],
        network_length_m=d[best],
        target_spur_m=batch.target_spur_m[best],
        path_nodes=np.concatenate(paths) if paths else np.zeros(0, dtype=np.int64),
        path_start=np.concatenate([[0], np.cumsum([len(p) for p in paths])]).astype(np.int64),
    )


def _walk_back(pred_row: np.ndarray, target: int, nodes: np.ndarray) -> np.ndarray:
    """Global node ids of the path to ``target`` (a local index) from the predecessors."""
    path = [target]
    while pred_row[path[-1]] >= 0:
        path.append(pred_row[path[-1]])
    return nodes[np.array(path[::-1], dtype=np.int64)]


# --- the tile store ---------------------------------------------------------------------


def edge_arrays(edges: gpd.GeoDataFrame) -> EdgeArrays:
    """The searchable arrays of an edge table (a GeoDataFrame with ``u``, ``v``,
    ``length_m`` and line geometries)."""
    import shapely

    return EdgeArrays(
        edges["u"].to_numpy(dtype=np.int64),
        edges["v"].to_numpy(dtype=np.int64),
        edges["length_m"].to_numpy(dtype=np.float64),
        shapely.bounds(edges.geometry.to_numpy()),
    )


def read_tile(path: str | Path, bbox: tuple[float, float, float, float]) -> EdgeArrays:
    """The edges of the tile store at ``path`` whose bounding boxes meet ``bbox``.

    The filter on the bbox columns lets pyarrow skip the row groups outside the tile;
    the geometry column is not read.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    x0, y0, x1, y1 = bbox
    expr = (
        (pc.field("bbox", "xmin") <= x1)
        & (pc.field("bbox", "xmax") >= x0)
        & (pc.field("bbox", "ymin") <= y1)
        & (pc.field("bbox", "ymax") >= y0)
    )
    t = ds.dataset(str(path), format="parquet").to_table(
        columns=["u", "v", "length_m", "bbox"], filter=expr
    )
    bb = t.column("bbox").combine_chunks()
    bounds = np.column_stack(
        [bb.field(k).to_numpy(zero_copy_only=False) for k in ("xmin", "ymin", "xmax", "ymax")]
    ).astype(np.float64)
    return EdgeArrays(
        t.column("u").to_numpy().astype(np.int64),
        t.column("v").to_numpy().astype(np.int64),
        t.column("length_m").to_numpy().astype(np.float64),
        bounds,
    )


def edge_key(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One int64 per undirected edge, the same for (u, v) and (v, u) (node ids < 2**31).

    >>> edge_key(np.array([3, 5]), np.array([5, 3])).tolist() == [(3 << 32) | 5] * 2
    True
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    return (np.minimum(u, v) << 32) | np.maximum(u, v)


@dataclass(frozen=True)
class TileSource:
    """Where a batch reads its tile.

    Either ``arrays``, the whole edge table in this process; or ``store``, the path of
    the graph's edge table as written by build_road_graph (sorted, with bbox columns; on
    storage the workers share), less the edges routing split (``removed``, by
    :func:`edge_key`) and plus their ``pieces``.
    """

    arrays: EdgeArrays | None = None
    store: str | None = None
    removed: np.ndarray | None = None
    pieces: EdgeArrays | None = None

    def tile(self, bbox: tuple[float, float, float, float]) -> EdgeArrays:
        if self.store is None:
            assert self.arrays is not None
            return self.arrays.tile(bbox)
        t = read_tile(self.store, bbox)
        if self.removed is not None and len(self.removed):
            t = t.subset(~np.isin(edge_key(t.u, t.v), self.removed))
        if self.pieces is not None:
            t = t.concat(self.pieces.tile(bbox))
        return t


def route_batch(source: TileSource, batch: Batch) -> Found:
    """A batch's searches over its tile: what a local loop or a Dask task runs."""
    return route_sources(source.tile(batch.bbox), batch)
