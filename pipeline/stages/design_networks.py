"""Design networks: one branched network per group of recommended links.

The allocation recommends links, each a pipe of its own from one source to one sink. A
planner lays one trunk from a source that branches to each zone it serves, and gets
smaller after each branch. This stage designs that network and costs it by the link
model's own steps, next to the point-to-point links it replaces.

Inputs
    ``allocation.parquet``, ``assessed_links.parquet``, ``sources.parquet``,
    ``demand_zones.parquet``, ``heat_networks.parquet``, ``route_segments.parquet`` and
    ``graph_edges.parquet`` in ``data/interim/<region>/``.
Outputs
    ``data/interim/<region>/network_pipes.parquet`` (one row per road segment or spur of
    each network) and ``networks.parquet`` (one row per network); their fields are in
    ``docs/outputs.md``.
Config keys
    ``network_design.*`` (method, MILP guard and time limit, consumers per zone, search
    margin); ``network.*``, ``pipes.*``, ``heat_pump.*``, ``carbon.*`` and ``cost.*`` as
    for the links; ``existing_networks.annual_demand_mwh`` (consumers of a network sink).

Method
    1. Networks: the connected components of the recommended links, sources and sinks
       as nodes; sources that serve the same sink share one network.
    2. Candidate graph: the road edges within ``network_design.search_margin_m`` of the
       network's links, with the edges that routing split (where sites and sinks join)
       replaced by their pieces.
    3. Layout: for each source, a tree from its road node to the road nodes where its
       links reach their sinks, each sink's load its allocated heat
       (:func:`~pipeline.engineering.network_design.heuristic_design`, or
       :func:`~pipeline.engineering.network_design.milp_design` with
       ``network_design.method: milp``). The trees of several sources are laid over one
       another: a segment that two trees use is one trench carrying both loads.
    4. Sizing: each segment carries the diversified load of the sinks downstream
       (:func:`~pipeline.engineering.network_design.diversified_load_mw`), sized, lost
       and priced by the links' steps (:func:`~pipeline.stages.assess_links.choose_pipe`,
       :func:`~pipeline.stages.assess_links.estimate_heat_loss`,
       :func:`~pipeline.stages.assess_links.pipe_capex`).
    5. Each source: its heat pump sized for what its tree draws, the heat it sends (the
       allocation's delivered heat + its share of the losses), pumping on its critical
       path, CO2 and costs by the links' steps; the network's LCOH is the
       delivered-weighted mean of its sources'.
    6. Point to point: each replaced link laid out alone by the same method on the same
       graph, for its allocated heat, and costed by the same steps: the difference to the
       network is what shared trenches save.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring
from tqdm import tqdm

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    ExistingNetworksConfig,
    HeatPumpConfig,
    NetworkConfig,
    NetworkDesignConfig,
    PipesConfig,
    RegionFile,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.engineering.heat_loss import annual_heat_loss_mwh
from pipeline.engineering.heat_pump import heat_pump_split_mwh
from pipeline.engineering.network_design import (
    consumers_in_zone,
    diversified_load_mw,
    diversified_loads,
    dn_options_from_catalogue,
    downstream_consumers,
    heuristic_design,
)
from pipeline.engineering.network_milp import MilpOptions, milp_design
from pipeline.engineering.profile import share_pct
from pipeline.errors import InputError
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.stages.assess_links import (
    _pipe_cost_eur_per_m,
    add_pumping_electricity,
    choose_pipe,
    cost_field_names,
    cost_with_pipe_capex,
    count_carbon_saving,
    estimate_heat_loss,
    lift_with_heat_pump,
    pipe_capex,
)

log = logging.getLogger("heatlink.design_networks")

Node = Hashable
SPUR = "spur"
PIPE_COLUMNS = [
    "network_id",
    "site_id",
    "site_ids",
    "segment_id",
    "road_class",
    "length_m",
    "dn",
    "design_heat_mw",
    "n_consumers",
    "heat_loss_w_per_m",
    "annual_heat_loss_mwh",
    "capex_eur",
]
NETWORK_COLUMNS = [
    "network_id",
    "site_ids",
    "sink_ids",
    "n_sinks",
    "n_links",
    "trench_length_m",
    "heat_pump_mw",
    "capex_eur",
    "delivered_heat_mwh",
    "annual_heat_loss_mwh",
    "heat_loss_pct",
    "max_supply_temp_drop_k",
    "pump_electricity_mwh",
    "lcoh_transmission_eur_per_mwh",
    "lcoh_delivered_eur_per_mwh",
    "co2_saved_t_per_yr",
    "co2_saved_t_lifetime",
    "p2p_trench_length_m",
    "p2p_capex_eur",
    "trench_saving_pct",
    "capex_saving_pct",
    "method",
    "optimality_gap_pct",
]
LINK_COLUMNS = [
    "link_id",
    "site_id",
    "sink_id",
    "sink_kind",
    "route_length_m",
    "site_spur_m",
    "zone_spur_m",
    "supply_temp_c",
    "return_temp_c",
]
"""The assessed links' columns a network reads (its distribution cost and geometry too)."""


