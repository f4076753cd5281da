"""Bands on a link's or network's headline figures: a seeded Monte Carlo on its central case.

The design (route, pipe, heat-pump size, temperatures, heat loss) stays that of the
central case. Each draw multiplies six assumptions by a factor drawn uniformly from its
range, and the closed-form relations below carry the factors to the heat, the cost and
the carbon of every row at once, as (rows × draws) arrays:

- heat sent: S' = S · min(Q_src·f_load, D_sink·f_demand + L, C) / min(Q_src, D_sink + L, C),
  where Q_src is what the source can send a year, D_sink the sink's demand, L the heat
  lost and C the pipe's design flow for a year: the central heat sent scaled by its
  binding limit (an approximation of the hourly balance);
- delivered: D' = max(S' - L, 0), the loss fixed by the pipe and temperatures;
- heat-pump electricity: E_hp' = E_hp · (S'/S) / f_eff (COP ∝ Carnot efficiency);
  pumping electricity E_p' = E_p · S'/S;
- annual cost: (annualised capex + fixed O&M) · f_capex + variable O&M · S'/S
  + (E_hp' + E_p') · electricity price · f_price; LCOH' = cost / D' (infinite where
  nothing is delivered);
- CO2 saved: D' · gas factor / boiler efficiency - (E_hp' + E_p') · grid factor · f_grid.

Every draw uses one factor per assumption for all rows (the assumptions are regional, so
rows move together). Each assumption has its own stream of uniform numbers from the seed,
so widening one range moves only its own factors, and the same seed gives the same bands.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline.engineering.carbon import co2_saving_t_per_yr

FACTORS = ("efficiency", "electricity_price", "grid_factor", "capex", "demand", "load_factor")
"""The drawn assumptions, in the order their uniform streams are taken from the seed."""

PERCENTILES = (10, 50, 90)


@dataclass(frozen=True, kw_only=True)
class Ranges:
    """Each assumption's range as (low, high) factors on its central value.

    ``efficiency`` is the heat pump's Carnot (or Lorenz) efficiency, ``grid_factor`` the
    grid's carbon factor, ``demand`` the sinks' annual demand and ``load_factor`` the
    sources' heat. (1, 1) holds an assumption at its central value.
    """

    efficiency: tuple[float, float] = (1.0, 1.0)
    electricity_price: tuple[float, float] = (1.0, 1.0)
    grid_factor: tuple[float, float] = (1.0, 1.0)
    capex: tuple[float, float] = (1.0, 1.0)
    demand: tuple[float, float] = (1.0, 1.0)
    load_factor: tuple[float, float] = (1.0, 1.0)


@dataclass(frozen=True, kw_only=True)
class CentralCase:
    """Each row's central figures a year (1-D arrays of one length).

    ``source_limit_mwh`` is what the source can send, ``sink_demand_mwh`` the sink's demand
    (inf when unlimited) and ``capacity_mwh`` what the pipe's design flow carries. Costs
    are in one currency: ``fixed_cost_per_yr`` is the annualised capex and the O&M that
    follows it, ``variable_om_per_yr`` the O&M that follows the heat sent and
    ``electricity_price_per_mwh`` the price paid for the electricity.
    """

    heat_sent_mwh: ArrayLike
    heat_loss_mwh: ArrayLike
    source_limit_mwh: ArrayLike
    sink_demand_mwh: ArrayLike
    capacity_mwh: ArrayLike
    hp_electricity_mwh: ArrayLike
    pump_electricity_mwh: ArrayLike
    fixed_cost_per_yr: ArrayLike
    variable_om_per_yr: ArrayLike
    electricity_price_per_mwh: ArrayLike


@dataclass(frozen=True, kw_only=True)
class Outcomes:
    """Each row's figures in each draw: (rows × draws) arrays."""

    heat_sent_mwh: NDArray[np.float64]
    delivered_heat_mwh: NDArray[np.float64]
    heat_loss_mwh: NDArray[np.float64]
    cost_per_yr: NDArray[np.float64]
    co2_saved_t_per_yr: NDArray[np.float64]

    @property
    def lcoh_per_mwh(self) -> NDArray[np.float64]:
        """Cost per MWh delivered in each draw; infinite where nothing is delivered."""
        return lcoh_per_mwh(self.cost_per_yr, self.delivered_heat_mwh)

    def summed(self, groups: ArrayLike) -> Outcomes:
        """The rows summed within each group (group labels 0..n-1, one per row): a
        network's draws from its sources'."""
        labels = np.asarray(groups, dtype=int)
        n = int(labels.max()) + 1 if labels.size else 0

        def total(values: NDArray[np.float64]) -> NDArray[np.float64]:
            out = np.zeros((n, values.shape[1]))
            np.add.at(out, labels, values)
            return out

        return Outcomes(**{f.name: total(getattr(self, f.name)) for f in fields(self)})


