"""Checks every reader applies at the border, written once.

- :func:`require_file`: the file named by a config key exists.
- :func:`require_crs`: a layer or raster declares its CRS.
- :func:`check_geometries`: null, empty, zero-length or zero-area geometries, and
  geometries of the wrong kind, are dropped (or refused) and counted in the log.
- :func:`check_finite`: numbers are finite, and present where a value is required.
- :func:`drop_outside`: features outside the region are dropped and counted in the log.

Each raises :class:`~pipeline.errors.InputError` with the file, the rows and the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from pipeline.errors import InputError

if TYPE_CHECKING:  # the raster readers use these checks without pandas
    import geopandas as gpd
    import pandas as pd

log = logging.getLogger("heatlink.readers")

LINES = frozenset({"LineString", "MultiLineString"})
POLYGONS = frozenset({"Polygon", "MultiPolygon"})
POINTS = frozenset({"Point", "MultiPoint"})
CRS_FIX = (
    "assign it in QGIS (Layer > Set CRS, then Export) or with "
    "`ogr2ogr -a_srs EPSG:<code> OUT.gpkg IN`; a Shapefile keeps it in its .prj file"
)


def require_file(path: Path, *, key: str) -> None:
    """Stop with a one-line message when an input file named by config key is missing."""
    if not path.exists():
        raise InputError(
            f"file not found (set by '{key}')",
            where=path,
            fix=f"check '{key}' in the region file; relative paths start at the project root",
        )


def require_columns(
    have: Collection[str], want: Sequence[str], *, file: str | PathLike[str], fix: str
) -> None:
    """Stop with a one-line message naming the missing columns and those the file has."""
    missing = [c for c in want if c not in have]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (columns: {', '.join(have)})",
            where=file,
            fix=fix,
        )


def listing(items: Sequence[object], most: int = 5) -> str:
    """The first ``most`` items joined by commas, and how many more.

    Examples
    --------
    >>> listing(["line 2", "line 3"]), listing(list(range(8)), most=3)
    ('line 2, line 3', '0, 1, 2 and 5 more')
    """
    shown = ", ".join(str(i) for i in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def require_crs(crs: object, *, file: str | PathLike[str], what: str = "layer") -> CRS:
    """The CRS of a layer or raster; InputError naming the file when it has none."""
    if crs is None or crs == "":
        raise InputError(f"the {what} has no CRS", where=file, fix=CRS_FIX)
    return CRS.from_user_input(crs)


def _geometry_problems(geoms: gpd.GeoSeries) -> dict[str, np.ndarray]:
    """Masks of null, empty, zero-length (lines) and zero-area (polygons) geometries."""
    values = geoms.to_numpy()
    null = shapely.is_missing(values)
    empty = ~null & shapely.is_empty(values)
    ok = ~(null | empty)
    dim = shapely.get_dimensions(values)
    zero_length = ok & (dim == 1) & (shapely.length(values) == 0)
    zero_area = ok & (dim == 2) & (shapely.area(values) == 0)
    return {"null": null, "empty": empty, "zero-length": zero_length, "zero-area": zero_area}


@dataclass(frozen=True)
class Expect:
    """What a reader expects of a layer's geometries.

    Attributes
    ----------
    kinds
        Geometry types wanted (for example ``LINES``); None for any.
    what
        What the features are, for messages ("road lines").
    on_bad
        ``"drop"`` unusable geometries with a count in the log, or ``"error"``.
    """

    kinds: Collection[str] | None = None
    what: str = "features"
    on_bad: Literal["drop", "error"] = "drop"


ANY_FEATURES = Expect()


def check_geometries(
    gdf: gpd.GeoDataFrame,
    *,
    file: str | PathLike[str],
    kinds: Collection[str] | None = None,
    what: str = "features",
    on_bad: Literal["drop", "error"] = "drop",
    key: str | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Drop unusable geometries and those not of ``kinds``, and log the counts.

    Parameters
    ----------
    gdf
        Features as read.
    file
        The file read, for messages.
    kinds
        Geometry types wanted (for example ``LINES``); others are dropped and counted as
        ``other type``. InputError when no feature is of these kinds.
    what
        What the features are, for messages ("road lines").
    on_bad
        ``"error"`` refuses null, empty and degenerate geometries instead, naming the
        features (1-based).
    key
        The config key naming the file, for the fix in messages.

    Returns
    -------
    gdf, counts
        The usable features (invalid polygons repaired with ``make_valid``), and the
        count of each problem found (``repaired`` counts repairs, kept).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> gdf = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 0)]), None,
    ...     LineString([(2, 2), (2, 2)]), Point(0, 0)], crs=27700)
    >>> kept, counts = check_geometries(gdf, file="roads.gpkg", kinds=LINES)
    >>> len(kept), counts
    (1, {'null': 1, 'zero-length': 1, 'other type': 1})
    """
    gdf, repaired = _repair_polygons(gdf)
    masks = _geometry_problems(gdf.geometry)
    bad = np.logical_or.reduce(list(masks.values()))
    if kinds is not None:
        masks["other type"] = ~bad & ~gdf.geom_type.isin(list(kinds)).to_numpy()
        if len(gdf) and masks["other type"][~bad].all():
            found = ", ".join(sorted(set(gdf.geom_type[~bad])))
            target = f"'{key}' (and its '.layer')" if key else "the config"
            raise InputError(
                f"the layer holds {found or 'no usable'} geometries, not {what}",
                where=file,
                fix=f"point {target} at a layer of {what}",
            )
    counts = {k: int(m.sum()) for k, m in masks.items() if m.any()}
    if on_bad == "error" and bad.any():
        rows = [f"feature {i + 1}" for i in np.flatnonzero(bad)]
        raise InputError(
            f"{what} without a usable geometry at {listing(rows)}",
            where=file,
            fix="give every feature a location, or delete those features",
        )
    drop = np.logical_or.reduce(list(masks.values()))
    if drop.any():
        text = ", ".join(f"{n} {k}" for k, n in counts.items())
        log.warning("%s: dropped %d of %d %s: %s", file, drop.sum(), len(gdf), what, text)
    if repaired:
        counts["repaired"] = repaired
        log.info("%s: repaired %d invalid polygons (make_valid)", file, repaired)
    return gdf.loc[~drop], counts


