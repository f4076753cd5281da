"""Assess each routed link: heat pump, pipe, heat loss, energy, carbon, cost and viability.

Inputs
    ``routes.parquet``, ``sources.parquet`` and ``demand_zones.parquet`` in
    ``data/interim/<region>/``; the pipe catalogue, twin casings and default climate
    series in ``pipeline/data/``; ``demand_profile.path`` and ``source_profile.path``
    when given.
Outputs
    ``data/interim/<region>/assessed_links.parquet``: every candidate pair, the routed
    ones with their engineering, carbon and cost fields; ``reason`` is null for viable
    links, a routing code for pairs that were not routed, and otherwise the ';'-joined
    codes of every viability rule the link fails (``spur_too_long``,
    ``no_pipe_large_enough``, ``heat_loss_too_high``, ``linear_density_too_low``,
    ``too_small``, in that order). Cost fields carry the currency in their names.
Config keys
    ``network.*``, ``pipes.*``, ``heat_pump.*``, ``carbon.*``, ``cost.*``,
    ``viability.*``, ``distribution.*``, ``uncertainty.*`` (the bands);
    ``demand_profile.*`` and ``source_profile.*`` (the year's shapes),
    ``region.bbox`` (the nearest climate series); ``existing_networks.annual_demand_mwh``,
    ``.supply_temp_c`` and ``.return_temp_c`` for links to existing networks.

Method (``docs/methodology.md`` gives every formula and source)
    Each step is a function of that name. Join sources and zones: each route gets its
    source's waste heat Q_src and temperature and its zone's demand. Set sink conditions:
    the network's supply and return temperatures and the zone's annual demand and peak, or
    for a link to an existing network that network's temperatures and demand and an
    unlimited peak. Lift with heat pump: a heat pump at the source lifts Q_src to the supply
    temperature unless the source is already that hot (COP with evaporator and condenser
    approaches), Q_out = Q_src·COP/(COP - 1), electricity Q_out/COP, and the design heat
    flow is min(Q_out, the sink's peak). Choose pipe: the smallest DN of ``pipes.series``
    that carries the design heat flow (twin pipes up to DN200, single pairs beyond).
    Estimate heat loss: EN 13941 for single pairs, Wallentén's multipole solution for
    twins (supply and return apart), and the supply's drop at design flow. Balance energy
    hour by hour over a typical year: in each hour sent = min(Q_out(t) within the design
    flow, demand(t) + loss) = delivered + lost; coverage, source utilisation and summer
    flow follow. Check summer supply: the supply's drop at the summer flow, and whether it
    leaves the sink too cold. Add pumping electricity (pipe friction and stations). Count
    carbon saving: net CO2, annual and lifetime separately. Cost links: capex by component
    (pipe, heat pump by size, stations), O&M, electricity and LCOH to the zone's edge,
    every price brought once to the output currency and price year. Add distribution
    cost: the zone's own network per MWh from its heat density, and the delivered LCOH.
    Apply viability rules. Add uncertainty bands: with the design held at the central
    case, seeded draws of the uncertain assumptions give the 10th, 50th and 90th
    percentiles of the LCOH and the CO2 saving and the share of draws in which every rule
    holds. Fill candidates:
    the link fields on every candidate, missing where the pair was not routed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    DemandProfileConfig,
    DistributionConfig,
    ExistingNetworksConfig,
    HeatPumpConfig,
    NetworkConfig,
    PipesConfig,
    RegionFile,
    SourceProfileConfig,
    UncertaintyConfig,
    ViabilityConfig,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.engineering.carbon import co2_saving_t_per_yr, lifetime_total
from pipeline.engineering.cost import (
    PERSSON_WERNER_PRICE_YEAR,
    STATION_PRICE_YEAR,
    annualised_capex_per_yr,
    capital_recovery_factor,
    levelised_cost_of_heat_per_mwh,
    persson_werner_pipe_cost_eur_per_m,
)
from pipeline.engineering.distribution import (
    area_type_for_plot_ratio,
    distribution_cost_eur_per_mwh,
    plot_ratio,
)
from pipeline.engineering.heat_loss import (
    Trench,
    annual_heat_loss_mwh,
    single_pair_heat_loss_w_per_m,
    single_pair_u_coefficients_w_per_mk,
    supply_temp_drop_exponential_k,
    supply_temp_drop_k,
    twin_pipe_h_a,
    twin_pipe_h_s,
    twin_pipe_heat_loss_w_per_m,
)
from pipeline.engineering.heat_pump import (
    heat_pump_capex_eur_per_mw,
    heat_pump_cop,
    heat_pump_output_mw,
    heat_pump_split_mwh,
)
from pipeline.engineering.hydraulics import annual_pumping_electricity_mwh, size_pipes
from pipeline.engineering.prices import PRICE_INDICES, price_in_output_basis
from pipeline.engineering.profile import (
    HOURS_PER_YEAR,
    YearShapes,
    annual_heat_balance_mwh,
    share_pct,
)
from pipeline.engineering.uncertainty import (
    CentralCase,
    Outcomes,
    Ranges,
    draw_factors,
    percentile_bands,
    propagate,
    share_of_draws,
)
from pipeline.engineering.viability import (
    REASON_SEPARATOR,
    ViabilityLimits,
    failed_rules,
    join_reasons,
    linear_heat_density_mwh_per_m,
)
from pipeline.engineering.water import water_density_kg_per_m3, water_specific_heat_j_per_kgk
from pipeline.errors import InputError
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.profiles import year_shapes

log = logging.getLogger("heatlink.assess_links")

MM = 0.001
DEA_PRICE_YEAR = STATION_PRICE_YEAR  # the DEA technology catalogues are at 2015 prices
CATALOGUE_PRICE_YEAR = 2020  # Logstor product catalogue 2020.03; it states none (assumption)

LINK_FIELDS = (
    "design_network_heat_mw",
    "dn",
    "velocity_m_per_s",
    "pressure_gradient_pa_per_m",
    "heat_loss_w_per_m",
    "supply_heat_loss_w_per_m",
    "return_heat_loss_w_per_m",
    "annual_heat_loss_mwh",
    "heat_loss_pct",
    "heat_sent_mwh",
    "delivered_heat_mwh",
    "coverage_pct",
    "source_utilisation_pct",
    "supply_temp_drop_k",
    "summer_flow_pct",
    "supply_temp_drop_summer_k",
    "supply_temp_c",
    "return_temp_c",
    "cop",
    "heat_pump_mw",
    "source_heat_mwh",
    "hp_electricity_mwh",
    "pump_electricity_mwh",
    "linear_heat_density_mwh_per_m",
    "co2_saved_t_per_yr",
    "co2_saved_t_lifetime",
)
"""The link fields in output order; the cost fields (:func:`cost_field_names`) follow."""

PIPE_FIELDS = (
    "steel_outer_diameter_mm",
    "insulation_outer_diameter_mm",
    "casing_outer_diameter_mm",
    "inner_diameter_mm",
    "lambda_insulation_w_per_mk",
    "lambda_casing_w_per_mk",
    "cost_eur_per_trench_m",
)
"""Catalogue columns a link carries, prefixed ``pipe_``, from :func:`choose_pipe` on."""

TWIN_FIELDS = ("casing_outer_diameter_mm", "casing_wall_mm", "media_gap_mm")
"""Twin-casing columns a link carries, prefixed ``twin_`` (NaN for a single pair)."""

MERGED_COLUMNS = [
    "heat_available_mw",
    "source_temp_c",
    "annual_demand_mwh",
    "peak_demand_mw",
    "area_ha",
]


@dataclass(frozen=True, kw_only=True)
class AssessmentConfig:
    """The config sections :func:`assess_links` reads.

    ``existing_networks`` is for links to existing networks: their annual demand
    (unlimited when unset; their peak is unlimited) and temperatures. ``demand_profile``
    and ``source_profile`` are read by :func:`run` into the year's shapes.
    """

    network: NetworkConfig
    pipes: PipesConfig
    heat_pump: HeatPumpConfig
    carbon: CarbonConfig
    cost: CostConfig
    viability: ViabilityConfig
    existing_networks: ExistingNetworksConfig | None = None
    demand_profile: DemandProfileConfig = DemandProfileConfig()
    source_profile: SourceProfileConfig = SourceProfileConfig()
    distribution: DistributionConfig = DistributionConfig()
    uncertainty: UncertaintyConfig = UncertaintyConfig()

    @classmethod
    def from_region(cls, cfg: RegionFile) -> AssessmentConfig:
        """The sections of a region file."""
        return cls(
            network=cfg.network,
            pipes=cfg.pipes,
            heat_pump=cfg.heat_pump,
            carbon=cfg.carbon,
            cost=cfg.cost,
            viability=cfg.viability,
            existing_networks=cfg.existing_networks,
            demand_profile=cfg.demand_profile,
            source_profile=cfg.source_profile,
            distribution=cfg.distribution,
            uncertainty=cfg.uncertainty,
        )


def assess_links(
    routes: gpd.GeoDataFrame,
    sources: pd.DataFrame,
    zones: pd.DataFrame,
    catalogue: pd.DataFrame,
    twin_casings: pd.DataFrame,
    cfg: AssessmentConfig,
    year: YearShapes | None = None,
) -> gpd.GeoDataFrame:
    """Assess every routed link and apply the viability rules.

    Parameters
    ----------
    routes
        Output of :func:`pipeline.stages.route_links.route_links`. Optional columns:
        ``sink_kind`` (``zone`` or ``network``; all zones when absent) and
        ``civils_factor`` (1.0 when absent or empty).
    sources
        Sites with ``site_id``, ``heat_available_mw`` and ``source_temp_c``.
    zones
        Zones with ``zone_id``, ``annual_demand_mwh`` and ``peak_demand_mw``.
    catalogue
        The pipe catalogue, all series (:func:`pipeline.data.load_pipe_catalogue`).
    twin_casings
        Twin-pipe casings (:func:`pipeline.data.load_twin_casings`).
    cfg
        The config sections (:class:`AssessmentConfig`).
    year
        The hourly shapes of the sinks' demand and the sources' heat
        (:func:`pipeline.readers.profiles.year_shapes`); a flat year when None, which
        credits a link with everything its source can send up to the annual demand.

    Returns
    -------
    ``routes`` with the link fields added (NaN where the pair was not routed) and
    ``reason`` set for the links that fail a rule.

    Raises
    ------
    InputError
        If twin pipes are asked for in a series without twin casings, or an existing
        network's temperatures leave its supply at or below its return.

    Examples
    --------
    A 3 MW, 35 °C source 1 km from a large zone on an 80/50 °C network, with a Carnot heat
    pump (η 0.55) and 5 K approaches: it evaporates at 35 - 10 - 5 = 20 °C and condenses
    at 85 °C, so COP = 0.55·358.15/65 = 3.03 lifts it to 3·3.03/2.03 = 4.48 MW, which
    needs DN200 (series 2, a single pair). Its EN 13941 coefficients U_1 = 0.3401 and
    U_2 = 0.0158 W/mK give a loss of (U_1 - U_2)·(80 + 50 - 2·10) = 35.67 W/m for supply
    and return together: 35.67·1000·8760/10⁶ = 312.48 MWh a year.

    >>> from shapely.geometry import LineString
    >>> from pipeline.data import load_pipe_catalogue, load_twin_casings
    >>> routes = gpd.GeoDataFrame({"link_id": ["L1"], "site_id": ["S1"], "zone_id": ["Z1"],
    ...     "reason": [None], "route_length_m": [1000.0], "site_spur_m": [10.0],
    ...     "zone_spur_m": [0.0]}, geometry=[LineString([(0, 0), (1000, 0)])], crs=27700)
    >>> sources = pd.DataFrame(
    ...     {"site_id": ["S1"], "heat_available_mw": [3.0], "source_temp_c": [35.0]})
    >>> zones = pd.DataFrame(
    ...     {"zone_id": ["Z1"], "annual_demand_mwh": [40_000.0], "peak_demand_mw": [20.0]})
    >>> cfg = AssessmentConfig(network=NetworkConfig(), pipes=PipesConfig(),
    ...     heat_pump=HeatPumpConfig(model="carnot", carnot_efficiency=0.55),
    ...     carbon=CarbonConfig(), cost=CostConfig(), viability=ViabilityConfig())
    >>> link = assess_links(routes, sources, zones, load_pipe_catalogue(), load_twin_casings(),
    ...     cfg).iloc[0]
    >>> fields = ["cop", "design_network_heat_mw", "dn", "heat_loss_w_per_m",
    ...           "annual_heat_loss_mwh"]
    >>> link[fields].astype(float).round(2).tolist()
    [3.03, 4.48, 200.0, 35.67, 312.48]
    """
    candidates = join_sources_and_zones(routes, sources, zones)
    routed = candidates["reason"].isna().to_numpy()
    links = set_sink_conditions(candidates[routed], cfg.network, cfg.existing_networks)
    links = lift_with_heat_pump(links, cfg.heat_pump)
    links = choose_pipe(links, catalogue, twin_casings, pipes=cfg.pipes, network=cfg.network)
    links = estimate_heat_loss(links, cfg.pipes)
    links = balance_energy(links, cfg.pipes, year or YearShapes.flat())
    links = check_summer_supply(links, cfg.pipes, cfg.network)
    links = add_pumping_electricity(links, cfg.pipes)
    links = count_carbon_saving(links, cfg.carbon, lifetime_years=cfg.cost.pipe_lifetime_years)
    links = cost_links(links, cfg.heat_pump, cfg.cost)
    links = add_distribution_cost(links, cfg.distribution, cfg.cost)
    links = apply_viability_rules(links, cfg.viability)
    links = add_uncertainty_bands(links, cfg)
    return fill_candidates(
        candidates, routed, links, currency=cfg.cost.currency, series=cfg.pipes.series
    )


def cost_field_names(currency: str) -> dict[str, str]:
    """Output names of the cost fields for a currency code, e.g. ``lcoh_transmission_eur_per_mwh``.

    Examples
    --------
    >>> cost_field_names("GBP")["lcoh"]
    'lcoh_transmission_gbp_per_mwh'
    """
    cur = currency.lower()
    return {
        "pipe_capex": f"pipe_capex_{cur}",
        "heat_pump_capex": f"heat_pump_capex_{cur}",
        "station_capex": f"station_capex_{cur}",
        "capex": f"capex_{cur}",
        "om_cost": f"om_cost_{cur}_per_yr",
        "electricity_cost": f"electricity_cost_{cur}_per_yr",
        "lcoh": f"lcoh_transmission_{cur}_per_mwh",
        "distribution": f"distribution_{cur}_per_mwh",
        "lcoh_delivered": f"lcoh_delivered_{cur}_per_mwh",
    }


def join_sources_and_zones(
    routes: gpd.GeoDataFrame, sources: pd.DataFrame, zones: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Each route with its source's ``heat_available_mw`` and ``source_temp_c`` and its
    zone's ``annual_demand_mwh``, ``peak_demand_mw`` and ``area_ha`` (missing for a
    network)."""
    out = routes.merge(
        sources[["site_id", "heat_available_mw", "source_temp_c"]],
        on="site_id",
        how="left",
        validate="m:1",
    ).merge(
        # area_ha (for the distribution cost) is optional: missing, it is NaN
        zones.reindex(columns=["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha"]),
        on="zone_id",
        how="left",
        validate="m:1",
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=routes.crs)


