"""The screening rules a routed link must pass, and its reason codes when it fails.

A link that fails several rules lists every failure, ';'-joined in the fixed order of
:data:`REASON_CODES`, for example ``heat_loss_too_high;too_small``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipeline.engineering.water import FloatOrArray, _nonnegative

SPUR_TOO_LONG = "spur_too_long"
NO_PIPE_LARGE_ENOUGH = "no_pipe_large_enough"
HEAT_LOSS_TOO_HIGH = "heat_loss_too_high"
LINEAR_DENSITY_TOO_LOW = "linear_density_too_low"
TOO_SMALL = "too_small"

REASON_CODES: tuple[str, ...] = (
    SPUR_TOO_LONG,
    NO_PIPE_LARGE_ENOUGH,
    HEAT_LOSS_TOO_HIGH,
    LINEAR_DENSITY_TOO_LOW,
    TOO_SMALL,
)
"""The assessment's reason codes, in the order a ';'-joined reason lists them."""

REASON_SEPARATOR = ";"


@dataclass(frozen=True, kw_only=True)
class ViabilityLimits:
    """The limits a link must keep (the ``viability`` config section).

    Attributes
    ----------
    max_spur_m
        Longest spur from a site or zone to its road; None: not checked.
    max_heat_loss_pct
        Most heat lost on the way, as a percentage of the heat sent.
    min_linear_heat_density_mwh_per_m
        Least heat delivered a year per metre of trench.
    min_delivered_heat_mwh
        Least heat delivered a year.

    Examples
    --------
    Without a spur limit, only the other three rules are checked:

    >>> limits = ViabilityLimits(max_spur_m=None, max_heat_loss_pct=10.0,
    ...     min_linear_heat_density_mwh_per_m=0.5, min_delivered_heat_mwh=500.0)
    >>> limits.max_spur_m is None, limits.max_heat_loss_pct
    (True, 10.0)
    """

    max_spur_m: float | None
    max_heat_loss_pct: float
    min_linear_heat_density_mwh_per_m: float
    min_delivered_heat_mwh: float


def linear_heat_density_mwh_per_m(
    delivered_heat_mwh: ArrayLike, route_length_m: ArrayLike
) -> FloatOrArray:
    """Heat delivered a year per metre of trench.

    Parameters
    ----------
    delivered_heat_mwh
        Heat delivered a year, ≥ 0.
    route_length_m
        Trench length, ≥ 0.

    Returns
    -------
    MWh per metre per year (C.A.R.M.E.N.: above 1.5 good, below 0.5 poor); infinite
    for a link of no length.

    Examples
    --------
    >>> linear_heat_density_mwh_per_m(3000.0, [1500.0, 0.0]).tolist()
    [2.0, inf]
    """
    heat = _nonnegative("delivered_heat_mwh", delivered_heat_mwh)
    length = _nonnegative("route_length_m", route_length_m)
    return np.where(length > 0, heat / np.where(length > 0, length, 1.0), np.inf)[()]


def failed_rules(
    *,
    spur_m: ArrayLike,
    has_pipe: ArrayLike,
    heat_loss_pct: ArrayLike,
    linear_heat_density_mwh_per_m: ArrayLike,
    delivered_heat_mwh: ArrayLike,
    limits: ViabilityLimits,
) -> dict[str, NDArray[np.bool_]]:
    """Which links fail which rule.

    With the :class:`ViabilityLimits`:

    - ``spur_too_long``: the longer spur exceeds ``max_spur_m`` (not checked when None);
    - ``no_pipe_large_enough``: no catalogue pipe carries the design heat flow;
    - ``heat_loss_too_high``: heat loss above ``max_heat_loss_pct`` of the heat sent;
    - ``linear_density_too_low``: delivered heat per trench metre below the minimum;
    - ``too_small``: delivered heat below ``min_delivered_heat_mwh``.

    A rule whose input is NaN (a link without a pipe has no heat loss) does not fail.

    Parameters
    ----------
    spur_m
        The longer of each link's site and zone spur.
    has_pipe
        Whether a pipe was found.
    heat_loss_pct, linear_heat_density_mwh_per_m, delivered_heat_mwh
        The link's figures.
    limits
        The limits (``viability`` config).

    Returns
    -------
    dict
        Reason code -> boolean array (True where the link fails), in the order of
        :data:`REASON_CODES`.

    Examples
    --------
    >>> fails = failed_rules(
    ...     spur_m=[10.0, 300.0], has_pipe=[True, True], heat_loss_pct=[4.0, 12.0],
    ...     linear_heat_density_mwh_per_m=[2.0, 0.1], delivered_heat_mwh=[5000.0, 100.0],
    ...     limits=ViabilityLimits(max_spur_m=250.0, max_heat_loss_pct=10.0,
    ...         min_linear_heat_density_mwh_per_m=0.5, min_delivered_heat_mwh=500.0),
    ... )
    >>> {code: failed.tolist() for code, failed in fails.items()}["too_small"]
    [False, True]
    """
    spur = np.asarray(spur_m, dtype=float)
    limit = np.inf if limits.max_spur_m is None else limits.max_spur_m
    fails = {
        SPUR_TOO_LONG: spur > limit,
        NO_PIPE_LARGE_ENOUGH: ~np.asarray(has_pipe, dtype=bool),
        HEAT_LOSS_TOO_HIGH: np.asarray(heat_loss_pct, dtype=float) > limits.max_heat_loss_pct,
        LINEAR_DENSITY_TOO_LOW: (
            np.asarray(linear_heat_density_mwh_per_m, dtype=float)
            < limits.min_linear_heat_density_mwh_per_m
        ),
        TOO_SMALL: np.asarray(delivered_heat_mwh, dtype=float) < limits.min_delivered_heat_mwh,
    }
    shape = np.broadcast_shapes(*(v.shape for v in fails.values()))
    return {code: np.broadcast_to(fails[code], shape) for code in REASON_CODES}


def join_reasons(fails: Mapping[str, ArrayLike]) -> NDArray[np.object_]:
    """';'-join the codes each link fails, in the given order; None where it fails none.

    Parameters
    ----------
    fails
        Reason code -> boolean array, as from :func:`failed_rules`.

    Returns
    -------
    numpy.ndarray
        One object per link: a string such as ``"heat_loss_too_high;too_small"``, or
        None.

    Examples
    --------
    >>> join_reasons({"heat_loss_too_high": [True, False], "too_small": [True, False]})
    array(['heat_loss_too_high;too_small', None], dtype=object)
    """
    codes = list(fails)
    table = np.column_stack([np.asarray(fails[c], dtype=bool) for c in codes])
    return np.array(
        [
            REASON_SEPARATOR.join(c for c, f in zip(codes, row, strict=True) if f) or None
            for row in table
        ],
        dtype=object,
    )