def currency_columns(columns: list[str], currency: str) -> list[str]:
    """The columns with ``_eur`` named for the output currency.

    Examples
    --------
    >>> currency_columns(["capex_eur", "lcoh_transmission_eur_per_mwh", "dn"], "GBP")
    ['capex_gbp', 'lcoh_transmission_gbp_per_mwh', 'dn']
    """
    cur = currency.lower()
    return [c.replace("_eur", f"_{cur}") for c in columns]


@dataclass(frozen=True, kw_only=True)
class DesignConfig:
    """The config sections :func:`design_networks` reads."""

    network_design: NetworkDesignConfig = NetworkDesignConfig()
    network: NetworkConfig = NetworkConfig()
    pipes: PipesConfig = PipesConfig()
    heat_pump: HeatPumpConfig = HeatPumpConfig()
    carbon: CarbonConfig = CarbonConfig()
    cost: CostConfig = CostConfig()
    existing_networks: ExistingNetworksConfig | None = None

    @classmethod
    def from_region(cls, cfg: RegionFile) -> DesignConfig:
        """The sections of a region file."""
        return cls(
            network_design=cfg.network_design,
            network=cfg.network,
            pipes=cfg.pipes,
            heat_pump=cfg.heat_pump,
            carbon=cfg.carbon,
            cost=cfg.cost,
            existing_networks=cfg.existing_networks,
        )


@dataclass
class Feed:
    """One source's tree in a network: its road node, the tree to its sinks' road nodes,
    the load and consumers of each sink node, and the links it stands for."""

    site_id: str
    root: Node | None
    tree: nx.Graph
    sink_loads_mw: dict[Node, float]
    consumers: dict[Node, float]
    links: pd.DataFrame
    link_ends: dict[str, Node | None]
    method: str = "heuristic"
    gap_pct: float = float("nan")


@dataclass
class _Segment:
    """A trench of the network as the feeds' trees are laid over one another."""

    segment_id: str
    road_class: str
    length_m: float
    civils_factor: float
    geometry: shapely.Geometry
    load_by_site: dict[str, float] = field(default_factory=dict)
    n_consumers: float = 0.0


# --------------------------------------------------------------------------- grouping


def recommended_links(
    links: pd.DataFrame, allocation: pd.DataFrame, consumers_by_sink: pd.Series
) -> gpd.GeoDataFrame:
    """The recommended links with their allocation and the consumers of their sink."""
    rec = allocation.loc[allocation["recommended"] & (allocation["allocated_heat_mw"] > 0)]
    out = links.merge(
        rec[["link_id", "allocated_heat_mw", "allocated_delivered_heat_mwh"]], on="link_id"
    )
    out["consumers"] = consumers_by_sink.reindex(out["sink_id"]).fillna(1.0).to_numpy()
    return out.sort_values("link_id").reset_index(drop=True)


def group_networks(links: pd.DataFrame) -> pd.Series:
    """Each link's network: ``N001``… for the connected components of sources and sinks,
    numbered by their first source.

    Examples
    --------
    >>> links = pd.DataFrame({"site_id": ["S2", "S1", "S1", "S3"],
    ...                       "sink_id": ["Z9", "Z1", "Z2", "Z2"]})
    >>> group_networks(links).tolist()
    ['N002', 'N001', 'N001', 'N001']
    """
    g = nx.Graph()
    g.add_edges_from(
        (("site", s), ("sink", k)) for s, k in zip(links["site_id"], links["sink_id"], strict=True)
    )
    comps = sorted(
        (sorted(n for kind, n in c if kind == "site") for c in nx.connected_components(g)),
        key=lambda sites: sites[0],
    )
    number = {site: i + 1 for i, sites in enumerate(comps) for site in sites}
    return pd.Series(
        [f"N{number[s]:03d}" for s in links["site_id"]], index=links.index, name="network_id"
    )


