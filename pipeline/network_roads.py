"""The road graph around designed networks (used by :mod:`pipeline.stages.design_networks`).

:class:`RoadEdges` holds the road graph's edges as arrays, read once for all networks
(from the spatially sorted ``graph_edges.parquet``, only the row groups near them), and
gives each network its candidate graph; route segments become graph edges with
:func:`segment_rows` and :func:`add_segments`, and the edges that routing split are
replaced by their pieces (:func:`split_pieces`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from pipeline.geo import PointsByX

if TYPE_CHECKING:
    from pathlib import Path

    import geopandas as gpd

EDGE_READ = ("length_m", "cost_factor", "road_class", "geometry")
"""The graph_edges columns the design reads, besides u and v."""


def _in_any_box(xy: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Mask of the points ``xy`` inside (or on) one of ``boxes`` (rows of x0, y0, x1, y1).

    >>> points = np.array([[0, 0], [5, 5], [9, 1]])
    >>> _in_any_box(points, np.array([[4, 4, 6, 6], [8, 0, 9, 1]])).tolist()
    [False, True, True]
    """
    points = PointsByX(xy[:, 0], xy[:, 1])
    inside = np.zeros(len(xy), dtype=bool)
    for box in boxes:
        inside[points.in_box(*box)] = True
    return inside


class RoadEdges:
    """The road graph's edges as arrays, indexed by their nodes' positions, built once for
    all networks.

    Parameters
    ----------
    u, v, length_m, cost_factor, road_class
        The edge table's columns.
    node_xy
        (x, y) of each node, by node id (0 … n - 1).
    geometry
        The edges' LineStrings.
    """

    def __init__(
        self,
        u: np.ndarray,
        v: np.ndarray,
        length_m: np.ndarray,
        cost_factor: np.ndarray,
        road_class: np.ndarray,
        node_xy: np.ndarray,
        geometry: np.ndarray,
    ):
        self.u, self.v = u.astype(np.int64), v.astype(np.int64)
        self.length_m, self.cost_factor, self.road_class = length_m, cost_factor, road_class
        self.geometry = geometry
        ends = np.concatenate([self.u, self.v])
        order = np.argsort(ends, kind="stable")
        self._edge_at = np.tile(np.arange(len(self.u)), 2)[order]
        self._first = np.searchsorted(ends[order], np.arange(len(node_xy) + 1))
        self._node_ids = np.unique(ends)  # only the nodes of these edges are indexed
        self._nodes = shapely.STRtree(shapely.points(node_xy[self._node_ids]))

    @classmethod
    def from_frame(cls, edges: gpd.GeoDataFrame) -> RoadEdges:
        """From an edge table with geometries (``graph_edges``), nodes placed at the ends
        of their edges, which is where ``build_road_graph`` puts them. (A run reads only
        the edges it needs: :meth:`from_files`.)"""
        u, v = edges["u"].to_numpy(dtype=np.int64), edges["v"].to_numpy(dtype=np.int64)
        geometry = edges.geometry.to_numpy()
        node_xy = np.zeros((int(max(u.max(initial=-1), v.max(initial=-1))) + 1, 2))
        node_xy[u] = shapely.get_coordinates(shapely.get_point(geometry, 0))
        node_xy[v] = shapely.get_coordinates(shapely.get_point(geometry, -1))
        return cls(
            u,
            v,
            edges["length_m"].to_numpy(dtype=float),
            _cost_factor(edges),
            edges["road_class"].to_numpy(dtype=object),
            node_xy,
            geometry,
        )

    @classmethod
    def from_files(cls, edges_path: Path, nodes_path: Path, boxes: np.ndarray) -> RoadEdges:
        """From ``graph_edges.parquet`` and ``graph_nodes.parquet``, only the edges with a
        node inside one of ``boxes`` (rows of x0, y0, x1, y1): the networks' search areas.
        Reading and decoding a million edges costs more than designing a city's networks."""
        import pyarrow.parquet as pq

        nodes = pd.read_parquet(nodes_path, columns=["node_id", "x", "y"])
        ids = nodes["node_id"].to_numpy(dtype=np.int64)
        node_xy = np.zeros((int(ids.max(initial=-1)) + 1, 2))
        node_xy[ids] = nodes[["x", "y"]].to_numpy()
        inside = _in_any_box(node_xy, boxes)
        file = pq.ParquetFile(edges_path)
        ends = file.read(columns=["u", "v"])
        u, v = ends.column("u").to_numpy(), ends.column("v").to_numpy()
        rows = np.flatnonzero(inside[u] | inside[v])
        # read only the row groups that hold them (graph_edges is sorted by area)
        sizes = [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        groups = np.unique(np.searchsorted(starts, rows, side="right") - 1)
        shift = starts[groups] - np.cumsum(np.r_[0, np.diff(starts)[groups]])[:-1]
        columns = [c for c in EDGE_READ if c in file.schema_arrow.names]
        table = file.read_row_groups(groups.tolist(), columns=columns)
        at = np.searchsorted(starts[groups], rows, side="right") - 1
        table = table.take(rows - shift[at])
        return cls(
            u[rows],
            v[rows],
            table.column("length_m").to_numpy(),
            table.column("cost_factor").to_numpy()
            if "cost_factor" in table.column_names
            else np.ones(len(rows)),
            table.column("road_class").to_numpy(zero_copy_only=False).astype(object),
            node_xy,
            shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False)),
        )

    def near(self, bounds: tuple, margin_m: float, pieces: dict[str, list[SegmentRow]]) -> nx.Graph:
        """The road graph within ``margin_m`` of ``bounds`` (the edges with a node there),
        each edge that routing split replaced by its ``pieces``. Edges carry ``length_m``,
        ``cost_factor``, ``road_class``, ``geometry`` and ``segment_id``."""
        x0, y0, x1, y1 = bounds
        nodes = self._node_ids[
            self._nodes.query(
                shapely.box(x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m)
            )
        ]
        first, count = self._first[nodes], np.diff(self._first)[nodes]
        at = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
        found = np.unique(self._edge_at[at])
        u, v = self.u[found], self.v[found]
        sids = [
            f"{a}-{b}"
            for a, b in zip(np.minimum(u, v).tolist(), np.maximum(u, v).tolist(), strict=True)
        ]
        g = nx.Graph()
        g.add_edges_from(
            (
                a,
                b,
                {
                    "length_m": m,
                    "cost_factor": f,
                    "road_class": c,
                    "geometry": geo,
                    "segment_id": i,
                },
            )
            for a, b, m, f, c, geo, i in zip(
                u.tolist(),
                v.tolist(),
                self.length_m[found].tolist(),
                self.cost_factor[found].tolist(),
                self.road_class[found].tolist(),
                self.geometry[found],
                sids,
                strict=True,
            )
            if i not in pieces
        )
        for sid in sids:
            if sid in pieces:
                add_segments(g, pieces[sid])
        return g


