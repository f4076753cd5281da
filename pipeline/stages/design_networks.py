"""Design networks: one branched network per group of recommended links.

The allocation recommends links, each a pipe of its own from one source to one sink. A
planner lays one trunk from a source that branches to each zone it serves, and gets
smaller after each branch. This stage designs that network and costs it by the link
model's own steps, next to the point-to-point links it replaces.

Inputs
    ``allocation.parquet``, ``assessed_links.parquet``, ``sources.parquet``,
    ``demand_zones.parquet``, ``heat_networks.parquet``, ``route_segments.parquet``,
    ``graph_edges.parquet`` and ``graph_nodes.parquet`` in ``data/interim/<region>/``.
Outputs
    ``data/interim/<region>/network_pipes.parquet`` (one row per road segment or spur of
    each network) and ``networks.parquet`` (one row per network); their fields are in
    ``docs/outputs.md``.
Config keys
    ``network_design.*`` (method, MILP guard and time limit, consumers per zone, search
    margin); ``network.*``, ``pipes.*``, ``heat_pump.*``, ``carbon.*`` and ``cost.*`` as
    for the links; ``existing_networks.annual_demand_mwh`` (consumers of a network sink);
    ``viability.*`` and ``uncertainty.*`` for the bands.

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
    7. Bands: each network's sources drawn as the links are
       (:func:`~pipeline.stages.assess_links.add_uncertainty_bands`) and summed; the
       viability rules on the network's totals give ``prob_viable``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
    UncertaintyConfig,
    ViabilityConfig,
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
    heuristic_layout,
)
from pipeline.engineering.profile import share_pct
from pipeline.engineering.uncertainty import draw_factors, propagate
from pipeline.errors import InputError
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.network_roads import (
    RoadEdges,
    SegmentRow,
    add_segments,
    link_ends,
    segment_rows,
    split_pieces,
)
from pipeline.paths import RegionPaths
from pipeline.stages.assess_links import (
    _pipe_cost_eur_per_m,
    add_pumping_electricity,
    band_columns,
    band_field_names,
    carbon_factors,
    central_case,
    choose_pipe,
    cost_field_names,
    cost_with_pipe_capex,
    count_carbon_saving,
    draws_viable,
    estimate_heat_loss,
    lift_with_heat_pump,
    pipe_capex,
    uncertainty_ranges,
    viability_limits,
)

if TYPE_CHECKING:
    from pathlib import Path

    from scipy import sparse

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
    "design_network_heat_mw",
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
    *band_field_names("EUR").values(),
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
    viability: ViabilityConfig = ViabilityConfig()
    uncertainty: UncertaintyConfig = UncertaintyConfig()

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
            viability=cfg.viability,
            uncertainty=cfg.uncertainty,
        )


@dataclass
class Feed:
    """One source's tree in a network: its road node, the tree to its sinks' road nodes,
    the load and consumers of each sink node, and the links it stands for. Feeds with the
    same ``tag`` (a network, or a link laid alone) share trenches; others never do."""

    site_id: str
    root: Node | None
    tree: nx.Graph
    sink_loads_mw: dict[Node, float]
    consumers: dict[Node, float]
    links: list  # its links as records (DataFrame.itertuples)
    link_ends: dict[str, Node | None]
    method: str = "heuristic"
    gap_pct: float = float("nan")
    network_id: str = ""
    tag: str = ""  # trenches are shared only between feeds with the same tag
    temps: tuple[float, float] = (float("nan"), float("nan"))  # network supply, return


@dataclass
class _Segment:
    """A trench of the network as the feeds' trees are laid over one another."""

    segment_id: str
    road_class: str
    length_m: float
    civils_factor: float
    geometry: shapely.Geometry
    load_by_feed: dict[int, float] = field(default_factory=dict)
    n_consumers: float = 0.0


# --------------------------------------------------------------------------- grouping