def consumers_of_sinks(
    zones: pd.DataFrame,
    networks: pd.DataFrame,
    cfg: DesignConfig,
) -> pd.Series:
    """Consumers each sink stands for: a zone's annual demand over a typical consumer's;
    an existing network's configured demand likewise, else one consumer."""
    per = cfg.network_design.building_demand_mwh_per_yr
    zone_n = consumers_in_zone(
        zones["annual_demand_mwh"].to_numpy(dtype=float), building_demand_mwh_per_yr=per
    )
    demand = cfg.existing_networks.annual_demand_mwh if cfg.existing_networks else None
    net_n = consumers_in_zone(demand, building_demand_mwh_per_yr=per) if demand is not None else 1.0
    return pd.concat(
        [
            pd.Series(np.atleast_1d(zone_n), index=zones["zone_id"].to_numpy()),
            pd.Series(float(net_n), index=networks["network_id"].to_numpy(), dtype=float),
        ]
    )


# --------------------------------------------------------------------------- graph


def candidate_graph(
    edges: gpd.GeoDataFrame, segments: gpd.GeoDataFrame, bounds: tuple, margin_m: float
) -> nx.Graph:
    """The road graph near a network: the edges within ``margin_m`` of ``bounds``, each
    edge that routing split replaced by the pieces the routes used.

    ``edges`` is ``graph_edges``; ``segments`` the route segments (pieces of split edges
    carry ``parent_edge``). Edges carry ``length_m``, ``cost_factor``, ``road_class``,
    ``geometry`` and ``segment_id``.
    """
    x0, y0, x1, y1 = bounds
    near = edges.iloc[
        edges.sindex.query(shapely.box(x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m))
    ]
    u = near["u"].to_numpy(dtype=np.int64)
    v = near["v"].to_numpy(dtype=np.int64)
    ids = [f"{a}-{b}" for a, b in zip(np.minimum(u, v), np.maximum(u, v), strict=True)]
    pieces = segments.loc[segments["parent_edge"].isin(ids)].drop_duplicates("segment_id")
    split = set(pieces["parent_edge"])
    g = nx.Graph()
    cost = near["cost_factor"].to_numpy(dtype=float) if "cost_factor" in near else np.ones(len(u))
    for i, sid in enumerate(ids):
        if sid not in split:
            g.add_edge(
                int(u[i]),
                int(v[i]),
                length_m=float(near["length_m"].iat[i]),
                cost_factor=float(cost[i]),
                road_class=near["road_class"].iat[i],
                geometry=near.geometry.iat[i],
                segment_id=sid,
            )
    add_segments(g, pieces)
    return g


def add_segments(g: nx.Graph, segments: pd.DataFrame) -> None:
    """Add route segments (:data:`~pipeline.stages.route_links.SEGMENT_COLUMNS`) to a
    graph as edges with the attributes of :func:`candidate_graph`."""
    for row in segments.itertuples(index=False):
        g.add_edge(
            int(row.from_node),
            int(row.to_node),
            length_m=float(row.length_m),
            cost_factor=float(row.cost_factor),
            road_class=row.road_class,
            geometry=row.geometry,
            segment_id=row.segment_id,
        )


def _ends(segments: pd.DataFrame) -> pd.DataFrame:
    """Each link's first and last road node along its path (segments are in path order)."""
    by_link = segments.groupby("link_id", sort=False)
    return pd.DataFrame(
        {"root": by_link["from_node"].first(), "end": by_link["to_node"].last()}
    ).astype("Int64")


# --------------------------------------------------------------------------- layout


def _layout(
    graph: nx.Graph,
    root: Node,
    sink_loads_mw: dict[Node, float],
    dn_options: pd.DataFrame,
    cfg: NetworkDesignConfig,
    name: str,
) -> tuple[nx.Graph, str, float]:
    """One source's tree on the candidate graph, its method and optimality gap (%)."""
    g = graph.subgraph(nx.node_connected_component(graph, root))
    if cfg.method == "milp":
        try:
            design = milp_design(
                g,
                root=root,
                sink_loads_mw=sink_loads_mw,
                dn_options=dn_options,
                max_edges=cfg.max_milp_edges,
                name=name,
                solver=MilpOptions(time_limit_s=cfg.milp_time_limit_s),
            )
        except ValueError as exc:
            raise InputError(
                str(exc).split("; ")[0],
                where="network_design.max_milp_edges",
                fix="set network_design.method: heuristic, or raise max_milp_edges",
            ) from None
        gap = 100.0 * (design.mip_gap or 0.0)
    else:
        try:
            design = heuristic_design(
                g, root=root, sink_loads_mw=sink_loads_mw, dn_options=dn_options
            )
        except ValueError:  # a load beyond the largest DN: lay the shortest paths instead
            log.warning("%s: a load exceeds the largest DN; laying shortest paths", name)
            paths = nx.single_source_dijkstra_path(g, root, weight="length_m")
            tree = nx.Graph()
            for node in sink_loads_mw:
                nx.add_path(tree, paths[node])
            return _with_data(g, tree.edges), "heuristic", float("nan")
        gap = float("nan")
    return _with_data(g, zip(design.pipes["u"], design.pipes["v"], strict=True)), cfg.method, gap


