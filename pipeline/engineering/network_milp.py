"""Exact network design: fixed-charge network design with DN choices as a MILP.

The exact counterpart of :func:`pipeline.engineering.network_design.heuristic_design`: the
cheapest tree network with its DNs, solved by HiGHS through :func:`scipy.optimize.milp`
(no commercial solver). Its designs are costed as the heuristic's are
(:func:`pipeline.engineering.network_design.cost_tree`), so that the two compare. Pure:
no I/O and no geometry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from pipeline.engineering.network_design import (
    _W,
    Edge,
    NetworkDesign,
    Node,
    _check_options,
    _check_terminals,
    _pipes_frame,
    _weighted_graph,
)
from pipeline.engineering.water import _nonnegative


@dataclass(frozen=True)
class MilpOptions:
    """Settings of HiGHS for :func:`milp_design`.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit of the solve; ``None`` for none. At the limit the best solution
        found so far is returned with its bound and gap.
    mip_rel_gap
        Relative optimality gap at which HiGHS stops (its default is 1e-4).
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-9


def _useful_options(options: pd.DataFrame, total_mw: float) -> pd.DataFrame:
    """Drop dominated options (one at least as big and no dearer exists) and oversized ones."""
    keep, best_cost = [], math.inf
    for i in reversed(range(len(options))):
        cost = options["cost_per_m"].iloc[i]
        if cost < best_cost:
            keep.append(i)
            best_cost = cost
    useful = options.iloc[sorted(keep)].reset_index(drop=True)
    covers = np.flatnonzero(useful["capacity_mw"].to_numpy() >= total_mw * (1 - 1e-9))
    return useful.iloc[: covers[0] + 1] if len(covers) else useful


def _demands(g: nx.Graph, root: Node, sink_loads_mw: Mapping[Node, float]) -> np.ndarray:
    _check_terminals(g, sink_loads_mw, root)
    _nonnegative("sink_loads_mw", list(sink_loads_mw.values()))
    if root in sink_loads_mw:
        raise ValueError(f"root {root!r} cannot also be a sink")
    index = {n: i for i, n in enumerate(g)}
    demand = np.zeros(len(index))
    for n, load in sink_loads_mw.items():
        demand[index[n]] += load
    demand[index[root]] -= demand.sum()
    return demand


def _milp_matrices(g: nx.Graph, capacity: np.ndarray, demand: np.ndarray):
    """Constraint matrix and bounds of the arc-flow formulation (see :func:`milp_design`).

    Variables: the flow of every arc (2E), then y[arc, option] arc-major (2E·D).
    """
    index = {n: i for i, n in enumerate(g)}
    arcs = [(u, v) for u, v in g.edges] + [(v, u) for u, v in g.edges]
    n_arc, n_opt, n_node, n_edge = len(arcs), len(capacity), len(index), g.number_of_edges()
    tail = np.array([index[u] for u, _ in arcs])
    head = np.array([index[v] for _, v in arcs])
    a_id = np.arange(n_arc)
    y_id = n_arc + a_id[:, None] * n_opt + np.arange(n_opt)[None, :]
    # Flow conservation: inflow - outflow = demand at every node.
    conserve = sparse.coo_array(
        (np.r_[np.ones(n_arc), -np.ones(n_arc)], (np.r_[head, tail], np.r_[a_id, a_id])),
        shape=(n_node, n_arc + n_arc * n_opt),
    )
    # Capacity: f_a - Σ_d cap_d·y_ad <= 0.
    cap_rows = np.r_[a_id, np.repeat(a_id, n_opt)]
    cap_cols = np.r_[a_id, y_id.ravel()]
    cap_vals = np.r_[np.ones(n_arc), -np.tile(capacity, n_arc)]
    cap = sparse.coo_array((cap_vals, (cap_rows, cap_cols)), shape=(n_arc, conserve.shape[1]))
    # One option and one direction per edge: Σ_d (y_uv,d + y_vu,d) <= 1.
    edge_of_arc = np.r_[np.arange(n_edge), np.arange(n_edge)]
    one = sparse.coo_array(
        (np.ones(n_arc * n_opt), (np.repeat(edge_of_arc, n_opt), y_id.ravel())),
        shape=(n_edge, conserve.shape[1]),
    )
    # A tree: at most one pipe into each node (none into the root).
    indeg = sparse.coo_array(
        (np.ones(n_arc * n_opt), (np.repeat(head, n_opt), y_id.ravel())),
        shape=(n_node, conserve.shape[1]),
    )
    indeg_ub = np.ones(n_node)
    indeg_ub[demand < 0] = 0.0
    constraints = [
        LinearConstraint(conserve.tocsr(), demand, demand),
        LinearConstraint(cap.tocsr(), -np.inf, 0.0),
        LinearConstraint(one.tocsr(), -np.inf, 1.0),
        LinearConstraint(indeg.tocsr(), -np.inf, indeg_ub),
    ]
    return arcs, constraints