def set_sink_conditions(
    links: gpd.GeoDataFrame,
    network: NetworkConfig,
    existing_networks: ExistingNetworksConfig | None,
) -> gpd.GeoDataFrame:
    """Add each link's ``supply_temp_c``, ``return_temp_c``, ``sink_demand_mwh`` (a year)
    and ``sink_peak_mw``: its zone's on the network, or an existing network's.

    Raises
    ------
    InputError
        If a link goes to an existing network whose supply is not above its return.
    """
    to_network = (
        (links["sink_kind"] == "network").to_numpy()
        if "sink_kind" in links
        else np.zeros(len(links), bool)
    )
    supply, ret = network.supply_temp_c, network.return_temp_c
    demand = np.inf
    if existing_networks is not None:
        supply = existing_networks.supply_temp_c or supply
        ret = existing_networks.return_temp_c or ret
        demand = existing_networks.annual_demand_mwh or demand
        if to_network.any() and supply <= ret:
            raise InputError(
                f"existing networks' supply {supply:g} C is not above their return {ret:g} C",
                where="existing_networks.supply_temp_c",
                fix="set existing_networks.supply_temp_c and return_temp_c, supply above return",
            )
    return links.assign(
        supply_temp_c=np.where(to_network, supply, network.supply_temp_c),
        return_temp_c=np.where(to_network, ret, network.return_temp_c),
        sink_demand_mwh=np.where(
            to_network, demand, links["annual_demand_mwh"].to_numpy(dtype=float)
        ),
        # A network takes the source's whole output at any time (assumption).
        sink_peak_mw=np.where(to_network, np.inf, links["peak_demand_mw"].to_numpy(dtype=float)),
    )