def _repair_polygons(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Invalid polygons made valid (a bow-tie becomes two triangles), and their count."""
    values = gdf.geometry.to_numpy()
    present = ~shapely.is_missing(values)
    invalid = present & (shapely.get_dimensions(values) == 2) & ~shapely.is_valid(values)
    if not invalid.any():
        return gdf, 0
    import geopandas as gpd

    fixed = values.copy()
    fixed[invalid] = shapely.make_valid(values[invalid])
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)
    return out, int(invalid.sum())


def check_finite(
    df: pd.DataFrame,
    columns: Sequence[str],
    *,
    file: str | PathLike[str],
    labels: Sequence[str],
    required: Collection[str] = (),
) -> None:
    """Refuse infinite numbers in ``columns``, and missing ones in ``required`` columns.

    Parameters
    ----------
    df
        The table as read; columns may hold text ("inf" counts as infinite). Columns
        not in ``df`` are skipped.
    columns
        The numeric columns to check.
    file
        The file read, for messages.
    labels
        A label for each row of ``df`` (``line 3``, ``feature 2``, a site id).
    required
        Columns where NaN, an empty cell or text that is not a number is an error too.

    Raises
    ------
    InputError
        Naming each column and its rows, all problems at once.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"it_load_mw": ["5", "inf"], "lat": [55.0, None]})
    >>> check_finite(df, ["it_load_mw", "lat"], file="sites.csv",
    ...     labels=["line 2", "line 3"], required=["lat"])
    Traceback (most recent call last):
    ...
    pipeline.errors.InputError: sites.csv: it_load_mw is infinite at line 3; lat is \
missing or not a number at line 3. give finite numbers in those rows.
    """
    import pandas as pd

    labels = np.asarray(labels, dtype=object)
    problems = []
    for column in columns:
        if column not in df.columns:
            continue
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        infinite = np.isinf(values)
        if infinite.any():
            problems.append(f"{column} is infinite at {listing(list(labels[infinite]))}")
        missing = np.isnan(values)
        if column in required and missing.any():
            rows = listing(list(labels[missing]))
            problems.append(f"{column} is missing or not a number at {rows}")
    if problems:
        raise InputError("; ".join(problems), where=file, fix="give finite numbers in those rows")


def drop_outside(
    gdf: gpd.GeoDataFrame,
    region: BaseGeometry,
    *,
    file: str | PathLike[str] | None = None,
    what: str = "features",
) -> gpd.GeoDataFrame:
    """Keep the features meeting ``region`` (same CRS); log how many were outside.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> pts = gpd.GeoDataFrame(geometry=[Point(1, 1), Point(9, 9)], crs=27700)
    >>> len(drop_outside(pts, box(0, 0, 5, 5)))
    1
    """
    inside = gdf.intersects(region).to_numpy()
    outside = int((~inside).sum())
    if outside:
        where = f"{file}: " if file is not None else ""
        log.info("%sskipped %d of %d %s outside the region", where, outside, len(gdf), what)
    return gdf.loc[inside]
