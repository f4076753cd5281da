"""Typed schema of a region file.

A region file (``data/regions/<region>.yml``) is checked once, at start, against these
models. Unknown keys are errors, units are in the key names, and relative paths are
resolved against the project root (the directory ``make`` and ``heatlink`` run from).

Each stage's core receives only its own slice (for example :class:`RoutingConfig`).
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from pipeline.engineering.carbon import grid_factor_with_losses_kg_per_kwh
from pipeline.engineering.cost import HEAT_PUMP_VARIABLE_OM_EUR2015_PER_MWH
from pipeline.engineering.heat_pump import (
    CONDENSER_APPROACH_K,
    EVAPORATOR_APPROACH_K,
    LORENZ_EFFICIENCY_DEA,
)
from pipeline.engineering.prices import PRICE_INDICES
from pipeline.errors import ConfigError

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]

Bbox = tuple[float, float, float, float]

HEAT_DEMAND_UNITS = ("MWh/ha/yr", "MWh/cell/yr", "kWh/m2/yr", "GJ/ha/yr")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


BRITISH_NATIONAL_GRID = 27700
# EPSG:27700's area of use (lon/lat): Great Britain, the Isle of Man and UK waters
GB_BOUNDS_WGS84: Bbox = (-9.01, 49.75, 2.01, 61.01)
# The island of Ireland inside those bounds, roughly (lon/lat): west of a line through
# St George's Channel, the Irish Sea and the North Channel that leaves Pembrokeshire,
# Galloway, Kintyre and Islay to the east. Northern Ireland uses the Irish grid.
IRELAND_WGS84 = (
    (-11.0, 51.2),
    (-6.2, 51.2),
    (-5.8, 53.5),
    (-5.35, 54.3),
    (-5.4, 54.8),
    (-6.0, 55.3),
    (-6.5, 55.5),
    (-11.0, 55.5),
)


def in_great_britain(bbox_wgs84: Bbox) -> bool:
    """Whether a lon/lat bbox lies inside Great Britain, where EPSG:27700 is the grid.

    It must lie inside EPSG:27700's area of use (which takes in the Isle of Man but not
    the Channel Islands) and not touch the island of Ireland.

    Examples
    --------
    Edinburgh, Belfast and Helsinki:

    >>> [in_great_britain(b) for b in [(-3.3, 55.9, -3.1, 56.0),
    ...     (-6.0, 54.55, -5.8, 54.65), (24.8, 60.1, 25.1, 60.3)]]
    [True, False, False]
    """
    from shapely.geometry import Polygon, box

    w, s, e, n = bbox_wgs84
    gw, gs, ge, gn = GB_BOUNDS_WGS84
    if not (gw <= w and e <= ge and gs <= s and n <= gn):
        return False
    return not box(w, s, e, n).intersects(Polygon(IRELAND_WGS84))


class RegionConfig(Section):
    """Where the region is and which projected CRS all geometry work uses."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] | None = Field(
        default=None,
        description="Region name; names data/interim/<name>/ and outputs/<name>/. It is the "
        "region file's name without .yml; when given it must equal it.",
    )
    crs: str | int = Field(
        description="Projected CRS for all geometry work: an EPSG code, 'EPSG:27700', "
        "or 'auto': British National Grid (EPSG:27700) when the bounding box lies inside "
        "Great Britain, else the UTM zone that pyproj picks from it."
    )
    bbox: tuple[float, float, float, float] | None = Field(
        default=None,
        description="Region extent as [xmin, ymin, xmax, ymax] in bbox_crs. Sites, roads "
        "and heat demand outside it are left out. When not set, the extent of the road "
        "file (of the sites and heat map when roads come from Overpass).",
    )
    bbox_crs: str | int = Field(
        default="EPSG:4326", description="CRS of bbox; default longitude/latitude."
    )

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, v: tuple[float, float, float, float] | None) -> Bbox | None:
        if v is not None and not (v[0] < v[2] and v[1] < v[3]):
            raise ValueError("must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax")
        return v

    @model_validator(mode="after")
    def _bbox_in_its_crs(self) -> RegionConfig:
        if self.bbox is None:
            return self
        src = _parse_crs(self.bbox_crs)
        xmin, ymin, xmax, ymax = self.bbox
        lonlat_ok = max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90
        if src.is_geographic and not lonlat_ok:
            raise ValueError(
                f"region.bbox {list(self.bbox)} is not longitude/latitude, which "
                f"region.bbox_crs ({self.bbox_crs}) says it is; if it is in metres, set "
                "region.bbox_crs to its projected CRS (e.g. 27700)"
            )
        if not all(map(math.isfinite, _geographic_bounds(src, self.bbox))):
            raise ValueError(
                f"region.bbox {list(self.bbox)} lies outside the area where "
                f"region.bbox_crs ({self.bbox_crs}) is defined; check region.bbox_crs"
            )
        return self

    @field_validator("bbox_crs")
    @classmethod
    def _valid_crs(cls, v: str | int) -> str | int:
        _parse_crs(v)
        return v

    @field_validator("crs")
    @classmethod
    def _projected(cls, v: str | int) -> str | int:
        if str(v).lower() == "auto":
            return "auto"
        crs = _parse_crs(v)
        if not crs.is_projected:
            raise ValueError(
                f"{v} is not a projected CRS; lengths are never measured in degrees. "
                "Use a projected EPSG code such as 27700, or 'auto'"
            )
        return v

    def bbox_wgs84(self) -> Bbox:
        """The bounding box in longitude/latitude."""
        from pyproj import Transformer

        if self.bbox is None:
            raise ConfigError(
                "the region's extent is not known yet",
                where="region.bbox",
                fix="set region.bbox, or run through `heatlink`, which takes it from the roads",
            )
        src = _parse_crs(self.bbox_crs)
        if src.equals(CRS.from_epsg(4326)):
            return self.bbox
        t = Transformer.from_crs(src, 4326, always_xy=True)
        return t.transform_bounds(*self.bbox)

    def projected_crs(self) -> CRS:
        """The region's projected CRS, resolving 'auto' to British National Grid for a
        bbox inside Great Britain (:func:`in_great_britain`), else the bbox's UTM zone."""
        if self.crs != "auto":
            return _parse_crs(self.crs)
        w, s, e, n = self.bbox_wgs84()
        if in_great_britain((w, s, e, n)):
            return CRS.from_epsg(BRITISH_NATIONAL_GRID)
        lon, lat = (w + e) / 2, (s + n) / 2
        infos = query_utm_crs_info(
            datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
        )
        if not infos:
            raise ConfigError(
                "no UTM zone covers the centre of region.bbox",
                where="region.crs",
                fix="set region.crs to a projected EPSG code",
            )
        return CRS.from_epsg(int(infos[0].code))