def lift_with_heat_pump(links: gpd.GeoDataFrame, heat_pump: HeatPumpConfig) -> gpd.GeoDataFrame:
    """Add the ``cop`` of the heat pump at each source (NaN where none is needed), its
    output ``heat_pump_output_mw``, the ``design_network_heat_mw`` the pipe carries and the
    ``heat_pump_mw`` to buy.

    Raises
    ------
    InputError
        If the heat-pump model cannot lift a source to its supply temperature.
    """
    n = len(links)
    try:
        cop = heat_pump_cop(
            source_temp_c=links["source_temp_c"].to_numpy(dtype=float),
            supply_temp_c=links["supply_temp_c"].to_numpy(),
            return_temp_c=links["return_temp_c"].to_numpy(),
            source_cooling_k=heat_pump.source_cooling_k,
            model=heat_pump.model,
            efficiency=(
                heat_pump.lorenz_efficiency
                if heat_pump.model == "lorenz"
                else heat_pump.carnot_efficiency
            ),
            evaporator_approach_k=heat_pump.evaporator_approach_k,
            condenser_approach_k=heat_pump.condenser_approach_k,
        )
    except ValueError as exc:
        raise InputError(str(exc), where="heat_pump", fix="see docs/methodology.md") from None
    cop = np.asarray(cop, dtype=float).reshape(n)
    output_mw = np.asarray(
        heat_pump_output_mw(links["heat_available_mw"].to_numpy(dtype=float), cop)
    ).reshape(n)
    design = np.minimum(output_mw, links["sink_peak_mw"].to_numpy())
    return links.assign(
        cop=cop,
        heat_pump_output_mw=output_mw,
        design_network_heat_mw=design,
        heat_pump_mw=np.where(np.isnan(cop), 0.0, design),
    )