def _cost_factor(edges: pd.DataFrame) -> np.ndarray:
    return (
        edges["cost_factor"].to_numpy(dtype=float)
        if "cost_factor" in edges
        else np.ones(len(edges))
    )


def split_pieces(segments: pd.DataFrame) -> dict[str, list[SegmentRow]]:
    """The pieces of the edges that routing split, by the edge they were cut from."""
    pieces = segments.loc[segments["parent_edge"].notna()].drop_duplicates("segment_id")
    out: dict[str, list[SegmentRow]] = {}
    for parent, row in zip(pieces["parent_edge"], segment_rows(pieces), strict=True):
        out.setdefault(parent, []).append(row)
    return out


SegmentRow = tuple[int, int, float, float, str, str, shapely.Geometry]


def segment_rows(segments: pd.DataFrame) -> list[SegmentRow]:
    """Route segments (:data:`~pipeline.stages.route_links.SEGMENT_COLUMNS`) as plain rows
    for :func:`add_segments`: from and to node, length, civils factor, road class,
    segment id and geometry."""
    columns = ["from_node", "to_node", "length_m", "cost_factor", "road_class", "segment_id"]
    return [
        (int(a), int(b), float(length), float(factor), road_class, sid, geometry)
        for (a, b, length, factor, road_class, sid), geometry in zip(
            pd.DataFrame(segments[columns]).itertuples(index=False, name=None),
            segments.geometry.to_numpy(),
            strict=True,
        )
    ]


def add_segments(g: nx.Graph, rows: list[SegmentRow]) -> None:
    """Add route segments (:func:`segment_rows`) to a graph as edges with the attributes
    of :meth:`RoadEdges.near`."""
    g.add_edges_from(
        (a, b, {"length_m": m, "cost_factor": f, "road_class": c, "segment_id": i, "geometry": geo})
        for a, b, m, f, c, i, geo in rows
    )


def link_ends(segments: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Each routed link's first and last road node along its path (segments are in path
    order); a link with no road segment is absent."""
    by_link = segments.groupby("link_id", sort=False)
    first, last = by_link["from_node"].first(), by_link["to_node"].last()
    return {
        k: (int(a), int(b))
        for k, a, b in zip(first.index, first.to_numpy(), last.to_numpy(), strict=True)
    }
