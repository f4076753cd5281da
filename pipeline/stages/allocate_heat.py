"""Allocate heat between sources and sinks: a recommended set of links by min-cost flow.

One data centre cannot heat every zone it reaches, and a zone needs only so much heat.
This stage chooses how much of each source's heat each viable link should carry.

Inputs
    ``assessed_links.parquet``, ``sources.parquet``, ``demand_zones.parquet`` and
    ``heat_networks.parquet`` in ``data/interim/<region>/``.
Outputs
    ``data/interim/<region>/allocation.parquet``: ``link_id``, ``allocated_heat_mw`` and
    ``recommended`` for every viable link.
Config keys
    ``existing_networks.annual_demand_mwh`` (a network's capacity; unlimited when unset),
    ``zones.full_load_hours_h`` (to turn it into MW).

Method
    A flow network: a super-source feeds each site up to its ``heat_available_mw``; each
    viable link carries flow from its site to its sink up to the link's
    ``design_heat_mw`` at a cost per MW equal to the link's levelised cost of heat (or,
    when costs are not computed, its heat-loss percentage); each zone passes up to its
    ``peak_demand_mw`` to a super-sink (networks up to their configured capacity). The
    maximum flow of least total cost (networkx ``max_flow_min_cost``, network simplex on
    integers: kW and hundredths of the cost unit) gives ``allocated_heat_mw``; a link
    with flow is ``recommended``.
"""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np
import pandas as pd

from pipeline.config import RegionFile
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.allocate_heat")

KW_PER_MW = 1000
COST_SCALE = 100


def cost_column(links: pd.DataFrame) -> str:
    """The levelised-cost column (``lcoh_<currency>_per_mwh``), else ``heat_loss_pct``."""
    lcoh = [c for c in links.columns if c.startswith("lcoh_") and c.endswith("_per_mwh")]
    return lcoh[0] if lcoh else "heat_loss_pct"


def allocate_heat(
    links: pd.DataFrame,
    supply_mw: dict[str, float],
    demand_mw: dict[str, float | None],
    *,
    cost: str,
) -> pd.DataFrame:
    """Allocate heat over viable links by maximum flow at least total cost.

    Parameters
    ----------
    links
        Viable links with ``link_id``, ``site_id``, ``sink_id``, ``design_heat_mw`` and
        the ``cost`` column (cost per MWh, or any per-unit cost to minimise).
    supply_mw
        Heat available at each site.
    demand_mw
        Heat each sink can take; None for no limit.
    cost
        Name of the cost column.

    Returns
    -------
    ``link_id``, ``allocated_heat_mw`` and ``recommended``.

    Examples
    --------
    One 10 MW source reaches two 6 MW zones, Z1 more cheaply: Z1 gets 6 MW, Z2 the rest.

    >>> links = pd.DataFrame({"link_id": ["L1", "L2"], "site_id": ["S", "S"],
    ...     "sink_id": ["Z1", "Z2"], "design_heat_mw": [6.0, 6.0], "lcoh": [30.0, 50.0]})
    >>> allocate_heat(links, {"S": 10.0}, {"Z1": 6.0, "Z2": 6.0}, cost="lcoh").values.tolist()
    [['L1', 6.0, True], ['L2', 4.0, True]]
    """
    G = nx.DiGraph()
    unlimited = int(sum(supply_mw.values()) * KW_PER_MW) + 1
    for site, mw in supply_mw.items():
        G.add_edge("_source", ("site", site), capacity=int(round(mw * KW_PER_MW)), weight=0)
    for sink, mw in demand_mw.items():
        cap = unlimited if mw is None else int(round(mw * KW_PER_MW))
        G.add_edge(("sink", sink), "_sink", capacity=cap, weight=0)
    costs = links[cost].fillna(links[cost].max()).clip(lower=0).to_numpy()
    for row, c in zip(links.itertuples(), costs, strict=True):
        G.add_edge(
            ("site", row.site_id),
            ("link", row.link_id),
            capacity=int(round(row.design_heat_mw * KW_PER_MW)),
            weight=int(round(c * COST_SCALE)),
        )
        G.add_edge(("link", row.link_id), ("sink", row.sink_id), weight=0)
    if G.has_node("_source") and G.has_node("_sink"):
        flow = nx.max_flow_min_cost(G, "_source", "_sink")
    else:
        flow = {}
    allocated = np.array(
        [sum(flow.get(("link", lid), {}).values()) / KW_PER_MW for lid in links["link_id"]],
        dtype=float,
    )
    return pd.DataFrame(
        {
            "link_id": links["link_id"].to_numpy(),
            "allocated_heat_mw": allocated,
            "recommended": allocated > 0,
        }
    )


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read links, sources and sinks; allocate; write allocation.parquet."""
    links = read_geoparquet(paths.assessed_links)
    viable = links[links["reason"].isna()]
    sources = read_geoparquet(paths.sources)
    zones = read_geoparquet(paths.demand_zones)
    networks = read_geoparquet(paths.heat_networks)
    demand: dict[str, float | None] = dict(
        zip(zones["zone_id"], zones["peak_demand_mw"], strict=True)
    )
    ncfg = cfg.existing_networks
    for nid in networks["network_id"]:
        demand[nid] = (
            ncfg.annual_demand_mwh / cfg.zones.full_load_hours_h
            if ncfg is not None and ncfg.annual_demand_mwh is not None
            else None
        )
    cost = cost_column(viable)
    result = allocate_heat(
        viable,
        dict(zip(sources["site_id"], sources["heat_available_mw"], strict=True)),
        demand,
        cost=cost,
    )
    log.info(
        "%d viable links: %d recommended, carrying %.1f of %.1f MW available (cost: %s)",
        len(viable),
        int(result["recommended"].sum()),
        result["allocated_heat_mw"].sum(),
        sources["heat_available_mw"].sum(),
        cost,
    )
    write_geoparquet(result, paths.allocation)
    log.info("wrote %s", paths.allocation)
