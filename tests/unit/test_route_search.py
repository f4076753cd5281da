"""The batched searches of route_links: scipy's Dijkstra against networkx, and Dask."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from conftest import X0, Y0, grid_roads
from pipeline.config import RoutingConfig
from pipeline.executor import DaskExecutor, ExecutorOptions, LocalExecutor, open_executor
from pipeline.route_search import Batch, EdgeArrays, TileSource, edge_key, route_sources
from pipeline.stages import route_links as rl
from pipeline.stages.build_road_graph import build_road_graph


@st.composite
def graphs(draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random undirected graphs with parallel edges, loops and zero lengths allowed."""
    n = draw(st.integers(2, 12))
    m = draw(st.integers(1, 30))
    u = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    v = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(0.5, 100.0), st.sampled_from([10.0, 20.0])),
            min_size=m,
            max_size=m,
        )
    )
    return np.array(u) * 7 + 3, np.array(v) * 7 + 3, np.array(w)  # ids not 0..n-1


def _nx_graph(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> nx.Graph:
    """The networkx graph routing would see: no loops, the shortest of parallel edges."""
    G = nx.Graph()
    for a, b, length in zip(u.tolist(), v.tolist(), w.tolist(), strict=True):
        if a != b and (not G.has_edge(a, b) or G.edges[a, b]["w"] > length):
            G.add_edge(a, b, w=length)
    return G


@settings(max_examples=150, deadline=None)
@given(graphs(), st.floats(0.0, 150.0), st.data())
def test_route_sources_equals_networkx_dijkstra(graph, limit_m, data):
    """Every node's distance within the limit, and only those, as networkx finds them;
    each path is a path of the graph whose length is that distance."""
    u, v, w = graph
    G = _nx_graph(u, v, w)
    if not G.number_of_nodes():
        return
    source = data.draw(st.sampled_from(sorted(G.nodes)))
    want = nx.single_source_dijkstra_path_length(G, source, cutoff=limit_m, weight="w")
    nodes = np.array(sorted(G.nodes), dtype=np.int64)
    batch = Batch(
        batch_id=0,
        bbox=(0.0, 0.0, 0.0, 0.0),
        source_node=np.array([source]),
        limit_m=np.array([limit_m]),
        pair_source=np.zeros(len(nodes), dtype=np.int64),
        pair_key=np.arange(len(nodes)),
        target_pair=np.arange(len(nodes)),
        target_node=nodes,
        target_spur_m=np.zeros(len(nodes)),
    )
    found = route_sources(EdgeArrays(u, v, w, np.zeros((len(u), 4))), batch)
    got = dict(zip(found.target_node.tolist(), found.network_length_m.tolist(), strict=True))
    assert set(got) == set(want)
    for i, t in enumerate(found.target_node.tolist()):
        assert got[t] == pytest.approx(want[t], abs=1e-6)
        path = found.path(i).tolist()
        assert path[0] == source and path[-1] == t
        length = sum(G.edges[a, b]["w"] for a, b in zip(path[:-1], path[1:], strict=True))
        assert length == pytest.approx(want[t], abs=1e-6)


def test_each_pair_ends_at_its_nearest_target_with_the_spur():
    # a line 0 - 10 - 20 of 100 m edges: target 20 at 200 m + 0 beats target 10 at
    # 100 m + 150 m of spur; a tie of road plus spur goes to the smaller node id
    e = EdgeArrays(
        np.array([0, 10]), np.array([10, 20]), np.array([100.0, 100.0]), np.zeros((2, 4))
    )
    batch = Batch(
        0,
        (0.0, 0.0, 0.0, 0.0),
        source_node=np.array([0]),
        limit_m=np.array([1000.0]),
        pair_source=np.array([0, 0]),
        pair_key=np.array([5, 6]),
        target_pair=np.array([0, 0, 1, 1]),
        target_node=np.array([10, 20, 20, 10]),
        target_spur_m=np.array([150.0, 0.0, 0.0, 100.0]),
    )
    f = route_sources(e, batch)
    assert f.pair_key.tolist() == [5, 6]
    assert f.target_node.tolist() == [20, 10]
    assert (f.network_length_m + f.target_spur_m).tolist() == [200.0, 200.0]


# --- the routes do not depend on batches, tiles or executor --------------------------------


def _region() -> tuple[gpd.GeoDataFrame, ...]:
    roads = grid_roads(n=9).rename(columns={"highway": "road_class"})
    nodes, edges = build_road_graph(roads)
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(6)]},
        geometry=[Point(X0 + 35 + 110 * i, Y0 + 20 + 90 * (i % 3)) for i in range(6)],
        crs=27700,
    )
    zones = gpd.GeoDataFrame(
        {"zone_id": [f"Z{i}" for i in range(4)]},
        geometry=[box(X0 + 150 * i + 60, Y0 + 500, X0 + 150 * i + 120, Y0 + 560) for i in range(4)],
        crs=27700,
    )
    return nodes, edges, sites, zones