class HotmapsIndustrialConfig(Section):
    """Industrial excess-heat sites from the Hotmaps industrial database CSV."""

    path: Path = Field(
        description="The Hotmaps industrial database CSV: ';'-separated, location as "
        "'SRID=4326;POINT(lon lat)', excess heat in GWh/a."
    )
    source_temp_c: float | None = Field(
        default=None,
        description="Temperature of the recovered heat; when not set, the middle of the "
        "database's band holding most of a site's excess heat (150, 350 or 500 C).",
    )
    min_excess_heat_gwh: NonNegative = Field(
        default=0.0, description="Skip sites with less total excess heat a year."
    )


class OsmDataCentresConfig(Section):
    """Data centres tagged in OpenStreetMap (telecom=data_center, building=data_center)."""

    path: Path = Field(description="OSM file (.osm.pbf, .osm, .osm.bz2) to read them from.")
    it_load_mw: Positive = Field(
        default=5.0,
        description="IT load given to OSM data centres, which carry none; flagged as "
        "assumed in the output (assumption).",
    )
    cooling: Literal["air", "liquid"] = Field(
        default="air", description="Cooling type assumed for OSM data centres."
    )


class SourcesConfig(Section):
    """The heat sources: a site file, and optionally industrial and OSM sites."""

    path: Path | None = Field(default=None, description="Site file: CSV, GeoJSON or GeoPackage.")
    layer: str | None = Field(default=None, description="Layer name in a multi-layer file.")
    crs: str | int | None = Field(
        default=None,
        description="CRS of x/y columns in a CSV. Not needed for lat/lon columns or for "
        "GeoJSON/GeoPackage, which carry their own CRS.",
    )
    hotmaps_industrial: HotmapsIndustrialConfig | None = Field(
        default=None, description="Also read industrial sites (kind=industrial)."
    )
    osm_data_centres: OsmDataCentresConfig | None = Field(
        default=None, description="Also read data centres tagged in OSM."
    )
    utilisation: Fraction = Field(
        default=0.7,
        description="Mean IT load as a fraction of it_load_mw, when heat_output_mw is "
        "not given (assumption).",
    )
    capture_fraction_air: Fraction = Field(
        default=0.8, description="Share of IT heat recovered from air-cooled halls (assumption)."
    )
    capture_fraction_liquid: Fraction = Field(
        default=0.95, description="Share of IT heat recovered with liquid cooling (assumption)."
    )
    source_temp_air_c: float = Field(
        default=30.0, description="Cooling-water temperature of air-cooled halls, 25-35 C."
    )
    source_temp_liquid_c: float = Field(
        default=45.0, description="Cooling-water temperature of liquid cooling, 30-60 C."
    )

    @field_validator("crs")
    @classmethod
    def _valid_crs(cls, v: str | int | None) -> str | int | None:
        if v is not None:
            _parse_crs(v)
        return v

    @model_validator(mode="after")
    def _some_input(self) -> SourcesConfig:
        if self.path is None and self.hotmaps_industrial is None and self.osm_data_centres is None:
            raise ValueError(
                "give at least one of sources.path, sources.hotmaps_industrial.path or "
                "sources.osm_data_centres.path"
            )
        return self

    def input_paths(self) -> list[Path]:
        """Every file this section reads."""
        extra = [c.path for c in (self.hotmaps_industrial, self.osm_data_centres) if c]
        return ([self.path] if self.path else []) + extra


ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
    "pedestrian",
    "footway",
    "track",
    "other",
)


class RoadClassRule(Section):
    """Whether pipes may follow a road class, and what digging along it costs."""

    follow: bool = Field(description="Pipes may run along roads of this class.")
    cost_factor: Positive = Field(
        default=1.0,
        description="Civils cost multiplier for a trench along this class (1 = a "
        "residential street; assumption).",
    )


class RoadClassOverride(Section):
    """A region file's change to one class's rule; a key left out keeps the default."""

    follow: bool | None = Field(default=None, description="Pipes may run along this class.")
    cost_factor: Positive | None = Field(
        default=None, description="Civils cost multiplier for a trench along this class."
    )


DEFAULT_ROAD_CLASS_RULES: dict[str, RoadClassRule] = {
    name: RoadClassRule(follow=follow, cost_factor=factor)
    for name, follow, factor in (
        ("motorway", False, 2.0),
        ("trunk", True, 1.6),
        ("primary", True, 1.4),
        ("secondary", True, 1.3),
        ("tertiary", True, 1.2),
        ("unclassified", True, 1.0),
        ("residential", True, 1.0),
        ("service", True, 0.9),
        ("pedestrian", True, 1.1),
        ("footway", True, 0.8),
        ("track", True, 0.7),
        ("other", False, 1.0),
    )
}


