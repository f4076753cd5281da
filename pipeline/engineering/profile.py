"""The year, hour by hour: demand and source shapes, and the heat a link delivers.

A zone does not take its peak all year. Its demand follows the weather: space heating in
proportion to the heating degree-hours below a base temperature, plus hot water, which is
taken as flat over the year. A data centre's heat is nearly flat. The heat a link
delivers in each hour is what the source end can send, less the pipe's loss, but never
more than the zone draws in that hour; summed over the 8,760 hours of a typical year.

A *shape* is the share of a year's energy that falls in each hour: non-negative, summing
to 1 over the year. A zone with annual demand D draws D·s(t) in hour t.

References
----------
CIBSE TM41 (2006), *Degree-days: theory and application*: heating degree-days and
degree-hours as the driver of space-heating demand; 15.5 °C is the UK's conventional base
temperature. See ``docs/methodology.md`` for the defaults and their sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline.engineering.source import link_heat_balance_mwh
from pipeline.engineering.water import FloatOrArray, _nonnegative

HOURS_PER_YEAR = 8760
HOURS_PER_DAY = 24
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CHUNK_CELLS = 2_000_000  # links x hours held in memory at once by the annual balance


@dataclass(frozen=True, kw_only=True)
class YearShapes:
    """The hourly shapes of a typical 365-day year, each summing to 1, and its summer.

    Attributes
    ----------
    demand
        Shape of the sinks' demand.
    source
        Shape of the sources' heat.
    summer
        True for the hours whose mean flow is a link's summer flow.
    described
        Where the demand shape comes from, for logs and the report.

    Examples
    --------
    >>> flat = YearShapes.flat()
    >>> float(flat.demand.sum()), int(flat.summer.sum())
    (1.0, 2208)
    """

    demand: NDArray[np.float64]
    source: NDArray[np.float64]
    summer: NDArray[np.bool_]
    described: str

    @classmethod
    def flat(cls) -> YearShapes:
        """A year without seasons: flat demand and source, summer June-August."""
        flat = np.full(HOURS_PER_YEAR, 1.0 / HOURS_PER_YEAR)
        summer = np.isin(month_of_each_hour(), (6, 7, 8))
        return cls(demand=flat, source=flat, summer=summer, described="flat demand")


def month_of_each_hour() -> NDArray[np.int64]:
    """The month (1-12) of each hour of a 365-day year.

    Examples
    --------
    >>> months = month_of_each_hour()
    >>> int(months[0]), int(months[31 * 24]), int(months[-1]), len(months)
    (1, 2, 12, 8760)
    """
    return np.repeat(np.arange(1, 13), np.asarray(DAYS_IN_MONTH) * HOURS_PER_DAY)


def heating_degree_hours_k(outdoor_temp_c: ArrayLike, *, base_temp_c: float) -> FloatOrArray:
    """Heating degree-hours of each hour, max(0, base - outdoor temperature), in K·h.

    Parameters
    ----------
    outdoor_temp_c
        Outdoor air temperature of each hour.
    base_temp_c
        Base temperature: below it, buildings need space heating.

    Returns
    -------
    K·h of heating need in each hour (0 when it is at least as warm as the base).

    Examples
    --------
    >>> heating_degree_hours_k([-2.0, 10.0, 20.0], base_temp_c=15.5).tolist()
    [17.5, 5.5, 0.0]
    """
    return np.maximum(base_temp_c - np.asarray(outdoor_temp_c, dtype=float), 0.0)[()]


def shape_of(values: ArrayLike, *, what: str = "values") -> NDArray[np.float64]:
    """Values scaled to a shape: each one's share of their sum.

    Parameters
    ----------
    values
        Non-negative, finite values with a positive sum (energy or power per hour, in any
        unit).
    what
        What the values are, for the error message.

    Returns
    -------
    The shares, summing to 1.

    Raises
    ------
    ValueError
        If a value is negative or not finite, or they sum to zero.

    Examples
    --------
    >>> shape_of([1.0, 3.0]).tolist()
    [0.25, 0.75]
    """
    v = _nonnegative(what, values)
    if not np.all(np.isfinite(v)) or v.sum() <= 0:
        raise ValueError(f"{what} must be finite with a positive sum")
    return v / v.sum()


def demand_shape(space_heating_weight: ArrayLike, *, hot_water_share: float) -> NDArray[np.float64]:
    """Hourly shape of a zone's heat demand: space heating by weight, plus flat hot water.

    s(t) = (1 - h)·w(t)/Σw + h/n, with w the space-heating weight of each hour (its
    heating degree-hours, :func:`heating_degree_hours_k`) and h the hot-water share of
    the annual demand, spread evenly over the n hours.

    Parameters
    ----------
    space_heating_weight
        Weight of each hour in the year's space heating, ≥ 0 (degree-hours, or a day's
        degree-days spread over its hours).
    hot_water_share
        Share of the annual demand that is hot water, 0-1.

    Returns
    -------
    The demand shape, summing to 1.

    Raises
    ------
    ValueError
        If the share is outside 0-1 or the weights cannot make a shape.

    Examples
    --------
    Four hours, two of them cold, and a 20 % hot-water share:

    >>> demand_shape([0.0, 0.0, 10.0, 30.0], hot_water_share=0.2).round(3).tolist()
    [0.05, 0.05, 0.25, 0.65]
    """
    if not 0 <= hot_water_share <= 1:
        raise ValueError("hot_water_share must be between 0 and 1")
    weight = np.asarray(space_heating_weight, dtype=float)
    flat = np.full(weight.shape, 1.0 / weight.size)
    if hot_water_share == 1:
        return flat
    return (1 - hot_water_share) * shape_of(weight, what="space-heating weights") + (
        hot_water_share * flat
    )


def hourly_from_daily(daily_values: ArrayLike) -> NDArray[np.float64]:
    """Each day's value spread evenly over its 24 hours (e.g. degree-days to degree-hours).

    Examples
    --------
    >>> hourly_from_daily([48.0, 0.0]).reshape(2, 24)[:, 0].tolist()
    [2.0, 0.0]
    """
    return np.repeat(np.asarray(daily_values, dtype=float) / HOURS_PER_DAY, HOURS_PER_DAY)


def share_pct(part: ArrayLike, whole: ArrayLike) -> NDArray[np.float64]:
    """100·part/whole: a share in percent, NaN where the whole is not positive or not
    finite (an unlimited sink has no coverage).

    Examples
    --------
    >>> share_pct([30.0, 1.0, 1.0], [40.0, 0.0, np.inf]).tolist()
    [75.0, nan, nan]
    """
    whole = np.asarray(whole, dtype=float)
    return np.divide(
        100.0 * np.asarray(part, dtype=float),
        whole,
        out=np.full(whole.shape, np.nan),
        where=np.isfinite(whole) & (whole > 0),
    )


class AnnualBalance(NamedTuple):
    """A link's heat in a year, summed hour by hour (:func:`annual_heat_balance_mwh`)."""

    sent_mwh: FloatOrArray
    delivered_mwh: FloatOrArray
    lost_mwh: FloatOrArray
    mean_sent_in_mask_mw: FloatOrArray


