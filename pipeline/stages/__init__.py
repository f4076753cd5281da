"""The pipeline's stages, in run order, each with its contract declared once.

Each stage is a module with a pure core and a thin ``run(paths, cfg)`` that reads its
inputs, calls the core and writes its outputs atomically. :data:`STAGES` declares, for
every stage, the files it reads and writes (names of :class:`~pipeline.paths.RegionPaths`
attributes), the region-file sections it reads and the sections whose input files it
reads. Everything else is derived from that declaration:

- the Make rules (``heatlink configure`` writes them to ``data/interim/<region>/stages.mk``);
- the list of input files in the provenance (``run_info`` and the report);
- the tests that check each ``run()`` touches only what it declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import RegionFile, input_files


@dataclass(frozen=True)
class Stage:
    """What one stage reads and writes.

    Parameters
    ----------
    name
        The module in ``pipeline/stages/`` and the CLI's stage name.
    reads
        Files of earlier stages it reads: names of ``RegionPaths`` attributes.
    writes
        Files it writes: names of ``RegionPaths`` attributes.
    config
        Region-file sections it reads; it reruns when one of them changes.
    input_files_of
        Sections (among ``config``) whose input files it reads, e.g. ``roads.path``.
    package_files
        Package files it depends on besides its own module (globs from the project root).
    distributed
        Its ``run`` takes an ``executor`` (:mod:`pipeline.executor`) and can run its
        tasks on a Dask cluster (``--executor dask``).
    """

    name: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    input_files_of: tuple[str, ...] = ()
    package_files: tuple[str, ...] = ()
    distributed: bool = False

    @property
    def module_file(self) -> str:
        return f"pipeline/stages/{self.name}.py"

    def input_files(self, cfg: RegionFile) -> dict[str, Path]:
        """The user's input files this stage reads, keyed by the config key naming each."""
        files: dict[str, Path] = {}
        for section in self.input_files_of:
            value = getattr(cfg, section)
            if value is not None:
                files |= input_files(value, section)
        return files


READERS = ("pipeline/readers/*.py",)
ALL_SECTIONS = tuple(RegionFile.model_fields)

STAGES: tuple[Stage, ...] = (
    Stage(
        "ingest_sources",
        writes=("sources",),
        config=("region", "sources"),
        input_files_of=("sources",),
        package_files=READERS,
    ),
    Stage(
        "ingest_roads",
        writes=("roads",),
        config=("region", "roads"),
        input_files_of=("roads",),
        package_files=(*READERS, "pipeline/data/road_classes.csv"),
    ),
    Stage(
        "ingest_heat_demand",
        writes=("heat_demand",),
        config=("region", "heat_demand"),
        input_files_of=("heat_demand",),
        package_files=(*READERS, "pipeline/engineering/buildings.py"),
    ),
    Stage(
        "build_demand_zones",
        reads=("heat_demand", "roads"),
        writes=("demand_zones",),
        config=("region", "zones"),
        input_files_of=("zones",),
        package_files=(*READERS, "pipeline/engineering/zoning.py"),
    ),
    Stage(
        "ingest_heat_networks",
        writes=("heat_networks",),
        config=("region", "existing_networks"),
        input_files_of=("existing_networks",),
        package_files=READERS,
    ),
    Stage("build_road_graph", reads=("roads",), writes=("graph_nodes", "graph_edges")),
    Stage(
        "route_links",
        reads=("sources", "demand_zones", "heat_networks", "graph_nodes", "graph_edges"),
        writes=("routes", "attachments", "route_segments"),
        config=("routing",),
        package_files=("pipeline/route_search.py", "pipeline/executor.py"),
        distributed=True,
    ),
    Stage(
        "assess_links",
        reads=("routes", "sources", "demand_zones"),
        writes=("assessed_links",),
        config=(
            "region",
            "demand_profile",
            "source_profile",
            "network",
            "pipes",
            "heat_pump",
            "carbon",
            "cost",
            "viability",
            "distribution",
            "existing_networks",
            "uncertainty",
        ),
        input_files_of=("demand_profile", "source_profile"),
        package_files=(
            *READERS,
            "pipeline/engineering/*.py",
            "pipeline/data/*.csv",
            "pipeline/data/climate/*.csv",
        ),
    ),
    Stage(
        "allocate_heat",
        reads=("assessed_links", "sources", "demand_zones", "heat_networks"),
        writes=("allocation",),
        config=(
            "region",
            "zones",
            "demand_profile",
            "source_profile",
            "pipes",
            "carbon",
            "existing_networks",
        ),
        input_files_of=("demand_profile", "source_profile"),
        package_files=(*READERS, "pipeline/engineering/*.py", "pipeline/data/climate/*.csv"),
    ),
    Stage(
        "design_networks",
        reads=(
            "allocation",
            "assessed_links",
            "sources",
            "demand_zones",
            "heat_networks",
            "route_segments",
            "graph_edges",
            "graph_nodes",
        ),
        writes=("networks", "network_pipes"),
        config=(
            "network_design",
            "network",
            "pipes",
            "heat_pump",
            "carbon",
            "cost",
            "existing_networks",
            "viability",
            "uncertainty",
        ),
        package_files=(
            "pipeline/engineering/*.py",
            "pipeline/data/*.csv",
            "pipeline/network_roads.py",
        ),
    ),
    Stage(
        "export_geopackage",
        reads=(
            "allocation",
            "sources",
            "attachments",
            "route_segments",
            "heat_networks",
            "demand_zones",
            "assessed_links",
            "networks",
            "network_pipes",
        ),
        writes=("geopackage", "qgis_project"),
        config=ALL_SECTIONS,  # run_info records the whole resolved config
        input_files_of=("sources", "roads", "heat_demand", "existing_networks"),
        package_files=(
            "pipeline/data/styles/*.qml",
            "pipeline/data/fields.csv",
            "pipeline/qgis_project.py",
        ),
    ),
    Stage(
        "write_report",
        reads=("geopackage", "roads"),
        writes=("report", "links_csv", "networks_csv"),
        config=ALL_SECTIONS,  # the report lists the whole resolved config
        package_files=(
            "pipeline/report_maps.py",
            "pipeline/report_web.py",
            "pipeline/data/vendor/leaflet/leaflet.*",
        ),
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}


def region_input_files(cfg: RegionFile) -> dict[str, Path]:
    """Every input file of the region, keyed by the config key naming it."""
    files: dict[str, Path] = {}
    for stage in STAGES:
        files |= stage.input_files(cfg)
    return files