class RoadsConfig(Section):
    """Where the roads come from and which road classes pipes may follow.

    Give exactly one of ``path`` (a file), ``overpass_place`` or ``overpass_polygon_wgs84``
    (downloaded through osmnx and cached under ``data/raw/<region>/``).
    """

    path: Path | None = Field(
        default=None,
        description="Road file: OSM .osm.pbf/.osm/.osm.bz2, a Geofabrik .shp.zip, an OS "
        "Open Roads GeoPackage, or any line layer GDAL reads.",
    )
    overpass_place: str | None = Field(
        default=None, description="A place name to download roads for (osmnx geocoder)."
    )
    overpass_polygon_wgs84: list[tuple[float, float]] | None = Field(
        default=None, description="A polygon [[lon, lat], ...] to download roads within."
    )
    layer: str | None = Field(
        default=None,
        description="Layer in a multi-layer file (found for OS Open Roads and Geofabrik).",
    )
    class_column: str | None = Field(
        default=None,
        description="Column holding the road class in a GDAL layer; found for OSM "
        "(highway), Geofabrik (fclass) and OS Open Roads (road_function).",
    )
    class_map: dict[str, str] = Field(
        default_factory=dict,
        description="Extra or overriding mapping of source class values to the common "
        "classes (" + ", ".join(ROAD_CLASSES) + ").",
    )
    classes: dict[str, RoadClassOverride] = Field(
        default_factory=dict,
        description="Per common class: follow (bool) and/or cost_factor, merged key by key "
        "over the defaults, which do not follow motorways (they may still be crossed).",
    )
    default_class: Literal[ROAD_CLASSES] = Field(  # type: ignore[valid-type]
        default="unclassified",
        description="Common class given to every line of a layer that has no road-class "
        "column (a warning says so); one of " + ", ".join(ROAD_CLASSES) + ".",
    )

    @model_validator(mode="after")
    def _one_source_and_known_classes(self) -> RoadsConfig:
        given = [
            k
            for k in ("path", "overpass_place", "overpass_polygon_wgs84")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of roads.path, roads.overpass_place or "
                f"roads.overpass_polygon_wgs84 (got {', '.join(given) or 'none'})"
            )
        unknown = sorted((set(self.classes) | set(self.class_map.values())) - set(ROAD_CLASSES))
        if unknown:
            raise ValueError(
                f"unknown road class(es) {', '.join(unknown)}; the common classes are "
                + ", ".join(ROAD_CLASSES)
            )
        return self

    def rules(self) -> dict[str, RoadClassRule]:
        """The class table: the defaults with this file's overrides, key by key."""
        return {
            name: rule.model_copy(update=self.classes[name].model_dump(exclude_none=True))
            if name in self.classes
            else rule
            for name, rule in DEFAULT_ROAD_CLASS_RULES.items()
        }


class BuildingDemandConfig(Section):
    """Building-level heat demand: points or polygons carrying annual demand."""

    path: Path = Field(description="GeoPackage/GeoJSON layer, or CSV with coordinates.")
    layer: str | None = Field(default=None, description="Layer in a multi-layer file.")
    demand_column: str = Field(description="Column of annual heat demand per building.")
    demand_units: Literal["kWh/yr", "MWh/yr"] = Field(
        description="Units of demand_column; never guessed."
    )
    crs: str | int | None = Field(
        default=None, description="CRS of x/y columns in a CSV (lat/lon needs none)."
    )


class OsmBuildingsConfig(Section):
    """Heat demand estimated from OSM buildings: footprint x storeys x specific demand."""

    path: Path = Field(description="OSM .osm.pbf file with buildings.")
    default_levels: Positive | None = Field(
        default=None,
        description="Storeys of buildings without building:levels or height; when not "
        "set, a default by building type for a dense city centre (5 for most types). "
        "Set 2 for towns of houses (assumption).",
    )


class HeatDemandConfig(Section):
    """The heat-demand map: a raster with declared units, building demand, or OSM buildings.

    Give exactly one of ``path`` (a GeoTIFF, with ``units``), ``buildings`` or
    ``osm_buildings``.
    """

    path: Path | None = Field(default=None, description="Heat-demand GeoTIFF in any CRS.")
    units: Literal["MWh/ha/yr", "MWh/cell/yr", "kWh/m2/yr", "GJ/ha/yr"] | None = Field(
        default=None, description="What one raster cell value means; never guessed."
    )
    buildings: BuildingDemandConfig | None = Field(
        default=None, description="Building-level demand, rasterised with the total kept."
    )
    osm_buildings: OsmBuildingsConfig | None = Field(
        default=None, description="Estimate demand from OSM building footprints."
    )
    resolution_m: Positive = Field(
        default=100.0, description="Cell size of the heat-demand grid, in metres."
    )

    @model_validator(mode="after")
    def _one_input(self) -> HeatDemandConfig:
        given = [k for k in ("path", "buildings", "osm_buildings") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of heat_demand.path (a raster, with heat_demand.units), "
                f"heat_demand.buildings or heat_demand.osm_buildings (got "
                f"{', '.join(given) or 'none'})"
            )
        if self.path is not None and self.units is None:
            raise ValueError(
                "heat_demand.units is required with a raster; one of "
                + ", ".join(HEAT_DEMAND_UNITS)
            )
        return self

    def input_paths(self) -> list[Path]:
        """Every file this section reads."""
        return [
            p
            for p in (self.path, *(c.path for c in (self.buildings, self.osm_buildings) if c))
            if p
        ]


class ExistingNetworksConfig(Section):
    """Existing heat networks: a second kind of sink, reached at their nearest point."""

    path: Path = Field(
        description="Lines or polygons of existing networks (any GDAL layer), or an OSM "
        "file, from which man_made=pipeline + substance=heat/hot_water ways are read."
    )
    layer: str | None = Field(default=None, description="Layer in a multi-layer file.")
    where: str | None = Field(
        default=None,
        description="OGR SQL filter for a GDAL layer, e.g. \"kind = 'heat'\" to leave out "
        "district-cooling pipes.",
    )
    join_within_m: NonNegative = Field(
        default=50.0,
        description="Pipes closer than this belong to one network (one sink).",
    )
    annual_demand_mwh: Positive | None = Field(
        default=None,
        description="Heat a network can take a year; unlimited when not set (assumption: "
        "a large network absorbs all the source offers).",
    )
    supply_temp_c: Annotated[float, Field(gt=0, lt=150)] | None = Field(
        default=None,
        description="Supply temperature of the existing networks, if not "
        "the region's network.supply_temp_c.",
    )
    return_temp_c: Annotated[float, Field(gt=0, lt=150)] | None = Field(
        default=None, description="Return temperature of the existing networks."
    )


