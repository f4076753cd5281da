"""Where each stage reads and writes, for one region."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RegionPaths:
    """File layout of one region under a project root.

    Parameters
    ----------
    region
        Region name: the region file's name without ``.yml``.
    root
        Project root; ``data/`` and ``outputs/`` live below it.
    """

    region: str
    root: Path = Path(".")

    @property
    def interim(self) -> Path:
        return self.root / "data" / "interim" / self.region

    @property
    def outputs(self) -> Path:
        return self.root / "outputs" / self.region

    @property
    def logs(self) -> Path:
        return self.outputs / "logs"

    @property
    def config_slices(self) -> Path:
        return self.interim / "config"

    @property
    def sources(self) -> Path:
        return self.interim / "sources.parquet"

    @property
    def roads(self) -> Path:
        return self.interim / "roads.parquet"

    @property
    def heat_demand(self) -> Path:
        return self.interim / "heat_demand_mwh_per_cell.tif"

    @property
    def demand_zones(self) -> Path:
        return self.interim / "demand_zones.parquet"

    @property
    def heat_networks(self) -> Path:
        return self.interim / "heat_networks.parquet"

    @property
    def graph_nodes(self) -> Path:
        return self.interim / "graph_nodes.parquet"

    @property
    def graph_edges(self) -> Path:
        return self.interim / "graph_edges.parquet"

    @property
    def routes(self) -> Path:
        return self.interim / "routes.parquet"

    @property
    def route_segments(self) -> Path:
        return self.interim / "route_segments.parquet"

    @property
    def attachments(self) -> Path:
        return self.interim / "attachments.parquet"

    @property
    def assessed_links(self) -> Path:
        return self.interim / "assessed_links.parquet"

    @property
    def allocation(self) -> Path:
        return self.interim / "allocation.parquet"

    @property
    def networks(self) -> Path:
        return self.interim / "networks.parquet"

    @property
    def network_pipes(self) -> Path:
        return self.interim / "network_pipes.parquet"

    @property
    def geopackage(self) -> Path:
        return self.outputs / "heat_links.gpkg"

    @property
    def qgis_project(self) -> Path:
        """The QGIS project beside the GeoPackage; it names the GeoPackage relatively."""
        return self.outputs / "heat_links.qgz"

    @property
    def report(self) -> Path:
        return self.outputs / "report.html"

    @property
    def links_csv(self) -> Path:
        return self.outputs / "links.csv"

    @property
    def networks_csv(self) -> Path:
        return self.outputs / "networks.csv"

    @property
    def input_links(self) -> Path:
        """Links to the user's input files, named by config key, for ``make``."""
        return self.interim / "inputs"

    @property
    def stages_mk(self) -> Path:
        """The Make rules of the region, written by ``heatlink configure``."""
        return self.interim / "stages.mk"
