"""The year's shapes: a zone's hourly demand and the sources' hourly heat.

:func:`year_shapes` turns the ``demand_profile`` and ``source_profile`` sections into the
hourly shapes of :mod:`pipeline.engineering.profile`: from a shipped climate series (the
one named, or the nearest to the region's centre), or from the user's own CSV of hourly
demand, hourly temperatures or daily degree-days.
"""

from __future__ import annotations

import logging

import numpy as np

from pipeline.config import DemandProfileConfig, RegionConfig, SourceProfileConfig
from pipeline.data import load_climate_series, load_climate_stations
from pipeline.engineering.profile import (
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    YearShapes,
    demand_shape,
    heating_degree_hours_k,
    hourly_from_daily,
    month_of_each_hour,
    shape_of,
)
from pipeline.errors import InputError
from pipeline.readers.tables import read_profile_column

log = logging.getLogger("heatlink.readers.profiles")

DAYS_PER_YEAR = HOURS_PER_YEAR // HOURS_PER_DAY
EARTH_RADIUS_KM = 6371.0
FAR_CLIMATE_KM = 300.0  # beyond this the nearest shipped series gets a warning


def nearest_climate(lon: float, lat: float) -> tuple[str, float]:
    """The shipped climate series nearest a point, and its great-circle distance in km.

    >>> nearest_climate(24.94, 60.17)[0]
    'FI-helsinki'
    """
    stations = load_climate_stations()
    lon1, lat1 = np.radians(lon), np.radians(lat)
    lon2, lat2 = np.radians(stations["lon"]), np.radians(stations["lat"])
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))
    best = int(np.argmin(km))
    return str(stations["climate_id"].iloc[best]), float(km.iloc[best])


def climate_temperatures(cfg: DemandProfileConfig, region: RegionConfig) -> tuple[np.ndarray, str]:
    """Hourly temperatures of the shipped series the config names, or the nearest one."""
    ids = list(load_climate_stations()["climate_id"])
    if cfg.climate == "auto":
        w, s, e, n = region.bbox_wgs84()
        climate, km = nearest_climate((w + e) / 2, (s + n) / 2)
        described = f"climate {climate} (nearest shipped series, {km:.0f} km from the centre)"
        if km > FAR_CLIMATE_KM:
            log.warning(
                "the nearest shipped climate series, %s, is %.0f km from the region's centre; "
                "its seasons may not be the region's: give your own hourly temperatures or "
                "demand in demand_profile.path",
                climate,
                km,
            )
    elif cfg.climate in ids:
        climate, described = cfg.climate, f"climate {cfg.climate}"
    else:
        raise InputError(
            f"unknown climate {cfg.climate!r}",
            where="demand_profile.climate",
            fix=f"use auto or one of {', '.join(ids)}, or give demand_profile.path",
        )
    return load_climate_series(climate), described


def demand_year_shape(cfg: DemandProfileConfig, region: RegionConfig) -> tuple[np.ndarray, str]:
    """The zones' hourly demand shape, and a description of where it comes from."""
    base = f"base {cfg.base_temp_c:g} C, hot water {cfg.hot_water_share:.0%}"
    if cfg.path is None:
        temps, described = climate_temperatures(cfg, region)
        weight = heating_degree_hours_k(temps, base_temp_c=cfg.base_temp_c)
        return _demand_shape(weight, cfg), f"{described}, {base}"
    rows = (DAYS_PER_YEAR,) if cfg.values == "degree_days" else (HOURS_PER_YEAR,)
    values = read_profile_column(cfg.path, key="demand_profile.path", column=cfg.column, rows=rows)
    if cfg.values == "demand":
        return _shape(values, "demand_profile.path"), f"hourly demand from {cfg.path}"
    if cfg.values == "temperature_c":
        weight = heating_degree_hours_k(values, base_temp_c=cfg.base_temp_c)
        return _demand_shape(weight, cfg), f"hourly temperatures from {cfg.path}, {base}"
    weight = hourly_from_daily(values)
    hot_water = f"hot water {cfg.hot_water_share:.0%}"
    return _demand_shape(weight, cfg), f"daily degree-days from {cfg.path}, {hot_water}"


def source_year_shape(cfg: SourceProfileConfig) -> np.ndarray:
    """The sources' hourly shape: flat, or the user's profile."""
    if cfg.path is None:
        return np.full(HOURS_PER_YEAR, 1.0 / HOURS_PER_YEAR)
    values = read_profile_column(
        cfg.path, key="source_profile.path", column=cfg.column, rows=(HOURS_PER_YEAR,)
    )
    return _shape(values, "source_profile.path")


def year_shapes(
    demand: DemandProfileConfig, source: SourceProfileConfig, region: RegionConfig
) -> YearShapes:
    """The demand and source shapes of the region's year, and its summer hours."""
    demand_shape_, described = demand_year_shape(demand, region)
    summer = np.isin(month_of_each_hour(), demand.summer_months)
    log.info("demand profile: %s", described)
    return YearShapes(
        demand=demand_shape_, source=source_year_shape(source), summer=summer, described=described
    )


def _shape(values: np.ndarray, key: str) -> np.ndarray:
    try:
        return shape_of(values, what="profile values")
    except ValueError as exc:
        raise InputError(
            str(exc), where=key, fix="give non-negative values, not all zero"
        ) from None


def _demand_shape(weight: np.ndarray, cfg: DemandProfileConfig) -> np.ndarray:
    if np.any(weight < 0):
        raise InputError(
            "negative degree-days",
            where=cfg.path,
            fix="give heating degree-days, 0 or more on each day",
        )
    try:
        return demand_shape(weight, hot_water_share=cfg.hot_water_share)
    except ValueError:
        raise InputError(
            f"no hour of the year is below the base temperature {cfg.base_temp_c:g} C, so "
            "there is no space heating to shape",
            where="demand_profile.base_temp_c",
            fix="raise demand_profile.base_temp_c, or set demand_profile.hot_water_share to 1",
        ) from None
