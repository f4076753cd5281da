"""Assess each routed link: heat pump, pipe, heat loss, energy, carbon, cost and viability.

Inputs
    ``routes.parquet``, ``sources.parquet`` and ``demand_zones.parquet`` in
    ``data/interim/<region>/``; the pipe catalogue and twin casings in ``pipeline/data/``.
Outputs
    ``data/interim/<region>/assessed_links.parquet``: every candidate pair, the routed
    ones with their engineering, carbon and cost fields; ``reason`` is null for viable
    links, a routing code for pairs that were not routed, and otherwise the ';'-joined
    codes of every viability rule the link fails (``spur_too_long``,
    ``no_pipe_large_enough``, ``heat_loss_too_high``, ``linear_density_too_low``,
    ``too_small``, in that order). Cost fields carry the currency in their names.
Config keys
    ``network.*``, ``pipes.*``, ``heat_pump.*``, ``carbon.*``, ``cost.*``,
    ``viability.*``; ``existing_networks.annual_demand_mwh``, ``.supply_temp_c`` and
    ``.return_temp_c`` for links to existing networks.

Method (``docs/methodology.md`` gives every formula and source)
    A heat pump at the source lifts the waste heat Q_src to the supply temperature
    unless the source is already that hot: Q_out = Q_src·COP/(COP - 1), electricity
    Q_out/COP. The pipe carries Q_out. Design heat flow = min(Q_out, the sink's peak); the
    pipe is the smallest DN of ``pipes.series`` that carries it (twin pipes up to DN200,
    single pairs beyond). Heat loss: EN 13941 for single pairs, Wallentén's multipole
    solution for twins. Energy balance a year: sent = min(Q_out, demand + loss) =
    delivered + lost. Then pumping electricity, net CO2 saving (annual and lifetime,
    separately), costs and LCOH, and the viability rules.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    ExistingNetworksConfig,
    HeatPumpConfig,
    NetworkConfig,
    PipesConfig,
    RegionFile,
    ViabilityConfig,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.engineering.carbon import co2_saving_t_per_yr, lifetime_total
from pipeline.engineering.cost import (
    capital_recovery_factor,
    levelised_cost_of_heat_per_mwh,
    persson_werner_pipe_cost_eur_per_m,
)
from pipeline.engineering.heat_loss import (
    annual_heat_loss_mwh,
    single_pair_heat_loss_w_per_m,
    single_pair_u_coefficients_w_per_mk,
    supply_temp_drop_k,
    twin_pipe_h_s,
    twin_pipe_heat_loss_w_per_m,
)
from pipeline.engineering.heat_pump import (
    heat_pump_cop,
    heat_pump_output_mw,
    heat_pump_split_mwh,
)
from pipeline.engineering.hydraulics import annual_pumping_electricity_mwh, size_pipes
from pipeline.engineering.source import link_heat_balance_mwh
from pipeline.engineering.viability import (
    REASON_SEPARATOR,
    failed_rules,
    join_reasons,
    linear_heat_density_mwh_per_m,
)
from pipeline.engineering.water import water_density_kg_per_m3, water_specific_heat_j_per_kgk
from pipeline.errors import InputError
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.assess_links")

MM = 0.001


def assess_links(
    routes: gpd.GeoDataFrame,
    sources: pd.DataFrame,
    zones: pd.DataFrame,
    catalogue: pd.DataFrame,
    twin_casings: pd.DataFrame,
    *,
    network: NetworkConfig,
    pipes: PipesConfig,
    heat_pump: HeatPumpConfig,
    carbon: CarbonConfig,
    cost: CostConfig,
    viability: ViabilityConfig,
    existing_networks: ExistingNetworksConfig | None = None,
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
    network, pipes, heat_pump, carbon, cost, viability
        Config sections.
    existing_networks
        The ``existing_networks`` section, for links to existing networks: their annual
        demand (unlimited when unset; their peak is unlimited) and temperatures.

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
    pump (η 0.55): COP 0.55·353.15/55 = 3.53 lifts it to 3·3.53/2.53 = 4.19 MW, which
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
    >>> link = assess_links(routes, sources, zones, load_pipe_catalogue(), load_twin_casings(),
    ...     network=NetworkConfig(), pipes=PipesConfig(),
    ...     heat_pump=HeatPumpConfig(model="carnot", carnot_efficiency=0.55),
    ...     carbon=CarbonConfig(), cost=CostConfig(), viability=ViabilityConfig()).iloc[0]
    >>> fields = ["cop", "design_heat_mw", "dn", "heat_loss_w_per_m", "annual_heat_loss_mwh"]
    >>> link[fields].astype(float).round(2).tolist()
    [3.53, 4.19, 200.0, 35.67, 312.48]
    """
    out = routes.merge(
        sources[["site_id", "heat_available_mw", "source_temp_c"]],
        on="site_id",
        how="left",
        validate="m:1",
    ).merge(
        zones[["zone_id", "annual_demand_mwh", "peak_demand_mw"]],
        on="zone_id",
        how="left",
        validate="m:1",
    )
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=routes.crs)
    routed = out["reason"].isna().to_numpy()
    r = out[routed]
    n = len(r)
    supply_c, return_c, demand_mwh, peak_mw = _sink_values(r, network, existing_networks)

    # Heat pump at the source; the pipe carries its output at supply temperature.
    try:
        cop = heat_pump_cop(
            source_temp_c=r["source_temp_c"].to_numpy(dtype=float),
            supply_temp_c=supply_c,
            return_temp_c=return_c,
            source_cooling_k=heat_pump.source_cooling_k,
            model=heat_pump.model,
            efficiency=(
                heat_pump.lorenz_efficiency
                if heat_pump.model == "lorenz"
                else heat_pump.carnot_efficiency
            ),
        )
    except ValueError as exc:
        raise InputError(str(exc), where="heat_pump", fix="see docs/methodology.md") from None
    cop = np.asarray(cop, dtype=float).reshape(n)
    output_mw = np.asarray(
        heat_pump_output_mw(r["heat_available_mw"].to_numpy(dtype=float), cop)
    ).reshape(n)
    design = np.minimum(output_mw, peak_mw)

    # Pipe: the smallest DN that carries the design flow, as a twin or a single pair.
    if pipes.kind == "twin" and not (twin_casings["series"] == pipes.series).any():
        raise InputError(
            f"no twin-pipe casings for insulation series {pipes.series}",
            where="pipes.series",
            fix="set pipes.series to one of "
            + ", ".join(map(str, sorted(twin_casings["series"].unique())))
            + " for twin pipes, or pipes.kind to single",
        )
    series = catalogue[catalogue["series"] == pipes.series].sort_values("dn")
    sized = _size(design, supply_c, return_c, series, pipes, network)
    dn = sized["dn"].astype("float64").to_numpy()
    pipe = series.set_index("dn").reindex(dn)
    twins = twin_casings[twin_casings["series"] == pipes.series].set_index("dn").reindex(dn)
    is_twin = (pipes.kind == "twin") & twins["casing_outer_diameter_mm"].notna().to_numpy()
    q_supply, q_return = _heat_loss_w_per_m(pipe, twins, is_twin, pipes, supply_c, return_c)
    q_pair = q_supply + q_return
    mean_c = (supply_c + return_c) / 2.0

    # Energy a year: the balance closes on the heat-pump output.
    length = r["route_length_m"].to_numpy(dtype=float)
    loss_mwh = annual_heat_loss_mwh(q_pair, length, pipes.hours_in_service_h)
    sent, delivered, lost = link_heat_balance_mwh(
        source_heat_mwh=output_mw * pipes.source_hours_h,
        demand_mwh=demand_mwh,
        heat_loss_mwh=loss_mwh,
    )
    source_heat, hp_electricity = heat_pump_split_mwh(sent, cop)
    mass_flow = sized["mass_flow_kg_per_s"].to_numpy()
    pump_electricity = annual_pumping_electricity_mwh(
        pressure_gradient_pa_per_m=np.nan_to_num(sized["pressure_gradient_pa_per_m"].to_numpy()),
        trench_length_m=length,
        mass_flow_kg_per_s=mass_flow,
        density_kg_per_m3=water_density_kg_per_m3(mean_c),
        pump_efficiency=pipes.pump_efficiency,
        full_load_hours_h=np.minimum(
            np.divide(sent, design, out=np.zeros(n), where=(design > 0) & np.isfinite(sent)),
            pipes.hours_in_service_h,
        ),
    )
    pump_electricity = np.where(np.isnan(dn), np.nan, pump_electricity)
    electricity = hp_electricity + pump_electricity
    density = linear_heat_density_mwh_per_m(delivered, length)
    loss_pct = np.divide(100.0 * lost, sent, out=np.full(n, np.nan), where=sent > 0)

    # Carbon: annual and lifetime, never mixed.
    co2_per_yr = co2_saving_t_per_yr(
        delivered_heat_mwh=delivered,
        electricity_mwh=electricity,
        gas_factor_kg_per_kwh=carbon.gas_factor_kg_per_kwh,
        boiler_efficiency=carbon.boiler_efficiency,
        grid_factor_kg_per_kwh=carbon.grid_factor_kg_per_kwh,
    )

    # Cost, in the output currency.
    heat_pump_mw = np.where(np.isnan(cop), 0.0, design)
    costs = _costs(
        pipe_cost_eur_per_m=(
            pipe["cost_eur_per_trench_m"].to_numpy()
            if cost.pipe_cost_method == "catalogue"
            else persson_werner_pipe_cost_eur_per_m(
                pipe["inner_diameter_mm"].to_numpy() * MM, area_type=cost.area_type
            )
        ),
        length_m=length,
        civils_factor=(
            r["civils_factor"].fillna(1.0).to_numpy(dtype=float)
            if "civils_factor" in r
            else np.ones(n)
        ),
        heat_pump_mw=heat_pump_mw,
        electricity_mwh=electricity,
        delivered_heat_mwh=delivered,
        heat_pump=heat_pump,
        cost=cost,
    )

    fields = {
        "design_heat_mw": design,
        "dn": dn,
        "velocity_m_per_s": sized["velocity_m_per_s"].to_numpy(),
        "pressure_gradient_pa_per_m": sized["pressure_gradient_pa_per_m"].to_numpy(),
        "heat_loss_w_per_m": q_pair,
        "annual_heat_loss_mwh": lost,
        "heat_loss_pct": loss_pct,
        "heat_sent_mwh": sent,
        "delivered_heat_mwh": delivered,
        "supply_temp_drop_k": supply_temp_drop_k(
            q_supply, length, mass_flow, water_specific_heat_j_per_kgk(mean_c)
        ),
        "supply_temp_c": supply_c,
        "return_temp_c": return_c,
        "cop": cop,
        "heat_pump_mw": heat_pump_mw,
        "source_heat_mwh": source_heat,
        "hp_electricity_mwh": hp_electricity,
        "pump_electricity_mwh": pump_electricity,
        "linear_heat_density_mwh_per_m": density,
        "co2_saved_t_per_yr": co2_per_yr,
        "co2_saved_t_lifetime": lifetime_total(co2_per_yr, cost.pipe_lifetime_years),
        **costs,
    }
    for name, values in fields.items():
        out[name] = _column(out.index, routed, values, "Int64" if name == "dn" else "float64")
    out["pipe_series"] = pd.Series(pipes.series, index=out.index, dtype="Int64").where(routed)
    out["twin"] = _column(out.index, routed, np.where(np.isnan(dn), pd.NA, is_twin), "boolean")

    fails = failed_rules(
        spur_m=np.fmax(
            r["site_spur_m"].to_numpy(dtype=float), r["zone_spur_m"].to_numpy(dtype=float)
        ),
        has_pipe=~np.isnan(dn),
        heat_loss_pct=loss_pct,
        linear_heat_density_mwh_per_m=density,
        delivered_heat_mwh=delivered,
        max_spur_m=viability.max_spur_m,
        max_heat_loss_pct=viability.max_heat_loss_pct,
        min_linear_heat_density_mwh_per_m=viability.min_linear_heat_density_mwh_per_m,
        min_delivered_heat_mwh=viability.min_delivered_heat_mwh,
    )
    out["reason"] = out["reason"].astype(object)
    out.loc[routed, "reason"] = join_reasons(fails)
    return out.drop(
        columns=["heat_available_mw", "source_temp_c", "annual_demand_mwh", "peak_demand_mw"]
    )


