"""The fast road graph (issue 12) builds the same tables as the implementation it replaced.

``node_road_lines`` was made faster by keying vertices with one int64 instead of
``np.unique(..., axis=0)``, picking the shortest parallel edge without a sort, and making
edge lines in table order. ``_reference_node_road_lines`` below is the previous
implementation, kept as the oracle: on random road networks (shared and repeated
vertices, sub-millimetre differences, parallel edges, self-loops) both must give the same
nodes and edges, row for row.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from shapely.geometry import LineString

from pipeline.stages.build_road_graph import (
    SNAP_M,
    _first_smallest,
    _row_keys,
    node_road_lines,
)


def _reference_node_road_lines(roads: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, ...]:
    """``node_road_lines`` as it was before issue 12 (slow, known good)."""
    lines = roads.geometry.to_numpy()
    cost_factor = (
        roads["cost_factor"].to_numpy(dtype=float)
        if "cost_factor" in roads
        else np.ones(len(roads))
    )
    coords, line_idx = shapely.get_coordinates(lines, return_index=True)
    key = np.round(coords / SNAP_M).astype(np.int64)
    dup = np.zeros(len(coords), dtype=bool)
    dup[1:] = (line_idx[1:] == line_idx[:-1]) & (key[1:] == key[:-1]).all(axis=1)
    coords, line_idx, key = coords[~dup], line_idx[~dup], key[~dup]
    first = np.ones(len(coords), dtype=bool)
    first[1:] = line_idx[1:] != line_idx[:-1]
    last = np.ones(len(coords), dtype=bool)
    last[:-1] = line_idx[1:] != line_idx[:-1]
    _, vid, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    vid = vid.ravel()
    is_node = first | last | (counts[vid] >= 2)
    is_node &= ~(first & last)
    node_pos = np.flatnonzero(is_node)
    starts, ends = node_pos[:-1], node_pos[1:]
    same_line = line_idx[starts] == line_idx[ends]
    starts, ends = starts[same_line], ends[same_line]
    n_vertices = ends - starts + 1
    edge_of_vertex = np.repeat(np.arange(len(starts)), n_vertices)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(n_vertices)[:-1]]), n_vertices)
    vertex_idx = np.arange(n_vertices.sum()) + offsets
    geoms = shapely.linestrings(coords[vertex_idx], indices=edge_of_vertex)
    node_vids, node_first = np.unique(vid[node_pos], return_index=True)
    node_xy = coords[node_pos[node_first]]
    u = np.searchsorted(node_vids, vid[starts])
    v = np.searchsorted(node_vids, vid[ends])
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": shapely.length(geoms),
            "road_class": roads["road_class"].to_numpy()[line_idx[starts]],
            "cost_factor": cost_factor[line_idx[starts]],
        },
        geometry=geoms,
        crs=roads.crs,
    )
    edges = edges[edges["u"] != edges["v"]]
    a = np.minimum(edges["u"], edges["v"])
    b = np.maximum(edges["u"], edges["v"])
    order = np.lexsort((edges["length_m"].to_numpy(), b, a))
    edges = edges.iloc[order]
    edges = edges[~pd.DataFrame({"a": a.iloc[order], "b": b.iloc[order]}).duplicated().to_numpy()]
    nodes = gpd.GeoDataFrame(
        {"node_id": np.arange(len(node_vids)), "x": node_xy[:, 0], "y": node_xy[:, 1]},
        geometry=shapely.points(node_xy),
        crs=roads.crs,
    )
    return nodes, gpd.GeoDataFrame(edges.reset_index(drop=True), crs=roads.crs)


def _assert_same_table(fast: gpd.GeoDataFrame, slow: gpd.GeoDataFrame) -> None:
    """Same columns, values, order and geometries; dtypes too unless there are no rows
    (the previous code's empty ``road_class`` was object or str by how it got empty; now
    it always has the roads' dtype)."""
    assert list(fast.columns) == list(slow.columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(fast.drop(columns="geometry")),
        pd.DataFrame(slow.drop(columns="geometry")),
        check_exact=True,
        check_dtype=len(slow) > 0,
        check_index_type=len(slow) > 0,
    )
    assert fast.crs == slow.crs
    assert shapely.equals_exact(fast.geometry.to_numpy(), slow.geometry.to_numpy(), 0).all()


# a vertex on a 5 x 5 grid of 10 m, sometimes nudged by less than the 1 mm snap
_vertex = st.tuples(
    st.integers(0, 4), st.integers(0, 4), st.sampled_from([0.0, 0.0, 0.0, 0.0002, 0.3])
).map(lambda t: (400000.0 + 10 * t[0] + t[2], 300000.0 + 10 * t[1]))
_road = st.tuples(
    st.lists(_vertex, min_size=2, max_size=7),
    st.sampled_from(["residential", "service", "primary"]),
    st.sampled_from([1.0, 1.2, 2.5]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_road, min_size=1, max_size=12), st.booleans())
def test_node_road_lines_matches_the_previous_implementation(roads, with_cost) -> None:
    gdf = gpd.GeoDataFrame(
        {"road_class": [r[1] for r in roads]},
        geometry=[LineString(r[0]) for r in roads],
        crs=27700,
    )
    if with_cost:
        gdf["cost_factor"] = [r[2] for r in roads]
    nodes, edges = node_road_lines(gdf)
    ref_nodes, ref_edges = _reference_node_road_lines(gdf)
    _assert_same_table(nodes, ref_nodes)
    _assert_same_table(edges, ref_edges)


def _unique_rows_inverse(key: np.ndarray) -> np.ndarray:
    return np.unique(key, axis=0, return_inverse=True)[1].ravel()


_small = st.integers(-1000, 1000)
_huge = st.integers(np.iinfo(np.int64).min // 2, np.iinfo(np.int64).max // 2)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        arrays(np.int64, st.tuples(st.integers(1, 40), st.just(2)), elements=_small),
        arrays(np.int64, st.tuples(st.integers(1, 40), st.just(2)), elements=_huge),
    )
)
def test_row_keys_order_rows_as_unique_along_axis_0(key) -> None:
    """Both branches: offsets from the minimum, and ranks when offsets would overflow."""
    fast = np.unique(_row_keys(key), return_inverse=True)[1].ravel()
    assert (fast == _unique_rows_inverse(key)).all()


def test_row_keys_of_nothing() -> None:
    assert _row_keys(np.zeros((0, 2), dtype=np.int64)).tolist() == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from([0.5, 1.0, 1.0, 2.0, 3.25])),
        max_size=40,
    )
)
def test_first_smallest_keeps_what_a_lexsort_keeps(rows) -> None:
    """The row kept per group is the first after sorting by (group, value), stably."""
    rows = sorted(rows, key=lambda r: r[0])  # stable: groups sorted, values in any order
    group = np.array([r[0] for r in rows], dtype=np.int64)
    value = np.array([r[1] for r in rows], dtype=float)
    order = np.lexsort((value, group))
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    expected = np.zeros(len(rows), dtype=bool)
    expected[order[first]] = True
    assert (_first_smallest(group, value) == expected).all()