class ZonesConfig(Section):
    """Demand zones: drawn from the heat map by the Hotmaps district-heating potential-area
    method, or given as polygons; and the linear heat density classes of every zone."""

    min_cell_density_mwh_per_ha: Positive = Field(
        default=333.0, description="Keep cells at or above this heat density (Hotmaps: 333)."
    )
    min_zone_demand_mwh: NonNegative = Field(
        default=30_000.0, description="Drop zones with less annual demand (Hotmaps: 30 GWh)."
    )
    close_gaps: bool = Field(
        default=True, description="Close one-cell gaps with a 3x3 dilation then erosion."
    )
    full_load_hours_h: Annotated[float, Field(gt=0, le=8760)] = Field(
        default=2000.0,
        description="Peak demand = annual demand / full-load hours (assumption, 2000-2500 h).",
    )
    path: Path | None = Field(
        default=None,
        description="Given zones: a polygon layer GDAL reads (e.g. the pilot heat network "
        "zones, EPSG:27700). Each zone's demand is the heat map's sum over it; "
        "min_cell_density_mwh_per_ha, min_zone_demand_mwh and close_gaps are then not used. "
        "When not set, zones come from the heat map.",
    )
    layer: str | None = Field(default=None, description="Layer of path when it has several.")
    id_column: str | None = Field(
        default=None,
        description="Column of path holding each zone's identifier; it becomes zone_id. "
        "Required with path.",
    )
    lhd_baseline_kwh_per_m: Positive = Field(
        default=4000.0,
        description="Linear heat density (annual demand per metre of followable road in the "
        "zone) from which a zone is 'baseline' (Scotland's First National Assessment: 4,000).",
    )
    lhd_stringent_kwh_per_m: Positive = Field(
        default=8000.0,
        description="Linear heat density from which a zone is 'stringent' (Scotland's First "
        "National Assessment: 8,000).",
    )

    @model_validator(mode="after")
    def _given_zones(self) -> ZonesConfig:
        if self.path is not None and self.id_column is None:
            raise ValueError(
                "zones.path needs zones.id_column, the column holding each zone's identifier"
            )
        if self.path is None and (self.id_column is not None or self.layer is not None):
            raise ValueError("zones.id_column and zones.layer need zones.path (given zones)")
        if self.lhd_stringent_kwh_per_m < self.lhd_baseline_kwh_per_m:
            raise ValueError(
                f"lhd_stringent_kwh_per_m ({self.lhd_stringent_kwh_per_m:g}) must be at least "
                f"lhd_baseline_kwh_per_m ({self.lhd_baseline_kwh_per_m:g})"
            )
        return self


class DemandProfileConfig(Section):
    """How a zone's demand is spread over the hours of a typical year.

    Space heating follows the heating degree-hours of a climate series below
    ``base_temp_c``; hot water is a flat ``hot_water_share`` of the annual demand. Or give
    your own hourly demand, hourly temperatures or daily degree-days in ``path``.
    """

    climate: str = Field(
        default="auto",
        description="Shipped climate series (a climate_id of pipeline/data/climate/"
        "stations.csv, e.g. GB-london), or auto for the one nearest the region's centre.",
    )
    path: Path | None = Field(
        default=None,
        description="Your own profile: a CSV with one value per row, 8,760 hourly "
        "values or 365 daily degree-days (see values).",
    )
    values: Literal["demand", "temperature_c", "degree_days"] = Field(
        default="demand",
        description="What the CSV in path holds: hourly demand (any unit), hourly outdoor "
        "temperature in C, or daily heating degree-days.",
    )
    column: str | None = Field(
        default=None, description="Column of the CSV in path; its only column when not set."
    )
    base_temp_c: float = Field(
        default=15.5,
        description="Base temperature of the heating degree-hours (UK convention 15.5; "
        "Finland 17).",
    )
    hot_water_share: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.2,
        description="Share of a zone's annual demand that is hot water, flat over the year.",
    )
    summer_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default=[6, 7, 8],
        min_length=1,
        description="Months whose mean flow is the summer flow of a link.",
    )


class SourceProfileConfig(Section):
    """The hourly shape of the sources' heat; flat (a data centre's steady load) unless
    a profile is given."""

    path: Path | None = Field(
        default=None,
        description="CSV of 8,760 hourly values of the sources' heat, relative (any unit); "
        "flat when not set.",
    )
    column: str | None = Field(
        default=None, description="Column of the CSV; its only column when not set."
    )


class DistributionConfig(Section):
    """The zones' own distribution networks, costed from heat density (Persson & Werner
    2011, as Hotmaps uses it) for the delivered levelised cost of heat."""

    specific_demand_kwh_per_m2: Positive = Field(
        default=140.0,
        description="Heat demand per m2 of building floor area a year, which turns a zone's "
        "heat density into its plot ratio (assumption, about 0.5 GJ/m2).",
    )
    area_type: Literal["auto", "inner_city", "outer_city", "park"] = Field(
        default="auto",
        description="Construction-cost class of the zones' streets; auto by plot ratio "
        "(park below 0.3, outer city from 0.3, inner city from 0.5).",
    )