def recommended_links(
    links: pd.DataFrame, allocation: pd.DataFrame, consumers_by_sink: pd.Series
) -> gpd.GeoDataFrame:
    """The recommended links with their allocation and the consumers of their sink."""
    rec = allocation.loc[allocation["recommended"] & (allocation["allocated_network_heat_mw"] > 0)]
    out = links.merge(
        rec[["link_id", "allocated_network_heat_mw", "allocated_delivered_heat_mwh"]], on="link_id"
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
    if cfg.method == "milp":
        from pipeline.engineering.network_milp import MilpOptions, milp_design

        try:
            design = milp_design(
                graph,
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
        return (
            _with_data(graph, zip(design.pipes["u"], design.pipes["v"], strict=True)),
            "milp",
            100.0 * (design.mip_gap or 0.0),
        )
    # a load beyond the largest DN is costed at infinity, the tree laid all the same; the
    # segment then gets no DN (and no capex), as a link would
    tree = heuristic_layout(graph, root=root, sink_loads_mw=sink_loads_mw, dn_options=dn_options)
    return tree, "heuristic", float("nan")


def _with_data(g: nx.Graph, edges) -> nx.Graph:
    tree = nx.Graph()
    tree.add_edges_from((u, v, g.edges[u, v]) for u, v in edges)
    return tree


def feeds_of_network(
    links: list,
    ends: dict[str, tuple[int, int]],
    graph: nx.Graph,
    dn_options: pd.DataFrame,
    cfg: NetworkDesignConfig,
    name: str,
) -> list[Feed]:
    """Each source's tree in a network, laid out on the candidate graph. ``links`` are the
    network's links as records (``DataFrame.itertuples``)."""
    feeds = []
    by_site: dict[str, list] = {}
    for link in links:
        by_site.setdefault(link.site_id, []).append(link)
    for site_id, own in sorted(by_site.items()):
        root, sinks, consumers, link_ends = _terminals(own, ends)
        tree, method, gap = (
            _layout(graph, root, sinks, dn_options, cfg, f"{name} ({site_id})")
            if sinks
            else (nx.Graph(), "heuristic", float("nan"))
        )
        feeds.append(
            Feed(site_id, root, tree, sinks, consumers, own, link_ends, method, gap, name, name)
        )
    return feeds


def point_to_point_feeds(
    links: list,
    ends: dict[str, tuple[int, int]],
    graph: nx.Graph,
    dn_options: pd.DataFrame,
    cfg: NetworkDesignConfig,
    name: str,
) -> list[Feed]:
    """Each link laid alone, by the same method on the same graph: what the network would
    cost without shared trenches (each its own ``tag``, so no trench is shared)."""
    feeds = []
    for link in links:
        (feed,) = feeds_of_network([link], ends, graph, dn_options, cfg, name)
        feed.tag = str(link.link_id)
        feeds.append(feed)
    return feeds


def _terminals(
    links: list, ends: dict[str, tuple[int, int]]
) -> tuple[Node | None, dict[Node, float], dict[Node, float], dict[str, Node | None]]:
    """A source's road node, the load and consumers at each of its sinks' road nodes, and
    each link's sink node; a sink reached without road (at the source's node) has none."""
    roots = [ends[link.link_id][0] for link in links if link.link_id in ends]
    root = roots[0] if roots else None
    sinks: dict[Node, float] = {}
    consumers: dict[Node, float] = {}
    link_ends: dict[str, Node | None] = {}
    for link in links:
        link_id, load, n = link.link_id, link.allocated_network_heat_mw, link.consumers
        end = ends[link_id][1] if link_id in ends else None
        link_ends[link_id] = None if end is None or end == root else end
        if link_ends[link_id] is not None:
            sinks[end] = sinks.get(end, 0.0) + float(load)
            consumers[end] = consumers.get(end, 0.0) + float(n)
    return root, sinks, consumers, link_ends


# --------------------------------------------------------------------------- costing


@dataclass
class Costed:
    """Costed layouts: their pipes (one row per segment or spur, with its ``tag`` and
    ``network_id``) and their sources (one row per feed, with the link fields of
    :mod:`pipeline.stages.assess_links`)."""

    pipes: pd.DataFrame
    feeds: pd.DataFrame


def _lay_feeds(feeds: list[Feed]) -> tuple[dict[tuple, _Segment], list[list[list[tuple]]]]:
    """The feeds' trees and spurs laid over one another (only within a ``tag``); for each
    feed, the keys of the segments on the way from its source to each of its sinks."""
    segments: dict[tuple, _Segment] = {}
    paths: list[list[list[tuple]]] = []
    for k, f in enumerate(feeds):
        loads = np.array([link.allocated_network_heat_mw for link in f.links], dtype=float)
        n = np.array([link.consumers for link in f.links], dtype=float)
        site_spur = _add(segments, f, k, _site_spur(f), diversified_load_mw(loads, n), n.sum())
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
                _add(segments, f, k, seg, mw, counts[(u, v)])
            tree_paths = nx.single_source_shortest_path(f.tree, f.root)
        feed_paths = []
        for link in f.links:
            spur = _add(
                segments, f, k, _sink_spur(link), link.allocated_network_heat_mw, link.consumers
            )
            nodes = tree_paths.get(f.link_ends[link.link_id], [])
            road = [
                (f.tag, f.tree.edges[a, b]["segment_id"])
                for a, b in zip(nodes, nodes[1:], strict=False)
            ]
            feed_paths.append([key for key in (site_spur, *road, spur) if key is not None])
        paths.append(feed_paths)
    return segments, paths


def _site_spur(feed: Feed) -> _Segment | None:
    """The straight spur from the site to the road: the start of its route."""
    first = feed.links[0]
    length = float(np.nan_to_num(first.site_spur_m))
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
    segments: dict[tuple, _Segment], feed: Feed, k: int, seg: _Segment | None, mw: float, n: float
) -> tuple | None:
    """Lay feed k's segment: a trench already laid with the same tag takes the new load as
    well. Returns the segment's key (None for no segment)."""
    if seg is None:
        return None
    key = (feed.tag, seg.segment_id)
    held = segments.setdefault(key, seg)
    held.length_m = max(held.length_m, seg.length_m)
    held.load_by_feed[k] = held.load_by_feed.get(k, 0.0) + float(mw)
    held.n_consumers += float(n)
    return key


def _pipes_table(segments: dict[tuple, _Segment], feeds: list[Feed]) -> pd.DataFrame:
    rows = list(segments.values())
    first = [feeds[next(iter(s.load_by_feed))] for s in rows]
    sites = [sorted({feeds[k].site_id for k in s.load_by_feed}) for s in rows]
    return pd.DataFrame(
        {
            "tag": [tag for tag, _ in segments],
            "network_id": [f.network_id for f in first],
            "segment_id": [s.segment_id for s in rows],
            "road_class": [s.road_class for s in rows],
            "route_length_m": [s.length_m for s in rows],
            "civils_factor": [s.civils_factor for s in rows],
            "design_network_heat_mw": [sum(s.load_by_feed.values()) for s in rows],
            "n_consumers": [s.n_consumers for s in rows],
            "site_ids": [";".join(x) for x in sites],
            "site_id": [x[0] if len(x) == 1 else None for x in sites],
            "supply_temp_c": [f.temps[0] for f in first],
            "return_temp_c": [f.temps[1] for f in first],
            "geometry": [s.geometry for s in rows],
        }
    )


def _shares(segments: dict[tuple, _Segment], n_feeds: int) -> sparse.csr_array:
    """Each feed's share of each segment's load: feeds × segments."""
    from scipy import sparse

    rows, cols, vals = [], [], []
    for j, seg in enumerate(segments.values()):
        total = sum(seg.load_by_feed.values())
        for k, mw in seg.load_by_feed.items():
            rows.append(k)
            cols.append(j)
            vals.append(mw / total if total > 0 else 1.0 / len(seg.load_by_feed))
    return sparse.csr_array((vals, (rows, cols)), shape=(n_feeds, len(segments)))


def cost_layout(
    feeds: list[Feed],
    sources: pd.DataFrame,
    catalogue: pd.DataFrame,
    twin_casings: pd.DataFrame,
    cfg: DesignConfig,
) -> Costed:
    """Size, lose, pump and cost layouts by the links' steps, all at once: their pipes, and
    one row per feed with the link fields of :mod:`pipeline.stages.assess_links`."""
    segments, paths = _lay_feeds(feeds)
    pipes = choose_pipe(
        _pipes_table(segments, feeds), catalogue, twin_casings, pipes=cfg.pipes, network=cfg.network
    )
    pipes = estimate_heat_loss(pipes, cfg.pipes)
    pipes["annual_heat_loss_mwh"] = annual_heat_loss_mwh(
        pipes["heat_loss_w_per_m"].to_numpy(dtype=float),
        pipes["route_length_m"].to_numpy(dtype=float),
        cfg.pipes.hours_in_service_h,
    )
    pipes["capex"] = pipe_capex(pipes, cfg.cost)
    pipes["key"] = list(segments)
    shares = _shares(segments, len(feeds))
    rows = _cost_sources(feeds, paths, pipes, shares, sources, (catalogue, twin_casings), cfg)
    return Costed(pipes, rows)


def _cost_sources(
    feeds: list[Feed],
    paths: list[list[list[tuple]]],
    pipes: pd.DataFrame,
    shares: sparse.csr_array,
    sources: pd.DataFrame,
    catalogues: tuple[pd.DataFrame, pd.DataFrame],
    cfg: DesignConfig,
) -> pd.DataFrame:
    """One row per feed: heat pump, energy, pumping on its critical path, CO2 and cost."""
    src = sources.set_index("site_id")
    site_ids = [f.site_id for f in feeds]
    rows = pd.DataFrame(
        {
            "network_id": [f.network_id for f in feeds],
            "tag": [f.tag for f in feeds],
            "site_id": site_ids,
            "heat_available_mw": src.loc[site_ids, "heat_available_mw"].to_numpy(dtype=float),
            "source_temp_c": src.loc[site_ids, "source_temp_c"].to_numpy(dtype=float),
            "supply_temp_c": [f.temps[0] for f in feeds],
            "return_temp_c": [f.temps[1] for f in feeds],
            "sink_peak_mw": [
                diversified_load_mw(
                    [link.allocated_network_heat_mw for link in f.links],
                    [link.consumers for link in f.links],
                )
                for f in feeds
            ],
        }
    )
    rows = lift_with_heat_pump(rows, cfg.heat_pump)
    delivered = np.array(
        [sum(link.allocated_delivered_heat_mwh for link in f.links) for f in feeds], dtype=float
    )
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
        route_length_m=critical["length_m"].to_numpy(),
        pressure_gradient_pa_per_m=critical["pressure_gradient_pa_per_m"].to_numpy(),
        max_supply_temp_drop_k=critical["drop_k"].to_numpy(),
    )
    rows = add_pumping_electricity(rows, cfg.pipes)
    rows = count_carbon_saving(rows, cfg.carbon, lifetime_years=cfg.cost.pipe_lifetime_years)
    capex_share = shares @ np.nan_to_num(pipes["capex"].to_numpy(dtype=float))
    return cost_with_pipe_capex(rows, capex_share, cfg.heat_pump, cfg.cost)