def choose_pipe(
    links: gpd.GeoDataFrame,
    catalogue: pd.DataFrame,
    twin_casings: pd.DataFrame,
    *,
    pipes: PipesConfig,
    network: NetworkConfig,
) -> gpd.GeoDataFrame:
    """Add the smallest ``dn`` that carries each link's design heat flow (NaN where none
    does), its ``velocity_m_per_s``, ``pressure_gradient_pa_per_m`` and
    ``mass_flow_kg_per_s``, whether it is a ``twin`` pipe, and its catalogue row
    (:data:`PIPE_FIELDS`, prefixed ``pipe_``) and twin casing (:data:`TWIN_FIELDS`,
    prefixed ``twin_``).

    Raises
    ------
    InputError
        If twin pipes are asked for in a series without twin casings.
    """
    if pipes.kind == "twin" and not (twin_casings["series"] == pipes.series).any():
        raise InputError(
            f"no twin-pipe casings for insulation series {pipes.series}",
            where="pipes.series",
            fix="set pipes.series to one of "
            + ", ".join(map(str, sorted(twin_casings["series"].unique())))
            + " for twin pipes, or pipes.kind to single",
        )
    series = catalogue[catalogue["series"] == pipes.series].sort_values("dn")
    sized = _size(
        links["design_network_heat_mw"].to_numpy(),
        links["supply_temp_c"].to_numpy(),
        links["return_temp_c"].to_numpy(),
        series,
        pipes,
        network,
    )
    dn = sized["dn"].astype("float64").to_numpy()
    pipe = series.set_index("dn").reindex(dn)
    twins = twin_casings[twin_casings["series"] == pipes.series].set_index("dn").reindex(dn)
    return links.assign(
        dn=dn,
        velocity_m_per_s=sized["velocity_m_per_s"].to_numpy(),
        pressure_gradient_pa_per_m=sized["pressure_gradient_pa_per_m"].to_numpy(),
        mass_flow_kg_per_s=sized["mass_flow_kg_per_s"].to_numpy(),
        twin=(pipes.kind == "twin") & twins["casing_outer_diameter_mm"].notna().to_numpy(),
        **{f"pipe_{c}": pipe[c].to_numpy() for c in PIPE_FIELDS},
        **{f"twin_{c}": twins[c].to_numpy() for c in TWIN_FIELDS},
    )


def estimate_heat_loss(links: gpd.GeoDataFrame, pipes: PipesConfig) -> gpd.GeoDataFrame:
    """Add the ``heat_loss_w_per_m`` of each link's supply and return pipes together and
    of each apart (``supply_heat_loss_w_per_m``, ``return_heat_loss_w_per_m``), and the
    ``supply_temp_drop_k`` along it at the design flow."""
    q_supply, q_return = _heat_loss_w_per_m(links, pipes)
    return links.assign(
        heat_loss_w_per_m=q_supply + q_return,
        supply_heat_loss_w_per_m=q_supply,
        return_heat_loss_w_per_m=q_return,
        supply_temp_drop_k=supply_temp_drop_k(
            q_supply,
            links["route_length_m"].to_numpy(dtype=float),
            links["mass_flow_kg_per_s"].to_numpy(),
            water_specific_heat_j_per_kgk(_mean_temp_c(links)),
        ),
    )


def balance_energy(
    links: gpd.GeoDataFrame, pipes: PipesConfig, year: YearShapes
) -> gpd.GeoDataFrame:
    """Add each link's energy a year, balanced hour by hour on the heat-pump output:
    ``heat_sent_mwh`` = ``delivered_heat_mwh`` + ``annual_heat_loss_mwh``, the
    ``heat_loss_pct`` of the heat sent, the ``coverage_pct`` of the sink's demand and
    ``source_utilisation_pct`` of the source's output, the ``summer_flow_pct`` of the
    design flow, the ``source_heat_mwh`` and ``hp_electricity_mwh`` that make up the heat
    sent, and the ``linear_heat_density_mwh_per_m``."""
    length = links["route_length_m"].to_numpy(dtype=float)
    loss_mw = (
        annual_heat_loss_mwh(
            links["heat_loss_w_per_m"].to_numpy(), length, pipes.hours_in_service_h
        )
        / HOURS_PER_YEAR
    )
    output_mwh = links["heat_pump_output_mw"].to_numpy() * pipes.source_hours_h
    demand = links["sink_demand_mwh"].to_numpy(dtype=float)
    design = links["design_network_heat_mw"].to_numpy(dtype=float)
    balance = annual_heat_balance_mwh(
        source_mwh=output_mwh,
        source_shape=year.source,
        capacity_mw=design,
        demand_mwh=demand,
        demand_shape=year.demand,
        heat_loss_mw=loss_mw,
        mask=year.summer,
    )
    sent, delivered, lost = (np.asarray(v, dtype=float).reshape(len(links)) for v in balance[:3])
    source_heat, hp_electricity = heat_pump_split_mwh(sent, links["cop"].to_numpy())
    return links.assign(
        heat_sent_mwh=sent,
        delivered_heat_mwh=delivered,
        annual_heat_loss_mwh=lost,
        heat_loss_pct=share_pct(lost, sent),
        coverage_pct=share_pct(delivered, demand),
        source_utilisation_pct=share_pct(sent, output_mwh),
        summer_flow_pct=share_pct(
            np.asarray(balance.mean_sent_in_mask_mw, dtype=float).reshape(len(links)), design
        ),
        source_heat_mwh=source_heat,
        hp_electricity_mwh=hp_electricity,
        linear_heat_density_mwh_per_m=linear_heat_density_mwh_per_m(delivered, length),
    )


def check_summer_supply(
    links: gpd.GeoDataFrame, pipes: PipesConfig, network: NetworkConfig
) -> gpd.GeoDataFrame:
    """Add ``supply_temp_drop_summer_k``, the supply's fall along each link at its summer
    flow, and ``summer_too_cold``: whether that leaves the sink less than the lowest
    supply temperature it can use (:attr:`NetworkConfig.min_delivered_c`)."""
    supply = links["supply_temp_c"].to_numpy(dtype=float)
    summer_flow = (
        links["mass_flow_kg_per_s"].to_numpy(dtype=float)
        * links["summer_flow_pct"].to_numpy(dtype=float)
        / 100.0
    )
    drop = supply_temp_drop_exponential_k(
        supply_heat_loss_w_per_m=links["supply_heat_loss_w_per_m"].to_numpy(),
        supply_temp_c=supply,
        ground_temp_c=pipes.ground_temp_c,
        length_m=links["route_length_m"].to_numpy(dtype=float),
        mass_flow_kg_per_s=np.nan_to_num(summer_flow),
        specific_heat_j_per_kgk=water_specific_heat_j_per_kgk(_mean_temp_c(links)),
    )
    drop = np.where(np.isnan(links["dn"].to_numpy()), np.nan, drop)
    return links.assign(
        supply_temp_drop_summer_k=drop,
        summer_too_cold=(supply - drop) < network.min_delivered_c(supply),
    )


