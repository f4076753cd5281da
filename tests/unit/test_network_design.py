"""Network design (issue 11): the Steiner heuristic against the exact MILP, and known answers."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.data import load_pipe_catalogue
from pipeline.engineering.hydraulics import size_pipes
from pipeline.engineering.network_design import (
    consumers_in_zone,
    cost_tree,
    dn_options_from_catalogue,
    downstream_consumers,
    downstream_loads,
    heuristic_design,
    simultaneity_factor,
    size_segments,
    steiner_layout,
)
from pipeline.engineering.network_milp import milp_design

HYDRAULICS = {
    "supply_temp_c": 80.0,
    "return_temp_c": 50.0,
    "max_pressure_gradient_pa_per_m": 150.0,
    "roughness_mm": 0.1,
    "velocity_cap_points": [(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)],
}

OPTIONS = pd.DataFrame({"dn": [50, 100, 150], "capacity_mw": [1.5, 4.0, 10.0]})
OPTIONS["cost_per_m"] = [700.0, 900.0, 1200.0]


@functools.cache
def catalogue_options() -> pd.DataFrame:
    """DN options of the shipped catalogue, series 1, at 80/50 °C and 150 Pa/m."""
    catalogue = load_pipe_catalogue().query("series == 1")
    return dn_options_from_catalogue(catalogue, **HYDRAULICS)


@dataclass
class Instance:
    graph: nx.Graph
    root: int
    sink_loads_mw: dict[int, float]


def _grid(rng: np.random.Generator) -> nx.Graph:
    rows, cols = rng.integers(3, 7, size=2)
    while rows * cols < 10:
        rows += 1
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(int(rows), int(cols)))
    for u, v in g.edges:
        g.edges[u, v]["length_m"] = float(rng.uniform(40.0, 200.0))
        g.edges[u, v]["cost_factor"] = float(rng.choice([1.0, 1.0, 1.0, 1.5, 2.0]))
    edges = list(g.edges)
    for i in rng.permutation(len(edges))[: int(rng.integers(0, len(edges) // 4 + 1))]:
        g.remove_edge(*edges[i])
        if not nx.is_connected(g):
            g.add_edge(*edges[i], **{"length_m": 100.0, "cost_factor": 1.0})
    return g


def _geometric(rng: np.random.Generator) -> nx.Graph:
    """A random geometric graph of mean degree about 5 (road-like), largest part of 10+."""
    while True:
        n = int(rng.integers(12, 46))
        radius = float(np.sqrt(5.0 / (np.pi * n)))
        g = nx.random_geometric_graph(n, radius, seed=int(rng.integers(2**31)))
        g = g.subgraph(max(nx.connected_components(g), key=len)).copy()
        if 10 <= g.number_of_nodes() <= 40:
            break
    g = nx.convert_node_labels_to_integers(g)
    for u, v in g.edges:
        (x0, y0), (x1, y1) = g.nodes[u]["pos"], g.nodes[v]["pos"]
        g.edges[u, v]["length_m"] = 1000.0 * float(np.hypot(x1 - x0, y1 - y0)) + 1.0
        g.edges[u, v]["cost_factor"] = float(rng.choice([1.0, 1.0, 1.5]))
    return g


def _tree(rng: np.random.Generator) -> nx.Graph:
    n = int(rng.integers(10, 41))
    g = nx.Graph()
    for i in range(1, n):
        g.add_edge(i, int(rng.integers(0, i)), length_m=float(rng.uniform(40.0, 200.0)))
    return g


def random_instance(seed: int, kind: str) -> Instance:
    """A small street graph (grid, geometric or tree) with a source and 2-5 sinks."""
    rng = np.random.default_rng(seed)
    g = {"grid": _grid, "geometric": _geometric, "tree": _tree}[kind](rng)
    nodes = rng.permutation(g.number_of_nodes())
    n_sinks = int(rng.integers(2, 6))
    while len(nodes) < n_sinks + 1:  # pragma: no cover - graphs have at least 10 nodes
        n_sinks -= 1
    loads = rng.uniform(0.1, 4.0, size=n_sinks)
    sinks = {int(n): float(q) for n, q in zip(nodes[1 : n_sinks + 1], loads, strict=True)}
    return Instance(g, int(nodes[0]), sinks)


def both_designs(inst: Instance, options: pd.DataFrame):
    kwargs = {"root": inst.root, "sink_loads_mw": inst.sink_loads_mw, "dn_options": options}
    return heuristic_design(inst.graph, **kwargs), milp_design(inst.graph, **kwargs)


# ----------------------------------------------------------------- properties

seeds = st.integers(min_value=0, max_value=2**32 - 1)
# The 5 % bound is empirical (worst measured gap 4.1 % over 200 seeded instances), so the
# property tests are derandomised: CI meets the same instances every run, and a new seed
# that beats the heuristic is found by running them with derandomize=False, not by a flaky
# CI.


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=seeds, kind=st.sampled_from(["grid", "geometric"]))
def test_heuristic_is_within_5_pct_of_milp_and_milp_is_never_dearer(seed: int, kind: str):
    heuristic, exact = both_designs(random_instance(seed, kind), catalogue_options())
    assert exact.capex <= heuristic.capex * (1 + 1e-7)
    assert heuristic.capex <= exact.capex * 1.05


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=seeds)
def test_on_a_tree_shaped_street_graph_the_two_are_equal(seed: int):
    heuristic, exact = both_designs(random_instance(seed, "tree"), catalogue_options())
    assert heuristic.capex == pytest.approx(exact.capex, rel=1e-7)
    assert set(zip(heuristic.pipes.u, heuristic.pipes.v, strict=True)) == set(
        zip(exact.pipes.u, exact.pipes.v, strict=True)
    )


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=seeds, kind=st.sampled_from(["grid", "geometric"]))
def test_layout_is_a_tree_whose_leaves_are_terminals_and_loads_balance(seed: int, kind: str):
    inst = random_instance(seed, kind)
    tree = steiner_layout(inst.graph, inst.sink_loads_mw, root=inst.root)
    terminals = {inst.root, *inst.sink_loads_mw}
    assert nx.is_tree(tree)
    assert terminals <= set(tree)
    assert all(n in terminals for n in tree if tree.degree(n) == 1)
    loads = downstream_loads(tree, root=inst.root, sink_loads_mw=inst.sink_loads_mw)
    out_of_root = sum(q for (u, _), q in loads.items() if u == inst.root)
    assert out_of_root == pytest.approx(sum(inst.sink_loads_mw.values()))
    # Every tree edge is a graph edge with its own length.
    assert all(tree.edges[e]["length_m"] == inst.graph.edges[e]["length_m"] for e in tree.edges)


# ----------------------------------------------------------------- known answers


def _star() -> nx.Graph:
    """A source r 300 m from a crossing c; sinks a, b, d 100 m beyond it."""
    g = nx.Graph()
    g.add_edge("r", "c", length_m=300.0)
    for sink in "abd":
        g.add_edge("c", sink, length_m=100.0)
    g.add_edge("a", "b", length_m=250.0)
    g.add_edge("r", "a", length_m=420.0, cost_factor=1.0)
    return g


def test_three_sink_star_shares_one_trunk():
    loads = {"a": 1.0, "b": 1.0, "d": 1.0}
    heuristic, exact = both_designs(Instance(_star(), "r", loads), OPTIONS)
    pipes = heuristic.pipes.set_index(["u", "v"])
    assert set(pipes.index) == {("r", "c"), ("c", "a"), ("c", "b"), ("c", "d")}
    assert pipes.loc[("r", "c"), "flow_mw"] == 3.0
    assert pipes.loc[("r", "c"), "dn"] == 100
    assert (pipes.drop(index=[("r", "c")])["dn"] == 50).all()
    # 300 m of DN100 and 3 x 100 m of DN50.
    assert heuristic.capex == pytest.approx(300 * 900.0 + 300 * 700.0)
    assert exact.capex == pytest.approx(heuristic.capex)
    assert exact.bound == pytest.approx(exact.capex, rel=1e-6)
    assert exact.mip_gap == pytest.approx(0.0, abs=1e-6)


def test_a_line_gets_smaller_after_each_sink():
    line = nx.path_graph(["r", "a", "b", "c"])
    nx.set_edge_attributes(line, 100.0, "length_m")
    loads = {"a": 3.0, "b": 2.0, "c": 1.0}
    design = cost_tree(line, root="r", sink_loads_mw=loads, dn_options=OPTIONS)
    assert design.pipes["flow_mw"].tolist() == [6.0, 3.0, 1.0]
    assert design.pipes["dn"].tolist() == [150, 100, 50]
    assert design.capex == pytest.approx(100 * (1200.0 + 900.0 + 700.0))
    assert milp_design(line, root="r", sink_loads_mw=loads, dn_options=OPTIONS).capex == (
        pytest.approx(design.capex)
    )


def test_the_civils_factor_moves_the_trunk():
    """Two equal routes; the one along a dearer road class loses."""
    g = nx.Graph()
    g.add_edge("r", "x", length_m=100.0, cost_factor=2.0)
    g.add_edge("x", "s", length_m=100.0, cost_factor=2.0)
    g.add_edge("r", "y", length_m=110.0)
    g.add_edge("y", "s", length_m=110.0)
    tree = steiner_layout(g, ["s"], root="r")
    assert set(tree) == {"r", "y", "s"}
    exact = milp_design(g, root="r", sink_loads_mw={"s": 1.0}, dn_options=OPTIONS)
    assert exact.capex == pytest.approx(220 * 700.0)


def test_the_milp_can_route_a_big_load_on_its_own_short_path():
    """Where the trench-shortest tree pushes a big load a long way, the MILP may pay more
    trench to carry it in a small pipe; the MILP is never dearer than the heuristic."""
    g = nx.Graph()
    g.add_edge("r", "a", length_m=100.0)
    g.add_edge("a", "b", length_m=100.0)
    g.add_edge("r", "b", length_m=190.0)
    heuristic, exact = both_designs(Instance(g, "r", {"a": 0.5, "b": 3.5}), OPTIONS)
    assert exact.capex <= heuristic.capex + 1e-6


def test_parallel_edges_use_the_cheaper_one():
    g = nx.MultiGraph()
    g.add_edge("r", "s", length_m=200.0)
    g.add_edge("r", "s", length_m=120.0)
    tree = steiner_layout(g, ["s"], root="r")
    assert tree.edges["r", "s"]["length_m"] == 120.0


def test_milp_refuses_a_graph_over_max_edges_in_one_line():
    g = nx.grid_2d_graph(4, 4)
    nx.set_edge_attributes(g, 100.0, "length_m")
    with pytest.raises(ValueError) as info:
        milp_design(
            g,
            root=(0, 0),
            sink_loads_mw={(3, 3): 1.0},
            dn_options=OPTIONS,
            max_edges=10,
            name="north-dc-1",
        )
    message = str(info.value)
    assert "\n" not in message
    assert "'north-dc-1'" in message
    assert "24 candidate edges" in message
    assert "network_design.method: heuristic" in message


def test_unreachable_sink_and_bad_loads_are_refused():
    g = nx.Graph()
    g.add_edge("r", "a", length_m=10.0)
    g.add_edge("x", "y", length_m=10.0)
    with pytest.raises(ValueError, match="cannot be reached"):
        steiner_layout(g, ["y"], root="r")
    with pytest.raises(ValueError, match="cannot be reached"):
        milp_design(g, root="r", sink_loads_mw={"y": 1.0}, dn_options=OPTIONS)
    with pytest.raises(ValueError, match="largest DN"):
        milp_design(g, root="r", sink_loads_mw={"a": 99.0}, dn_options=OPTIONS)
    with pytest.raises(ValueError, match="largest DN"):
        cost_tree(g.subgraph(["r", "a"]), root="r", sink_loads_mw={"a": 99.0}, dn_options=OPTIONS)
    with pytest.raises(ValueError, match="negative"):
        downstream_loads(nx.path_graph(2), root=0, sink_loads_mw={1: -1.0})
    with pytest.raises(ValueError, match="not a tree"):
        downstream_loads(nx.cycle_graph(3), root=0, sink_loads_mw={1: 1.0})
    with pytest.raises(ValueError, match="no 'length_m'"):
        steiner_layout(nx.path_graph(3), [2], root=0)


def test_downstream_consumers_counts_sinks_and_diversity_falls_with_them():
    tree = nx.Graph([("r", "j"), ("j", "a"), ("j", "b"), ("b", "c")])
    sinks = {"a": 1, "b": 1, "c": 1}
    counts = downstream_consumers(tree, root="r", consumers_per_sink=sinks)
    assert counts == {("r", "j"): 3.0, ("j", "a"): 1.0, ("j", "b"): 2.0, ("b", "c"): 1.0}
    factors = simultaneity_factor([0, 1, 2, 10, 100, 1000])
    assert factors[0] == factors[1] == 1.0
    assert np.all(np.diff(factors[1:]) < 0)
    assert 0.4497 < factors[-1] < 0.46  # tends to a = 0.4497
    assert consumers_in_zone(0.0, building_demand_mwh_per_yr=15.0) == 1.0
    with pytest.raises(ValueError):
        consumers_in_zone(10.0, building_demand_mwh_per_yr=0.0)


def test_segments_and_options_are_sized_by_the_links_rule():
    catalogue = load_pipe_catalogue().query("series == 1")
    loads = {("r", "a"): 6.0, ("a", "b"): 0.4}
    sized = size_segments(loads, catalogue, **HYDRAULICS)
    direct = size_pipes(list(loads.values()), catalogue, **HYDRAULICS)
    assert sized["dn"].tolist() == direct["dn"].tolist()
    assert list(sized.index) == list(loads)
    options = catalogue_options()
    assert np.all(np.diff(options["capacity_mw"]) > 0)
    # The smallest option that covers a load is the DN size_pipes gives it.
    for load, dn in zip(loads.values(), direct["dn"], strict=True):
        first = options[options["capacity_mw"] >= load].iloc[0]
        assert first["dn"] == dn