def cost_field_names(currency: str) -> dict[str, str]:
    """Output names of the cost fields for a currency code, e.g. ``lcoh_eur_per_mwh``.

    Examples
    --------
    >>> cost_field_names("GBP")["lcoh"]
    'lcoh_gbp_per_mwh'
    """
    cur = currency.lower()
    return {
        "pipe_capex": f"pipe_capex_{cur}",
        "heat_pump_capex": f"heat_pump_capex_{cur}",
        "capex": f"capex_{cur}",
        "om_cost": f"om_cost_{cur}_per_yr",
        "electricity_cost": f"electricity_cost_{cur}_per_yr",
        "lcoh": f"lcoh_{cur}_per_mwh",
    }


def _sink_values(
    r: pd.DataFrame, network: NetworkConfig, existing: ExistingNetworksConfig | None
) -> tuple[np.ndarray, ...]:
    """Supply and return temperature, annual demand and peak of each link's sink."""
    to_network = (
        (r["sink_kind"] == "network").to_numpy() if "sink_kind" in r else np.zeros(len(r), bool)
    )
    supply, ret = network.supply_temp_c, network.return_temp_c
    demand = np.inf
    if existing is not None:
        supply = existing.supply_temp_c or supply
        ret = existing.return_temp_c or ret
        demand = existing.annual_demand_mwh or demand
        if to_network.any() and supply <= ret:
            raise InputError(
                f"existing networks' supply {supply:g} C is not above their return {ret:g} C",
                where="existing_networks.supply_temp_c",
                fix="set existing_networks.supply_temp_c and return_temp_c, supply above return",
            )
    return (
        np.where(to_network, supply, network.supply_temp_c),
        np.where(to_network, ret, network.return_temp_c),
        np.where(to_network, demand, r["annual_demand_mwh"].to_numpy(dtype=float)),
        # A network takes the source's whole output at any time (assumption).
        np.where(to_network, np.inf, r["peak_demand_mw"].to_numpy(dtype=float)),
    )


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