class NetworkDesignConfig(Section):
    """How the networks of the recommended links are laid out and sized (``design_networks``)."""

    method: Literal["heuristic", "milp"] = Field(
        default="heuristic",
        description="heuristic: Steiner-tree layout improved for capex (seconds for a city); "
        "milp: the exact fixed-charge design with DN choices (scipy milp, HiGHS), for "
        "networks up to max_milp_edges candidate edges.",
    )
    max_milp_edges: Annotated[int, Field(gt=0)] = Field(
        default=5000,
        description="Largest candidate graph, in edges, that the milp method accepts; a larger "
        "network stops the run with a message that suggests the heuristic.",
    )
    milp_time_limit_s: Positive = Field(
        default=60.0,
        description="Time limit of the MILP solver per source tree; the best design found by "
        "then is kept with its proven optimality gap.",
    )
    building_demand_mwh_per_yr: Positive = Field(
        default=15.0,
        description="Annual heat demand of one typical consumer, which turns a zone's annual "
        "demand into a number of consumers for the simultaneity factor (assumption: a "
        "dwelling-sized consumer).",
    )
    search_margin_m: Positive = Field(
        default=300.0,
        description="Roads within this distance of a network's candidate links' bounding box "
        "are candidates for its layout.",
    )


class RoutingConfig(Section):
    """How candidate pipe routes are searched."""

    max_link_length_m: Positive = Field(
        default=2000.0, description="Longest route, spurs included, that is still a candidate."
    )
    max_snap_distance_m: Positive = Field(
        default=250.0, description="Longest spur from a site or zone to the nearest road."
    )
    spur_warning_m: Positive = Field(
        default=100.0,
        description="Spurs longer than this are listed in the network_qa layer (assumption).",
    )


NETWORK_PRESETS: dict[str, tuple[float, float]] = {
    # (supply, return) in C. Legacy networks run 70-90 C supply; modern low-temperature
    # networks 50-70 C (engineering reference); design delta-T 30-40 K.
    "legacy": (80.0, 45.0),
    "low_temperature": (60.0, 30.0),
}
LEGACY_MIN_DELIVERED_C = 70.0  # the lower end of legacy networks' 70-90 C supply
LOW_TEMPERATURE_MIN_DELIVERED_C = 55.0  # hot water at 50 C or more, after a substation