CFG = RoutingConfig(max_link_length_m=700, max_snap_distance_m=100)


def test_routes_do_not_depend_on_the_batches(monkeypatch):
    """One source per batch (its own small tile) gives the routes one batch of all does."""
    nodes, edges, sites, zones = _region()
    whole = rl.route_links(nodes, edges, sites, zones, CFG)
    monkeypatch.setattr(rl, "BATCH_SOURCES", 1)
    tiled = rl.route_links(nodes, edges, sites, zones, CFG)
    assert whole.routes["reason"].isna().sum() >= 4  # the case routes something
    pd.testing.assert_frame_equal(tiled.routes, whole.routes)
    pd.testing.assert_frame_equal(tiled.segments, whole.segments)


def test_tiles_read_from_the_edge_store_equal_the_arrays(tmp_path):
    """A task's tile read from the sorted GeoParquet store, less the split edges and
    plus their pieces, holds the edges the in-memory tile does."""
    from pipeline.io import to_spatial_parquet

    nodes, edges, sites, zones = _region()
    t_nodes, t_edges = rl.graph_tables(nodes, edges)
    sinks = rl.sinks_table(zones, None)
    graph = rl.attach(t_nodes, t_edges, sites, sinks, CFG.max_snap_distance_m)
    assert graph.n_pieces > 0
    to_spatial_parquet(t_edges, tmp_path / "edges.parquet")
    stored = rl._store(graph, tmp_path / "edges.parquet")
    held = TileSource(arrays=graph.edge_arrays())
    x0, y0 = X0 + 100, Y0 + 100
    for bbox in [(x0, y0, x0 + 250, y0 + 300), (X0 - 10, Y0 - 10, X0 + 900, Y0 + 900)]:
        a, b = stored.tile(bbox), held.tile(bbox)
        assert sorted(edge_key(a.u, a.v).tolist()) == sorted(edge_key(b.u, b.v).tolist())
        assert 0 < len(a.u) <= graph.alive.sum()


# --- Dask ---------------------------------------------------------------------------------


def _die_once(marker: str, fn, shared, item):
    """Kill this worker process the first time any task runs; then run ``fn``."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return fn(shared, item)


def _raise_once(marker: str, fn, shared, item):
    if not os.path.exists(marker):
        Path(marker).touch()
        raise OSError("a passing failure")
    return fn(shared, item)


class _Flaky:
    """A Dask executor whose tasks go through ``wrapper`` first."""

    name = "dask"
    in_process = False

    def __init__(self, inner: DaskExecutor, wrapper, marker: Path) -> None:
        self.inner, self.wrapper, self.marker = inner, wrapper, str(marker)

    def map(self, fn, items, *, desc, shared=None):
        from functools import partial

        return self.inner.map(
            partial(self.wrapper, self.marker, fn), items, desc=desc, shared=shared
        )


@pytest.fixture(scope="module")
def dask_executor():
    pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    os.environ["HEATLINK_DASK_PROGRESS"] = "0"
    with open_executor(ExecutorOptions(kind="dask", n_workers=2)) as ex:
        yield ex


@pytest.mark.slow
@pytest.mark.parametrize("wrapper", [_die_once, _raise_once], ids=["lost-worker", "error"])
def test_a_failed_batch_is_rerun_without_duplicate_rows(
    dask_executor, wrapper, tmp_path, monkeypatch
):
    """A batch whose worker dies (or that raises) is run again; the routes equal a local
    run's, one row per pair."""
    nodes, edges, sites, zones = _region()
    monkeypatch.setattr(rl, "BATCH_SOURCES", 2)  # three batches
    want = rl.route_links(nodes, edges, sites, zones, CFG, executor=LocalExecutor())
    marker = tmp_path / "failed-once"
    flaky = _Flaky(dask_executor, wrapper, marker)
    got = rl.route_links(nodes, edges, sites, zones, CFG, executor=flaky)
    assert marker.exists()  # a task did fail
    assert got.routes["link_id"].is_unique
    assert not got.routes.duplicated(["site_id", "sink_id"]).any()
    pd.testing.assert_frame_equal(got.routes, want.routes)
    pd.testing.assert_frame_equal(got.segments, want.segments)