def draw_factors(ranges: Ranges, *, draws: int, seed: int) -> dict[str, NDArray[np.float64]]:
    """Each assumption's factor in each draw, uniform within its range.

    Examples
    --------
    >>> f = draw_factors(Ranges(capex=(0.7, 1.5)), draws=1000, seed=0)
    >>> bool(f["capex"].min() >= 0.7 and f["capex"].max() <= 1.5), f["grid_factor"][:2]
    (True, array([1., 1.]))
    >>> bool((draw_factors(Ranges(capex=(0.7, 1.5)), draws=5, seed=3)["capex"]
    ...     == draw_factors(Ranges(capex=(0.7, 1.5)), draws=5, seed=3)["capex"]).all())
    True
    """
    streams = np.random.default_rng(seed).random((len(FACTORS), draws))
    out = {}
    for name, u in zip(FACTORS, streams, strict=True):
        low, high = getattr(ranges, name)
        out[name] = low + u * (high - low)
    return out


def propagate(
    central: CentralCase,
    factors: dict[str, NDArray[np.float64]],
    *,
    gas_factor_kg_per_kwh: float,
    boiler_efficiency: float,
    grid_factor_kg_per_kwh: float,
) -> Outcomes:
    """Carry the drawn factors through the closed-form relations (module docstring).

    Examples
    --------
    A link that sends 10,000 MWh (its source can send 10,400, the sink wants 40,000, 500
    are lost), with 2,500 MWh of heat-pump and 100 of pumping electricity at 100 a MWh and
    400,000 a year of capex and fixed O&M. The central draw gives back its own figures:
    cost 400,000 + 2,600·100 = 660,000 and CO2 9,500·0.2/0.8 - 2,600·0.1 = 2,115 t; 30 %
    more capex adds 120,000. A tenth of the demand makes the sink binding: 4,000 + 500
    of the 10,400 the source could send, so 10,000·4,500/10,400 = 4,326.9 MWh are sent.

    >>> central = CentralCase(heat_sent_mwh=[10_000.0], heat_loss_mwh=[500.0],
    ...     source_limit_mwh=[10_400.0], sink_demand_mwh=[40_000.0], capacity_mwh=[np.inf],
    ...     hp_electricity_mwh=[2_500.0], pump_electricity_mwh=[100.0],
    ...     fixed_cost_per_yr=[400_000.0], variable_om_per_yr=[0.0],
    ...     electricity_price_per_mwh=[100.0])
    >>> carbon = dict(gas_factor_kg_per_kwh=0.2, boiler_efficiency=0.8,
    ...     grid_factor_kg_per_kwh=0.1)
    >>> ones = {name: np.ones(2) for name in FACTORS}
    >>> out = propagate(central, ones | {"capex": np.array([1.0, 1.3])}, **carbon)
    >>> out.cost_per_yr.tolist(), out.co2_saved_t_per_yr[0, 0].round(1)
    ([[660000.0, 780000.0]], np.float64(2115.0))
    >>> out = propagate(central, ones | {"demand": np.array([1.0, 0.1])}, **carbon)
    >>> out.heat_sent_mwh.round(1).tolist()
    [[10000.0, 4326.9]]
    """
    c = {
        f.name: np.asarray(getattr(central, f.name), dtype=float)[:, None] for f in fields(central)
    }
    f = {name: np.asarray(v, dtype=float)[None, :] for name, v in factors.items()}
    sink = c["sink_demand_mwh"] + c["heat_loss_mwh"]
    binding = np.minimum(np.minimum(c["source_limit_mwh"], sink), c["capacity_mwh"])
    drawn = np.minimum(
        np.minimum(
            c["source_limit_mwh"] * f["load_factor"],
            c["sink_demand_mwh"] * f["demand"] + c["heat_loss_mwh"],
        ),
        c["capacity_mwh"],
    )
    ratio = _ratio(drawn, binding)
    sent = c["heat_sent_mwh"] * ratio
    delivered = np.maximum(sent - c["heat_loss_mwh"], 0.0)
    electricity = (
        c["hp_electricity_mwh"] * ratio / f["efficiency"] + c["pump_electricity_mwh"] * ratio
    )
    cost = (
        c["fixed_cost_per_yr"] * f["capex"]
        + c["variable_om_per_yr"] * ratio
        + electricity * c["electricity_price_per_mwh"] * f["electricity_price"]
    )
    co2 = co2_saving_t_per_yr(
        delivered_heat_mwh=delivered,
        electricity_mwh=electricity * f["grid_factor"],
        gas_factor_kg_per_kwh=gas_factor_kg_per_kwh,
        boiler_efficiency=boiler_efficiency,
        grid_factor_kg_per_kwh=grid_factor_kg_per_kwh,
    )
    shape = np.broadcast_shapes(sent.shape, cost.shape)
    return Outcomes(
        heat_sent_mwh=np.broadcast_to(sent, shape),
        delivered_heat_mwh=np.broadcast_to(delivered, shape),
        heat_loss_mwh=np.broadcast_to(c["heat_loss_mwh"], shape),
        cost_per_yr=np.broadcast_to(cost, shape),
        co2_saved_t_per_yr=np.broadcast_to(np.asarray(co2, dtype=float), shape),
    )