def _solve(g: nx.Graph, options: pd.DataFrame, demand: np.ndarray, solver: MilpOptions):
    total = float(demand[demand > 0].sum())
    # No arc carries more than the total load: capping the capacities there is valid and
    # tightens the LP relaxation.
    capacity = np.minimum(options["capacity_mw"].to_numpy(), total)
    arcs, constraints = _milp_matrices(g, capacity, demand)
    n_arc, n_opt = len(arcs), len(options)
    weight = np.array([g.edges[u, v][_W] for u, v in arcs])
    cost = np.r_[np.zeros(n_arc), np.outer(weight, options["cost_per_m"].to_numpy()).ravel()]
    upper = np.r_[np.full(n_arc, total), np.ones(n_arc * n_opt)]
    settings: dict[str, float] = {"mip_rel_gap": solver.mip_rel_gap}
    if solver.time_limit_s is not None:
        settings["time_limit"] = solver.time_limit_s
    result = milp(
        cost,
        integrality=np.r_[np.zeros(n_arc), np.ones(n_arc * n_opt)],
        bounds=Bounds(np.zeros(len(cost)), upper),
        constraints=constraints,
        options=settings,
    )
    if result.x is None:
        raise ValueError(f"the MILP found no design: {result.message}")
    y = result.x[n_arc:].reshape(n_arc, n_opt)
    return arcs, result.x[:n_arc], y, result


