"""Geometry helpers shared by the stages."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box

from pipeline.config import RegionConfig


def transform_geometry(geom: Polygon, src: CRS, dst: CRS) -> Polygon:
    """Reproject one shapely geometry (x/y order) from ``src`` to ``dst``."""
    if src.equals(dst):
        return geom
    t = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def region_polygon(region: RegionConfig, crs: CRS) -> Polygon:
    """The region's bounding box as a polygon in ``crs``, densified so its edges bend."""
    xmin, ymin, xmax, ymax = region.bbox
    poly = shapely.segmentize(box(xmin, ymin, xmax, ymax), max(xmax - xmin, ymax - ymin) / 50)
    return transform_geometry(poly, CRS.from_user_input(region.bbox_crs), crs)


def crs_label(crs: CRS) -> str:
    """A short name for logs: ``EPSG:27700``, else the CRS's own name."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


class PointsByX:
    """Points held sorted by x, to find the ones in a box without a point geometry each
    (millions of graph nodes)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y
        self._by_x = np.argsort(x, kind="stable")
        self._sorted_x = x[self._by_x]

    def in_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Positions of the points inside or on the box, in x order.

        >>> points = PointsByX(np.array([0.0, 5.0, 9.0]), np.array([0.0, 5.0, 1.0]))
        >>> points.in_box(4, 0, 9, 6).tolist()
        [1, 2]
        """
        lo = np.searchsorted(self._sorted_x, x0, side="left")
        hi = np.searchsorted(self._sorted_x, x1, side="right")
        near = self._by_x[lo:hi]
        return near[(self.y[near] >= y0) & (self.y[near] <= y1)]
