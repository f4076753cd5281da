"""Allocate heat between sources and sinks: a recommended set of links.

One data centre cannot heat every zone it reaches, and a zone needs only so much heat.
This stage chooses how much heat each viable link should carry.

Inputs
    ``assessed_links.parquet``, ``sources.parquet``, ``demand_zones.parquet`` and
    ``heat_networks.parquet`` in ``data/interim/<region>/``.
Outputs
    ``data/interim/<region>/allocation.parquet``: for every viable link its ``link_id``,
    ``allocated_network_heat_mw`` (heat-pump output: the heat the link sends into its pipe),
    ``allocated_source_heat_mw`` (the waste heat that output takes from the site),
    ``recommended``, and the year of the allocation: ``allocated_delivered_heat_mwh`` and
    ``allocated_co2_saved_t_per_yr``.
Config keys
    ``existing_networks.annual_demand_mwh`` (a network's capacity; unlimited when unset),
    ``zones.full_load_hours_h`` (to turn it into MW); ``demand_profile.*``,
    ``source_profile.*`` and ``region.bbox`` (the year's shapes),
    ``pipes.source_hours_h`` and ``pipes.hours_in_service_h``, ``carbon.*``.

Method
    The allocation counts heat on the network side of the heat pump, the heat a link
    sends into its pipe at supply temperature, in MW at design conditions. Set the
    limits: each link carries up to its ``design_network_heat_mw``; a link's flow f takes
    f·(COP - 1)/COP of its site's waste heat (f itself where the source needs no heat
    pump), and a site gives at most its ``heat_available_mw``; each zone takes up to its
    ``peak_demand_mw`` and each existing network up to its configured capacity. Find
    the largest total flow within the limits, then the cheapest flows that carry it, at
    a cost per MW equal to the link's levelised cost of heat (its heat-loss percentage
    when costs are not computed). Both are linear programmes (scipy ``linprog``, HiGHS),
    since the heat pump makes a link's flow count differently at the site and at the
    sink. Flows are rounded down to the kW; a link with flow is ``recommended``. Count
    the year of the allocation: each sink's recommended links, cheapest first, meet its
    demand hour by hour over a typical year, each with its allocated flow as its
    capacity, so links that share a sink never deliver more than it draws in any hour;
    their net CO2 saving follows from the heat delivered and the electricity used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.config import CarbonConfig, PipesConfig, RegionFile
from pipeline.engineering.carbon import co2_saving_t_per_yr
from pipeline.engineering.heat_pump import heat_pump_output_mw, heat_pump_split_mwh
from pipeline.engineering.profile import HOURS_PER_YEAR, YearShapes, merit_order_balance_mwh
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.profiles import year_shapes

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult
    from scipy.sparse import csr_array

log = logging.getLogger("heatlink.allocate_heat")

KW_PER_MW = 1000
# Solver tolerances: the cheapest flow may carry 1 mW less in total than the largest, and
# a flow within 10 mW below a whole kW counts as that kW.
SLACK_MW = 1e-9
ROUNDING_KW = 1e-5
ALLOCATION_COLUMNS = [
    "link_id",
    "allocated_network_heat_mw",
    "allocated_source_heat_mw",
    "recommended",
]
YEAR_COLUMNS = ["allocated_delivered_heat_mwh", "allocated_co2_saved_t_per_yr"]


@dataclass
class FlowLimits:
    """The linear limits on the links' flows (heat-pump output, MW): ``A @ f <= b``."""

    design_mw: np.ndarray  # each link's upper bound
    lift: np.ndarray  # heat-pump output per MW of waste heat, COP/(COP - 1) (1: no pump)
    A: csr_array  # one row per site (source side), then one per capped sink
    b: np.ndarray


def cost_column(links: pd.DataFrame) -> str:
    """The levelised cost of heat to the sink (``lcoh_transmission_<currency>_per_mwh``),
    else ``heat_loss_pct``."""
    lcoh = [c for c in links.columns if c.startswith("lcoh_transmission_")]
    return lcoh[0] if lcoh else "heat_loss_pct"