def milp_design(
    graph: nx.Graph,
    *,
    root: Node,
    sink_loads_mw: Mapping[Node, float],
    dn_options: pd.DataFrame,
    weight: str = "length_m",
    max_edges: int = 5000,
    name: str = "network",
    solver: MilpOptions | None = None,
) -> NetworkDesign:
    """The cheapest tree network with its DNs: fixed-charge network design as a MILP.

    Arc-flow formulation on both directions a = (u, v) of every edge, with options d of
    capacity cap_d (MW) and cost c_d per trench metre::

        minimise    Σ_a Σ_d c_d · w_a · y_ad             (w_a = length × cost_factor)
        subject to  Σ_{a into n} f_a - Σ_{a out of n} f_a = q_n     every node n
                    f_a ≤ Σ_d cap_d · y_ad                          every arc
                    Σ_d (y_uv,d + y_vu,d) ≤ 1                        every edge
                    Σ_{a into n} Σ_d y_ad ≤ 1   (0 at the root)      every node
                    f_a ≥ 0,  y_ad ∈ {0, 1}

    with q = the sink's load at a sink, minus the total at the root, 0 elsewhere. The
    in-degree rows keep the design radial (a tree, as the heuristic's). Options that
    another option dominates (as large and no dearer) and all but the cheapest option
    that carries the total load are dropped first; they cannot be in an optimum. Solved
    by HiGHS (:func:`scipy.optimize.milp`).

    Parameters
    ----------
    graph
        Road graph (the bounded subgraph of one network), with ``weight`` and optionally
        ``cost_factor`` on its edges.
    root
        The source's node.
    sink_loads_mw
        Design heat of each sink, by node.
    dn_options
        ``dn``, ``capacity_mw`` and ``cost_per_m`` (:func:`dn_options_from_catalogue`).
    weight
        Edge attribute of the length, in metres.
    max_edges
        Largest number of graph edges to attempt (``network_design.max_milp_edges``).
    name
        The network's name, for the messages.
    solver
        HiGHS settings; default :class:`MilpOptions`.

    Returns
    -------
    NetworkDesign
        With ``method="milp"``, the best bound HiGHS proved and its relative gap.

    Raises
    ------
    ValueError
        If the graph has more than ``max_edges`` edges (one line that names the network
        and suggests the heuristic), a sink cannot be reached, or no design carries the
        loads.

    Examples
    --------
    The crossing of :func:`heuristic_design`: the MILP finds the same tree.

    >>> import networkx as nx, pandas as pd
    >>> g = nx.Graph()
    >>> g.add_edges_from([("r", "c"), ("c", "a"), ("c", "b")], length_m=100.0)
    >>> g.add_edge("r", "a", length_m=150.0, cost_factor=2.0)
    >>> options = pd.DataFrame({"dn": [50, 100], "capacity_mw": [1.5, 4.0],
    ...                         "cost_per_m": [700.0, 900.0]})
    >>> design = milp_design(g, root="r", sink_loads_mw={"a": 1.0, "b": 1.0},
    ...                      dn_options=options)
    >>> round(design.capex), design.pipes["dn"].tolist()
    (230000, [100, 50, 50])
    """
    if graph.number_of_edges() > max_edges:
        raise ValueError(
            f"network {name!r} has {graph.number_of_edges()} candidate edges, more than "
            f"network_design.max_milp_edges = {max_edges} for the exact MILP; set "
            "network_design.method: heuristic (or raise max_milp_edges)"
        )
    g = _weighted_graph(graph, weight)
    _check_terminals(g, sink_loads_mw, root)
    g = g.subgraph(nx.node_connected_component(g, root)).copy()
    demand = _demands(g, root, sink_loads_mw)
    total = float(demand[demand > 0].sum())
    options = _useful_options(_check_options(dn_options), total)
    if options["capacity_mw"].max() < total * (1 - 1e-9):
        raise ValueError(
            f"network {name!r}: the total load {total:.3g} MW exceeds the largest DN option; "
            "split the network or add larger DNs"
        )
    arcs, flow, y, result = _solve(g, options, demand, solver or MilpOptions())
    chosen = np.flatnonzero(y.max(axis=1) > 0.5)
    chosen = _source_order(g, [arcs[i] for i in chosen], root)
    rows = [(u, v, max(float(flow[i]), 0.0)) for i, (u, v) in chosen]
    pipes = _pipes_frame(g, rows, options)
    # The MILP's own choice of DN can be larger only when it ties in cost; report the
    # smallest DN that carries the flow, whose capex is never higher.
    return NetworkDesign(
        pipes=pipes,
        capex=float(pipes["capex"].sum()),
        method="milp",
        bound=_maybe(result, "mip_dual_bound"),
        mip_gap=_maybe(result, "mip_gap"),
    )


def _source_order(g: nx.Graph, arcs: list[Edge], root: Node) -> list[tuple[int, Edge]]:
    """The chosen arcs, paired with their arc index in ``g``, in breadth-first order."""
    both = [(u, v) for u, v in g.edges] + [(v, u) for u, v in g.edges]
    position = {a: i for i, a in enumerate(both)}
    chosen = nx.DiGraph(arcs)
    if root not in chosen:
        return []
    order = [(u, v) for u, v in nx.bfs_edges(chosen, root)]
    rest = [a for a in arcs if a not in set(order)]
    return [(position[a], a) for a in order + rest]


def _maybe(result, attribute: str) -> float | None:
    value = getattr(result, attribute, None)
    return None if value is None or not np.isfinite(value) else float(value)