def lcoh_per_mwh(cost_per_yr: ArrayLike, delivered_heat_mwh: ArrayLike) -> NDArray[np.float64]:
    """Annual cost per MWh delivered; infinite where nothing is delivered.

    Examples
    --------
    >>> lcoh_per_mwh([1000.0, 1000.0], [10.0, 0.0]).tolist()
    [100.0, inf]
    """
    cost = np.asarray(cost_per_yr, dtype=float)
    delivered = np.asarray(delivered_heat_mwh, dtype=float)
    out = np.full(np.broadcast_shapes(cost.shape, delivered.shape), np.inf)
    return np.divide(cost, delivered, out=out, where=delivered > 0)


def percentile_bands(values: ArrayLike) -> dict[int, NDArray[np.float64]]:
    """Each row's 10th, 50th and 90th percentile over its draws (the last axis), each a
    value some draw took (no interpolation, so an infinite draw stays infinite); NaN for
    a row with no draws.

    Examples
    --------
    >>> percentile_bands(np.arange(1.0, 11.0)[None, :])
    {10: array([1.]), 50: array([5.]), 90: array([9.])}
    """
    v = np.asarray(values, dtype=float)
    if v.shape[-1] == 0:
        return {p: np.full(v.shape[:-1], np.nan) for p in PERCENTILES}
    bands = np.percentile(v, PERCENTILES, axis=-1, method="inverted_cdf")
    return dict(zip(PERCENTILES, bands, strict=True))


def share_of_draws(holds: ArrayLike) -> NDArray[np.float64]:
    """Share of each row's draws (the last axis) in which ``holds`` is true; NaN for a row
    with no draws.

    Examples
    --------
    >>> share_of_draws([[True, False, True, True]]).tolist()
    [0.75]
    """
    h = np.asarray(holds, dtype=bool)
    if h.shape[-1] == 0:
        return np.full(h.shape[:-1], np.nan)
    return h.mean(axis=-1)


def _ratio(drawn: NDArray[np.float64], binding: NDArray[np.float64]) -> NDArray[np.float64]:
    """drawn / binding, 1 where the central limit is zero or unlimited."""
    shape = np.broadcast_shapes(drawn.shape, binding.shape)
    ok = np.isfinite(binding) & (binding > 0)
    return np.divide(drawn, binding, out=np.ones(shape), where=ok)