def sink_capacities_mw(
    zones: pd.DataFrame,
    network_ids: pd.Series | list[str],
    *,
    network_annual_demand_mwh: float | None,
    full_load_hours_h: float,
) -> dict[str, float | None]:
    """Heat each sink can take, MW: a zone its peak, a network its annual demand ÷ hours.

    Parameters
    ----------
    zones
        Demand zones with ``zone_id`` and ``peak_demand_mw``.
    network_ids
        ``network_id`` of each existing network.
    network_annual_demand_mwh
        ``existing_networks.annual_demand_mwh``; None leaves the networks unlimited.
    full_load_hours_h
        ``zones.full_load_hours_h``.

    Returns
    -------
    ``{sink_id: MW}``, None for no limit.

    Examples
    --------
    >>> zones = pd.DataFrame({"zone_id": ["Z1"], "peak_demand_mw": [2.5]})
    >>> sink_capacities_mw(zones, ["N0001"], network_annual_demand_mwh=10_000.0,
    ...     full_load_hours_h=2000.0)
    {'Z1': 2.5, 'N0001': 5.0}
    """
    capacity: dict[str, float | None] = dict(
        zip(zones["zone_id"], zones["peak_demand_mw"].astype(float), strict=True)
    )
    network_mw = (
        None if network_annual_demand_mwh is None else network_annual_demand_mwh / full_load_hours_h
    )
    for nid in network_ids:
        capacity[nid] = network_mw
    return capacity


def allocate_heat(
    links: pd.DataFrame,
    supply_mw: dict[str, float],
    demand_mw: dict[str, float | None],
    *,
    cost: str,
) -> pd.DataFrame:
    """Allocate heat over viable links: the largest total flow, at least total cost.

    Parameters
    ----------
    links
        Viable links with ``link_id``, ``site_id``, ``sink_id``, ``design_network_heat_mw``, the
        ``cost`` column (cost per MWh, or any per-unit cost to minimise) and ``cop``
        (NaN, or no column, where the source needs no heat pump).
    supply_mw
        Waste heat available at each site (source side of the heat pump); a site not
        listed gives none.
    demand_mw
        Heat each sink can take (network side); None for no limit; a sink not listed
        takes none.
    cost
        Name of the cost column.

    Returns
    -------
    ``link_id``, ``allocated_network_heat_mw`` (heat-pump output the link carries),
    ``allocated_source_heat_mw`` (the site's waste heat it takes) and ``recommended``.

    Examples
    --------
    One 10 MW source (no heat pump) reaches two 6 MW zones, Z1 more cheaply: Z1 gets
    6 MW, Z2 the rest.

    >>> links = pd.DataFrame({"link_id": ["L1", "L2"], "site_id": ["S", "S"],
    ...     "sink_id": ["Z1", "Z2"], "design_network_heat_mw": [6.0, 6.0], "lcoh": [30.0, 50.0]})
    >>> allocate_heat(links, {"S": 10.0}, {"Z1": 6.0, "Z2": 6.0}, cost="lcoh").values.tolist()
    [['L1', 6.0, 6.0, True], ['L2', 4.0, 4.0, True]]

    With a heat pump of COP 3 at the source, 3 MW of waste heat becomes 4.5 MW of
    output, all of which a 4.5 MW link carries:

    >>> hp = pd.DataFrame({"link_id": ["L1"], "site_id": ["S"], "sink_id": ["Z1"],
    ...     "design_network_heat_mw": [4.5], "lcoh": [30.0], "cop": [3.0]})
    >>> allocate_heat(hp, {"S": 3.0}, {"Z1": None}, cost="lcoh").values.tolist()
    [['L1', 4.5, 3.0, True]]
    """
    limits = flow_limits(links, supply_mw, demand_mw)
    most = largest_total_flow_mw(limits)
    flow = cheapest_flow_mw(limits, link_costs(links[cost]), total_mw=most)
    return allocation_table(links["link_id"], flow, limits.lift)


def flow_limits(
    links: pd.DataFrame, supply_mw: dict[str, float], demand_mw: dict[str, float | None]
) -> FlowLimits:
    """The limits of the sites (source side), the links and the sinks (network side)."""
    from scipy.sparse import csr_array, vstack

    n = len(links)
    cop = links["cop"].to_numpy(dtype=float) if "cop" in links else np.full(n, np.nan)
    lift = np.asarray(heat_pump_output_mw(np.ones(n), cop), dtype=float).reshape(n)
    design = np.nan_to_num(links["design_network_heat_mw"].to_numpy(dtype=float), nan=0.0)
    rows, b = [], []
    for site, members in links.groupby("site_id", sort=True).indices.items():
        supply = supply_mw.get(site, 0.0)
        if not np.isposinf(supply):
            rows.append(_row(n, members, 1.0 / lift[members]))
            b.append(np.nan_to_num(supply))
    for sink, members in links.groupby("sink_id", sort=True).indices.items():
        capacity = demand_mw.get(sink, 0.0)
        if capacity is not None and not np.isposinf(capacity):
            rows.append(_row(n, members, np.ones(len(members))))
            b.append(np.nan_to_num(capacity))
    A = vstack(rows, format="csr") if rows else csr_array((0, n))
    return FlowLimits(design, lift, A, np.asarray(b, dtype=float))


