"""Network design: the tree of pipes that joins a source to several sinks, and its sizes.

A source that serves several sinks is joined to them by one branched network, a tree on
the road graph, rather than by one pipe per sink. This module is the pure core of that
design: no I/O and no geometry, only networkx graphs whose edges carry ``length_m`` and
optionally ``cost_factor`` (the road class's civils multiplier, 1 when absent). The
trench weight of an edge, which drives its cost, is ``length_m × cost_factor``.

- Layout (:func:`steiner_layout`): a Steiner-tree heuristic. The cheapest of several
  constructions (Kou et al. 1981, Mehlhorn 1988 and the shortest-path heuristic of
  Takahashi & Matsuyama 1980 grown from each of a few terminals) is improved by a
  minimum spanning tree over its nodes, pruning of non-terminal leaves and key-path
  exchange.
- Loads (:func:`downstream_loads`, :func:`downstream_consumers`): each segment carries
  the sinks downstream of it, with the source as the root of the tree.
- Diversity (:func:`simultaneity_factor`): Winter, Haslauer & Obernberger (2001).
- Sizing (:func:`size_segments`): the DN of each segment by the links' own rule,
  :func:`pipeline.engineering.hydraulics.size_pipes`.
- Costing (:func:`cost_tree`, :func:`heuristic_design`): capex by segment, costed the
  same way as the exact design of :mod:`pipeline.engineering.network_milp` so that the
  two compare.

The functions work in any one currency: ``cost_per_m`` in the DN options and the capex
that comes out are in the same one.

References
----------
Kou, L., Markowsky, G. and Berman, L. (1981). A fast algorithm for Steiner trees.
*Acta Informatica* 15, 141-145.

Mehlhorn, K. (1988). A faster approximation algorithm for the Steiner problem in graphs.
*Information Processing Letters* 27(3), 125-128.

Takahashi, H. and Matsuyama, A. (1980). An approximate solution for the Steiner problem
in graphs. *Mathematica Japonica* 24(6), 573-577.

Winter, W., Haslauer, T. and Obernberger, I. (2001). Untersuchungen der Gleichzeitigkeit
in kleinen und mittleren Nahwärmenetzen. *Euroheat & Power* 30(9 and 10).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from pipeline.engineering.hydraulics import size_pipes
from pipeline.engineering.water import FloatOrArray, _nonnegative

Node = Hashable
Edge = tuple[Node, Node]

_W = "_trench_weight"
"""Working edge attribute: weight × cost_factor."""

_MAX_SPH_STARTS = 6
"""The shortest-path heuristic is grown from the root and from up to this many terminals."""

_MAX_MEDIAN_TERMINALS = 6
"""Branch points are sought among triples of the root and the first five sinks."""

_MAX_ROUNDS = 50
"""Upper bound on the rounds of improvement (each round must lower the weight)."""

_REL_TOL = 1e-12

WINTER_A = 0.449677646267461
WINTER_B = 0.551234688
WINTER_C = 53.84382392
WINTER_D = 1.762743268
"""Constants of GLF(n) = a + b / (1 + (n/c)^d), Winter, Haslauer & Obernberger (2001)."""

DN_OPTION_COLUMNS = ["dn", "capacity_mw", "cost_per_m"]
"""Columns of a table of DN options (:func:`dn_options_from_catalogue`)."""


# --------------------------------------------------------------------------- layout


def _edge_weight(data: Mapping, weight: str, u: Node, v: Node) -> float:
    value = data.get(weight)
    if value is None:
        raise ValueError(f"edge ({u!r}, {v!r}) has no {weight!r} attribute")
    factor = data.get("cost_factor", 1.0)
    if not (value >= 0 and factor > 0):
        raise ValueError(
            f"edge ({u!r}, {v!r}) needs {weight} >= 0 and cost_factor > 0, "
            f"got {value!r} and {factor!r}"
        )
    return float(value) * float(factor)


def _weighted_graph(graph: nx.Graph, weight: str) -> nx.Graph:
    """A simple undirected copy with the trench weight in ``_W`` (cheapest of parallels)."""
    g = nx.Graph()
    g.graph.update(graph.graph)
    g.add_nodes_from(graph.nodes(data=True))
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue
        w = _edge_weight(data, weight, u, v)
        if g.has_edge(u, v):
            if g.edges[u, v][_W] <= w:
                continue
            g.remove_edge(u, v)
        g.add_edge(u, v, **data)
        g.edges[u, v][_W] = w
    return g


def _connected_part(g: nx.Graph, root: Node) -> nx.Graph:
    """The part of ``g`` connected to the root (``g`` itself when it is connected); the
    Steiner constructions need a connected graph."""
    part = nx.node_connected_component(g, root)
    return g if len(part) == g.number_of_nodes() else g.subgraph(part).copy()


def _check_terminals(g: nx.Graph, terminals: Iterable[Node], root: Node) -> list[Node]:
    terms = list(dict.fromkeys([root, *terminals]))
    missing = [t for t in terms if t not in g]
    if missing:
        raise ValueError(f"terminal(s) {missing[:5]!r} are not nodes of the graph")
    reach = nx.node_connected_component(g, root)
    cut_off = [t for t in terms if t not in reach]
    if cut_off:
        raise ValueError(f"terminal(s) {cut_off[:5]!r} cannot be reached from root {root!r}")
    return terms


def _tree_weight(g: nx.Graph, edges: Iterable[Edge]) -> float:
    return float(sum(g.edges[u, v][_W] for u, v in edges))


def _nearest(g: nx.Graph, sources: Mapping[Node, float], targets: set[Node]) -> list[Node]:
    """Shortest path to the nearest node of ``targets`` from ``{source: start distance}``."""
    dist: dict[Node, float] = {}
    pred: dict[Node, Node] = {}
    count = itertools.count()
    heap = []
    for s, d0 in sources.items():
        if math.isfinite(d0):
            dist[s] = d0
            heap.append((d0, next(count), s))
    heapq.heapify(heap)
    while heap:
        d, _, n = heapq.heappop(heap)
        if d > dist[n]:
            continue
        if n in targets:
            path = [n]
            while path[-1] in pred:
                path.append(pred[path[-1]])
            return path[::-1]
        for m, data in g[n].items():
            nd = d + data[_W]
            if nd < dist.get(m, math.inf):
                dist[m] = nd
                pred[m] = n
                heapq.heappush(heap, (nd, next(count), m))
    raise ValueError("a terminal cannot be reached")  # pragma: no cover - checked before


def _shortest_path_heuristic(g: nx.Graph, terms: list[Node], start: Node) -> set[Edge]:
    """Grow a tree from ``start``, attaching the nearest unjoined terminal each time."""
    nodes = {start}
    edges: set[Edge] = set()
    remaining = set(terms) - nodes
    while remaining:
        path = _nearest(g, dict.fromkeys(nodes, 0.0), remaining)
        edges.update(zip(path[:-1], path[1:], strict=True))
        nodes.update(path)
        remaining -= nodes
    return edges


def _prune(g: nx.Graph, edges: Iterable[Edge], terms: set[Node]) -> nx.Graph:
    """The tree of ``edges`` with non-terminal leaves removed until none is left."""
    tree = nx.Graph()
    tree.add_nodes_from(terms)
    tree.add_edges_from(edges)
    leaves = [n for n in tree if tree.degree(n) <= 1 and n not in terms]
    while leaves:
        n = leaves.pop()
        neighbours = list(tree[n])
        tree.remove_node(n)
        leaves.extend(m for m in neighbours if tree.degree(m) <= 1 and m not in terms)
    return tree


def _mst_and_prune(g: nx.Graph, tree: nx.Graph, terms: set[Node]) -> nx.Graph:
    mst = nx.minimum_spanning_tree(g.subgraph(tree.nodes), weight=_W)
    return _prune(g, mst.edges, terms)


def _key_paths(tree: nx.Graph, terms: set[Node]) -> list[list[Node]]:
    """Paths between key nodes (terminals or branch points) through degree-2 Steiner nodes."""
    key = {n for n in tree if n in terms or tree.degree(n) >= 3}
    paths, seen = [], set()
    for k in key:
        for first in tree[k]:
            if frozenset((k, first)) in seen:
                continue
            path = [k, first]
            while path[-1] not in key:
                path.append(next(m for m in tree[path[-1]] if m != path[-2]))
            seen.update(frozenset(e) for e in zip(path[:-1], path[1:], strict=True))
            paths.append(path)
    return paths


def _exchange_key_path(g: nx.Graph, tree: nx.Graph, terms: set[Node]) -> nx.Graph | None:
    """The first cheaper tree found by swapping one key path for a shortest reconnection."""
    for path in sorted(_key_paths(tree, terms), key=lambda p: -_tree_weight(g, _pairs(p))):
        removed = _tree_weight(g, _pairs(path))
        rest = tree.copy()
        rest.remove_edges_from(_pairs(path))
        rest.remove_nodes_from(path[1:-1])
        side = nx.node_connected_component(rest, path[0])
        other = set(rest) - side
        reconnect = _nearest(g, dict.fromkeys(side, 0.0), other)
        added = _tree_weight(g, _pairs(reconnect))
        if added < removed * (1 - 1e-9):
            rest.add_edges_from(_pairs(reconnect))
            return _mst_and_prune(g, rest, terms)
    return None


def _pairs(path: Sequence[Node]) -> list[Edge]:
    return list(zip(path[:-1], path[1:], strict=True))


def _improve(g: nx.Graph, edges: Iterable[Edge], terms: set[Node]) -> nx.Graph:
    tree = _mst_and_prune(g, _prune(g, edges, terms), terms)
    for _ in range(_MAX_ROUNDS):
        better = _exchange_key_path(g, tree, terms)
        if better is None:
            break
        tree = better
    return tree


def _constructions(g: nx.Graph, terms: list[Node]) -> list[set[Edge]]:
    out = []
    if len(terms) >= 2:
        for method in ("kou", "mehlhorn"):
            out.append(set(nx.algorithms.approximation.steiner_tree(g, terms, _W, method).edges))
    for start in terms[: _MAX_SPH_STARTS + 1]:
        out.append(_shortest_path_heuristic(g, terms, start))
    for x in _triple_medians(g, terms):
        out.append(_shortest_path_heuristic(g, [*terms, x], terms[0]))
    return out


def _triple_medians(g: nx.Graph, terms: list[Node]) -> list[Node]:
    """For triples of the first terminals, the node nearest to all three in sum.

    The best Steiner tree of three terminals is a star through such a node; adding it
    as a terminal lets the shortest-path heuristic find branch points it would miss.
    """
    first = terms[:_MAX_MEDIAN_TERMINALS]
    dist = [nx.single_source_dijkstra_path_length(g, t, weight=_W) for t in first]
    medians = []
    for i, j, k in itertools.combinations(range(len(first)), 3):
        x = min(dist[i], key=lambda n: dist[i][n] + dist[j][n] + dist[k][n])
        if x not in terms and x not in medians:
            medians.append(x)
    return medians


def steiner_layout(
    graph: nx.Graph, terminals: Iterable[Node], *, root: Node, weight: str = "length_m"
) -> nx.Graph:
    """A tree on the road graph that joins the terminals at low trench cost.

    Steiner-tree heuristic on the trench weight ``weight × cost_factor`` of each edge.
    Constructions: networkx's Kou et al. (1981) and Mehlhorn (1988) approximations
    (each within 2 - 2/l of the optimum, l the number of leaves) and the shortest-path
    heuristic of Takahashi & Matsuyama (1980) grown from the root and from up to six
    further terminals (attach the nearest unjoined terminal by its shortest path to the
    tree, repeatedly), and grown again with one extra terminal: for each triple of the
    root and the first five sinks, the node whose summed distance to the three is least
    (the branch point of their optimal three-terminal tree). Each is improved in the
    same way: the minimum spanning tree of the subgraph induced by its nodes, with
    non-terminal leaves pruned, then key-path
    exchange (remove the costliest path between key nodes, the terminals and branch
    points, and reconnect the two parts by their shortest path if that is cheaper) until
    no exchange helps. The cheapest tree is kept.

    Parameters
    ----------
    graph
        Undirected road graph (parallel edges allowed); each edge has ``weight`` and
        optionally ``cost_factor`` (default 1).
    terminals
        Nodes to join (the sinks' entries). The root is joined as well.
    root
        The source's node.
    weight
        Edge attribute of the length, in metres.

    Returns
    -------
    networkx.Graph
        The tree, with the graph's attributes and the edges' own attributes; every leaf
        is a terminal.

    Raises
    ------
    ValueError
        If a terminal is not in the graph or not connected to the root, or an edge lacks
        ``weight``.

    Examples
    --------
    Three sinks a, b, d around a crossing c; a direct road a-b of 150 m does not help:

    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("a", "c", length_m=100.0)
    >>> g.add_edge("b", "c", length_m=100.0)
    >>> g.add_edge("d", "c", length_m=100.0)
    >>> g.add_edge("a", "b", length_m=150.0)
    >>> tree = steiner_layout(g, ["b", "d"], root="a")
    >>> sorted(tuple(sorted(e)) for e in tree.edges)
    [('a', 'c'), ('b', 'c'), ('c', 'd')]
    >>> tree.size(weight="length_m")
    300.0
    """
    g = _weighted_graph(graph, weight)
    terms = _check_terminals(g, terminals, root)
    g = _connected_part(g, root)
    candidates = _layout_candidates(g, terms)
    return _as_output(graph, g, min(candidates, key=lambda t: _tree_weight(g, t.edges)))


def _layout_candidates(g: nx.Graph, terms: list[Node]) -> list[nx.Graph]:
    """Every construction, improved; distinct trees only, in construction order (a
    construction that repeats an earlier one is not improved again)."""
    out: dict[frozenset, nx.Graph] = {}
    seen: set[frozenset] = set()
    for edges in _constructions(g, terms):
        key = frozenset(frozenset(e) for e in edges)
        if key in seen:
            continue
        seen.add(key)
        tree = _improve(g, edges, set(terms))
        out.setdefault(frozenset(frozenset(e) for e in tree.edges), tree)
    return list(out.values())


def _as_output(graph: nx.Graph, g: nx.Graph, tree: nx.Graph) -> nx.Graph:
    """The tree with the graph's attributes and each edge's own (cheapest parallel) data."""
    out = nx.Graph()
    out.graph.update(graph.graph)
    out.add_nodes_from((n, graph.nodes[n]) for n in tree)
    for u, v in tree.edges:
        out.add_edge(u, v, **{k: x for k, x in g.edges[u, v].items() if k != _W})
    return out


# --------------------------------------------------------------------------- loads


def _downstream_sums(
    tree: nx.Graph, root: Node, values: Mapping[Node, float], what: str
) -> dict[Edge, float]:
    if root not in tree:
        raise ValueError(f"root {root!r} is not a node of the tree")
    if not nx.is_tree(tree):
        raise ValueError("the layout is not a tree")
    bad = [n for n in values if n not in tree or n == root]
    if bad:
        raise ValueError(f"{what} given for {bad[:5]!r}, which are not non-root tree nodes")
    order = list(nx.dfs_preorder_nodes(tree, root))
    parent = dict(nx.dfs_predecessors(tree, root))
    total = {n: float(values.get(n, 0.0)) for n in order}
    for n in reversed(order[1:]):
        total[parent[n]] += total[n]
    return {(parent[n], n): total[n] for n in order[1:]}


def downstream_loads(
    tree: nx.Graph, *, root: Node, sink_loads_mw: Mapping[Node, float]
) -> dict[Edge, float]:
    """Heat each segment carries: the sum of the loads of the sinks downstream of it.

    Parameters
    ----------
    tree
        The layout (:func:`steiner_layout`).
    root
        The source's node.
    sink_loads_mw
        Design heat of each sink, by node, ≥ 0. A sink may sit inside the tree.

    Returns
    -------
    dict
        ``{(u, v): load_mw}`` for every tree edge, oriented away from the root.

    Raises
    ------
    ValueError
        If the layout is not a tree, a sink is not in it or is the root, or a load is
        negative.

    Examples
    --------
    A line r-a-b with 2 MW at a and 1 MW at b:

    >>> import networkx as nx
    >>> downstream_loads(nx.path_graph(["r", "a", "b"]), root="r",
    ...                  sink_loads_mw={"a": 2.0, "b": 1.0})
    {('r', 'a'): 3.0, ('a', 'b'): 1.0}
    """
    _nonnegative("sink_loads_mw", list(sink_loads_mw.values()))
    return _downstream_sums(tree, root, sink_loads_mw, "sink_loads_mw")


def downstream_consumers(
    tree: nx.Graph, *, root: Node, consumers_per_sink: Mapping[Node, float]
) -> dict[Edge, float]:
    """Number of consumers downstream of each segment, for :func:`simultaneity_factor`.

    With ``{sink: 1}`` for every sink this is the number of sinks downstream.

    Parameters
    ----------
    tree
        The layout (:func:`steiner_layout`).
    root
        The source's node.
    consumers_per_sink
        Consumers (buildings) each sink stands for, by node, ≥ 0; see
        :func:`consumers_in_zone`.

    Returns
    -------
    dict
        ``{(u, v): consumers}`` for every tree edge, oriented away from the root.

    Raises
    ------
    ValueError
        As :func:`downstream_loads`.

    Examples
    --------
    >>> import networkx as nx
    >>> star = nx.star_graph(["r", "a", "b", "c"])
    >>> downstream_consumers(star, root="a", consumers_per_sink={"b": 1, "c": 1})
    {('a', 'r'): 2.0, ('r', 'b'): 1.0, ('r', 'c'): 1.0}
    """
    _nonnegative("consumers_per_sink", list(consumers_per_sink.values()))
    return _downstream_sums(tree, root, consumers_per_sink, "consumers_per_sink")


def simultaneity_factor(n_consumers: ArrayLike) -> FloatOrArray:
    """Share of the summed peak loads of n consumers that occurs at the same time.

    GLF(n) = a + b / (1 + (n/c)^d), with a = 0.449677646267461, b = 0.551234688,
    c = 53.84382392 and d = 1.762743268 (Winter, Haslauer & Obernberger 2001, fitted to
    measurements of small and medium Austrian heat networks with 1 to about 200
    consumers; it tends to a ≈ 0.45 for many consumers). GLF(1) from the fit is 1.0004;
    the factor is capped at 1, and n ≤ 1 gives 1. A segment's design heat is
    GLF(n) × the summed peak loads downstream, with n the consumers downstream
    (:func:`downstream_consumers`).

    How a zone counts: a demand zone is many buildings, so a sink stands for
    :func:`consumers_in_zone` consumers (its annual demand over a typical building's,
    an assumption), not for one. Above about 200 consumers the formula is an
    extrapolation.

    Parameters
    ----------
    n_consumers
        Number of consumers downstream, ≥ 0 (need not be whole).

    Returns
    -------
    The factor, in (0.45, 1].

    Raises
    ------
    ValueError
        If a number is negative.

    Examples
    --------
    >>> simultaneity_factor([1, 10, 50, 200]).round(3)
    array([1.   , 0.974, 0.743, 0.499])
    """
    n = _nonnegative("n_consumers", n_consumers)
    glf = WINTER_A + WINTER_B / (1.0 + (n / WINTER_C) ** WINTER_D)
    return np.where(n <= 1.0, 1.0, np.minimum(glf, 1.0))[()]


def diversified_load_mw(peak_loads_mw: ArrayLike, consumers: ArrayLike) -> float:
    """Design heat of a pipe that serves several sinks, each with its own diversified peak.

    Each sink's peak is already the simultaneous peak of its own n_i consumers, so it is
    first brought back to their undiversified sum, P_i / GLF(n_i); the pipe then carries
    GLF(Σ n_i) × Σ P_i / GLF(n_i) (:func:`simultaneity_factor`), and never less than the
    largest single P_i, which one sink can draw alone. For one sink this is its own peak.

    Parameters
    ----------
    peak_loads_mw
        Peak load of each sink served, MW, ≥ 0.
    consumers
        Consumers each sink stands for, ≥ 0 (:func:`consumers_in_zone`).

    Returns
    -------
    The pipe's design heat, MW.

    Examples
    --------
    Two zones of 50 consumers, 2 MW each: GLF(50) = 0.7433 and GLF(100) = 0.5882, so
    0.5882 × 2 × 2 / 0.7433 = 3.17 MW, not 4:

    >>> round(diversified_load_mw([2.0, 2.0], [50, 50]), 2)
    3.17
    >>> diversified_load_mw([2.0], [50])
    2.0
    """
    p = np.atleast_1d(_nonnegative("peak_loads_mw", peak_loads_mw)).astype(float)
    n = np.atleast_1d(_nonnegative("consumers", consumers)).astype(float)
    if p.shape != n.shape:
        raise ValueError("peak_loads_mw and consumers differ in length")
    if p.size == 0:
        return 0.0
    undiversified = float(np.sum(p / simultaneity_factor(n)))
    return float(max(simultaneity_factor(n.sum()) * undiversified, p.max()))


def diversified_loads(
    tree: nx.Graph,
    *,
    root: Node,
    sink_loads_mw: Mapping[Node, float],
    consumers_per_sink: Mapping[Node, float],
) -> dict[Edge, float]:
    """Design heat of each segment of a tree: :func:`diversified_load_mw` of the sinks
    downstream of it.

    Parameters
    ----------
    tree
        The layout (:func:`steiner_layout`).
    root
        The source's node.
    sink_loads_mw
        Peak load of each sink, by node, ≥ 0 (each sink's own diversified peak).
    consumers_per_sink
        Consumers each sink stands for, by node (1 where absent).

    Returns
    -------
    dict
        ``{(u, v): MW}`` for every tree edge, oriented away from the root.

    Raises
    ------
    ValueError
        As :func:`downstream_loads`.

    Examples
    --------
    A line r-a-b, zones of 50 consumers and 2 MW at a and at b:

    >>> import networkx as nx
    >>> loads = diversified_loads(nx.path_graph(["r", "a", "b"]), root="r",
    ...     sink_loads_mw={"a": 2.0, "b": 2.0}, consumers_per_sink={"a": 50, "b": 50})
    >>> {k: round(v, 2) for k, v in loads.items()}
    {('r', 'a'): 3.17, ('a', 'b'): 2.0}
    """
    _nonnegative("sink_loads_mw", list(sink_loads_mw.values()))
    n = {node: float(consumers_per_sink.get(node, 1.0)) for node in sink_loads_mw}
    glf = {node: float(simultaneity_factor(n[node])) for node in sink_loads_mw}
    undiversified = _downstream_sums(
        tree, root, {k: p / glf[k] for k, p in sink_loads_mw.items()}, "sink_loads_mw"
    )
    consumers = _downstream_sums(tree, root, n, "consumers_per_sink")
    largest = _downstream_max(tree, root, sink_loads_mw)
    return {
        e: max(float(simultaneity_factor(consumers[e])) * undiversified[e], largest[e])
        for e in undiversified
    }


def _downstream_max(tree: nx.Graph, root: Node, values: Mapping[Node, float]) -> dict[Edge, float]:
    order = list(nx.dfs_preorder_nodes(tree, root))
    parent = dict(nx.dfs_predecessors(tree, root))
    top = {node: float(values.get(node, 0.0)) for node in order}
    for node in reversed(order[1:]):
        top[parent[node]] = max(top[parent[node]], top[node])
    return {(parent[node], node): top[node] for node in order[1:]}


def consumers_in_zone(
    annual_demand_mwh: ArrayLike, *, building_demand_mwh_per_yr: float
) -> FloatOrArray:
    """Consumers a demand zone stands for: its annual demand over a typical building's.

    n = max(1, round(Q_zone / Q_building)). Which typical building demand to use is an
    assumption for the caller (about 15 MWh a year for a dwelling-sized consumer; larger
    for blocks of flats or non-domestic buildings); it is not taken from a source.

    Parameters
    ----------
    annual_demand_mwh
        Annual heat demand of each zone, ≥ 0.
    building_demand_mwh_per_yr
        Annual heat demand of one typical consumer, > 0.

    Returns
    -------
    Number of consumers, ≥ 1.

    Raises
    ------
    ValueError
        If a demand is negative or the building demand is not positive.

    Examples
    --------
    >>> consumers_in_zone([4.0, 300.0, 4500.0], building_demand_mwh_per_yr=15.0)
    array([  1.,  20., 300.])
    """
    if not building_demand_mwh_per_yr > 0:
        raise ValueError("building_demand_mwh_per_yr must be positive")
    q = _nonnegative("annual_demand_mwh", annual_demand_mwh)
    return np.maximum(1.0, np.round(q / building_demand_mwh_per_yr))[()]


# --------------------------------------------------------------------------- sizing


def size_segments(
    loads_mw: Mapping[Edge, float],
    catalogue: pd.DataFrame,
    *,
    supply_temp_c: float,
    return_temp_c: float,
    max_pressure_gradient_pa_per_m: float,
    roughness_mm: float,
    velocity_cap_points: Sequence[tuple[float, float]],
) -> pd.DataFrame:
    """The DN of each segment, by the links' rule (:func:`~.hydraulics.size_pipes`).

    Parameters
    ----------
    loads_mw
        Design heat of each segment, ``{(u, v): MW}`` (after any simultaneity factor).
    catalogue
        Pipe catalogue of one series (``dn`` and ``inner_diameter_mm``).
    supply_temp_c, return_temp_c, max_pressure_gradient_pa_per_m, roughness_mm, velocity_cap_points
        As :func:`pipeline.engineering.hydraulics.size_pipes`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~.hydraulics.size_pipes`, indexed by ``(u, v)``.

    Examples
    --------
    >>> import pandas as pd
    >>> catalogue = pd.DataFrame({"dn": [50, 100, 150], "inner_diameter_mm": [54.5, 107.1, 160.3]})
    >>> sized = size_segments(
    ...     {("r", "a"): 1.0, ("a", "b"): 0.1}, catalogue, supply_temp_c=80.0,
    ...     return_temp_c=50.0, max_pressure_gradient_pa_per_m=150.0, roughness_mm=0.1,
    ...     velocity_cap_points=[(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)],
    ... )
    >>> sized["dn"].to_dict()
    {('r', 'a'): 100, ('a', 'b'): 50}
    """
    index = pd.MultiIndex.from_tuples(list(loads_mw), names=["u", "v"])
    loads = pd.Series(list(loads_mw.values()), index=index, dtype=float)
    return size_pipes(
        loads,
        catalogue,
        supply_temp_c=supply_temp_c,
        return_temp_c=return_temp_c,
        max_pressure_gradient_pa_per_m=max_pressure_gradient_pa_per_m,
        roughness_mm=roughness_mm,
        velocity_cap_points=velocity_cap_points,
    )


def dn_options_from_catalogue(
    catalogue: pd.DataFrame,
    *,
    supply_temp_c: float,
    return_temp_c: float,
    max_pressure_gradient_pa_per_m: float,
    roughness_mm: float,
    velocity_cap_points: Sequence[tuple[float, float]],
) -> pd.DataFrame:
    """The DN options of a catalogue series: capacity by the links' rule and cost per metre.

    Each DN's capacity is the one :func:`~.hydraulics.size_pipes` gives it (the lower of
    the pressure-gradient and velocity-cap velocities); the cost is the catalogue's
    ``cost_eur_per_trench_m``, at the catalogue's prices (the caller converts them).

    Parameters
    ----------
    catalogue
        Pipe catalogue of one series, with ``dn``, ``inner_diameter_mm`` and
        ``cost_eur_per_trench_m``.
    supply_temp_c, return_temp_c, max_pressure_gradient_pa_per_m, roughness_mm, velocity_cap_points
        As :func:`pipeline.engineering.hydraulics.size_pipes`.

    Returns
    -------
    pandas.DataFrame
        Columns ``dn``, ``capacity_mw`` and ``cost_per_m``, by rising DN.

    Examples
    --------
    >>> import pandas as pd
    >>> catalogue = pd.DataFrame({"dn": [50, 100], "inner_diameter_mm": [54.5, 107.1],
    ...                           "cost_eur_per_trench_m": [778.0, 936.1]})
    >>> options = dn_options_from_catalogue(
    ...     catalogue, supply_temp_c=80.0, return_temp_c=50.0,
    ...     max_pressure_gradient_pa_per_m=150.0, roughness_mm=0.1,
    ...     velocity_cap_points=[(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)],
    ... )
    >>> options.round(2).values.tolist()
    [[50.0, 0.24, 778.0], [100.0, 1.4, 936.1]]
    """
    if "cost_eur_per_trench_m" not in catalogue:
        raise ValueError("catalogue lacks column 'cost_eur_per_trench_m'")
    rows = catalogue.sort_values("dn")
    capacity = [
        size_pipes(
            [0.0],
            rows.iloc[[i]],
            supply_temp_c=supply_temp_c,
            return_temp_c=return_temp_c,
            max_pressure_gradient_pa_per_m=max_pressure_gradient_pa_per_m,
            roughness_mm=roughness_mm,
            velocity_cap_points=velocity_cap_points,
        )["capacity_mw"].iloc[0]
        for i in range(len(rows))
    ]
    return pd.DataFrame(
        {
            "dn": rows["dn"].to_numpy(dtype=np.int64),
            "capacity_mw": np.asarray(capacity, dtype=float),
            "cost_per_m": rows["cost_eur_per_trench_m"].to_numpy(dtype=float),
        }
    )


# --------------------------------------------------------------------------- costing


@dataclass(frozen=True)
class NetworkDesign:
    """A designed network: its pipes, capex and, for the MILP, the solver's bound.

    Attributes
    ----------
    pipes
        One row per pipe segment, oriented from the source: ``u``, ``v``, ``dn``,
        ``capacity_mw``, ``flow_mw``, ``length_m``, ``trench_weight_m`` (length ×
        cost_factor), ``cost_per_m`` and ``capex``.
    capex
        Sum of the pipes' capex.
    method
        ``heuristic`` or ``milp``.
    bound
        Lower bound on the optimal capex that the solver proved (MILP only).
    mip_gap
        (capex - bound) / capex as HiGHS reports it (MILP only).
    """

    pipes: pd.DataFrame
    capex: float
    method: str
    bound: float | None = None
    mip_gap: float | None = None


def _check_options(dn_options: pd.DataFrame) -> pd.DataFrame:
    missing = set(DN_OPTION_COLUMNS) - set(dn_options.columns)
    if missing:
        raise ValueError(f"dn_options lacks column(s) {sorted(missing)}")
    if dn_options.empty:
        raise ValueError("dn_options is empty")
    options = dn_options[DN_OPTION_COLUMNS].sort_values(["capacity_mw", "dn"])
    if (options["capacity_mw"] <= 0).any() or (options["cost_per_m"] < 0).any():
        raise ValueError("dn_options needs capacity_mw > 0 and cost_per_m >= 0")
    return options.reset_index(drop=True)


def _pipes_frame(g: nx.Graph, rows: list[tuple[Node, Node, float]], options: pd.DataFrame):
    """The pipes table of ``(u, v, flow_mw)`` rows, each with the smallest DN that carries it."""
    flows = np.array([f for _, _, f in rows], dtype=float)
    capacity = options["capacity_mw"].to_numpy()
    pick = np.searchsorted(np.maximum.accumulate(capacity), flows * (1 - 1e-9), side="left")
    if np.any(pick >= len(options)):
        raise ValueError(
            f"a segment carries {flows.max():.3g} MW, more than the largest DN option "
            f"({capacity.max():.3g} MW)"
        )
    chosen = options.iloc[pick].reset_index(drop=True)
    length = [float(g.edges[u, v].get("length_m", np.nan)) for u, v, _ in rows]
    weight = [g.edges[u, v][_W] for u, v, _ in rows]
    pipes = pd.DataFrame(
        {
            "u": [u for u, _, _ in rows],
            "v": [v for _, v, _ in rows],
            "dn": chosen["dn"].to_numpy(),
            "capacity_mw": chosen["capacity_mw"].to_numpy(),
            "flow_mw": flows,
            "length_m": length,
            "trench_weight_m": weight,
            "cost_per_m": chosen["cost_per_m"].to_numpy(),
        }
    )
    pipes["capex"] = pipes["cost_per_m"] * pipes["trench_weight_m"]
    return pipes


def cost_tree(
    tree: nx.Graph,
    *,
    root: Node,
    sink_loads_mw: Mapping[Node, float],
    dn_options: pd.DataFrame,
    weight: str = "length_m",
) -> NetworkDesign:
    """Capex of a tree, each segment at the smallest DN option that carries its load.

    The load of a segment is the undiversified sum of the sink loads downstream
    (:func:`downstream_loads`, no simultaneity), so that the figure compares with
    :func:`~pipeline.engineering.network_milp.milp_design`. Capex = Σ cost_per_m(DN) ×
    length × cost_factor.

    Parameters
    ----------
    tree
        The layout, with ``weight`` and optionally ``cost_factor`` on its edges.
    root
        The source's node.
    sink_loads_mw
        Design heat of each sink, by node.
    dn_options
        ``dn``, ``capacity_mw`` and ``cost_per_m`` (:func:`dn_options_from_catalogue`).
    weight
        Edge attribute of the length, in metres.

    Returns
    -------
    NetworkDesign
        With ``method="heuristic"`` and no bound.

    Raises
    ------
    ValueError
        If a segment carries more than the largest option, or as :func:`downstream_loads`.

    Examples
    --------
    A line r-a-b, 100 m each, 2 MW at a and 1 MW at b; DN50 carries 1.5 MW:

    >>> import networkx as nx, pandas as pd
    >>> line = nx.path_graph(["r", "a", "b"])
    >>> nx.set_edge_attributes(line, 100.0, "length_m")
    >>> options = pd.DataFrame({"dn": [50, 100], "capacity_mw": [1.5, 4.0],
    ...                         "cost_per_m": [700.0, 900.0]})
    >>> design = cost_tree(line, root="r", sink_loads_mw={"a": 2.0, "b": 1.0},
    ...                    dn_options=options)
    >>> design.pipes[["u", "v", "dn", "capex"]].values.tolist()
    [['r', 'a', 100, 90000.0], ['a', 'b', 50, 70000.0]]
    >>> design.capex
    160000.0
    """
    g = _weighted_graph(tree, weight)
    loads = downstream_loads(g, root=root, sink_loads_mw=sink_loads_mw)
    pipes = _pipes_frame(g, [(u, v, f) for (u, v), f in loads.items()], _check_options(dn_options))
    return NetworkDesign(pipes=pipes, capex=float(pipes["capex"].sum()), method="heuristic")


def heuristic_design(
    graph: nx.Graph,
    *,
    root: Node,
    sink_loads_mw: Mapping[Node, float],
    dn_options: pd.DataFrame,
    weight: str = "length_m",
) -> NetworkDesign:
    """A tree network by heuristic: Steiner layouts improved for capex, then costed.

    Every improved construction of :func:`steiner_layout` (not only the shortest) is
    refined by key-path exchange judged by capex (with one sink, the path of least trench
    weight is the optimum and is taken directly): a key path is removed and the part cut
    off from the source reconnected by the shortest path from the source's part, where
    starting from a node costs the DN upgrades between the source and that node that the
    cut-off load needs; the change is kept when the tree's capex (:func:`cost_tree`)
    falls. The cheapest tree is costed by :func:`cost_tree`.

    Parameters
    ----------
    graph
        Road graph with ``weight`` and optionally ``cost_factor`` on its edges.
    root
        The source's node.
    sink_loads_mw
        Design heat of each sink, by node; the sinks are the terminals.
    dn_options
        ``dn``, ``capacity_mw`` and ``cost_per_m``.
    weight
        Edge attribute of the length, in metres.

    Returns
    -------
    NetworkDesign
        With ``method="heuristic"``.

    Examples
    --------
    >>> import networkx as nx, pandas as pd
    >>> g = nx.Graph()
    >>> g.add_edges_from([("r", "c"), ("c", "a"), ("c", "b")], length_m=100.0)
    >>> g.add_edge("r", "a", length_m=150.0, cost_factor=2.0)
    >>> options = pd.DataFrame({"dn": [50, 100], "capacity_mw": [1.5, 4.0],
    ...                         "cost_per_m": [700.0, 900.0]})
    >>> heuristic_design(g, root="r", sink_loads_mw={"a": 1.0, "b": 1.0},
    ...                  dn_options=options).capex
    230000.0
    """
    return cost_tree(
        heuristic_layout(
            graph, root=root, sink_loads_mw=sink_loads_mw, dn_options=dn_options, weight=weight
        ),
        root=root,
        sink_loads_mw=sink_loads_mw,
        dn_options=dn_options,
        weight=weight,
    )


def heuristic_layout(
    graph: nx.Graph,
    *,
    root: Node,
    sink_loads_mw: Mapping[Node, float],
    dn_options: pd.DataFrame,
    weight: str = "length_m",
) -> nx.Graph:
    """The tree of :func:`heuristic_design`, not yet costed (for a caller that sizes and
    costs it in its own way).

    Parameters and errors are those of :func:`heuristic_design`.

    Examples
    --------
    >>> import networkx as nx, pandas as pd
    >>> g = nx.path_graph(["r", "a", "b"])
    >>> nx.set_edge_attributes(g, 100.0, "length_m")
    >>> options = pd.DataFrame({"dn": [50], "capacity_mw": [4.0], "cost_per_m": [700.0]})
    >>> sorted(heuristic_layout(g, root="r", sink_loads_mw={"b": 1.0}, dn_options=options).edges)
    [('a', 'b'), ('r', 'a')]
    """
    _nonnegative("sink_loads_mw", list(sink_loads_mw.values()))
    sinks = [n for n in dict.fromkeys(sink_loads_mw) if n != root]
    if len(sinks) == 1 and not graph.is_multigraph():
        # One sink: every segment carries its load, so the path of least trench weight is
        # the cheapest design; found on the graph itself, without a weighted copy.
        return _single_path(graph, root, sinks[0], weight)
    g = _weighted_graph(graph, weight)
    terms = _check_terminals(g, sink_loads_mw, root)
    g = _connected_part(g, root)
    price = _Price.of(_check_options(dn_options))
    best, best_capex = None, math.inf
    for start in _layout_candidates(g, terms):
        tree = start
        for _ in range(_MAX_ROUNDS):
            better = _capex_exchange(g, tree, root, sink_loads_mw, price)
            if better is None:
                break
            tree = better
        capex = _tree_capex(g, tree, root, sink_loads_mw, price)
        if best is None or capex < best_capex * (1 - _REL_TOL):
            best, best_capex = tree, capex
    return _as_output(graph, g, best)


def _single_path(graph: nx.Graph, root: Node, sink: Node, weight: str) -> nx.Graph:
    """The path of least trench weight from root to sink, with the graph's edge data."""
    missing = [n for n in (root, sink) if n not in graph]
    if missing:
        raise ValueError(f"terminal(s) {missing!r} are not nodes of the graph")
    try:
        path = nx.dijkstra_path(
            graph, root, sink, weight=lambda u, v, data: _edge_weight(data, weight, u, v)
        )
    except nx.NetworkXNoPath:
        raise ValueError(f"terminal(s) [{sink!r}] cannot be reached from root {root!r}") from None
    tree = nx.Graph()
    tree.add_nodes_from((n, graph.nodes[n]) for n in path)
    tree.add_edges_from((u, v, graph.edges[u, v]) for u, v in zip(path, path[1:], strict=False))
    return tree


@dataclass(frozen=True)
class _Price:
    """Cost per metre by flow: the smallest option that carries it (inf beyond all)."""

    capacity_mw: np.ndarray
    cost_per_m: np.ndarray

    @classmethod
    def of(cls, options: pd.DataFrame) -> _Price:
        capacity = np.maximum.accumulate(options["capacity_mw"].to_numpy(dtype=float))
        return cls(capacity, np.r_[options["cost_per_m"].to_numpy(dtype=float), np.inf])

    def per_m(self, flow_mw: float) -> float:
        pick = np.searchsorted(self.capacity_mw, flow_mw * (1 - 1e-9), side="left")
        return float(self.cost_per_m[pick])


def _tree_capex(g: nx.Graph, tree: nx.Graph, root: Node, loads: Mapping, price: _Price) -> float:
    flows = _downstream_sums(tree, root, loads, "sink_loads_mw")
    return sum(price.per_m(f) * g.edges[e][_W] for e, f in flows.items())


def _upgrade_offsets(
    g: nx.Graph, side: nx.Graph, root: Node, loads: Mapping, extra_mw: float, price: _Price
) -> dict[Node, float]:
    """Cost of carrying ``extra_mw`` more from the root to each node of ``side``, in metres
    of the pipe that carries ``extra_mw`` (so that it adds to a trench distance)."""
    inside = {n: q for n, q in loads.items() if n in side and n != root}
    flows = _downstream_sums(side, root, inside, "sink_loads_mw")
    unit = price.per_m(extra_mw)
    offsets = {root: 0.0}
    for u, v in nx.bfs_edges(side, root):
        f = flows[(u, v)]
        step = (price.per_m(f + extra_mw) - price.per_m(f)) * g.edges[u, v][_W]
        offsets[v] = offsets[u] + step / unit
    return offsets


def _capex_exchange(
    g: nx.Graph, tree: nx.Graph, root: Node, loads: Mapping, price: _Price
) -> nx.Graph | None:
    """Key-path exchange judged by capex, not trench weight.

    Remove a key path; reconnect the part cut off from the root by the shortest path from
    the root's part, where starting at a node costs the DN upgrades from the root to it
    that the cut-off load needs; keep the new tree if its capex is lower.
    """
    terms = {root, *loads}
    current = _tree_capex(g, tree, root, loads, price)
    for path in sorted(_key_paths(tree, terms), key=lambda p: -_tree_weight(g, _pairs(p))):
        rest = tree.copy()
        rest.remove_edges_from(_pairs(path))
        rest.remove_nodes_from(path[1:-1])
        side = nx.node_connected_component(rest, root)
        other = set(rest) - side
        extra = sum(q for n, q in loads.items() if n in other)
        offsets = _upgrade_offsets(g, rest.subgraph(side), root, loads, extra, price)
        rest.add_edges_from(_pairs(_nearest(g, offsets, other)))
        if not nx.is_tree(rest):
            continue
        candidate = _prune(g, rest.edges, terms)
        if _tree_capex(g, candidate, root, loads, price) < current * (1 - 1e-9):
            return candidate
    return None
