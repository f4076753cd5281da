"""The year hour by hour: demand shapes and the heat a link delivers in each hour."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pipeline.data import load_climate_series, load_climate_stations
from pipeline.engineering.profile import (
    HOURS_PER_YEAR,
    annual_heat_balance_mwh,
    demand_shape,
    heating_degree_hours_k,
    hourly_heat_balance_mwh,
)
from pipeline.engineering.source import link_heat_balance_mwh

FLAT = np.full(HOURS_PER_YEAR, 1.0 / HOURS_PER_YEAR)


def default_shape(climate: str = "GB-london", base_temp_c: float = 15.5) -> np.ndarray:
    temps = load_climate_series(climate)
    return demand_shape(heating_degree_hours_k(temps, base_temp_c=base_temp_c), hot_water_share=0.2)


def test_a_flat_year_gives_the_old_annual_balance() -> None:
    # With flat demand and source, each hour is 1/8760 of the old annual balance.
    source = np.array([50_000.0, 8_000.0, 300.0])
    demand = np.array([10_000.0, 10_000.0, 10_000.0])
    loss = np.array([500.0, 500.0, 500.0])
    year = annual_heat_balance_mwh(
        source_mwh=source,
        source_shape=FLAT,
        capacity_mw=np.full(3, 100.0),
        demand_mwh=demand,
        demand_shape=FLAT,
        heat_loss_mw=loss / HOURS_PER_YEAR,
    )
    expected = link_heat_balance_mwh(source_heat_mwh=source, demand_mwh=demand, heat_loss_mwh=loss)
    for got, want in zip(year[:3], expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_a_baseload_source_at_a_quarter_of_the_peak_covers_part_of_the_year() -> None:
    # 40 GWh a year, 20 MW design peak (2,000 h); a flat 5 MW source, no loss.
    shape = default_shape()
    year = annual_heat_balance_mwh(
        source_mwh=5.0 * HOURS_PER_YEAR,
        source_shape=FLAT,
        capacity_mw=5.0,
        demand_mwh=40_000.0,
        demand_shape=shape,
        heat_loss_mw=0.0,
    )
    coverage = float(year.delivered_mwh) / 40_000.0
    assert 0.5 < coverage < 0.8
    # the hours the zone draws more than 5 MW are the ones the source cannot cover
    expected = np.minimum(40_000.0 * shape, 5.0).sum() / 40_000.0
    assert coverage == pytest.approx(expected, rel=1e-12)


def test_a_source_larger_than_the_peak_covers_everything_and_sells_the_demand_only() -> None:
    shape = default_shape()
    peak_mwh = 40_000.0 * shape.max()
    year = annual_heat_balance_mwh(
        source_mwh=2 * peak_mwh * HOURS_PER_YEAR,
        source_shape=FLAT,
        capacity_mw=1e9,
        demand_mwh=40_000.0,
        demand_shape=shape,
        heat_loss_mw=0.0,
    )
    assert float(year.delivered_mwh) == pytest.approx(40_000.0)
    assert float(year.sent_mwh) == pytest.approx(40_000.0)


def test_an_unlimited_sink_takes_all_the_source_gives_less_the_loss() -> None:
    year = annual_heat_balance_mwh(
        source_mwh=8760.0,
        source_shape=FLAT,
        capacity_mw=1.0,
        demand_mwh=np.inf,
        demand_shape=default_shape(),
        heat_loss_mw=0.1,
    )
    assert float(year.delivered_mwh) == pytest.approx(0.9 * 8760.0)
    assert float(year.mean_sent_in_mask_mw) == pytest.approx(1.0)


def test_summer_flow_is_the_mean_over_the_masked_hours() -> None:
    shape = default_shape()
    mask = np.zeros(HOURS_PER_YEAR, bool)
    mask[:10] = True
    year = annual_heat_balance_mwh(
        source_mwh=1e6,
        source_shape=FLAT,
        capacity_mw=1e6,
        demand_mwh=8760.0,
        demand_shape=shape,
        heat_loss_mw=0.0,
        mask=mask,
    )
    assert float(year.mean_sent_in_mask_mw) == pytest.approx(8760.0 * shape[:10].mean())


def test_the_default_climates_are_full_typical_years() -> None:
    for climate in load_climate_stations()["climate_id"]:
        temps = load_climate_series(climate)
        assert temps.shape == (HOURS_PER_YEAR,)
        assert np.isfinite(temps).all()
        assert -40 < temps.min() < temps.mean() < temps.max() < 40
        # colder in January than in July: a northern-hemisphere year starting 1 January
        assert temps[: 31 * 24].mean() < temps[181 * 24 : 212 * 24].mean()


def test_colder_base_and_more_hot_water_flatten_the_shape() -> None:
    base = default_shape()
    more_hot_water = demand_shape(
        heating_degree_hours_k(load_climate_series("GB-london"), base_temp_c=15.5),
        hot_water_share=0.5,
    )
    assert more_hot_water.max() < base.max()
    assert base.sum() == pytest.approx(1.0)


HOURS = 48
shapes = arrays(np.float64, HOURS, elements=st.floats(0.0, 10.0)).filter(lambda a: a.sum() > 0)
amounts = st.floats(0.0, 1e5)


@given(
    source_weights=shapes,
    demand_weights=shapes,
    source_mwh=amounts,
    demand_mwh=st.one_of(amounts, st.just(np.inf)),
    capacity_mw=st.floats(0.0, 1e4),
    loss_mw=st.floats(0.0, 100.0),
)
def test_delivered_heat_never_exceeds_demand_or_supply(
    source_weights: np.ndarray,
    demand_weights: np.ndarray,
    source_mwh: float,
    demand_mwh: float,
    capacity_mw: float,
    loss_mw: float,
) -> None:
    src = source_weights / source_weights.sum()
    dem = demand_weights / demand_weights.sum()
    kwargs = {
        "source_mwh": [source_mwh],
        "source_shape": src,
        "capacity_mw": [capacity_mw],
        "demand_mwh": [demand_mwh],
        "demand_shape": dem,
        "heat_loss_mw": [loss_mw],
    }
    sent, delivered, lost = hourly_heat_balance_mwh(**kwargs)
    available = np.minimum(source_mwh * src, capacity_mw)
    draw = demand_mwh * dem if np.isfinite(demand_mwh) else np.full(HOURS, np.inf)
    tol = 1e-9 * (1 + source_mwh)
    # hour by hour
    assert np.all(delivered >= 0)
    assert np.all(delivered <= draw + tol)
    assert np.all(delivered <= available + tol)
    assert np.all(sent <= available + tol)
    np.testing.assert_allclose(sent, delivered + lost, atol=tol)
    # and in total
    sent_mwh, delivered_mwh, lost_mwh = (v[0] for v in annual_heat_balance_mwh(**kwargs)[:3])
    assert delivered_mwh <= min(demand_mwh, source_mwh) + HOURS * tol
    assert delivered_mwh <= available.sum() + HOURS * tol
    assert delivered_mwh == pytest.approx(delivered.sum(), abs=HOURS * tol)
    assert sent_mwh == pytest.approx(delivered_mwh + lost_mwh, abs=HOURS * tol)


def test_a_far_away_nearest_climate_is_used_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pipeline.config import DemandProfileConfig, RegionConfig
    from pipeline.readers.profiles import climate_temperatures, nearest_climate

    # central Aalborg: London is nearer than Helsinki, but still over 900 km away
    climate, km = nearest_climate(9.92, 57.05)
    assert climate == "GB-london" and 900 < km < 930
    aalborg = RegionConfig(crs=25832, bbox=(9.91, 57.04, 9.93, 57.06), bbox_crs=4326)
    with caplog.at_level("WARNING", logger="heatlink.readers.profiles"):
        temps, described = climate_temperatures(DemandProfileConfig(), aalborg)
    assert "GB-london" in described and temps.shape == (HOURS_PER_YEAR,)
    assert "913 km" in caplog.text or "914 km" in caplog.text
    # near a shipped station there is no warning
    caplog.clear()
    helsinki = RegionConfig(crs=3067, bbox=(24.93, 60.16, 24.95, 60.18), bbox_crs=4326)
    with caplog.at_level("WARNING", logger="heatlink.readers.profiles"):
        climate_temperatures(DemandProfileConfig(), helsinki)
    assert caplog.text == ""


def test_many_links_are_balanced_in_chunks_as_one_by_one() -> None:
    # 600 links x 8,760 hours is more than one chunk: the chunks must cover every link once.
    rng = np.random.default_rng(1)
    n = 600
    source = rng.uniform(0, 50_000, n)
    capacity = rng.uniform(0.1, 10, n)
    demand = rng.uniform(100, 80_000, n)
    loss = rng.uniform(0, 0.2, n)
    shape = default_shape()
    year = annual_heat_balance_mwh(
        source_mwh=source,
        source_shape=FLAT,
        capacity_mw=capacity,
        demand_mwh=demand,
        demand_shape=shape,
        heat_loss_mw=loss,
    )
    for i in (0, 227, 228, 229, 456, 599):
        one = annual_heat_balance_mwh(
            source_mwh=source[i],
            source_shape=FLAT,
            capacity_mw=capacity[i],
            demand_mwh=demand[i],
            demand_shape=shape,
            heat_loss_mw=loss[i],
        )
        for got, want in zip(year, one, strict=True):
            assert got[i] == pytest.approx(float(want), rel=1e-12)


def test_shapes_and_inputs_are_checked() -> None:
    from pipeline.engineering.profile import shape_of

    # values summing to less than 1 are scaled up, not refused
    assert shape_of([0.1, 0.3]).tolist() == pytest.approx([0.25, 0.75])
    with pytest.raises(ValueError, match="positive sum"):
        shape_of([0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        shape_of([1.0, np.inf])
    with pytest.raises(ValueError, match="profile values must not be negative"):
        shape_of([1.0, -1.0], what="profile values")
    weight = [0.0, 1.0, 3.0]
    assert demand_shape(weight, hot_water_share=0.0).tolist() == pytest.approx([0, 0.25, 0.75])
    assert demand_shape(weight, hot_water_share=1.0).tolist() == pytest.approx([1 / 3] * 3)
    for share in (-0.1, 1.1):
        with pytest.raises(ValueError, match="hot_water_share"):
            demand_shape(weight, hot_water_share=share)
    with pytest.raises(ValueError, match="space-heating weights must be finite"):
        demand_shape([0.0, 0.0], hot_water_share=0.2)
    kwargs = {
        "source_mwh": [1.0],
        "capacity_mw": [1.0],
        "demand_mwh": [1.0],
        "heat_loss_mw": [0.0],
    }
    with pytest.raises(ValueError, match="one length"):
        hourly_heat_balance_mwh(source_shape=FLAT, demand_shape=FLAT[:-1], **kwargs)
    with pytest.raises(ValueError, match="1-D"):
        hourly_heat_balance_mwh(
            source_shape=FLAT.reshape(2, -1), demand_shape=FLAT.reshape(2, -1), **kwargs
        )
    with pytest.raises(ValueError, match="at least one hour"):
        annual_heat_balance_mwh(
            source_shape=FLAT, demand_shape=FLAT, mask=np.zeros(HOURS_PER_YEAR, bool), **kwargs
        )
    # a mask of hours, not of 0/1 indices
    mask = np.zeros(HOURS_PER_YEAR, int)
    mask[-1] = 1
    year = annual_heat_balance_mwh(
        source_shape=FLAT,
        demand_shape=default_shape(),
        mask=mask,
        **{**kwargs, "source_mwh": [1e9], "capacity_mw": [1e9], "demand_mwh": [8760.0]},
    )
    assert float(year.mean_sent_in_mask_mw[0]) == pytest.approx(8760.0 * default_shape()[-1])