def hourly_heat_balance_mwh(
    *,
    source_mwh: ArrayLike,
    source_shape: ArrayLike,
    capacity_mw: ArrayLike,
    demand_mwh: ArrayLike,
    demand_shape: ArrayLike,
    heat_loss_mw: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Heat each link sends, delivers and loses in each hour of the year.

    In hour t the source end can send a(t) = min(S·s_src(t), C): its share of the
    year's output S, within the pipe's capacity C. The sink draws d(t) = D·s_dem(t). The
    hour is balanced like a year in :func:`pipeline.engineering.source.link_heat_balance_mwh`:
    sent = min(a, d + loss), delivered = sent - loss (never below 0, never above d) and
    lost = min(loss, a), so sent = delivered + lost in every hour.

    Parameters
    ----------
    source_mwh
        Heat the source end could send in the year, one value per link (heat-pump
        output).
    source_shape
        Hourly shape of the source's output (sums to 1; flat for a data centre).
    capacity_mw
        Most the pipe carries in an hour, per link (its design heat flow).
    demand_mwh
        The sink's annual demand, per link; infinite for a sink that takes everything.
    demand_shape
        Hourly shape of the demand (sums to 1; same length as ``source_shape``).
    heat_loss_mw
        Steady heat loss of the warm pipe, per link.

    Returns
    -------
    tuple
        (sent, delivered, lost), each of shape (links, hours), in MWh per hour.

    Raises
    ------
    ValueError
        If an input is negative or the shapes are not 1-D arrays of one length.

    Examples
    --------
    Four hours; a 2 MW pipe from a source of 8 MWh a year, flat; a zone of 6 MWh a year
    drawing 0.5, 0.5, 2 and 3 MWh in its hours; 0.25 MW of loss:

    >>> sent, delivered, lost = hourly_heat_balance_mwh(source_mwh=[8.0],
    ...     source_shape=[0.25] * 4, capacity_mw=[2.0], demand_mwh=[6.0],
    ...     demand_shape=[1 / 12, 1 / 12, 1 / 3, 1 / 2], heat_loss_mw=[0.25])
    >>> sent.round(3).tolist(), delivered.round(3).tolist()
    ([[0.75, 0.75, 2.0, 2.0]], [[0.5, 0.5, 1.75, 1.75]])
    """
    src_shape = _nonnegative("source_shape", source_shape)
    dem_shape = _nonnegative("demand_shape", demand_shape)
    if src_shape.shape != dem_shape.shape or src_shape.ndim != 1:
        raise ValueError("source_shape and demand_shape must be 1-D and of one length")
    source, capacity, demand, loss = (
        np.atleast_1d(_nonnegative(name, v))[:, None]
        for name, v in (
            ("source_mwh", source_mwh),
            ("capacity_mw", capacity_mw),
            ("demand_mwh", demand_mwh),
            ("heat_loss_mw", heat_loss_mw),
        )
    )
    available = np.minimum(source * src_shape, capacity)
    with np.errstate(invalid="ignore"):  # inf x 0 where an unlimited sink has no demand
        draw = np.where(np.isposinf(demand), np.inf, demand * dem_shape)
    sent, delivered, lost = link_heat_balance_mwh(
        source_heat_mwh=available, demand_mwh=draw, heat_loss_mwh=loss
    )
    return sent, delivered, lost


def annual_heat_balance_mwh(
    *,
    source_mwh: ArrayLike,
    source_shape: ArrayLike,
    capacity_mw: ArrayLike,
    demand_mwh: ArrayLike,
    demand_shape: ArrayLike,
    heat_loss_mw: ArrayLike,
    mask: ArrayLike | None = None,
) -> AnnualBalance:
    """Heat a link sends, delivers and loses in a year, balanced in each hour.

    The sums over the year of :func:`hourly_heat_balance_mwh` (its parameters are the
    same), so sent = delivered + lost holds in every hour and in total, and the heat
    delivered never exceeds the demand or the source in any hour. Links are taken in
    chunks, so memory stays bounded.

    Parameters
    ----------
    source_mwh, source_shape, capacity_mw, demand_mwh, demand_shape, heat_loss_mw
        As for :func:`hourly_heat_balance_mwh`, one value per link where not a shape.
    mask
        Hours whose mean heat sent to report (e.g. the summer); all hours when None.

    Returns
    -------
    AnnualBalance
        ``sent_mwh``, ``delivered_mwh`` and ``lost_mwh`` a year, and
        ``mean_sent_in_mask_mw``, the mean heat flow sent over the masked hours.

    Examples
    --------
    A zone of 40 GWh a year peaking at 20 MW (2,000 full-load hours), on the default
    climate of England (hot water 20 %, base 15.5 °C), fed by a flat source at a quarter
    of that peak, 5 MW, with a 50 kW loss:

    >>> from pipeline.data import load_climate_series
    >>> temps = load_climate_series("GB-london")
    >>> shape = demand_shape(heating_degree_hours_k(temps, base_temp_c=15.5),
    ...     hot_water_share=0.2)
    >>> flat = np.full(HOURS_PER_YEAR, 1 / HOURS_PER_YEAR)
    >>> year = annual_heat_balance_mwh(source_mwh=5.0 * 8760, source_shape=flat,
    ...     capacity_mw=5.0, demand_mwh=40_000.0, demand_shape=shape, heat_loss_mw=0.05)
    >>> coverage = float(year.delivered_mwh) / 40_000
    >>> print(f"{coverage:.1%} of the demand")
    71.3% of the demand

    A flat demand, which a constant 'annual' balance assumes, would be covered in full.
    """
    n_hours = np.asarray(source_shape).size
    hours = np.ones(n_hours, bool) if mask is None else np.asarray(mask, bool)
    if not hours.any():
        raise ValueError("mask must select at least one hour")
    source, capacity, demand, loss = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (source_mwh, capacity_mw, demand_mwh, heat_loss_mw))
    )
    shape = source.shape
    columns = [a.ravel() for a in (source, capacity, demand, loss)]
    out = np.zeros((4, columns[0].size))
    step = max(1, _CHUNK_CELLS // max(n_hours, 1))
    for start in range(0, columns[0].size, step):
        rows = slice(start, start + step)
        sent, delivered, lost = hourly_heat_balance_mwh(
            source_mwh=columns[0][rows],
            source_shape=source_shape,
            capacity_mw=columns[1][rows],
            demand_mwh=columns[2][rows],
            demand_shape=demand_shape,
            heat_loss_mw=columns[3][rows],
        )
        out[:, rows] = [
            sent.sum(axis=1),
            delivered.sum(axis=1),
            lost.sum(axis=1),
            sent[:, hours].mean(axis=1),
        ]
    return AnnualBalance(*(v.reshape(shape)[()] for v in out))


def merit_order_balance_mwh(
    *,
    source_mwh: ArrayLike,
    source_shape: ArrayLike,
    capacity_mw: ArrayLike,
    heat_loss_mw: ArrayLike,
    demand_mwh: float,
    demand_shape: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """A year of several links into one sink, each meeting what the earlier ones leave.

    The links are taken in the order given (the merit order: cheapest first). In each
    hour the first link meets what it can of the sink's draw, as in
    :func:`hourly_heat_balance_mwh`; the next meets what is left, and so on. So the
    links together never deliver more than the sink draws in any hour.

    Parameters
    ----------
    source_mwh, source_shape, capacity_mw, heat_loss_mw
        Per link, in merit order, as for :func:`hourly_heat_balance_mwh`.
    demand_mwh
        The sink's annual demand; infinite for a sink that takes everything.
    demand_shape
        Hourly shape of the sink's demand.

    Returns
    -------
    tuple
        (sent_mwh, delivered_mwh, lost_mwh) a year, one value per link.

    Examples
    --------
    Two flat 1 MW links into a zone drawing 1.5 MW in every hour (13,140 MWh a year), no
    loss: the first delivers all it has, the second the remaining 0.5 MW.

    >>> flat = np.full(HOURS_PER_YEAR, 1 / HOURS_PER_YEAR)
    >>> sent, delivered, lost = merit_order_balance_mwh(source_mwh=[8760.0, 8760.0],
    ...     source_shape=flat, capacity_mw=[1.0, 1.0], heat_loss_mw=[0.0, 0.0],
    ...     demand_mwh=13_140.0, demand_shape=flat)
    >>> delivered.round(1).tolist()
    [8760.0, 4380.0]
    """
    source = np.atleast_1d(np.asarray(source_mwh, dtype=float))
    capacity = np.atleast_1d(np.asarray(capacity_mw, dtype=float))
    loss = np.atleast_1d(np.asarray(heat_loss_mw, dtype=float))
    shape = _nonnegative("demand_shape", demand_shape)
    residual = np.full(shape.shape, np.inf) if np.isposinf(demand_mwh) else demand_mwh * shape
    out = np.zeros((3, source.size))
    for i in range(source.size):
        sent, delivered, lost = hourly_heat_balance_mwh(
            source_mwh=source[i : i + 1],
            source_shape=source_shape,
            capacity_mw=capacity[i : i + 1],
            demand_mwh=[1.0],
            demand_shape=residual,
            heat_loss_mw=loss[i : i + 1],
        )
        residual = np.maximum(residual - delivered[0], 0.0)
        out[:, i] = sent.sum(), delivered.sum(), lost.sum()
    return out[0], out[1], out[2]
