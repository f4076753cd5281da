"""Heat-demand units and peak demand."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

M2_PER_HA = 10_000.0

# A cell value divided by this and multiplied by the cell area in m2 gives MWh per year.
_VALUE_M2_PER_MWH = {
    "MWh/ha/yr": M2_PER_HA,
    "kWh/m2/yr": 1000.0,
    "GJ/ha/yr": 3.6 * M2_PER_HA,
}


def cell_energy_mwh(value: ArrayLike, *, units: str, cell_area_m2: ArrayLike) -> np.ndarray:
    """Annual heat demand of raster cells in MWh, from their values in declared units.

    Parameters
    ----------
    value
        Cell values.
    units
        One of ``MWh/ha/yr``, ``kWh/m2/yr``, ``GJ/ha/yr`` (densities, multiplied by the
        cell area) or ``MWh/cell/yr`` (already energy per cell).
    cell_area_m2
        Area of each cell in m2 (ignored for ``MWh/cell/yr``).

    Examples
    --------
    A 100 m cell (1 ha) of 333 MWh/ha/yr holds 333 MWh/yr; 100 kWh/m2/yr over 1 ha is
    1000 MWh/yr; 3600 GJ/ha/yr is 1000 MWh/ha/yr.

    >>> float(cell_energy_mwh(333.0, units="MWh/ha/yr", cell_area_m2=10_000.0))
    333.0
    >>> float(cell_energy_mwh(100.0, units="kWh/m2/yr", cell_area_m2=10_000.0))
    1000.0
    >>> round(float(cell_energy_mwh(3600.0, units="GJ/ha/yr", cell_area_m2=10_000.0)), 6)
    1000.0
    >>> float(cell_energy_mwh(42.0, units="MWh/cell/yr", cell_area_m2=1.0))
    42.0
    """
    v = np.asarray(value, dtype="float64")
    if units == "MWh/cell/yr":
        return v
    if units not in _VALUE_M2_PER_MWH:
        raise ValueError(f"unknown heat-demand units {units!r}")
    return v * np.asarray(cell_area_m2, dtype="float64") / _VALUE_M2_PER_MWH[units]


def peak_demand_mw(annual_demand_mwh: ArrayLike, *, full_load_hours_h: float) -> np.ndarray:
    """Peak heat demand estimated as annual demand divided by full-load hours.

    Examples
    --------
    30 GWh/yr at 2000 full-load hours peaks at 15 MW.

    >>> float(peak_demand_mw(30_000.0, full_load_hours_h=2000.0))
    15.0
    """
    return np.asarray(annual_demand_mwh, dtype="float64") / full_load_hours_h
