"""Assess each routed link: pipe size, heat loss and energy balance (first version).

Inputs
    ``routes.parquet``, ``sources.parquet`` and ``demand_zones.parquet`` in
    ``data/interim/<region>/``; the pipe catalogue in ``pipeline/data/``.
Outputs
    ``data/interim/<region>/assessed_links.parquet``: every candidate pair, the routed
    ones with their pipe and heat-loss fields; ``reason`` is null for viable links and a
    code for rejected ones (the routing codes, plus ``no_pipe_large_enough``).
Config keys
    ``network.supply_temp_c``, ``network.return_temp_c``, ``pipes.*``.

Method
    Design heat flow = min(source heat available, zone peak demand). The pipe is the
    smallest catalogue DN of ``pipes.series`` that carries it within the pressure-gradient
    limit and velocity cap. Heat loss uses the EN 13941 single-pair formula over the
    whole route (spurs included) for ``pipes.hours_in_service_h``. The energy balance
    closes: heat sent = heat delivered + heat lost.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.config import NetworkConfig, PipesConfig, RegionFile
from pipeline.data import load_pipe_catalogue
from pipeline.engineering.heat_loss import (
    annual_heat_loss_mwh,
    single_pair_heat_loss_w_per_m,
    single_pair_u_coefficients_w_per_mk,
    supply_temp_drop_k,
)
from pipeline.engineering.hydraulics import size_pipes
from pipeline.engineering.source import link_heat_balance_mwh
from pipeline.engineering.water import water_specific_heat_j_per_kgk
from pipeline.io import read_geoparquet, write_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.assess_links")

NO_PIPE_LARGE_ENOUGH = "no_pipe_large_enough"
MM = 0.001


def assess_links(
    routes: gpd.GeoDataFrame,
    sources: pd.DataFrame,
    zones: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    network: NetworkConfig,
    pipes: PipesConfig,
) -> gpd.GeoDataFrame:
    """Size the pipe and estimate heat loss and energy balance of each routed link.

    Parameters
    ----------
    routes
        Output of :func:`pipeline.stages.route_links.route_links`.
    sources
        Sites with ``site_id`` and ``heat_available_mw``.
    zones
        Zones with ``zone_id``, ``annual_demand_mwh`` and ``peak_demand_mw``.
    catalogue
        The pipe catalogue (all series).
    network, pipes
        Config sections.

    Returns
    -------
    ``routes`` with the link fields added (NaN where the pair was not routed).
    """
    out = routes.merge(
        sources[["site_id", "heat_available_mw"]], on="site_id", how="left", validate="m:1"
    ).merge(
        zones[["zone_id", "annual_demand_mwh", "peak_demand_mw"]],
        on="zone_id",
        how="left",
        validate="m:1",
    )
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=routes.crs)
    routed = out["reason"].isna().to_numpy()
    series = catalogue[catalogue["series"] == pipes.series].sort_values("dn")
    design = np.minimum(out["heat_available_mw"], out["peak_demand_mw"]).to_numpy()
    sized = size_pipes(
        design[routed],
        series,
        supply_temp_c=network.supply_temp_c,
        return_temp_c=network.return_temp_c,
        max_pressure_gradient_pa_per_m=pipes.max_pressure_gradient_pa_per_m,
        roughness_mm=pipes.roughness_mm,
        velocity_cap_points=pipes.velocity_cap_m_per_s,
    )
    pipe = series.set_index("dn").reindex(sized["dn"].astype("float64"))
    u1, u2 = single_pair_u_coefficients_w_per_mk(
        steel_outer_diameter_m=pipe["steel_outer_diameter_mm"].to_numpy() * MM,
        insulation_outer_diameter_m=pipe["insulation_outer_diameter_mm"].to_numpy() * MM,
        casing_outer_diameter_m=pipe["casing_outer_diameter_mm"].to_numpy() * MM,
        lambda_insulation_w_per_mk=pipe["lambda_insulation_w_per_mk"].to_numpy(),
        lambda_casing_w_per_mk=pipe["lambda_casing_w_per_mk"].to_numpy(),
        soil_conductivity_w_per_mk=pipes.soil_conductivity_w_per_mk,
        cover_depth_m=pipes.cover_depth_m,
        casing_clearance_m=pipes.casing_clearance_m,
    )
    q_supply, q_return = single_pair_heat_loss_w_per_m(
        u1,
        u2,
        supply_temp_c=network.supply_temp_c,
        return_temp_c=network.return_temp_c,
        ground_temp_c=pipes.ground_temp_c,
    )
    length = out.loc[routed, "route_length_m"].to_numpy()
    loss_mwh = annual_heat_loss_mwh(q_supply + q_return, length, pipes.hours_in_service_h)
    sent, delivered = link_heat_balance_mwh(
        source_heat_mwh=out.loc[routed, "heat_available_mw"].to_numpy() * pipes.source_hours_h,
        demand_mwh=out.loc[routed, "annual_demand_mwh"].to_numpy(),
        heat_loss_mwh=loss_mwh,
    )
    cp = water_specific_heat_j_per_kgk((network.supply_temp_c + network.return_temp_c) / 2)
    fields = {
        "design_heat_mw": design[routed],
        "dn": sized["dn"].to_numpy(),
        "velocity_m_per_s": sized["velocity_m_per_s"].to_numpy(),
        "pressure_gradient_pa_per_m": sized["pressure_gradient_pa_per_m"].to_numpy(),
        "heat_loss_w_per_m": q_supply + q_return,
        "annual_heat_loss_mwh": loss_mwh,
        "heat_sent_mwh": sent,
        "delivered_heat_mwh": delivered,
        "heat_loss_pct": np.where(sent > 0, 100 * loss_mwh / np.where(sent > 0, sent, 1), np.nan),
        "supply_temp_drop_k": supply_temp_drop_k(
            q_supply, length, sized["mass_flow_kg_per_s"].to_numpy(), cp
        ),
    }
    for name, values in fields.items():
        col = pd.Series(np.nan, index=out.index, dtype="float64")
        if name == "dn":
            col = pd.Series(pd.NA, index=out.index, dtype="Int64")
        col.loc[routed] = values
        out[name] = col
    out["pipe_series"] = pd.Series(pipes.series, index=out.index, dtype="Int64").where(routed)
    out["supply_temp_c"] = network.supply_temp_c
    out["return_temp_c"] = network.return_temp_c
    too_big = routed & out["dn"].isna().to_numpy()
    out.loc[too_big, "reason"] = NO_PIPE_LARGE_ENOUGH
    return out.drop(columns=["heat_available_mw", "annual_demand_mwh", "peak_demand_mw"])


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read routes, sources and zones; assess; write assessed_links.parquet."""
    routes = read_geoparquet(paths.routes)
    sources = read_geoparquet(paths.sources)
    zones = read_geoparquet(paths.demand_zones)
    links = assess_links(
        routes, sources, zones, load_pipe_catalogue(), network=cfg.network, pipes=cfg.pipes
    )
    viable = links[links["reason"].isna()]
    log.info(
        "%d candidates: %d viable, %d rejected (%s)",
        len(links),
        len(viable),
        len(links) - len(viable),
        ", ".join(f"{k} {v}" for k, v in links["reason"].value_counts().items()) or "none",
    )
    if len(viable):
        log.info(
            "viable links: DN%d-DN%d, %.0f-%.0f m, heat loss %.1f-%.1f %% of the heat sent",
            viable["dn"].min(),
            viable["dn"].max(),
            viable["route_length_m"].min(),
            viable["route_length_m"].max(),
            viable["heat_loss_pct"].min(),
            viable["heat_loss_pct"].max(),
        )
    write_geoparquet(links, paths.assessed_links)
    log.info("wrote %s", paths.assessed_links)