def _with_data(g: nx.Graph, edges) -> nx.Graph:
    tree = nx.Graph()
    tree.add_edges_from((u, v, g.edges[u, v]) for u, v in edges)
    return tree


def feeds_of_network(
    links: pd.DataFrame,
    ends: pd.DataFrame,
    graph: nx.Graph,
    dn_options: pd.DataFrame,
    cfg: NetworkDesignConfig,
    name: str,
) -> list[Feed]:
    """Each source's tree in a network, laid out on the candidate graph."""
    feeds = []
    for site_id, own in links.groupby("site_id", sort=True):
        root, sinks, consumers, link_ends = _terminals(own, ends)
        if not sinks:
            feeds.append(Feed(site_id, root, nx.Graph(), sinks, consumers, own, link_ends))
            continue
        tree, method, gap = _layout(graph, root, sinks, dn_options, cfg, f"{name} ({site_id})")
        feeds.append(Feed(site_id, root, tree, sinks, consumers, own, link_ends, method, gap))
    return feeds


def point_to_point_feeds(
    links: pd.DataFrame,
    ends: pd.DataFrame,
    graph: nx.Graph,
    dn_options: pd.DataFrame,
    cfg: NetworkDesignConfig,
    name: str,
) -> list[Feed]:
    """Each link laid alone, by the same method on the same graph: what the network would
    cost without shared trenches (each is costed on its own, :func:`cost_layout`)."""
    return [
        feed
        for i in range(len(links))
        for feed in feeds_of_network(links.iloc[[i]], ends, graph, dn_options, cfg, name)
    ]


def _terminals(
    links: pd.DataFrame, ends: pd.DataFrame
) -> tuple[Node | None, dict[Node, float], dict[Node, float], dict[str, Node | None]]:
    """A source's road node, the load and consumers at each of its sinks' road nodes, and
    each link's sink node; a sink reached without road (at the source's node) has none."""
    routed = ends.reindex(links["link_id"])
    roots = routed["root"].dropna()
    root = int(roots.iat[0]) if len(roots) else None
    sinks: dict[Node, float] = {}
    consumers: dict[Node, float] = {}
    link_ends: dict[str, Node | None] = {}
    for link_id, end, load, n in zip(
        links["link_id"], routed["end"], links["allocated_heat_mw"], links["consumers"], strict=True
    ):
        if pd.isna(end) or int(end) == root:
            link_ends[link_id] = None
            continue
        link_ends[link_id] = int(end)
        sinks[int(end)] = sinks.get(int(end), 0.0) + float(load)
        consumers[int(end)] = consumers.get(int(end), 0.0) + float(n)
    return root, sinks, consumers, link_ends


# --------------------------------------------------------------------------- costing


@dataclass
class Costed:
    """A costed layout: its pipes (one row per segment or spur) and its sources (one row
    per source, with the link fields of :mod:`pipeline.stages.assess_links`)."""

    pipes: pd.DataFrame
    feeds: pd.DataFrame


def _lay_feeds(feeds: list[Feed]) -> tuple[dict[str, _Segment], list[list[list[str]]]]:
    """The feeds' trees and spurs laid over one another; for each feed, the segment ids on
    the way from its source to each of its links' sinks."""
    segments: dict[str, _Segment] = {}
    paths: list[list[list[str]]] = []
    for f in feeds:
        loads = f.links["allocated_heat_mw"].to_numpy(dtype=float)
        n = f.links["consumers"].to_numpy(dtype=float)
        site_spur = _site_spur(f)
        _add(segments, site_spur, f.site_id, diversified_load_mw(loads, n), n.sum())
        tree_paths: dict[Node, list[Node]] = {}
        if f.tree.number_of_edges():
            design = diversified_loads(
                f.tree, root=f.root, sink_loads_mw=f.sink_loads_mw, consumers_per_sink=f.consumers
            )
            counts = downstream_consumers(f.tree, root=f.root, consumers_per_sink=f.consumers)
            for (u, v), mw in design.items():
                d = f.tree.edges[u, v]
                seg = _Segment(
                    d["segment_id"], d["road_class"], d["length_m"], d["cost_factor"], d["geometry"]
                )
                _add(segments, seg, f.site_id, mw, counts[(u, v)])
            tree_paths = nx.single_source_shortest_path(f.tree, f.root)
        feed_paths = []
        for link in f.links.itertuples(index=False):
            spur = _sink_spur(link)
            _add(segments, spur, f.site_id, link.allocated_heat_mw, link.consumers)
            nodes = tree_paths.get(f.link_ends[link.link_id], [])
            road = [
                f.tree.edges[a, b]["segment_id"] for a, b in zip(nodes, nodes[1:], strict=False)
            ]
            feed_paths.append(
                [s.segment_id for s in (site_spur,) if s]
                + road
                + [s.segment_id for s in (spur,) if s]
            )
        paths.append(feed_paths)
    return segments, paths


