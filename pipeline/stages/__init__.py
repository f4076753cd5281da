"""The pipeline's stages, in run order.

Each stage is a module with a pure core and a thin ``run(paths, cfg)`` that reads its
inputs, calls the core and writes its output atomically. ``CONFIG_SECTIONS`` names the
region-file sections a stage depends on; ``make`` reruns a stage when one of them changes.
"""

from __future__ import annotations

STAGES: tuple[str, ...] = (
    "ingest_sources",
    "ingest_roads",
    "ingest_heat_demand",
    "build_demand_zones",
    "ingest_heat_networks",
    "build_road_graph",
    "route_links",
    "assess_links",
    "allocate_heat",
    "export_geopackage",
    "write_report",
)

CONFIG_SECTIONS: dict[str, tuple[str, ...]] = {
    "ingest_sources": ("region", "sources"),
    "ingest_roads": ("region", "roads"),
    "ingest_heat_demand": ("region", "heat_demand"),
    "build_demand_zones": ("zones",),
    "ingest_heat_networks": ("region", "existing_networks"),
    "build_road_graph": (),
    "route_links": ("routing",),
    "assess_links": (
        "network",
        "pipes",
        "heat_pump",
        "carbon",
        "cost",
        "viability",
        "existing_networks",
    ),
    "allocate_heat": ("zones", "existing_networks"),
    "export_geopackage": ("region", "cost", "routing", "existing_networks", "zones"),
    "write_report": (),
}
