"""Typed schema of a region file.

A region file (``data/regions/<region>.yml``) is checked once, at start, against these
models. Unknown keys are errors, units are in the key names, and relative paths are
resolved against the project root (the directory ``make`` and ``heatlink`` run from).

Each stage's core receives only its own slice (for example :class:`RoutingConfig`).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from pipeline.errors import ConfigError

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]

HEAT_DEMAND_UNITS = ("MWh/ha/yr", "MWh/cell/yr", "kWh/m2/yr", "GJ/ha/yr")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionConfig(Section):
    """Where the region is and which projected CRS all geometry work uses."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        description="Region name; names data/interim/<name>/ and outputs/<name>/."
    )
    crs: str | int = Field(
        description="Projected CRS for all geometry work: an EPSG code, 'EPSG:27700', "
        "or 'auto' for the UTM zone that pyproj picks from the bounding box."
    )
    bbox: tuple[float, float, float, float] = Field(
        description="Region extent as [xmin, ymin, xmax, ymax] in bbox_crs. Sites, roads "
        "and heat demand outside it are left out."
    )
    bbox_crs: str | int = Field(
        default="EPSG:4326", description="CRS of bbox; default longitude/latitude."
    )

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        if not (v[0] < v[2] and v[1] < v[3]):
            raise ValueError("must be [xmin, ymin, xmax, ymax] with xmin < xmax and ymin < ymax")
        return v

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

    def bbox_wgs84(self) -> tuple[float, float, float, float]:
        """The bounding box in longitude/latitude."""
        from pyproj import Transformer

        src = _parse_crs(self.bbox_crs)
        if src.equals(CRS.from_epsg(4326)):
            return self.bbox
        t = Transformer.from_crs(src, 4326, always_xy=True)
        return t.transform_bounds(*self.bbox)

    def projected_crs(self) -> CRS:
        """The region's projected CRS, resolving 'auto' to the UTM zone of the bbox."""
        if self.crs != "auto":
            return _parse_crs(self.crs)
        w, s, e, n = self.bbox_wgs84()
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


class SourcesConfig(Section):
    """The site file and how to read it."""

    path: Path = Field(description="Site file: CSV, GeoJSON or GeoPackage.")
    layer: str | None = Field(default=None, description="Layer name in a multi-layer file.")
    crs: str | int | None = Field(
        default=None,
        description="CRS of x/y columns in a CSV. Not needed for lat/lon columns or for "
        "GeoJSON/GeoPackage, which carry their own CRS.",
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


DEFAULT_EXCLUDED_CLASSES = (
    "motorway",
    "motorway_link",
    "proposed",
    "construction",
    "abandoned",
    "razed",
    "platform",
    "raceway",
    "bus_guideway",
    "elevator",
    "escape",
)


class RoadsConfig(Section):
    """The road file and which road classes pipes may follow."""

    path: Path = Field(description="Road file: OSM .pbf, or any line layer GDAL reads.")
    layer: str | None = Field(default=None, description="Layer in a multi-layer file.")
    class_column: str = Field(
        default="highway",
        description="Column holding the road class in a GDAL layer (an OSM .pbf always "
        "uses the highway tag).",
    )
    classes: list[str] | None = Field(
        default=None, description="Road classes pipes may follow; all when not set."
    )
    exclude_classes: list[str] = Field(
        default=list(DEFAULT_EXCLUDED_CLASSES),
        description="Road classes pipes never follow. Motorways may still be crossed by "
        "the roads that bridge or tunnel them.",
    )


class HeatDemandConfig(Section):
    """The heat-demand raster and its declared units."""

    path: Path = Field(description="Heat-demand GeoTIFF in any CRS.")
    units: Literal["MWh/ha/yr", "MWh/cell/yr", "kWh/m2/yr", "GJ/ha/yr"] = Field(
        description="What one cell value means; never guessed."
    )
    resolution_m: Positive = Field(
        default=100.0, description="Cell size of the reprojected raster, in metres."
    )


class ZonesConfig(Section):
    """Thresholds of the Hotmaps district-heating potential-area method."""

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


class RoutingConfig(Section):
    """How candidate pipe routes are searched."""

    max_link_length_m: Positive = Field(
        default=2000.0, description="Longest route, spurs included, that is still a candidate."
    )
    max_snap_distance_m: Positive = Field(
        default=250.0, description="Longest spur from a site or zone to the nearest road."
    )


class NetworkConfig(Section):
    """Design temperatures of the heat network the links feed."""

    supply_temp_c: Annotated[float, Field(gt=0, lt=150)] = Field(
        default=80.0, description="Design supply temperature."
    )
    return_temp_c: Annotated[float, Field(gt=0, lt=150)] = Field(
        default=50.0, description="Design return temperature."
    )

    @model_validator(mode="after")
    def _supply_above_return(self) -> NetworkConfig:
        if self.supply_temp_c <= self.return_temp_c:
            raise ValueError("supply_temp_c must be above return_temp_c")
        return self


class PipesConfig(Section):
    """Pipe sizing and heat-loss parameters."""

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


class RegionFile(Section):
    """A whole region file."""

    region: RegionConfig
    sources: SourcesConfig
    roads: RoadsConfig
    heat_demand: HeatDemandConfig
    zones: ZonesConfig = ZonesConfig()
    routing: RoutingConfig = RoutingConfig()
    network: NetworkConfig = NetworkConfig()
    pipes: PipesConfig = PipesConfig()

    @cached_property
    def crs(self) -> CRS:
        """The region's projected CRS (``auto`` resolved)."""
        return self.region.projected_crs()


def _parse_crs(value: str | int) -> CRS:
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises CRSError, and others for odd input
        raise ValueError(f"{value!r} is not a CRS pyproj knows ({exc})") from None


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def load_region_file(path: str | Path, *, root: str | Path = ".") -> RegionFile:
    """Read and validate a region file.

    Parameters
    ----------
    path
        The YAML file.
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
    try:
        raw = yaml.safe_load(path.read_text())
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
    try:
        cfg = RegionFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _format_loc(err["loc"])
            if err["type"] == "extra_forbidden":
                parent = err["loc"][:-1]
                model = _section_model(parent)
                valid = ", ".join(model.model_fields) if model else ""
                problems.append(f"unknown key '{key}' (valid keys here: {valid})")
            elif err["type"] == "missing":
                problems.append(f"missing key '{key}'")
            else:
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"'{key}': {msg} (got {err.get('input')!r})")
        raise ConfigError("; ".join(problems), where=path, fix="correct the region file") from None
    return _resolve_paths(cfg, Path(root))


def _section_model(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = RegionFile
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type):
            return None
        if not issubclass(field.annotation, BaseModel):
            return None
        model = field.annotation
    return model


def _resolve_paths(cfg: RegionFile, root: Path) -> RegionFile:
    def fix(section: Section) -> Section:
        p = section.path  # type: ignore[attr-defined]
        return section.model_copy(update={"path": p if p.is_absolute() else root / p})

    return cfg.model_copy(
        update={
            "sources": fix(cfg.sources),
            "roads": fix(cfg.roads),
            "heat_demand": fix(cfg.heat_demand),
        }
    )