def _critical_paths(paths: list[list[list[tuple]]], pipes: pd.DataFrame) -> pd.DataFrame:
    """For each feed, the path to the sink with the largest pressure drop: its length
    and mean gradient; and the largest supply temperature drop to any of its sinks."""
    at = {key: i for i, key in enumerate(pipes["key"])}
    length = pipes["route_length_m"].to_numpy(dtype=float)
    drop_pa = np.nan_to_num(pipes["pressure_gradient_pa_per_m"].to_numpy(dtype=float) * length)
    drop_k = np.nan_to_num(pipes["supply_temp_drop_k"].to_numpy(dtype=float))
    out = []
    for feed_paths in paths:
        best_pa, best_m, worst_k = 0.0, 0.0, 0.0
        for keys in feed_paths:
            idx = [at[key] for key in keys]
            pa = float(drop_pa[idx].sum())
            worst_k = max(worst_k, float(drop_k[idx].sum()))
            if pa > best_pa:
                best_pa, best_m = pa, float(length[idx].sum())
        out.append((best_m, best_pa / best_m if best_m > 0 else 0.0, worst_k))
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
    edges: gpd.GeoDataFrame | tuple[Path, Path]  # graph edges, or (edges, nodes) files
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
    groups = links.groupby("network_id", sort=True)
    designed, alone = lay_out(groups, data, cfg)
    args = (data.sources, data.catalogue, data.twin_casings, cfg)
    costed, p2p = cost_layout(designed, *args), cost_layout(alone, *args)
    nets = summarise_all(groups, designed, costed, p2p, names)
    add_network_bands(nets, costed.feeds, cfg)
    for row in nets:
        log.info(
            "%s: %s to %s: %.0f m of trench against %.0f m point to point (%.1f %% saved), "
            "capex %.0f against %.0f %s (%s)",
            row["network_id"],
            row["site_ids"],
            row["sink_ids"],
            row["trench_length_m"],
            row["p2p_trench_length_m"],
            row["trench_saving_pct"],
            row[names["capex"]],
            row[f"p2p_{names['capex']}"],
            cfg.cost.currency,
            row["method"],
        )
    networks = gpd.GeoDataFrame(pd.DataFrame(nets)[[*net_cols, "geometry"]], crs=crs)
    return networks, _pipes_frame(costed.pipes, names, pipe_cols, crs)