def add_pumping_electricity(links: gpd.GeoDataFrame, pipes: PipesConfig) -> gpd.GeoDataFrame:
    """Add each link's ``pump_electricity_mwh`` a year (NaN without a pipe) and its total
    ``electricity_mwh``, heat pump and pumps."""
    sent = links["heat_sent_mwh"].to_numpy()
    design = links["design_network_heat_mw"].to_numpy()
    pump = annual_pumping_electricity_mwh(
        pressure_gradient_pa_per_m=np.nan_to_num(links["pressure_gradient_pa_per_m"].to_numpy()),
        trench_length_m=links["route_length_m"].to_numpy(dtype=float),
        mass_flow_kg_per_s=links["mass_flow_kg_per_s"].to_numpy(),
        density_kg_per_m3=water_density_kg_per_m3(_mean_temp_c(links)),
        pump_efficiency=pipes.pump_efficiency,
        full_load_hours_h=np.minimum(
            np.divide(
                sent,
                design,
                out=np.zeros(len(links)),
                where=(design > 0) & np.isfinite(sent),
            ),
            pipes.hours_in_service_h,
        ),
        station_pressure_drop_pa=pipes.station_pressure_drop_kpa * 1000.0,
    )
    pump = np.where(np.isnan(links["dn"].to_numpy()), np.nan, pump)
    return links.assign(
        pump_electricity_mwh=pump,
        electricity_mwh=links["hp_electricity_mwh"].to_numpy() + pump,
    )


def count_carbon_saving(
    links: gpd.GeoDataFrame, carbon: CarbonConfig, *, lifetime_years: int
) -> gpd.GeoDataFrame:
    """Add each link's net CO2 saving, ``co2_saved_t_per_yr`` and, over the pipes'
    ``lifetime_years``, ``co2_saved_t_lifetime``: annual and lifetime, never mixed."""
    co2_per_yr = co2_saving_t_per_yr(
        delivered_heat_mwh=links["delivered_heat_mwh"].to_numpy(),
        electricity_mwh=links["electricity_mwh"].to_numpy(),
        gas_factor_kg_per_kwh=carbon.gas_factor_kg_per_kwh,
        boiler_efficiency=carbon.boiler_efficiency,
        grid_factor_kg_per_kwh=carbon.grid_factor_kg_per_kwh,
    )
    return links.assign(
        co2_saved_t_per_yr=co2_per_yr,
        co2_saved_t_lifetime=lifetime_total(co2_per_yr, lifetime_years),
    )


def cost_links(
    links: gpd.GeoDataFrame, heat_pump: HeatPumpConfig, cost: CostConfig
) -> gpd.GeoDataFrame:
    """Add each link's cost fields (:func:`cost_field_names`), every source price brought
    once to the output currency and price year (:func:`to_output_prices`)."""
    return cost_with_pipe_capex(links, pipe_capex(links, cost), heat_pump, cost)


def pipe_capex(rows: pd.DataFrame, cost: CostConfig) -> np.ndarray:
    """Capital cost of each row's pipes and trench in the output currency and price year:
    cost per trench metre at its DN × ``route_length_m`` × ``civils_factor`` (1 when
    absent). Rows are links, or the segments of a designed network."""
    pipe_eur_per_m, pipe_year = _pipe_cost_eur_per_m(rows, cost)
    civils = (
        rows["civils_factor"].fillna(1.0).to_numpy(dtype=float)
        if "civils_factor" in rows
        else np.ones(len(rows))
    )
    return (
        pipe_eur_per_m
        * rows["route_length_m"].to_numpy(dtype=float)
        * civils
        * to_output_prices(cost, "EUR", pipe_year)
    )


def cost_with_pipe_capex(
    links: pd.DataFrame, pipe_capex: np.ndarray, heat_pump: HeatPumpConfig, cost: CostConfig
) -> pd.DataFrame:
    """Add the cost fields of rows whose pipe capex (output prices) is given: a link's own
    (:func:`pipe_capex`), or a source's share of a designed network's pipes. Each row
    carries ``heat_pump_mw``, ``design_network_heat_mw`` (stations), ``cop``, ``heat_sent_mwh``,
    ``electricity_mwh`` and ``delivered_heat_mwh``."""
    hp_mw = links["heat_pump_mw"].to_numpy(dtype=float)
    dea = to_output_prices(cost, currency="EUR", price_year=DEA_PRICE_YEAR)
    hp_eur_per_mw = (
        # the size of a heat pump that is not needed (0 MW) does not matter: it costs 0
        heat_pump_capex_eur_per_mw(np.where(hp_mw > 0, hp_mw, 1.0))
        if heat_pump.capex_eur_per_mw is None
        else heat_pump.capex_eur_per_mw
    )
    station_eur_per_mw = cost.heat_exchanger_station_eur_per_mw + cost.pumping_station_eur_per_mw
    capex = {
        "pipe": np.asarray(pipe_capex, dtype=float),
        "heat_pump": hp_mw * hp_eur_per_mw * dea,
        "stations": links["design_network_heat_mw"].to_numpy(dtype=float)
        * station_eur_per_mw
        * dea,
    }
    with_heat_pump = ~np.isnan(links["cop"].to_numpy(dtype=float))
    fixed_om = (
        capex["pipe"] * cost.pipe_om_fraction_per_yr
        + hp_mw * heat_pump.fixed_om_eur_per_mw_yr * dea
    )
    variable_om = (
        np.where(with_heat_pump, links["heat_sent_mwh"].to_numpy(), 0.0)
        * heat_pump.variable_om_eur_per_mwh
        * dea
    )
    om = fixed_om + variable_om
    electricity_cost = links["electricity_mwh"].to_numpy() * electricity_price_per_mwh(cost)
    annualised = annualised_capex_per_yr(
        {k: np.nan_to_num(v) for k, v in capex.items()},
        {
            "pipe": cost.pipe_lifetime_years,
            "heat_pump": heat_pump.lifetime_years,
            "stations": cost.station_lifetime_years,
        },
        discount_rate=cost.discount_rate,
    )
    lcoh = levelised_cost_of_heat_per_mwh(
        annualised_capex_per_yr=annualised,
        om_cost_per_yr=np.nan_to_num(om),
        electricity_cost_per_yr=np.nan_to_num(electricity_cost),
        delivered_heat_mwh=np.nan_to_num(links["delivered_heat_mwh"].to_numpy()),
    )
    names = cost_field_names(cost.currency)
    return links.assign(
        **{
            names["pipe_capex"]: capex["pipe"],
            names["heat_pump_capex"]: capex["heat_pump"],
            names["station_capex"]: capex["stations"],
            names["capex"]: capex["pipe"] + capex["heat_pump"] + capex["stations"],
            names["om_cost"]: om,
            names["electricity_cost"]: electricity_cost,
            names["lcoh"]: np.where(np.isnan(capex["pipe"]), np.nan, lcoh),
            # for the bands (add_uncertainty_bands): the cost that follows capex, and not
            "fixed_cost_per_yr": annualised + np.nan_to_num(fixed_om),
            "variable_om_per_yr": np.nan_to_num(variable_om),
        }
    )