class NetworkConfig(Section):
    """Design temperatures of the heat network the links feed.

    Choose a ``preset`` (legacy 80/45 C, low_temperature 60/30 C) or give both
    temperatures; temperatures given override the preset.
    """

    preset: Literal["legacy", "low_temperature"] | None = Field(
        default=None, description="Temperature preset: legacy or low_temperature."
    )
    supply_temp_c: Annotated[float, Field(gt=0, lt=150)] = Field(
        default=80.0, description="Design supply temperature."
    )
    return_temp_c: Annotated[float, Field(gt=0, lt=150)] = Field(
        default=50.0, description="Design return temperature."
    )
    min_delivered_temp_c: Annotated[float, Field(gt=0, lt=150)] | None = Field(
        default=None,
        description="Lowest supply temperature a sink can use; a link whose summer "
        "temperature drop takes it below is flagged. Default 70 C for a network supplying "
        "70 C or more (legacy), else 55 C (hot water at 50 C or more after a substation).",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("preset") in NETWORK_PRESETS:
            supply, ret = NETWORK_PRESETS[data["preset"]]
            data = {"supply_temp_c": supply, "return_temp_c": ret, **data}
        return data

    @model_validator(mode="after")
    def _supply_above_return(self) -> NetworkConfig:
        if self.supply_temp_c <= self.return_temp_c:
            raise ValueError("supply_temp_c must be above return_temp_c")
        if self.min_delivered_temp_c is not None and self.min_delivered_temp_c > self.supply_temp_c:
            raise ValueError("min_delivered_temp_c must not be above supply_temp_c")
        return self

    def min_delivered_c(self, supply_temp_c: np.ndarray | float | None = None) -> np.ndarray:
        """The lowest supply temperature a sink can use: ``min_delivered_temp_c``, or by
        default 70 C for a supply of 70 C or more and 55 C below (``supply_temp_c``, the
        region's when None), never above the supply itself."""
        supply = np.asarray(self.supply_temp_c if supply_temp_c is None else supply_temp_c)
        if self.min_delivered_temp_c is not None:
            return np.minimum(self.min_delivered_temp_c, supply)
        return np.where(
            supply >= LEGACY_MIN_DELIVERED_C,
            LEGACY_MIN_DELIVERED_C,
            LOW_TEMPERATURE_MIN_DELIVERED_C,
        ).clip(max=supply)


class PipesConfig(Section):
    """Pipe sizing, heat-loss and pumping parameters."""

    kind: Literal["single", "twin"] = Field(
        default="single",
        description="A pair of single pipes, or twin pipes (both in one casing, DN20-200; "
        "larger flows fall back to single pipes).",
    )
    series: Literal[1, 2, 3] = Field(default=2, description="Insulation series (EN 253).")
    max_pressure_gradient_pa_per_m: Positive = Field(
        default=150.0,
        description="Pressure-gradient limit: 100 Pa/m distribution, 150-200 transmission.",
    )
    roughness_mm: Positive = Field(default=0.1, description="Absolute pipe roughness.")
    velocity_cap_m_per_s: list[tuple[float, float]] = Field(
        default=[(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)],
        description="Velocity cap as [DN, m/s] points, interpolated linearly in DN.",
    )
    ground_temp_c: float = Field(default=10.0, description="Undisturbed ground temperature.")
    soil_conductivity_w_per_mk: Positive = Field(default=1.5, description="Soil conductivity.")
    cover_depth_m: Positive = Field(default=0.6, description="Cover to the top of the casing.")
    casing_clearance_m: NonNegative = Field(
        default=0.15, description="Clearance between the two casings in the trench."
    )
    hours_in_service_h: Annotated[float, Field(gt=0, le=8784)] = Field(
        default=8760.0, description="Hours a year the link is warm; losses run all of them."
    )
    source_hours_h: Annotated[float, Field(gt=0, le=8784)] = Field(
        default=8760.0, description="Hours a year the source gives heat (data centres: all)."
    )
    pump_efficiency: Fraction = Field(
        default=0.7, description="Pump and motor efficiency (0.6-0.75)."
    )
    station_pressure_drop_kpa: NonNegative = Field(
        default=100.0,
        description="Pressure drop of the heat exchanger and substation at the design flow, "
        "on top of pipe friction (about 100 kPa).",
    )


class HeatPumpConfig(Section):
    """The heat pump that lifts the source's heat to the network's supply temperature."""

    model: Literal["lorenz", "carnot"] = Field(
        default="carnot",
        description="COP model: Carnot on outlet temperatures (conservative, single-stage; "
        "inside the published COP 3.0-4.5 band) or Lorenz on log-mean temperatures "
        "(multistage machines, DEA-calibrated).",
    )
    lorenz_efficiency: Fraction = Field(
        default=LORENZ_EFFICIENCY_DEA,
        description="Lorenz efficiency, with the approach temperatures (calibrated on the DEA "
        "10 MW excess-heat heat pump).",
    )
    carnot_efficiency: Fraction = Field(
        default=0.55,
        description="Carnot efficiency on the refrigerant temperatures (outlets less and "
        "plus the approaches).",
    )
    evaporator_approach_k: NonNegative = Field(
        default=EVAPORATOR_APPROACH_K,
        description="Source outlet minus evaporating temperature, K (2-5 K).",
    )
    condenser_approach_k: NonNegative = Field(
        default=CONDENSER_APPROACH_K,
        description="Condensing temperature minus supply temperature, K (2-5 K).",
    )
    source_cooling_k: Positive = Field(
        default=10.0,
        description="How far the heat pump cools the source water (source in -> out), K.",
    )
    capex_eur_per_mw: Positive | None = Field(
        default=None,
        description="Capital cost per MW of heat output, 2015 EUR; by default the DEA size "
        "curve (1.24, 0.86 and 0.67 M EUR/MW at 1, 3 and 10 MW, log-interpolated).",
    )
    fixed_om_eur_per_mw_yr: NonNegative = Field(
        default=2_000.0,
        description="Fixed operation and maintenance per MW a year (DEA; 2015 EUR).",
    )
    variable_om_eur_per_mwh: NonNegative = Field(
        default=HEAT_PUMP_VARIABLE_OM_EUR2015_PER_MWH,
        description="Variable operation and maintenance per MWh of heat output (DEA excess-heat "
        "heat pump; 2015 EUR).",
    )
    lifetime_years: Annotated[int, Field(gt=0, le=100)] = Field(
        default=25, description="Heat-pump lifetime (DEA)."
    )


class CarbonConfig(Section):
    """Carbon factors: displaced gas boilers against grid electricity."""

    grid_factor_year: int = Field(
        default=2025, description="Year of the grid electricity factor to use."
    )
    grid_factors_kg_per_kwh: dict[int, Positive] = Field(
        default={2024: 0.20705, 2025: 0.17700},
        description="Grid electricity factors by year, kg CO2e/kWh (DESNZ 2024, 2025).",
    )
    gas_factor_kg_per_kwh: Positive = Field(
        default=0.1829, description="Natural gas, gross calorific value (DESNZ 2024)."
    )
    boiler_efficiency: Fraction = Field(
        default=0.88, description="Seasonal efficiency of the displaced gas boilers (gross)."
    )
    include_transmission_losses: bool = Field(
        default=False,
        description="Add the grid's transmission and distribution losses to the grid factor "
        "(DESNZ 'T&D' factors), for electricity bought at the point of use.",
    )
    td_factors_kg_per_kwh: dict[int, NonNegative] = Field(
        default={2025: 0.01853},
        description="Transmission and distribution factors by year, kg CO2e/kWh (DESNZ 2025).",
    )

    @model_validator(mode="after")
    def _year_known(self) -> CarbonConfig:
        if (
            self.include_transmission_losses
            and self.grid_factor_year not in self.td_factors_kg_per_kwh
        ):
            raise ValueError(
                f"include_transmission_losses needs td_factors_kg_per_kwh for "
                f"{self.grid_factor_year} (have "
                f"{', '.join(map(str, sorted(self.td_factors_kg_per_kwh))) or 'none'})"
            )
        if self.grid_factor_year not in self.grid_factors_kg_per_kwh:
            raise ValueError(
                f"grid_factor_year {self.grid_factor_year} is not in grid_factors_kg_per_kwh "
                f"({', '.join(map(str, sorted(self.grid_factors_kg_per_kwh)))})"
            )
        return self

    @property
    def grid_factor_kg_per_kwh(self) -> float:
        """The year's grid factor, with transmission and distribution losses if asked."""
        generation = self.grid_factors_kg_per_kwh[self.grid_factor_year]
        if not self.include_transmission_losses:
            return generation
        return float(
            grid_factor_with_losses_kg_per_kwh(
                generation, self.td_factors_kg_per_kwh[self.grid_factor_year]
            )
        )


class CostConfig(Section):
    """Costs and the levelised cost of heat."""

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        default="EUR", description="Currency of the outputs; field names carry it."
    )
    price_year: int = Field(
        default=2020,
        description="Price year of the outputs; every source's price is inflated to it "
        "(euro-area HICP for EUR prices, the UK GDP deflator for GBP).",
    )
    currency_per_eur: Positive | None = Field(
        default=None,
        description="Exchange rate in price_year, output currency units per EUR (e.g. about "
        "0.89 GBP in 2020); required when currency is not EUR. Inflation is not in it.",
    )
    pipe_cost_method: Literal["catalogue", "persson_werner"] = Field(
        default="catalogue",
        description="Pipe cost per trench metre: the catalogue's EUR/m by DN, or "
        "Persson & Werner C1 + C2 * d_i by area type.",
    )
    area_type: Literal["inner_city", "outer_city", "park"] = Field(
        default="outer_city", description="Area type for Persson & Werner costs."
    )
    discount_rate: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.04, description="Real discount rate (THERMOS 4 %, Hotmaps 3 %)."
    )
    pipe_lifetime_years: Annotated[int, Field(gt=0, le=100)] = Field(
        default=30, description="Pipe lifetime for annualising its cost."
    )
    pipe_om_fraction_per_yr: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.01,
        description="Pipe operation and maintenance a year as a share of its capex (assumption).",
    )
    electricity_price_per_mwh: NonNegative = Field(
        default=150.0,
        description="Electricity price for heat pumps and pumps per MWh, in "
        "electricity_price_currency at electricity_price_year prices (assumption).",
    )
    electricity_price_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        default="EUR",
        description="Currency of electricity_price_per_mwh: EUR or the output currency.",
    )
    electricity_price_year: int | None = Field(
        default=None,
        description="Price year of electricity_price_per_mwh; price_year when not set.",
    )
    heat_exchanger_station_eur_per_mw: NonNegative = Field(
        default=100_000.0,
        description="Heat-exchanger station at the sink per MW of design heat flow (about "
        "100 k EUR/MW, DEA order of magnitude; 2015 EUR).",
    )
    pumping_station_eur_per_mw: NonNegative = Field(
        default=90_000.0,
        description="Pumping station per MW of design heat flow (about 90 k EUR/MW, DEA order "
        "of magnitude; 2015 EUR).",
    )
    station_lifetime_years: Annotated[int, Field(gt=0, le=100)] = Field(
        default=25, description="Lifetime of the two stations (assumption, as the heat pump)."
    )

    @model_validator(mode="after")
    def _one_price_basis(self) -> CostConfig:
        known = sorted(PRICE_INDICES["EUR"])
        for key, year in (
            ("price_year", self.price_year),
            ("electricity_price_year", self.electricity_price_year),
        ):
            if year is not None and year not in PRICE_INDICES["EUR"]:
                raise ValueError(
                    f"{key} {year} is outside the shipped price index ({known[0]}-{known[-1]})"
                )
        if self.currency != "EUR" and self.currency_per_eur is None:
            raise ValueError(
                f"currency {self.currency} needs currency_per_eur, the exchange rate in "
                f"price_year ({self.currency} per EUR)"
            )
        if self.electricity_price_currency not in ("EUR", self.currency):
            raise ValueError(
                f"electricity_price_currency must be EUR or the output currency "
                f"{self.currency}, not {self.electricity_price_currency}"
            )
        index = PRICE_INDICES.get(self.electricity_price_currency)
        if index is None:
            raise ValueError(
                f"no shipped price index for {self.electricity_price_currency}; give the "
                f"electricity price in EUR (known: {', '.join(sorted(PRICE_INDICES))})"
            )
        for year in {self.price_year, self.electricity_price_year or self.price_year}:
            if year not in index:
                raise ValueError(
                    f"the {self.electricity_price_currency} price index has no {year} "
                    f"({min(index)}-{max(index)}); set electricity_price_year and price_year "
                    "within it, or give the electricity price in EUR"
                )
        return self