def add_network_bands(nets: list[dict], feeds: pd.DataFrame, cfg: DesignConfig) -> None:
    """Add each network's bands (:func:`~pipeline.stages.assess_links.band_field_names`)
    to its row: its sources' draws summed (LCOH = cost / delivered heat over the
    network), and ``prob_viable`` with the link rules on the network's totals (heat loss,
    heat per trench metre, heat delivered). A source's sink demand is its allocated heat."""
    ids = [row["network_id"] for row in nets]
    labels = pd.Index(ids).get_indexer(feeds["network_id"])
    factors = draw_factors(
        uncertainty_ranges(cfg.uncertainty), draws=cfg.uncertainty.draws, seed=cfg.uncertainty.seed
    )
    central = central_case(
        feeds, cfg.pipes, cfg.cost, sink_demand_mwh=feeds["delivered_heat_mwh"].to_numpy(float)
    )
    out = propagate(central, factors, **carbon_factors(cfg.carbon)).summed(labels)
    trench = np.array([row["trench_length_m"] for row in nets], dtype=float)
    bands = band_columns(out, draws_viable(out, trench, viability_limits(cfg.viability)))
    names = band_field_names(cfg.cost.currency)
    for i, row in enumerate(nets):
        row.update({names[key]: float(values[i]) for key, values in bands.items()})