def _site_spur(feed: Feed) -> _Segment | None:
    """The straight spur from the site to the road: the start of its route."""
    first = feed.links.iloc[0]
    length = float(np.nan_to_num(first["site_spur_m"]))
    if not length > 0:
        return None
    return _Segment(
        f"{SPUR}:{feed.site_id}", SPUR, length, 1.0, substring(first.geometry, 0.0, length)
    )


def _sink_spur(link) -> _Segment | None:
    """The straight spur from the road to a link's sink: the end of its route."""
    length = float(np.nan_to_num(link.zone_spur_m))
    if not length > 0:
        return None
    geom = link.geometry
    piece = substring(geom, max(geom.length - length, 0.0), geom.length)
    return _Segment(f"{SPUR}:{link.sink_id}", SPUR, length, 1.0, piece)


def _add(
    segments: dict[str, _Segment], seg: _Segment | None, site_id: str, mw: float, n: float
) -> None:
    """Lay a segment: a trench already laid takes the new load as well."""
    if seg is None:
        return
    held = segments.setdefault(seg.segment_id, seg)
    held.length_m = max(held.length_m, seg.length_m)
    held.load_by_site[site_id] = held.load_by_site.get(site_id, 0.0) + float(mw)
    held.n_consumers += float(n)


def _pipes_table(segments: dict[str, _Segment], temps: tuple[float, float]) -> pd.DataFrame:
    rows = list(segments.values())
    return pd.DataFrame(
        {
            "segment_id": [s.segment_id for s in rows],
            "road_class": [s.road_class for s in rows],
            "route_length_m": [s.length_m for s in rows],
            "civils_factor": [s.civils_factor for s in rows],
            "design_heat_mw": [sum(s.load_by_site.values()) for s in rows],
            "n_consumers": [s.n_consumers for s in rows],
            "site_ids": [";".join(sorted(s.load_by_site)) for s in rows],
            "site_id": [
                next(iter(s.load_by_site)) if len(s.load_by_site) == 1 else None for s in rows
            ],
            "supply_temp_c": np.full(len(rows), temps[0]),
            "return_temp_c": np.full(len(rows), temps[1]),
            "geometry": [s.geometry for s in rows],
        }
    )


def _shares(segments: dict[str, _Segment], site_ids: list[str]) -> np.ndarray:
    """Each site's share of each segment's load: sites × segments."""
    out = np.zeros((len(site_ids), len(segments)))
    for j, seg in enumerate(segments.values()):
        total = sum(seg.load_by_site.values())
        for i, site in enumerate(site_ids):
            if total > 0:
                out[i, j] = seg.load_by_site.get(site, 0.0) / total
    return out


def cost_layout(
    feeds: list[Feed],
    sources: pd.DataFrame,
    temps: tuple[float, float],
    catalogue: pd.DataFrame,
    twin_casings: pd.DataFrame,
    cfg: DesignConfig,
) -> Costed:
    """Size, lose, pump and cost a layout by the links' steps: its pipes, and one row per
    source with the link fields of :mod:`pipeline.stages.assess_links`."""
    segments, paths = _lay_feeds(feeds)
    pipes = choose_pipe(
        _pipes_table(segments, temps), catalogue, twin_casings, pipes=cfg.pipes, network=cfg.network
    )
    pipes = estimate_heat_loss(pipes, cfg.pipes)
    length = pipes["route_length_m"].to_numpy(dtype=float)
    pipes["annual_heat_loss_mwh"] = annual_heat_loss_mwh(
        pipes["heat_loss_w_per_m"].to_numpy(dtype=float), length, cfg.pipes.hours_in_service_h
    )
    pipes["capex"] = pipe_capex(pipes, cfg.cost)
    site_ids = [f.site_id for f in feeds]
    shares = _shares(segments, site_ids)
    rows = _cost_sources(
        feeds, paths, pipes, shares, sources, temps, (catalogue, twin_casings), cfg
    )
    return Costed(pipes, rows)