def electricity_price_per_mwh(cost: CostConfig) -> float:
    """The electricity price in the output currency and price year.

    Examples
    --------
    >>> round(electricity_price_per_mwh(CostConfig(electricity_price_per_mwh=100.0)), 2)
    100.0
    """
    return cost.electricity_price_per_mwh * to_output_prices(
        cost, cost.electricity_price_currency, cost.electricity_price_year or cost.price_year
    )


def add_distribution_cost(
    links: gpd.GeoDataFrame, distribution: DistributionConfig, cost: CostConfig
) -> gpd.GeoDataFrame:
    """Add the sink zone's distribution capital cost per MWh of its demand
    (``distribution_<cur>_per_mwh``, Persson & Werner) and ``lcoh_delivered_<cur>_per_mwh``,
    the link's LCOH to the zone's edge plus that cost: what the heat costs at the
    buildings. Both are empty for a link to an existing network, whose distribution is
    already built."""
    names = cost_field_names(cost.currency)
    demand = links["annual_demand_mwh"].to_numpy(dtype=float)
    area = links["area_ha"].to_numpy(dtype=float)
    density = dict(annual_demand_mwh=np.nan_to_num(demand), area_ha=np.where(area > 0, area, 1.0))
    specific = distribution.specific_demand_kwh_per_m2
    area_type = (
        area_type_for_plot_ratio(plot_ratio(**density, specific_demand_kwh_per_m2=specific))
        if distribution.area_type == "auto"
        else distribution.area_type
    )
    per_mwh = distribution_cost_eur_per_mwh(
        **density,
        specific_demand_kwh_per_m2=specific,
        area_type=area_type,
        crf=capital_recovery_factor(cost.discount_rate, cost.pipe_lifetime_years),
    ) * to_output_prices(cost, "EUR", PERSSON_WERNER_PRICE_YEAR)
    per_mwh = np.where(np.isfinite(demand) & (area > 0), per_mwh, np.nan)
    return links.assign(
        **{
            names["distribution"]: per_mwh,
            names["lcoh_delivered"]: links[names["lcoh"]].to_numpy() + per_mwh,
        }
    )


def band_field_names(currency: str) -> dict[str, str]:
    """Output names of the uncertainty bands for a currency code.

    Examples
    --------
    >>> list(band_field_names("GBP").values())[:2]
    ['lcoh_gbp_per_mwh_p10', 'lcoh_gbp_per_mwh_p50']
    """
    cur = currency.lower()
    return {
        **{f"lcoh_p{p}": f"lcoh_{cur}_per_mwh_p{p}" for p in (10, 50, 90)},
        **{f"co2_p{p}": f"co2_saved_t_per_yr_p{p}" for p in (10, 50, 90)},
        "prob_viable": "prob_viable",
    }


BAND_CELLS = 4_000_000
"""Rows × draws the bands work on at once (a few arrays of this many floats)."""