def link_costs(values: pd.Series) -> np.ndarray:
    """Cost per MW of each link: missing costs count as the dearest, negative ones as 0."""
    return values.fillna(values.max()).clip(lower=0).fillna(0.0).to_numpy(dtype=float)


def largest_total_flow_mw(limits: FlowLimits) -> float:
    """The largest total heat-pump output the links can carry within the limits."""
    n = len(limits.design_mw)
    if n == 0:
        return 0.0
    return -_solve(-np.ones(n), limits).fun


def cheapest_flow_mw(limits: FlowLimits, costs: np.ndarray, *, total_mw: float) -> np.ndarray:
    """The flow of each link, of least total cost among those that carry ``total_mw``."""
    n = len(limits.design_mw)
    if n == 0 or total_mw <= 0:
        return np.zeros(n)
    # at least the largest total, less the solver's tolerance
    return _solve(costs, limits, min_total_mw=total_mw - SLACK_MW).x


def allocation_table(link_ids: pd.Series, flow_mw: np.ndarray, lift: np.ndarray) -> pd.DataFrame:
    """Each link's flow rounded down to the kW, the waste heat it takes, and whether used."""
    allocated = np.floor(np.asarray(flow_mw) * KW_PER_MW + ROUNDING_KW) / KW_PER_MW
    allocated = np.maximum(allocated, 0.0)
    return pd.DataFrame(
        {
            "link_id": link_ids.to_numpy(),
            "allocated_network_heat_mw": allocated,
            "allocated_source_heat_mw": allocated / lift,
            "recommended": allocated > 0,
        },
        columns=ALLOCATION_COLUMNS,
    )


def year_of_allocation(
    links: pd.DataFrame,
    allocation: pd.DataFrame,
    demand_mwh: dict[str, float | None],
    year: YearShapes,
    *,
    pipes: PipesConfig,
    carbon: CarbonConfig,
) -> pd.DataFrame:
    """The heat each recommended link delivers in a year, and its net CO2 saving.

    Parameters
    ----------
    links
        Viable links with ``link_id``, ``sink_id``, ``cop``, ``heat_loss_w_per_m``,
        ``route_length_m``, ``heat_sent_mwh``, ``pump_electricity_mwh`` and the cost
        column of :func:`cost_column`.
    allocation
        The output of :func:`allocate_heat` for those links.
    demand_mwh
        Each sink's annual demand; None for no limit.
    year
        The hourly shapes of the demand and the sources' heat.
    pipes, carbon
        ``pipes.source_hours_h`` and ``pipes.hours_in_service_h``; the carbon factors.

    Returns
    -------
    ``link_id`` and :data:`YEAR_COLUMNS` (0 for a link that is not recommended).

    Examples
    --------
    Two 1 MW links without heat pumps or loss share a zone of 13,140 MWh a year; with a
    flat year, the cheaper one delivers 8,760 MWh and the other the remaining 4,380.

    >>> from pipeline.config import CarbonConfig, PipesConfig
    >>> links = pd.DataFrame({"link_id": ["L1", "L2"], "sink_id": ["Z", "Z"],
    ...     "cop": [np.nan, np.nan], "heat_loss_w_per_m": [0.0, 0.0],
    ...     "route_length_m": [100.0, 100.0], "heat_sent_mwh": [8760.0, 8760.0],
    ...     "pump_electricity_mwh": [0.0, 0.0], "lcoh_transmission_eur_per_mwh": [20.0, 30.0]})
    >>> allocation = pd.DataFrame(
    ...     {"link_id": ["L1", "L2"], "allocated_network_heat_mw": [1.0, 1.0]})
    >>> year = year_of_allocation(links, allocation, {"Z": 13_140.0}, YearShapes.flat(),
    ...     pipes=PipesConfig(), carbon=CarbonConfig())
    >>> year["allocated_delivered_heat_mwh"].round(1).tolist()
    [8760.0, 4380.0]
    """
    merged = links.merge(allocation[["link_id", "allocated_network_heat_mw"]], on="link_id")
    merged = merged.sort_values(cost_column(links), kind="stable")
    sent = pd.Series(0.0, index=merged.index)
    delivered = pd.Series(0.0, index=merged.index)
    for sink, rows in merged[merged["allocated_network_heat_mw"] > 0].groupby(
        "sink_id", sort=False
    ):
        annual = demand_mwh.get(sink)
        s, d, _ = merit_order_balance_mwh(
            source_mwh=rows["allocated_network_heat_mw"].to_numpy() * pipes.source_hours_h,
            source_shape=year.source,
            capacity_mw=rows["allocated_network_heat_mw"].to_numpy(),
            heat_loss_mw=rows["heat_loss_w_per_m"].to_numpy()
            * rows["route_length_m"].to_numpy()
            * pipes.hours_in_service_h
            / HOURS_PER_YEAR
            / 1e6,
            demand_mwh=np.inf if annual is None else annual,
            demand_shape=year.demand,
        )
        sent[rows.index], delivered[rows.index] = s, d
    _, hp_electricity = heat_pump_split_mwh(sent.to_numpy(), merged["cop"].to_numpy())
    heat_sent = merged["heat_sent_mwh"].to_numpy()
    pump = np.nan_to_num(merged["pump_electricity_mwh"].to_numpy()) * np.divide(
        sent.to_numpy(), heat_sent, out=np.zeros(len(merged)), where=heat_sent > 0
    )
    co2 = co2_saving_t_per_yr(
        delivered_heat_mwh=delivered.to_numpy(),
        electricity_mwh=hp_electricity + pump,
        gas_factor_kg_per_kwh=carbon.gas_factor_kg_per_kwh,
        boiler_efficiency=carbon.boiler_efficiency,
        grid_factor_kg_per_kwh=carbon.grid_factor_kg_per_kwh,
    )
    out = pd.DataFrame(
        {
            "link_id": merged["link_id"].to_numpy(),
            "allocated_delivered_heat_mwh": delivered.to_numpy(),
            "allocated_co2_saved_t_per_yr": co2,
        }
    )
    return allocation[["link_id"]].merge(out, on="link_id", how="left")