def _cost_sources(
    feeds: list[Feed],
    paths: list[list[list[str]]],
    pipes: pd.DataFrame,
    shares: np.ndarray,
    sources: pd.DataFrame,
    temps: tuple[float, float],
    catalogues: tuple[pd.DataFrame, pd.DataFrame],
    cfg: DesignConfig,
) -> pd.DataFrame:
    """One row per source: heat pump, energy, pumping on its critical path, CO2 and cost."""
    src = sources.set_index("site_id")
    site_ids = [f.site_id for f in feeds]
    rows = pd.DataFrame(
        {
            "site_id": site_ids,
            "heat_available_mw": src.loc[site_ids, "heat_available_mw"].to_numpy(dtype=float),
            "source_temp_c": src.loc[site_ids, "source_temp_c"].to_numpy(dtype=float),
            "supply_temp_c": temps[0],
            "return_temp_c": temps[1],
            "sink_peak_mw": [
                diversified_load_mw(f.links["allocated_heat_mw"], f.links["consumers"])
                for f in feeds
            ],
        }
    )
    rows = lift_with_heat_pump(rows, cfg.heat_pump)
    delivered = np.array([f.links["allocated_delivered_heat_mwh"].sum() for f in feeds])
    lost = np.nan_to_num(shares @ pipes["annual_heat_loss_mwh"].to_numpy(dtype=float))
    sent = delivered + lost
    source_heat, hp_electricity = heat_pump_split_mwh(sent, rows["cop"].to_numpy())
    rows = rows.assign(
        delivered_heat_mwh=delivered,
        annual_heat_loss_mwh=lost,
        heat_sent_mwh=sent,
        source_heat_mwh=source_heat,
        hp_electricity_mwh=hp_electricity,
    )
    rows = choose_pipe(rows, *catalogues, pipes=cfg.pipes, network=cfg.network)
    critical = _critical_paths(paths, pipes)
    rows = rows.assign(
        route_length_m=critical["length_m"],
        pressure_gradient_pa_per_m=critical["pressure_gradient_pa_per_m"],
        max_supply_temp_drop_k=critical["drop_k"],
    )
    rows = add_pumping_electricity(rows, cfg.pipes)
    rows = count_carbon_saving(rows, cfg.carbon, lifetime_years=cfg.cost.pipe_lifetime_years)
    capex_share = shares @ np.nan_to_num(pipes["capex"].to_numpy(dtype=float))
    return cost_with_pipe_capex(rows, capex_share, cfg.heat_pump, cfg.cost)


def _critical_paths(paths: list[list[list[str]]], pipes: pd.DataFrame) -> pd.DataFrame:
    """For each source, the path to the sink with the largest pressure drop: its length
    and mean gradient; and the largest supply temperature drop to any of its sinks."""
    by_id = pipes.set_index("segment_id")
    drop_pa = (by_id["pressure_gradient_pa_per_m"] * by_id["route_length_m"]).fillna(0.0)
    out = []
    for feed_paths in paths:
        best = (0.0, 0.0)
        drop_k = 0.0
        for ids in feed_paths:
            pa = float(drop_pa.reindex(ids).sum())
            m = float(by_id["route_length_m"].reindex(ids).sum())
            drop_k = max(drop_k, float(by_id["supply_temp_drop_k"].reindex(ids).fillna(0).sum()))
            if pa > best[0]:
                best = (pa, m)
        out.append(
            {
                "length_m": best[1],
                "pressure_gradient_pa_per_m": best[0] / best[1] if best[1] > 0 else 0.0,
                "drop_k": drop_k,
            }
        )
    return pd.DataFrame(out, columns=["length_m", "pressure_gradient_pa_per_m", "drop_k"])


# --------------------------------------------------------------------------- the stage


@dataclass
class Inputs:
    """What :func:`design_networks` reads, as tables."""

    links: gpd.GeoDataFrame  # assessed links
    allocation: pd.DataFrame
    sources: pd.DataFrame
    zones: pd.DataFrame
    heat_networks: pd.DataFrame
    segments: gpd.GeoDataFrame  # route segments
    edges: gpd.GeoDataFrame  # graph edges
    catalogue: pd.DataFrame
    twin_casings: pd.DataFrame