def _heat_loss_w_per_m(
    pipe: pd.DataFrame,
    twins: pd.DataFrame,
    is_twin: np.ndarray,
    pipes: PipesConfig,
    supply_c: np.ndarray,
    return_c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Loss of the supply and the return pipe per trench metre: single pair or twin.

    ``pipe`` and ``twins`` hold each link's catalogue row and twin casing (NaN rows where
    there is none).
    """
    geometry = {
        "steel_outer_diameter_m": pipe["steel_outer_diameter_mm"].to_numpy() * MM,
        "lambda_insulation_w_per_mk": pipe["lambda_insulation_w_per_mk"].to_numpy(),
        "lambda_casing_w_per_mk": pipe["lambda_casing_w_per_mk"].to_numpy(),
        "soil_conductivity_w_per_mk": pipes.soil_conductivity_w_per_mk,
        "cover_depth_m": pipes.cover_depth_m,
    }
    temps = {
        "supply_temp_c": supply_c,
        "return_temp_c": return_c,
        "ground_temp_c": pipes.ground_temp_c,
    }
    single = single_pair_heat_loss_w_per_m(
        *single_pair_u_coefficients_w_per_mk(
            **geometry,
            insulation_outer_diameter_m=pipe["insulation_outer_diameter_mm"].to_numpy() * MM,
            casing_outer_diameter_m=pipe["casing_outer_diameter_mm"].to_numpy() * MM,
            casing_clearance_m=pipes.casing_clearance_m,
        ),
        **temps,
    )
    twin = twin_pipe_heat_loss_w_per_m(
        twin_pipe_h_s(
            **geometry,
            casing_outer_diameter_m=twins["casing_outer_diameter_mm"].to_numpy() * MM,
            casing_wall_m=twins["casing_wall_mm"].to_numpy() * MM,
            media_gap_m=twins["media_gap_mm"].to_numpy() * MM,
        ),
        lambda_insulation_w_per_mk=geometry["lambda_insulation_w_per_mk"],
        **temps,
    )
    q_supply, q_return = (np.where(is_twin, t, s) for t, s in zip(twin, single, strict=True))
    return q_supply, q_return


def _costs(
    *,
    pipe_cost_eur_per_m: np.ndarray,
    length_m: np.ndarray,
    civils_factor: np.ndarray,
    heat_pump_mw: np.ndarray,
    electricity_mwh: np.ndarray,
    delivered_heat_mwh: np.ndarray,
    heat_pump: HeatPumpConfig,
    cost: CostConfig,
) -> dict[str, np.ndarray]:
    """Capex, O&M, electricity cost and LCOH of each link, in the output currency."""
    per_eur = cost.currency_per_eur
    pipe_capex = pipe_cost_eur_per_m * length_m * civils_factor * per_eur
    hp_capex = heat_pump_mw * heat_pump.capex_eur_per_mw * per_eur
    om = (
        pipe_capex * cost.pipe_om_fraction_per_yr
        + heat_pump_mw * heat_pump.fixed_om_eur_per_mw_yr * per_eur
    )
    electricity_cost = electricity_mwh * cost.electricity_price_per_mwh
    annualised = pipe_capex * capital_recovery_factor(
        cost.discount_rate, cost.pipe_lifetime_years
    ) + hp_capex * capital_recovery_factor(cost.discount_rate, heat_pump.lifetime_years)
    names = cost_field_names(cost.currency)
    return {
        names["pipe_capex"]: pipe_capex,
        names["heat_pump_capex"]: hp_capex,
        names["capex"]: pipe_capex + hp_capex,
        names["om_cost"]: om,
        names["electricity_cost"]: electricity_cost,
        names["lcoh"]: np.where(
            np.isnan(pipe_capex),
            np.nan,
            levelised_cost_of_heat_per_mwh(
                annualised_capex_per_yr=np.nan_to_num(annualised),
                om_cost_per_yr=np.nan_to_num(om),
                electricity_cost_per_yr=np.nan_to_num(electricity_cost),
                delivered_heat_mwh=np.nan_to_num(delivered_heat_mwh),
            ),
        ),
    }


def _column(index: pd.Index, routed: np.ndarray, values: object, dtype: str) -> pd.Series:
    """A column over all candidates: ``values`` on the routed rows, missing elsewhere."""
    missing = pd.NA if dtype in ("Int64", "object", "boolean") else np.nan
    col = pd.Series(missing, index=index, dtype=dtype)
    col.loc[routed] = values
    return col


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read routes, sources and zones; assess; write assessed_links.parquet."""
    links = assess_links(
        read_geoparquet(paths.routes),
        read_geoparquet(paths.sources),
        read_geoparquet(paths.demand_zones),
        load_pipe_catalogue(),
        load_twin_casings(),
        network=cfg.network,
        pipes=cfg.pipes,
        heat_pump=cfg.heat_pump,
        carbon=cfg.carbon,
        cost=cfg.cost,
        viability=cfg.viability,
        existing_networks=cfg.existing_networks,
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