def _row(n: int, members: np.ndarray, values: np.ndarray) -> csr_array:
    """One constraint row over ``n`` links with ``values`` at ``members``."""
    from scipy.sparse import csr_array

    return csr_array((values, (np.zeros(len(members), dtype=int), members)), shape=(1, n))


def _solve(
    objective: np.ndarray, limits: FlowLimits, *, min_total_mw: float | None = None
) -> OptimizeResult:
    """Minimise ``objective @ f`` within ``limits``, ``0 <= f <= design`` and the total."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_array, vstack

    A, b = limits.A, limits.b
    if min_total_mw is not None:  # sum(f) >= total, as -sum(f) <= -total
        A = vstack([A, csr_array(-np.ones((1, len(objective))))], format="csr")
        b = np.append(b, -min_total_mw)
    result = linprog(
        objective,
        A_ub=A if A.shape[0] else None,
        b_ub=b if A.shape[0] else None,
        bounds=np.column_stack([np.zeros(len(objective)), limits.design_mw]),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"the allocation's linear programme failed: {result.message}")
    return result


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read links, sources, sinks and the year's shapes; allocate; count the allocation's
    year; write allocation.parquet."""
    links = read_geoparquet(paths.assessed_links)
    viable = links[links["reason"].isna()]
    sources = read_geoparquet(paths.sources)
    networks = read_geoparquet(paths.heat_networks)
    zones = read_geoparquet(paths.demand_zones)
    ncfg = cfg.existing_networks
    network_mwh = None if ncfg is None else ncfg.annual_demand_mwh
    demand = sink_capacities_mw(
        zones,
        networks["network_id"],
        network_annual_demand_mwh=network_mwh,
        full_load_hours_h=cfg.zones.full_load_hours_h,
    )
    cost = cost_column(viable)
    result = allocate_heat(
        viable,
        dict(zip(sources["site_id"], sources["heat_available_mw"], strict=True)),
        demand,
        cost=cost,
    )
    annual = dict(zip(zones["zone_id"], zones["annual_demand_mwh"].astype(float), strict=True))
    annual |= dict.fromkeys(networks["network_id"], network_mwh)
    year = year_of_allocation(
        viable,
        result,
        annual,
        year_shapes(cfg.demand_profile, cfg.source_profile, cfg.region),
        pipes=cfg.pipes,
        carbon=cfg.carbon,
    )
    result = result.merge(year, on="link_id", how="left")
    log.info(
        "%d viable links: %d recommended, carrying %.1f MW of heat-pump output from "
        "%.1f of %.1f MW of waste heat available (cost: %s); over a typical year they "
        "deliver %.0f MWh and save %.0f t CO2e",
        len(viable),
        int(result["recommended"].sum()),
        result["allocated_network_heat_mw"].sum(),
        result["allocated_source_heat_mw"].sum(),
        sources["heat_available_mw"].sum(),
        cost,
        result["allocated_delivered_heat_mwh"].sum(),
        result["allocated_co2_saved_t_per_yr"].sum(),
    )
    write_geoparquet(result, paths.allocation)
    log.info("wrote %s", paths.allocation)