class ViabilityConfig(Section):
    """The rules a routed link must pass to be viable; each failure adds a reason code."""

    max_heat_loss_pct: Annotated[float, Field(gt=0, le=100)] = Field(
        default=10.0, description="Largest heat loss, % of the heat sent (target < 10 %)."
    )
    min_linear_heat_density_mwh_per_m: NonNegative = Field(
        default=0.5,
        description="Smallest delivered heat per trench metre a year (below 0.5 is poor, "
        "C.A.R.M.E.N.).",
    )
    max_spur_m: Positive | None = Field(
        default=None,
        description="Longest site or zone spur; routing.max_snap_distance_m when not set.",
    )
    min_delivered_heat_mwh: NonNegative = Field(
        default=500.0, description="Smallest heat delivered a year (assumption)."
    )


class FactorRange(Section):
    """A range of factors on an assumption's central value, with its source."""

    low: Annotated[float, Field(gt=0, le=1)] = Field(
        description="Smallest factor on the central value (at most 1)."
    )
    high: Annotated[float, Field(ge=1)] = Field(
        description="Largest factor on the central value (at least 1)."
    )
    source: str = Field(description="Where the range comes from.")

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high)."""
        return (self.low, self.high)


class UncertaintyConfig(Section):
    """The Monte Carlo bands on every link and network (docs/methodology.md, Uncertainty).

    Each range is a factor on the central value, drawn uniformly in each draw and shared by
    every link and network of the region.
    """

    draws: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=1000, description="Monte Carlo draws; 0 leaves the band fields empty."
    )
    seed: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Seed of the draws: the same seed gives the same bands."
    )
    heat_pump_efficiency: FactorRange = Field(
        default=FactorRange(
            low=0.85,
            high=1.10,
            source="Carnot efficiency 0.47-0.60 about the 0.55 default: the 0.50-0.55 of the "
            "engineering reference (single-stage machines) widened by about 0.05 each way "
            "(assumption).",
        ),
        description="Heat pump's Carnot (or Lorenz) efficiency; COP follows it.",
    )
    electricity_price: FactorRange = Field(
        default=FactorRange(
            low=0.6,
            high=1.6,
            source="About 90-240 EUR/MWh about the 150 default: the spread of European "
            "non-household electricity prices in recent years (assumption).",
        ),
        description="Electricity price of the heat pumps and pumps.",
    )
    grid_factor: FactorRange = Field(
        default=FactorRange(
            low=0.6,
            high=1.4,
            source="The low and high trajectories of the DESNZ grid-electricity projections "
            "about the central one (Green Book supplementary guidance, valuation of energy "
            "use and greenhouse gas emissions; an approximate reading, assumption).",
        ),
        description="Grid electricity carbon factor.",
    )
    capex: FactorRange = Field(
        default=FactorRange(
            low=0.7,
            high=1.5,
            source="Estimate classes of a screening study run from -30 % to +50 % "
            "(AACE International recommended practice 18R-97, class 4).",
        ),
        description="Capital cost, with the O&M that follows it.",
    )
    zone_demand: FactorRange = Field(
        default=FactorRange(
            low=0.8,
            high=1.2,
            source="Heat-demand maps at zone scale, +-20 % (issue 13; assumption).",
        ),
        description="Annual heat demand of the sinks.",
    )
    load_factor: FactorRange = Field(
        default=FactorRange(
            low=0.7,
            high=1.1,
            source="Data-centre load against the assumed utilisation: halls fill over years "
            "and rarely run above plan (assumption).",
        ),
        description="Load factor of the data centres: the heat their sources give.",
    )


class RegionFile(Section):
    """A whole region file."""

    region: RegionConfig
    sources: SourcesConfig
    roads: RoadsConfig
    heat_demand: HeatDemandConfig
    zones: ZonesConfig = ZonesConfig()
    demand_profile: DemandProfileConfig = DemandProfileConfig()
    source_profile: SourceProfileConfig = SourceProfileConfig()
    distribution: DistributionConfig = DistributionConfig()
    routing: RoutingConfig = RoutingConfig()
    existing_networks: ExistingNetworksConfig | None = None
    network: NetworkConfig = NetworkConfig()
    pipes: PipesConfig = PipesConfig()
    heat_pump: HeatPumpConfig = HeatPumpConfig()
    carbon: CarbonConfig = CarbonConfig()
    cost: CostConfig = CostConfig()
    viability: ViabilityConfig = ViabilityConfig()
    network_design: NetworkDesignConfig = NetworkDesignConfig()
    uncertainty: UncertaintyConfig = UncertaintyConfig()

    @cached_property
    def crs(self) -> CRS:
        """The region's projected CRS (``auto`` resolved)."""
        return self.region.projected_crs()


