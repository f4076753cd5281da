"""The cost of heat at the buildings: the link's LCOH plus the zone's distribution network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_link_model import SECTIONS, SOURCES, _links

from pipeline.config import CostConfig, DistributionConfig
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.engineering.cost import PERSSON_WERNER_PRICE_YEAR, capital_recovery_factor
from pipeline.engineering.distribution import distribution_cost_eur_per_mwh
from pipeline.stages.assess_links import AssessmentConfig, assess_links, to_output_prices

ZONES = pd.DataFrame(
    {
        "zone_id": ["DENSE", "SPARSE"],
        "annual_demand_mwh": [196_000.0, 5_000.0],
        "peak_demand_mw": [98.0, 2.5],
        "area_ha": [56.0, 30.0],
    }
)


def _assess(distribution: DistributionConfig, zones: pd.DataFrame = ZONES) -> pd.DataFrame:
    routes = _links(
        {"site_id": "AIR", "zone_id": "DENSE", "route_length_m": 500.0},
        {"site_id": "AIR", "zone_id": "SPARSE", "route_length_m": 500.0},
        {"site_id": "AIR", "sink_id": "N1", "sink_kind": "network", "route_length_m": 500.0},
    )
    routes["sink_id"] = routes["sink_id"].fillna(routes["zone_id"])
    routes["sink_kind"] = routes["sink_kind"].fillna("zone")
    routes.loc[2, "zone_id"] = None
    cfg = AssessmentConfig(**SECTIONS, distribution=distribution)
    out = assess_links(routes, SOURCES, zones, load_pipe_catalogue(), load_twin_casings(), cfg)
    return out.set_index("link_id")


def test_delivered_lcoh_adds_the_zones_distribution_cost_per_mwh() -> None:
    links = _assess(DistributionConfig(area_type="outer_city"))
    cost = CostConfig()
    # Persson & Werner in 2007 EUR, annualised like the pipes (4 %, 30 years), brought to
    # the output's 2020 EUR with the euro-area HICP (105.06/88.49)
    expected = distribution_cost_eur_per_mwh(
        [196_000.0, 5_000.0],
        [56.0, 30.0],
        specific_demand_kwh_per_m2=140.0,
        area_type="outer_city",
        crf=capital_recovery_factor(0.04, 30),
    ) * to_output_prices(cost, "EUR", PERSSON_WERNER_PRICE_YEAR)
    assert to_output_prices(cost, "EUR", 2007) == pytest.approx(105.06 / 88.49)
    got = links.loc[["L00001", "L00002"], "distribution_eur_per_mwh"].to_numpy()
    np.testing.assert_allclose(got, expected)
    # the sparse zone's network costs far more per MWh than the dense block's
    assert got[1] > 5 * got[0]
    total = links["lcoh_transmission_eur_per_mwh"] + links["distribution_eur_per_mwh"]
    np.testing.assert_allclose(
        links.loc[["L00001", "L00002"], "lcoh_delivered_eur_per_mwh"], total.iloc[:2]
    )
    # an existing network's distribution is already built: no estimate
    assert np.isnan(links.loc["L00003", "distribution_eur_per_mwh"])
    assert np.isnan(links.loc["L00003", "lcoh_delivered_eur_per_mwh"])
    assert np.isfinite(links.loc["L00003", "lcoh_transmission_eur_per_mwh"])


def test_area_type_by_plot_ratio_and_a_zone_without_an_area() -> None:
    auto = _assess(DistributionConfig())
    park = _assess(DistributionConfig(area_type="park"))
    inner = _assess(DistributionConfig(area_type="inner_city"))
    # the dense block (plot ratio 2.5) is inner city, the sparse zone (0.12) a park
    assert auto.loc["L00001", "distribution_eur_per_mwh"] == pytest.approx(
        inner.loc["L00001", "distribution_eur_per_mwh"]
    )
    assert auto.loc["L00002", "distribution_eur_per_mwh"] == pytest.approx(
        park.loc["L00002", "distribution_eur_per_mwh"]
    )
    no_area = _assess(DistributionConfig(), zones=ZONES.drop(columns="area_ha"))
    assert no_area["distribution_eur_per_mwh"].isna().all()
    assert no_area["lcoh_transmission_eur_per_mwh"].notna().all()
