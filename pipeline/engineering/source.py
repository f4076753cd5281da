"""Heat available from a data centre and the heat balance of a link.

References
----------
The recoverable-heat formula (IT load × utilisation × capture fraction) and its default
factors are assumptions of this project; see ``docs/methodology.md``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray, _nonnegative


def heat_available_mw(
    it_load_mw: ArrayLike, *, utilisation: ArrayLike, capture_fraction: ArrayLike
) -> FloatOrArray:
    """Recoverable heat of a data centre, IT load × utilisation × capture fraction.

    Use it only when a site does not state its heat output.

    Parameters
    ----------
    it_load_mw
        Rated IT electrical load.
    utilisation
        Mean IT load as a fraction of the rated load, 0-1.
    capture_fraction
        Share of the IT heat the cooling system recovers, 0-1.

    Returns
    -------
    Mean recoverable heat flow in MW.

    Raises
    ------
    ValueError
        If the load is negative or a fraction is outside 0-1.

    Examples
    --------
    >>> round(float(heat_available_mw(10.0, utilisation=0.7, capture_fraction=0.8)), 2)
    5.6
    """
    load = _nonnegative("it_load_mw", it_load_mw)
    u = np.asarray(utilisation, dtype=float)
    c = np.asarray(capture_fraction, dtype=float)
    if np.any((u < 0) | (u > 1)) or np.any((c < 0) | (c > 1)):
        raise ValueError("utilisation and capture_fraction must be between 0 and 1")
    return (load * u * c)[()]


def link_heat_balance_mwh(
    *, source_heat_mwh: ArrayLike, demand_mwh: ArrayLike, heat_loss_mwh: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray, FloatOrArray]:
    """Annual heat sent into a link, delivered at its far end, and lost on the way.

    The link sends what the demand and the pipe loss need, if the source has it:
    sent = min(source, demand + loss). It never sends more than the source gives. When
    the source cannot even cover the steady-state loss, the pipe is not held at its
    design temperature: everything sent is lost, nothing is delivered, and the loss is
    capped at what is sent (such a link is not viable). In every case
    sent = delivered + lost exactly.

    With a heat pump at the source, "source" here is the heat-pump output at supply
    temperature (:func:`pipeline.engineering.heat_pump.heat_pump_output_mw`).

    Parameters
    ----------
    source_heat_mwh
        Heat the source end can send in the year.
    demand_mwh
        Heat the demand area takes in the year.
    heat_loss_mwh
        Steady-state loss of the warm link in the year (:func:`annual_heat_loss_mwh`).

    Returns
    -------
    tuple
        (heat_sent_mwh, delivered_heat_mwh, heat_lost_mwh) per year; heat_lost_mwh is
        ``heat_loss_mwh`` capped at the heat sent.

    Raises
    ------
    ValueError
        If an input is negative.

    Examples
    --------
    Demand-limited, source-limited, and a source too small to cover the loss:

    >>> sent, delivered, lost = link_heat_balance_mwh(
    ...     source_heat_mwh=[50_000.0, 8_000.0, 300.0],
    ...     demand_mwh=[10_000.0, 10_000.0, 10_000.0],
    ...     heat_loss_mwh=[500.0, 500.0, 500.0],
    ... )
    >>> sent.tolist(), delivered.tolist(), lost.tolist()
    ([10500.0, 8000.0, 300.0], [10000.0, 7500.0, 0.0], [500.0, 500.0, 300.0])
    """
    source = _nonnegative("source_heat_mwh", source_heat_mwh)
    demand = _nonnegative("demand_mwh", demand_mwh)
    loss = _nonnegative("heat_loss_mwh", heat_loss_mwh)
    # Written so that delivered never exceeds the demand, even by a rounding error.
    delivered = np.where(source >= demand + loss, demand, np.maximum(source - loss, 0.0))
    lost = np.minimum(loss, source)
    sent = delivered + lost
    return sent[()], delivered[()], lost[()]