def _geographic_bounds(src: CRS, bbox: Bbox) -> Bbox:
    """``bbox`` in ``src``'s own geographic CRS: infinite where ``src`` is not defined.

    It checks the bbox at start without the datum shift to WGS 84, whose transformer
    takes PROJ tens of milliseconds to choose (``bbox_wgs84`` makes it when needed).
    """
    from pyproj import Transformer

    geodetic = src.geodetic_crs
    if src.is_geographic or geodetic is None:
        return bbox
    return Transformer.from_crs(src, geodetic, always_xy=True).transform_bounds(*bbox)


def _parse_crs(value: str | int) -> CRS:
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises CRSError, and others for odd input
        raise ValueError(f"{value!r} is not a CRS pyproj knows ({exc})") from None


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"key '{key}' is given twice (lines {seen[key]} and {line})",
                    where=f"{key_node.start_mark.name}, line {line}",
                    fix="keep one of them",
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as f:
            raw = yaml.load(f, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", where=path, fix="save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else path
        raise ConfigError(
            f"not valid YAML ({getattr(exc, 'problem', exc)})",
            where=where,
            fix="fix the YAML syntax",
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping of sections", where=path, fix="see docs")
    return raw


def _region_name(raw: dict, path: Path) -> dict:
    """Put the file's stem into ``region.name``; refuse a name that differs from it.

    One region file, one name: a copied file that keeps another region's name would
    otherwise write into that region's folders.
    """
    region = raw.get("region")
    if not isinstance(region, dict):
        return raw
    name = region.get("name")
    if name is not None and str(name) != path.stem:
        raise ConfigError(
            f"region.name '{name}' differs from the file name '{path.stem}'",
            where=path,
            fix=f"rename the file to {name}.yml, or set region.name to '{path.stem}' or "
            "remove it (the file name is the region's name)",
        )
    return {**raw, "region": {**region, "name": path.stem}}


def load_region_file(path: str | Path, *, root: str | Path = ".") -> RegionFile:
    """Read and validate a region file.

    Parameters
    ----------
    path
        The YAML file. Its name without ``.yml`` is the region's name.
    root
        Directory that relative paths in the file are resolved against.

    Raises
    ------
    ConfigError
        Naming every invalid key at once, with the valid choices where there are some.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            "region file not found",
            where=path,
            fix="check the path, or list the shipped regions with `make help`",
        )
    raw = _region_name(_read_yaml(path), path)
    try:
        cfg = RegionFile.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors()]
        raise ConfigError("; ".join(problems), where=path, fix="correct the region file") from None
    return _resolve_paths(cfg, Path(root))  # type: ignore[return-value]


def _problem(err: ErrorDetails) -> str:
    """One validation error as a phrase that names the key."""
    key = _format_loc(err["loc"])
    if err["type"] == "extra_forbidden":
        model = _section_model(err["loc"][:-1])
        valid = ", ".join(model.model_fields) if model else "(none)"
        return f"unknown key '{key}' (valid keys here: {valid})"
    if err["type"] == "missing":
        return f"missing key '{key}'"
    if err["type"] == "finite_number":
        return f"'{key}': must be a finite number (got {err.get('input')!r})"
    msg = err["msg"].removeprefix("Value error, ")
    if isinstance(err.get("input"), dict):  # a check across a section's keys
        return f"'{key}': {msg}"
    return f"'{key}': {msg} (got {err.get('input')!r})"


def _section_model(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that holds the keys at ``loc``, stepping through dicts and lists."""
    tp: object = RegionFile
    for part in loc:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        else:  # a dict's key or a list's index: step into the value type
            tp = get_args(tp)[-1] if get_args(tp) else None
        tp = _unwrap_optional(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap_optional(tp: object) -> object:
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return tp


def input_files(section: BaseModel, prefix: str) -> dict[str, Path]:
    """Every file a config section names, keyed by its dotted config key.

    >>> input_files(RoadsConfig(path=Path("roads.gpkg")), "roads")
    {'roads.path': PosixPath('roads.gpkg')}
    """
    files: dict[str, Path] = {}
    for name in type(section).model_fields:
        value = getattr(section, name)
        if isinstance(value, Path):
            files[f"{prefix}.{name}"] = value
        elif isinstance(value, BaseModel):
            files |= input_files(value, f"{prefix}.{name}")
    return files


def _resolve_paths(model: BaseModel, root: Path) -> BaseModel:
    """Resolve every relative Path field, in nested sections too, against ``root``."""
    update: dict[str, object] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path) and not value.is_absolute():
            update[name] = root / value
        elif isinstance(value, BaseModel):
            update[name] = _resolve_paths(value, root)
    return model.model_copy(update=update)