def design_networks(data: Inputs, cfg: DesignConfig) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Design a network for every group of recommended links.

    Returns
    -------
    ``(networks, network_pipes)``: GeoDataFrames with the columns of
    :data:`NETWORK_COLUMNS` and :data:`PIPE_COLUMNS`, cost fields named for
    ``cfg.cost.currency``.
    """
    crs = data.links.crs
    names = cost_field_names(cfg.cost.currency)
    consumers = consumers_of_sinks(data.zones, data.heat_networks, cfg)
    links = recommended_links(
        data.links[[*LINK_COLUMNS, names["distribution"], "geometry"]],
        data.allocation,
        consumers,
    )
    pipe_cols = currency_columns(PIPE_COLUMNS, cfg.cost.currency)
    net_cols = currency_columns(NETWORK_COLUMNS, cfg.cost.currency)
    if links.empty:
        return (
            gpd.GeoDataFrame(columns=[*net_cols, "geometry"], geometry="geometry", crs=crs),
            gpd.GeoDataFrame(columns=[*pipe_cols, "geometry"], geometry="geometry", crs=crs),
        )
    links["network_id"] = group_networks(links)
    segments = data.segments
    ends = _ends(segments.loc[segments["link_id"].isin(links["link_id"])])
    options = _dn_options(data.catalogue, links, cfg)
    nets, pipes = [], []
    groups = links.groupby("network_id", sort=True)
    for net_id, own in tqdm(
        groups,
        desc="designing networks",
        unit=" networks",
        leave=False,
        disable=None,
        mininterval=2,
    ):
        started = time.perf_counter()
        own_segments = segments.loc[segments["link_id"].isin(own["link_id"])]
        graph = candidate_graph(
            data.edges, segments, tuple(own.total_bounds), cfg.network_design.search_margin_m
        )
        add_segments(graph, own_segments)
        temps = _temperatures(own)
        feeds = feeds_of_network(own, ends, graph, options, cfg.network_design, net_id)
        costed = cost_layout(feeds, data.sources, temps, data.catalogue, data.twin_casings, cfg)
        alone = [
            cost_layout([feed], data.sources, temps, data.catalogue, data.twin_casings, cfg)
            for feed in point_to_point_feeds(own, ends, graph, options, cfg.network_design, net_id)
        ]
        p2p = Costed(
            pd.concat([c.pipes for c in alone], ignore_index=True),
            pd.concat([c.feeds for c in alone], ignore_index=True),
        )
        row = summarise(net_id, own, feeds, costed, p2p, names)
        nets.append(row)
        pipes.append(costed.pipes.assign(network_id=net_id))
        log.info(
            "%s: %s to %s: %.0f m of trench against %.0f m point to point (%.1f %% saved), "
            "capex %.0f against %.0f %s, %s in %.2f s",
            net_id,
            row["site_ids"],
            row["sink_ids"],
            row["trench_length_m"],
            row["p2p_trench_length_m"],
            row["trench_saving_pct"],
            row[names["capex"]],
            row[f"p2p_{names['capex']}"],
            cfg.cost.currency,
            row["method"],
            time.perf_counter() - started,
        )
    networks = gpd.GeoDataFrame(pd.DataFrame(nets)[[*net_cols, "geometry"]], crs=crs)
    return networks, _pipes_frame(pipes, names, pipe_cols, crs)


def _temperatures(links: pd.DataFrame) -> tuple[float, float]:
    """The network's supply and return: those of its hottest sink's link."""
    hottest = links.loc[links["supply_temp_c"].idxmax()]
    return float(hottest["supply_temp_c"]), float(hottest["return_temp_c"])


def _dn_options(catalogue: pd.DataFrame, links: pd.DataFrame, cfg: DesignConfig) -> pd.DataFrame:
    """The DN options the layout chooses among, at the network temperatures of the
    hottest link and the links' price per trench metre (EUR; the ranking is what counts)."""
    series = catalogue[catalogue["series"] == cfg.pipes.series].sort_values("dn")
    supply, ret = _temperatures(links)
    options = dn_options_from_catalogue(
        series,
        supply_temp_c=supply,
        return_temp_c=ret,
        max_pressure_gradient_pa_per_m=cfg.pipes.max_pressure_gradient_pa_per_m,
        roughness_mm=cfg.pipes.roughness_mm,
        velocity_cap_points=cfg.pipes.velocity_cap_m_per_s,
    )
    priced = series.add_prefix("pipe_").reset_index(drop=True)
    options["cost_per_m"] = _pipe_cost_eur_per_m(priced, cfg.cost)[0]
    return options


