"""Uncertainty bands: known answers, the properties of the draws, and the stage's fields."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    FactorRange,
    HeatPumpConfig,
    NetworkConfig,
    PipesConfig,
    UncertaintyConfig,
    ViabilityConfig,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.engineering.uncertainty import (
    FACTORS,
    CentralCase,
    Ranges,
    draw_factors,
    percentile_bands,
    propagate,
)
from pipeline.stages.assess_links import AssessmentConfig, assess_links, band_field_names

CARBON = dict(gas_factor_kg_per_kwh=0.1829, boiler_efficiency=0.88, grid_factor_kg_per_kwh=0.177)


def _central(**over: list[float]) -> CentralCase:
    base = dict(
        heat_sent_mwh=[10_000.0, 30_000.0],
        heat_loss_mwh=[500.0, 900.0],
        source_limit_mwh=[10_400.0, 60_000.0],
        sink_demand_mwh=[40_000.0, 29_100.0],
        capacity_mwh=[np.inf, 50_000.0],
        hp_electricity_mwh=[2_500.0, 9_000.0],
        pump_electricity_mwh=[100.0, 200.0],
        fixed_cost_per_yr=[400_000.0, 900_000.0],
        variable_om_per_yr=[10_000.0, 30_000.0],
        electricity_price_per_mwh=[100.0, 100.0],
    )
    return CentralCase(**(base | over))


def _point() -> dict[str, np.ndarray]:
    return draw_factors(Ranges(), draws=50, seed=1)


def test_collapsed_ranges_give_the_central_case() -> None:
    out = propagate(_central(), _point(), **CARBON)
    bands = percentile_bands(out.lcoh_per_mwh)
    # the central LCOH: (fixed + variable O&M + electricity) / (sent - lost)
    expected = np.array(
        [
            (400_000 + 10_000 + 2_600 * 100) / 9_500,
            (900_000 + 30_000 + 9_200 * 100) / 29_100,
        ]
    )
    for p in (10, 50, 90):
        np.testing.assert_allclose(bands[p], expected)
    co2 = percentile_bands(out.co2_saved_t_per_yr)
    assert co2[10][0] == pytest.approx(9_500 * 0.1829 / 0.88 - 2_600 * 0.177)
    np.testing.assert_allclose(co2[10], co2[90])


def test_capex_factor_moves_only_the_capital_part() -> None:
    factors = _point() | {"capex": np.full(50, 1.5)}
    base = propagate(_central(), _point(), **CARBON).cost_per_yr
    more = propagate(_central(), factors, **CARBON).cost_per_yr
    np.testing.assert_allclose(more - base, [[200_000.0] * 50, [450_000.0] * 50])


def test_efficiency_scales_heat_pump_electricity_inversely() -> None:
    factors = _point() | {"efficiency": np.full(50, 0.5)}
    co2 = propagate(_central(), factors, **CARBON).co2_saved_t_per_yr[0, 0]
    # heat-pump electricity doubles (COP halves), pumping is unchanged
    assert co2 == pytest.approx(9_500 * 0.1829 / 0.88 - (5_000 + 100) * 0.177)


def test_demand_and_load_factor_scale_the_binding_limit() -> None:
    # link 0 is source-limited, link 1 sink-limited: a lower load factor moves the first
    out = propagate(_central(), _point() | {"load_factor": np.full(50, 0.5)}, **CARBON)
    np.testing.assert_allclose(out.heat_sent_mwh[:, 0], [5_000.0, 30_000.0])
    out = propagate(_central(), _point() | {"demand": np.full(50, 0.5)}, **CARBON)
    np.testing.assert_allclose(out.heat_sent_mwh[:, 0], [10_000.0, 30_000.0 * 15_450 / 30_000])


def test_energy_balance_closes_in_every_draw() -> None:
    ranges = Ranges(demand=(0.1, 1.2), load_factor=(0.2, 1.1))
    out = propagate(_central(), draw_factors(ranges, draws=200, seed=4), **CARBON)
    lost = out.heat_sent_mwh - out.delivered_heat_mwh
    assert np.all(out.delivered_heat_mwh >= 0)
    np.testing.assert_allclose(
        np.where(out.delivered_heat_mwh > 0, lost, out.heat_loss_mwh), out.heat_loss_mwh
    )


def test_nothing_delivered_costs_infinitely_much() -> None:
    out = propagate(_central(), _point() | {"demand": np.full(50, 0.0)}, **CARBON)
    # the second link's sink wants nothing: only its loss is sent and none arrives
    assert np.isinf(percentile_bands(out.lcoh_per_mwh)[10][1])


def test_summed_rows_are_a_network() -> None:
    out = propagate(_central(), draw_factors(Ranges(capex=(0.7, 1.5)), draws=20, seed=2), **CARBON)
    net = out.summed([0, 0])
    np.testing.assert_allclose(net.cost_per_yr[0], out.cost_per_yr.sum(axis=0))
    np.testing.assert_allclose(
        net.lcoh_per_mwh[0], out.cost_per_yr.sum(axis=0) / out.delivered_heat_mwh.sum(axis=0)
    )


range_pairs = st.tuples(st.floats(0.3, 1.0, allow_nan=False), st.floats(1.0, 2.0, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(
    ranges=st.fixed_dictionaries({name: range_pairs for name in FACTORS}),
    seed=st.integers(0, 2**32 - 1),
)
def test_bands_are_ordered_and_reproducible(ranges: dict, seed: int) -> None:
    def run() -> tuple:
        out = propagate(_central(), draw_factors(Ranges(**ranges), draws=101, seed=seed), **CARBON)
        return percentile_bands(out.lcoh_per_mwh), percentile_bands(out.co2_saved_t_per_yr)

    (lcoh, co2), (lcoh2, co2_2) = run(), run()
    for bands in (lcoh, co2):
        assert np.all(bands[10] <= bands[50]) and np.all(bands[50] <= bands[90])
    for p in (10, 50, 90):
        np.testing.assert_array_equal(lcoh[p], lcoh2[p])
        np.testing.assert_array_equal(co2[p], co2_2[p])


@settings(max_examples=40, deadline=None)
@given(
    capex=range_pairs,
    wider=st.tuples(st.floats(0.0, 0.5), st.floats(0.0, 0.5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_wider_capex_range_never_narrows_the_lcoh_band(
    capex: tuple[float, float], wider: tuple[float, float], seed: int
) -> None:
    """With the other assumptions at a point, a capex range that contains another gives a
    band (p90 - p10 of the LCOH) at least as wide."""
    low, high = capex
    wide = (max(low - wider[0], 0.01), high + wider[1])

    def width(r: tuple[float, float]) -> np.ndarray:
        out = propagate(_central(), draw_factors(Ranges(capex=r), draws=101, seed=seed), **CARBON)
        bands = percentile_bands(out.lcoh_per_mwh)
        return bands[90] - bands[10]

    assert np.all(width(wide) >= width(capex) - 1e-9)


def test_a_range_must_contain_the_central_value() -> None:
    with pytest.raises(ValueError):
        FactorRange(low=1.1, high=1.5, source="x")
    with pytest.raises(ValueError):
        FactorRange(low=0.5, high=0.9, source="x")


def _links(
    uncertainty: UncertaintyConfig, viability: ViabilityConfig | None = None
) -> gpd.GeoDataFrame:
    routes = gpd.GeoDataFrame(
        {
            "link_id": ["L1", "L2", "L3"],
            "site_id": ["S1", "S1", "S1"],
            "zone_id": ["Z1", "Z2", "Z1"],
            "reason": [None, None, "unreachable"],
            "route_length_m": [1000.0, 8000.0, np.nan],
            "site_spur_m": [10.0, 10.0, np.nan],
            "zone_spur_m": [0.0, 0.0, np.nan],
        },
        geometry=[LineString([(0, 0), (1000, 0)])] * 2 + [None],
        crs=27700,
    )
    sources = pd.DataFrame({"site_id": ["S1"], "heat_available_mw": [3.0], "source_temp_c": [35.0]})
    zones = pd.DataFrame(
        {
            "zone_id": ["Z1", "Z2"],
            "annual_demand_mwh": [40_000.0, 10_000.0],
            "peak_demand_mw": [20.0, 5.0],
        }
    )
    cfg = AssessmentConfig(
        network=NetworkConfig(),
        pipes=PipesConfig(),
        heat_pump=HeatPumpConfig(),
        carbon=CarbonConfig(),
        cost=CostConfig(),
        viability=viability or ViabilityConfig(),
        uncertainty=uncertainty,
    )
    return assess_links(routes, sources, zones, load_pipe_catalogue(), load_twin_casings(), cfg)


def _point_config(**over: object) -> UncertaintyConfig:
    point = FactorRange(low=1.0, high=1.0, source="test")
    names = ("heat_pump_efficiency", "electricity_price", "grid_factor", "capex")
    return UncertaintyConfig(**{n: point for n in (*names, "zone_demand", "load_factor")}, **over)


def test_links_with_collapsed_ranges_band_at_their_central_figures() -> None:
    links = _links(_point_config(draws=20))
    names = band_field_names("EUR")
    for p in ("p10", "p50", "p90"):
        np.testing.assert_allclose(
            links[names[f"lcoh_{p}"]][:2], links["lcoh_transmission_eur_per_mwh"][:2]
        )
        np.testing.assert_allclose(links[names[f"co2_{p}"]][:2], links["co2_saved_t_per_yr"][:2])
    # L1 passes every rule, L2 loses too much heat; L3 was not routed
    assert links["prob_viable"].tolist()[:2] == [1.0, 0.0]
    assert links["reason"][1] == "heat_loss_too_high"
    assert np.isnan(links["prob_viable"][2]) and np.isnan(links[names["lcoh_p50"]][2])


def test_links_bands_follow_the_seed_and_go_empty_without_draws() -> None:
    names = list(band_field_names("EUR").values())
    first = _links(UncertaintyConfig(seed=7))[names]
    pd.testing.assert_frame_equal(first, _links(UncertaintyConfig(seed=7))[names])
    assert not first.equals(_links(UncertaintyConfig(seed=8))[names])
    assert (first["lcoh_eur_per_mwh_p10"][:2] < first["lcoh_eur_per_mwh_p90"][:2]).all()
    assert _links(UncertaintyConfig(draws=0))[names].isna().all().all()


def test_a_link_near_a_rule_is_viable_in_some_draws_only() -> None:
    # a heat-loss limit just above L1's central loss: the draws that send less fail it
    central = _links(UncertaintyConfig())
    limit = float(central["heat_loss_pct"][0]) * 1.02
    links = _links(UncertaintyConfig(), ViabilityConfig(max_heat_loss_pct=limit))
    assert links["reason"].isna()[0]
    assert 0.0 < links["prob_viable"][0] < 1.0