def lay_out(groups, data: Inputs, cfg: DesignConfig) -> tuple[list[Feed], list[Feed]]:
    """The layouts of every network (``groups``: the recommended links by network) and of
    its links laid alone; a network of one link is its own point-to-point layout."""
    segments = data.segments
    ends = link_ends(segments.loc[segments["link_id"].isin(groups.obj["link_id"])])
    options = _dn_options(data.catalogue, groups.obj, cfg)
    margin = cfg.network_design.search_margin_m
    roads = (
        RoadEdges.from_files(
            *data.edges,
            np.array([own.total_bounds + [-margin, -margin, margin, margin] for _, own in groups]),
        )
        if isinstance(data.edges, tuple)
        else RoadEdges.from_frame(data.edges)
    )
    pieces = split_pieces(segments)
    by_link: dict[str, list[SegmentRow]] = {}
    for link, row in zip(segments["link_id"], segment_rows(segments), strict=True):
        by_link.setdefault(link, []).append(row)
    designed: list[Feed] = []
    alone: list[Feed] = []
    started = time.perf_counter()
    for net_id, own in tqdm(
        groups, desc="laying out networks", unit=" networks", leave=False, disable=None
    ):
        graph = roads.near(tuple(own.total_bounds), margin, pieces)
        add_segments(graph, [row for link in own["link_id"] for row in by_link.get(link, [])])
        records = list(own.itertuples(index=False))
        feeds = feeds_of_network(records, ends, graph, options, cfg.network_design, net_id)
        laid_alone = (
            []
            if len(records) == 1
            else point_to_point_feeds(records, ends, graph, options, cfg.network_design, net_id)
        )
        temps = _temperatures(own)
        for feed in (*feeds, *laid_alone):
            feed.temps = temps
        designed += feeds
        alone += laid_alone
    log.info("laid out %d networks in %.1f s", groups.ngroups, time.perf_counter() - started)
    return designed, alone


def summarise_all(
    groups, designed: list[Feed], costed: Costed, p2p: Costed, names: dict[str, str]
) -> list[dict]:
    """One row per network (:func:`summarise`); a network of one link, which was not laid
    out again alone, is its own point to point."""
    parts = {
        name: {
            "pipes": dict(tuple(c.pipes.groupby("network_id"))),
            "feeds": dict(tuple(c.feeds.groupby("network_id"))),
        }
        for name, c in (("network", costed), ("p2p", p2p))
    }
    of_network: dict[str, list[Feed]] = {}
    for feed in designed:
        of_network.setdefault(feed.network_id, []).append(feed)

    def part(name: str, net_id: str) -> Costed:
        if net_id not in parts[name]["feeds"]:
            name = "network"
        return Costed(parts[name]["pipes"][net_id], parts[name]["feeds"][net_id])

    return [
        summarise(
            net_id, own, of_network[net_id], part("network", net_id), part("p2p", net_id), names
        )
        for net_id, own in groups
    ]


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
    pipes: pd.DataFrame, names: dict[str, str], columns: list[str], crs
) -> gpd.GeoDataFrame:
    frame = pipes.rename(columns={"route_length_m": "length_m", "capex": names["capex"]})
    frame["dn"] = frame["dn"].astype("Int64")
    return gpd.GeoDataFrame(
        frame[[*columns, "geometry"]].reset_index(drop=True), geometry="geometry", crs=crs
    )


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
        edges=(paths.graph_edges, paths.graph_nodes),
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