def summarise(
    net_id: str,
    links: pd.DataFrame,
    feeds: list[Feed],
    costed: Costed,
    p2p: Costed,
    names: dict[str, str],
) -> dict:
    """One network's row: the sum of its sources' figures, its LCOH the delivered-weighted
    mean of theirs, and the point-to-point figures beside them."""
    rows, pipes = costed.feeds, costed.pipes
    delivered = float(rows["delivered_heat_mwh"].sum())
    lost = float(pipes["annual_heat_loss_mwh"].sum())
    lcoh = _weighted(rows[names["lcoh"]], rows["delivered_heat_mwh"])
    zone = links["sink_kind"].to_numpy() == "zone"
    distribution = (
        float(
            np.nansum(links[names["distribution"]] * links["allocated_delivered_heat_mwh"])
            / links["allocated_delivered_heat_mwh"].sum()
        )
        if zone.any()
        else np.nan
    )
    trench = float(pipes["route_length_m"].sum())
    p2p_trench = float(p2p.pipes["route_length_m"].sum())
    capex = float(rows[names["capex"]].sum())
    p2p_capex = float(p2p.feeds[names["capex"]].sum())
    methods = sorted({f.method for f in feeds if f.tree.number_of_edges()}) or ["heuristic"]
    gaps = [f.gap_pct for f in feeds if not np.isnan(f.gap_pct)]
    return {
        "network_id": net_id,
        "site_ids": ";".join(sorted(links["site_id"].unique())),
        "sink_ids": ";".join(sorted(links["sink_id"].unique())),
        "n_sinks": int(links["sink_id"].nunique()),
        "n_links": len(links),
        "trench_length_m": trench,
        "heat_pump_mw": float(rows["heat_pump_mw"].sum()),
        names["capex"]: capex,
        "delivered_heat_mwh": delivered,
        "annual_heat_loss_mwh": lost,
        "heat_loss_pct": float(share_pct(lost, delivered + lost)),
        "max_supply_temp_drop_k": float(rows["max_supply_temp_drop_k"].max()),
        "pump_electricity_mwh": float(rows["pump_electricity_mwh"].sum()),
        names["lcoh"]: lcoh,
        names["lcoh_delivered"]: lcoh + distribution,
        "co2_saved_t_per_yr": float(rows["co2_saved_t_per_yr"].sum()),
        "co2_saved_t_lifetime": float(rows["co2_saved_t_lifetime"].sum()),
        "p2p_trench_length_m": p2p_trench,
        f"p2p_{names['capex']}": p2p_capex,
        "trench_saving_pct": 100.0 * (1.0 - trench / p2p_trench) if p2p_trench > 0 else 0.0,
        "capex_saving_pct": 100.0 * (1.0 - capex / p2p_capex) if p2p_capex > 0 else 0.0,
        "method": "+".join(methods),
        "optimality_gap_pct": max(gaps) if gaps else np.nan,
        "geometry": shapely.multilinestrings(
            [g for g in pipes["geometry"] if g is not None and not g.is_empty]
        ),
    }


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    w = weights.to_numpy(dtype=float)
    return float(np.sum(values.to_numpy(dtype=float) * w) / w.sum()) if w.sum() > 0 else np.nan


def _pipes_frame(
    pipes: list[pd.DataFrame], names: dict[str, str], columns: list[str], crs
) -> gpd.GeoDataFrame:
    frame = pd.concat(pipes, ignore_index=True).rename(
        columns={"route_length_m": "length_m", "capex": names["pipe_capex"].replace("pipe_", "")}
    )
    frame["dn"] = frame["dn"].astype("Int64")
    return gpd.GeoDataFrame(frame[[*columns, "geometry"]], geometry="geometry", crs=crs)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the recommended links and the road graph; design; write networks.parquet and
    network_pipes.parquet."""
    data = Inputs(
        links=read_geoparquet(paths.assessed_links),
        allocation=pd.read_parquet(paths.allocation),
        sources=read_geoparquet(paths.sources),
        zones=read_geoparquet(paths.demand_zones),
        heat_networks=read_geoparquet(paths.heat_networks),
        segments=read_geoparquet(paths.route_segments),
        edges=read_geoparquet(paths.graph_edges),
        catalogue=load_pipe_catalogue(),
        twin_casings=load_twin_casings(),
    )
    networks, pipes = design_networks(data, DesignConfig.from_region(cfg))
    if len(networks):
        log.info(
            "%d networks for %d recommended links: %.0f m of trench against %.0f m point to "
            "point (%.1f %% saved)",
            len(networks),
            int(networks["n_links"].sum()),
            networks["trench_length_m"].sum(),
            networks["p2p_trench_length_m"].sum(),
            100.0 * (1 - networks["trench_length_m"].sum() / networks["p2p_trench_length_m"].sum()),
        )
    else:
        log.info("no recommended links: no networks to design")
    write_geoparquet(networks, paths.networks)
    write_geoparquet(pipes, paths.network_pipes)
    log.info("wrote %s and %s", paths.networks, paths.network_pipes)