def add_uncertainty_bands(links: gpd.GeoDataFrame, cfg: AssessmentConfig) -> gpd.GeoDataFrame:
    """Add each link's bands (:func:`band_field_names`): the 10th, 50th and 90th
    percentiles of its transmission LCOH and annual CO2 saving over ``uncertainty.draws``
    seeded draws, and ``prob_viable``, the share of draws in which every viability rule
    holds (:mod:`pipeline.engineering.uncertainty`); empty where the link has no LCOH."""
    factors = draw_factors(
        uncertainty_ranges(cfg.uncertainty), draws=cfg.uncertainty.draws, seed=cfg.uncertainty.seed
    )
    central = central_case(links, cfg.pipes, cfg.cost, sink_demand_mwh=links["sink_demand_mwh"])
    limits = viability_limits(cfg.viability)
    spur = np.fmax(links["site_spur_m"].to_numpy(float), links["zone_spur_m"].to_numpy(float))
    has_pipe = ~np.isnan(links["dn"].to_numpy(dtype=float))
    length = links["route_length_m"].to_numpy(dtype=float)
    step = max(1, BAND_CELLS // max(cfg.uncertainty.draws, 1))
    parts = []
    for start in tqdm(
        range(0, len(links), step),
        desc="uncertainty bands",
        unit=" chunks",
        leave=False,
        disable=None,
    ):
        rows = slice(start, start + step)
        out = propagate(_rows(central, rows), factors, **carbon_factors(cfg.carbon))
        holds = draws_viable(out, length[rows], limits, spur_m=spur[rows], has_pipe=has_pipe[rows])
        parts.append(band_columns(out, holds))
    names = band_field_names(cfg.cost.currency)
    lcoh = links[cost_field_names(cfg.cost.currency)["lcoh"]].to_numpy(dtype=float)
    return links.assign(
        **{
            name: np.where(
                np.isnan(lcoh), np.nan, np.concatenate([p[key] for p in parts] or [lcoh[:0]])
            )
            for key, name in names.items()
        }
    )


def uncertainty_ranges(uncertainty: UncertaintyConfig) -> Ranges:
    """The ranges of the ``uncertainty`` section as factors on the central values."""
    return Ranges(
        efficiency=uncertainty.heat_pump_efficiency.bounds,
        electricity_price=uncertainty.electricity_price.bounds,
        grid_factor=uncertainty.grid_factor.bounds,
        capex=uncertainty.capex.bounds,
        demand=uncertainty.zone_demand.bounds,
        load_factor=uncertainty.load_factor.bounds,
    )


def carbon_factors(carbon: CarbonConfig) -> dict[str, float]:
    """The carbon keywords of :func:`~pipeline.engineering.uncertainty.propagate`."""
    return {
        "gas_factor_kg_per_kwh": carbon.gas_factor_kg_per_kwh,
        "boiler_efficiency": carbon.boiler_efficiency,
        "grid_factor_kg_per_kwh": carbon.grid_factor_kg_per_kwh,
    }


def central_case(
    rows: pd.DataFrame, pipes: PipesConfig, cost: CostConfig, *, sink_demand_mwh: object
) -> CentralCase:
    """The central figures of costed rows (:func:`cost_with_pipe_capex`), links or the
    sources of a designed network, that the draws scale."""

    def col(name: str) -> np.ndarray:
        return np.nan_to_num(rows[name].to_numpy(dtype=float))

    return CentralCase(
        heat_sent_mwh=col("heat_sent_mwh"),
        heat_loss_mwh=col("annual_heat_loss_mwh"),
        source_limit_mwh=col("heat_pump_output_mw") * pipes.source_hours_h,
        sink_demand_mwh=np.asarray(sink_demand_mwh, dtype=float),
        capacity_mwh=col("design_network_heat_mw") * HOURS_PER_YEAR,
        hp_electricity_mwh=col("hp_electricity_mwh"),
        pump_electricity_mwh=col("pump_electricity_mwh"),
        fixed_cost_per_yr=col("fixed_cost_per_yr"),
        variable_om_per_yr=col("variable_om_per_yr"),
        electricity_price_per_mwh=np.full(len(rows), electricity_price_per_mwh(cost)),
    )


def draws_viable(
    out: Outcomes,
    length_m: np.ndarray,
    limits: ViabilityLimits,
    *,
    spur_m: np.ndarray | float = 0.0,
    has_pipe: np.ndarray | bool = True,
) -> np.ndarray:
    """Whether every viability rule holds in each draw of each row (rows × draws)."""
    sent = out.heat_sent_mwh
    fails = failed_rules(
        spur_m=np.asarray(spur_m, dtype=float)[..., None],
        has_pipe=np.asarray(has_pipe, dtype=bool)[..., None],
        heat_loss_pct=share_pct(out.heat_loss_mwh, sent),
        linear_heat_density_mwh_per_m=linear_heat_density_mwh_per_m(
            out.delivered_heat_mwh, np.asarray(length_m, dtype=float)[:, None]
        ),
        delivered_heat_mwh=out.delivered_heat_mwh,
        limits=limits,
    )
    return ~np.logical_or.reduce(list(fails.values()))


def band_columns(out: Outcomes, holds: np.ndarray) -> dict[str, np.ndarray]:
    """The band values of :func:`band_field_names`'s keys from a set of draws."""
    lcoh = percentile_bands(out.lcoh_per_mwh)
    co2 = percentile_bands(out.co2_saved_t_per_yr)
    return {
        **{f"lcoh_p{p}": v for p, v in lcoh.items()},
        **{f"co2_p{p}": v for p, v in co2.items()},
        "prob_viable": share_of_draws(holds),
    }


def _rows(central: CentralCase, rows: slice) -> CentralCase:
    """The central case of some rows."""
    return CentralCase(**{k: np.asarray(v)[rows] for k, v in vars(central).items()})


def to_output_prices(cost: CostConfig, currency: str, price_year: int) -> float:
    """What one unit of ``currency`` at ``price_year`` prices is in the output currency at
    ``cost.price_year`` prices: inflated in its own currency's index, then converted at the
    output price year's exchange rate (:func:`pipeline.engineering.prices.price_in_output_basis`).

    Examples
    --------
    >>> round(to_output_prices(CostConfig(), "EUR", 2015), 4)
    1.0506
    """
    per_eur = (
        {}
        if cost.currency_per_eur is None
        else {cost.currency: {cost.price_year: cost.currency_per_eur}}
    )
    return float(
        price_in_output_basis(
            1.0,
            currency=currency,
            price_year=price_year,
            to_currency=cost.currency,
            to_price_year=cost.price_year,
            indices=PRICE_INDICES,
            per_eur=per_eur,
        )
    )


def _pipe_cost_eur_per_m(links: gpd.GeoDataFrame, cost: CostConfig) -> tuple[np.ndarray, int]:
    """Each link's pipe cost per trench metre in EUR, and the price year of that source."""
    if cost.pipe_cost_method == "catalogue":
        return links["pipe_cost_eur_per_trench_m"].to_numpy(dtype=float), CATALOGUE_PRICE_YEAR
    diameter_m = links["pipe_inner_diameter_mm"].to_numpy(dtype=float) * MM
    return (
        np.asarray(persson_werner_pipe_cost_eur_per_m(diameter_m, area_type=cost.area_type)),
        PERSSON_WERNER_PRICE_YEAR,
    )


def apply_viability_rules(links: gpd.GeoDataFrame, viability: ViabilityConfig) -> gpd.GeoDataFrame:
    """Set each link's ``reason``: the ';'-joined codes of the rules it fails, or None."""
    fails = failed_rules(
        spur_m=np.fmax(
            links["site_spur_m"].to_numpy(dtype=float), links["zone_spur_m"].to_numpy(dtype=float)
        ),
        has_pipe=~np.isnan(links["dn"].to_numpy()),
        heat_loss_pct=links["heat_loss_pct"].to_numpy(),
        linear_heat_density_mwh_per_m=links["linear_heat_density_mwh_per_m"].to_numpy(),
        delivered_heat_mwh=links["delivered_heat_mwh"].to_numpy(),
        limits=viability_limits(viability),
    )
    return links.assign(reason=join_reasons(fails))


def viability_limits(viability: ViabilityConfig) -> ViabilityLimits:
    """The limits of the ``viability`` section."""
    return ViabilityLimits(
        max_spur_m=viability.max_spur_m,
        max_heat_loss_pct=viability.max_heat_loss_pct,
        min_linear_heat_density_mwh_per_m=viability.min_linear_heat_density_mwh_per_m,
        min_delivered_heat_mwh=viability.min_delivered_heat_mwh,
    )


def fill_candidates(
    candidates: gpd.GeoDataFrame,
    routed: np.ndarray,
    links: gpd.GeoDataFrame,
    *,
    currency: str,
    series: int,
) -> gpd.GeoDataFrame:
    """The candidates with the link fields of the ``routed`` ones (missing elsewhere), the
    ``pipe_series`` and ``twin`` of each pipe, and the links' ``reason``; without the
    source and zone columns that :func:`join_sources_and_zones` added."""
    out = candidates.copy()
    for name in (
        *LINK_FIELDS,
        *cost_field_names(currency).values(),
        *band_field_names(currency).values(),
    ):
        values = links[name].to_numpy()
        out[name] = _column(out.index, routed, values, "Int64" if name == "dn" else "float64")
    out["pipe_series"] = pd.Series(series, index=out.index, dtype="Int64").where(routed)
    twin = np.where(np.isnan(links["dn"].to_numpy()), pd.NA, links["twin"].to_numpy())
    out["twin"] = _column(out.index, routed, twin, "boolean")
    too_cold = np.where(
        np.isnan(links["dn"].to_numpy()), pd.NA, links["summer_too_cold"].to_numpy()
    )
    out["summer_too_cold"] = _column(out.index, routed, too_cold, "boolean")
    out["reason"] = out["reason"].astype(object)
    out.loc[routed, "reason"] = links["reason"].to_numpy()
    return out.drop(columns=MERGED_COLUMNS)


def _mean_temp_c(links: pd.DataFrame) -> np.ndarray:
    """Mean of each link's supply and return temperatures."""
    return (links["supply_temp_c"].to_numpy() + links["return_temp_c"].to_numpy()) / 2.0


def _size(
    design_mw: np.ndarray,
    supply_c: np.ndarray,
    return_c: np.ndarray,
    series: pd.DataFrame,
    pipes: PipesConfig,
    network: NetworkConfig,
) -> pd.DataFrame:
    """:func:`size_pipes` for each pair of network temperatures among the links."""
    pairs = set(zip(supply_c.tolist(), return_c.tolist(), strict=True))
    parts = []
    for supply, ret in sorted(pairs or {(network.supply_temp_c, network.return_temp_c)}):
        rows = np.flatnonzero((supply_c == supply) & (return_c == ret))
        part = size_pipes(
            design_mw[rows],
            series,
            supply_temp_c=supply,
            return_temp_c=ret,
            max_pressure_gradient_pa_per_m=pipes.max_pressure_gradient_pa_per_m,
            roughness_mm=pipes.roughness_mm,
            velocity_cap_points=pipes.velocity_cap_m_per_s,
        )
        parts.append(part.set_axis(rows))
    return pd.concat(parts).sort_index()


def _heat_loss_w_per_m(links: pd.DataFrame, pipes: PipesConfig) -> tuple[np.ndarray, np.ndarray]:
    """Loss of the supply and the return pipe per trench metre: single pair or twin.

    ``links`` carries each link's catalogue row and twin casing from :func:`choose_pipe`
    (NaN where there is none).
    """
    geometry = {
        "steel_outer_diameter_m": links["pipe_steel_outer_diameter_mm"].to_numpy() * MM,
        "lambda_insulation_w_per_mk": links["pipe_lambda_insulation_w_per_mk"].to_numpy(),
        "lambda_casing_w_per_mk": links["pipe_lambda_casing_w_per_mk"].to_numpy(),
        "trench": Trench(
            soil_conductivity_w_per_mk=pipes.soil_conductivity_w_per_mk,
            cover_depth_m=pipes.cover_depth_m,
        ),
    }
    temps = {
        "supply_temp_c": links["supply_temp_c"].to_numpy(),
        "return_temp_c": links["return_temp_c"].to_numpy(),
        "ground_temp_c": pipes.ground_temp_c,
    }
    single = single_pair_heat_loss_w_per_m(
        *single_pair_u_coefficients_w_per_mk(
            **geometry,
            insulation_outer_diameter_m=links["pipe_insulation_outer_diameter_mm"].to_numpy() * MM,
            casing_outer_diameter_m=links["pipe_casing_outer_diameter_mm"].to_numpy() * MM,
            casing_clearance_m=pipes.casing_clearance_m,
        ),
        **temps,
    )
    casing = {
        "casing_outer_diameter_m": links["twin_casing_outer_diameter_mm"].to_numpy() * MM,
        "casing_wall_m": links["twin_casing_wall_mm"].to_numpy() * MM,
        "media_gap_m": links["twin_media_gap_mm"].to_numpy() * MM,
    }
    twin = twin_pipe_heat_loss_w_per_m(
        twin_pipe_h_s(**geometry, **casing),
        twin_pipe_h_a(**geometry, **casing),
        lambda_insulation_w_per_mk=geometry["lambda_insulation_w_per_mk"],
        **temps,
    )
    is_twin = links["twin"].to_numpy()
    q_supply, q_return = (np.where(is_twin, t, s) for t, s in zip(twin, single, strict=True))
    return q_supply, q_return


def _column(index: pd.Index, routed: np.ndarray, values: object, dtype: str) -> pd.Series:
    """A column over all candidates: ``values`` on the routed rows, missing elsewhere."""
    missing = pd.NA if dtype in ("Int64", "object", "boolean") else np.nan
    col = pd.Series(missing, index=index, dtype=dtype)
    col.loc[routed] = values
    return col


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read routes, sources, zones and the year's shapes; assess; write
    assessed_links.parquet."""
    links = assess_links(
        read_geoparquet(paths.routes),
        read_geoparquet(paths.sources),
        read_geoparquet(paths.demand_zones),
        load_pipe_catalogue(),
        load_twin_casings(),
        AssessmentConfig.from_region(cfg),
        year_shapes(cfg.demand_profile, cfg.source_profile, cfg.region),
    )
    viable = links[links["reason"].isna()]
    codes = links["reason"].dropna().str.split(REASON_SEPARATOR).explode().value_counts()
    log.info(
        "%d candidates: %d viable, %d rejected (%s)",
        len(links),
        len(viable),
        len(links) - len(viable),
        ", ".join(f"{k} {v}" for k, v in codes.items()) or "none",
    )
    if len(viable):
        lcoh = cost_field_names(cfg.cost.currency)["lcoh"]
        log.info(
            "viable links: DN%d-DN%d, %.0f-%.0f m, heat loss %.1f-%.1f %% of the heat sent, "
            "COP %.2f-%.2f, net saving %.0f-%.0f t CO2e a year, LCOH %.0f-%.0f %s/MWh",
            viable["dn"].min(),
            viable["dn"].max(),
            viable["route_length_m"].min(),
            viable["route_length_m"].max(),
            viable["heat_loss_pct"].min(),
            viable["heat_loss_pct"].max(),
            viable["cop"].min(),
            viable["cop"].max(),
            viable["co2_saved_t_per_yr"].min(),
            viable["co2_saved_t_per_yr"].max(),
            viable[lcoh].min(),
            viable[lcoh].max(),
            cfg.cost.currency,
        )
    write_geoparquet(links, paths.assessed_links)
    log.info("wrote %s", paths.assessed_links)
