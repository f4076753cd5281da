"""Time ``ingest_roads`` and ``build_road_graph`` on the same roads as GeoPackage and PBF.

The benchmark region's ``roads.gpkg`` (EPSG:27700, streets sharing exact vertices at
junctions) is converted once into an ``.osm.pbf`` with pyosmium's writer: one node per
distinct vertex, so junctions are shared nodes and the graph is the same; each line a
way tagged ``highway=<its class>``, its id the line's ``road_id``. The region is copied
twice under ``--workdir`` (the ``pipeline`` symlink kept, so the copies run this
checkout's code): one copy reads the GeoPackage, the other has ``roads.path`` pointing at
the PBF. In each, ``configure`` runs once, then ``ingest_roads`` and
``build_road_graph`` ``--runs`` times, each as its own process; the table gives the
medians of the wall time and of the in-process time (the stage's "done in … s"), and the
largest peak RSS.

Run::

    .venv/bin/python benchmarks/pbf_roads.py --size 1m --runs 3
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import shapely
import yaml
from pyproj import Transformer

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from bench import REGION, Child, run_child  # noqa: E402

STAGES = ("ingest_roads", "build_road_graph")
PBF_NAME = "roads.osm.pbf"


def gpkg_to_pbf(gpkg: Path, pbf: Path) -> tuple[int, int]:
    """Write the lines of ``gpkg`` as OSM ways; one node per distinct vertex.

    Returns the numbers of nodes and ways written.
    """
    import osmium

    roads = gpd.read_file(gpkg, layer="roads")
    xy, line_of = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    unique_xy, node_of = np.unique(xy, axis=0, return_inverse=True)
    node_of = node_of.ravel() + 1  # OSM ids start at 1
    lon, lat = Transformer.from_crs(roads.crs, 4326, always_xy=True).transform(
        unique_xy[:, 0], unique_xy[:, 1]
    )
    starts = np.searchsorted(line_of, np.arange(len(roads) + 1))
    tmp = pbf.with_name(pbf.name + ".tmp.osm.pbf")
    tmp.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(tmp)) as writer:
        for nid, x, y in zip(range(1, len(lon) + 1), lon.tolist(), lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(x, y)))
        for i, (road_id, highway) in enumerate(
            zip(roads["road_id"].tolist(), roads["highway"].tolist(), strict=True)
        ):
            refs = node_of[starts[i] : starts[i + 1]].tolist()
            writer.add_way(
                osmium.osm.mutable.Way(id=int(road_id), nodes=refs, tags={"highway": highway})
            )
    tmp.replace(pbf)
    return len(lon), len(roads)


def prepare(size: str, workdir: Path, package: Path | None = None) -> dict[str, Path]:
    """Copies of the region reading the GeoPackage and the PBF; the PBF made if needed.

    ``package``, when given, is the ``pipeline`` directory the copies run (another
    checkout's, to time the code before a change under the same conditions).
    """
    source = BENCH / "regions" / size
    gpkg = source / "data" / "raw" / REGION / "roads.gpkg"
    if not gpkg.is_file():
        sys.exit(f"{gpkg}: not found; generate it with benchmarks/bench.py --sizes {size}")
    workdir.mkdir(parents=True, exist_ok=True)
    pbf = workdir / f"{size}_{PBF_NAME}"
    if not pbf.is_file() or pbf.stat().st_mtime < gpkg.stat().st_mtime:
        n_nodes, n_ways = gpkg_to_pbf(gpkg, pbf)
        print(f"wrote {pbf}: {n_nodes} nodes, {n_ways} ways", flush=True)
    roots = {}
    for kind in ("gpkg", "pbf"):
        root = workdir / f"{size}_{kind}"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(source, root, symlinks=True)
        if package is not None:
            (root / "pipeline").unlink()
            (root / "pipeline").symlink_to(package.resolve())
        roots[kind] = root
    raw = roots["pbf"] / "data" / "raw" / REGION
    shutil.copyfile(pbf, raw / PBF_NAME)
    (raw / "roads.gpkg").unlink()
    yml = roots["pbf"] / "data" / "regions" / f"{REGION}.yml"
    cfg = yaml.safe_load(yml.read_text())
    cfg["roads"] = {"path": f"data/raw/{REGION}/{PBF_NAME}"}
    yml.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return roots


def _step(python: str, root: Path, stage: str) -> Child:
    child = run_child([python, "-m", "pipeline", stage, "--region", REGION], cwd=root)
    if child.returncode != 0:
        sys.exit(f"{root}: {stage} failed (exit {child.returncode}):\n{child.stderr[-2000:]}")
    log = root / "outputs" / REGION / "logs" / f"{stage}.log"
    found = re.findall(r"done in ([0-9.]+) s", log.read_text()) if log.is_file() else []
    child.inproc_s = float(found[-1]) if found else float("nan")
    return child


def time_stages(python: str, root: Path, runs: int) -> dict[str, list[Child]]:
    """``configure`` once, then each stage ``runs`` times in order."""
    _step(python, root, "configure")
    timings: dict[str, list[Child]] = {s: [] for s in STAGES}
    for _ in range(runs):
        for stage in STAGES:
            timings[stage].append(_step(python, root, stage))
    return timings


def graph_size(root: Path) -> tuple[int, int]:
    """Rows of the graph's node and edge tables."""
    interim = root / "data" / "interim" / REGION
    return (
        pq.read_metadata(interim / "graph_nodes.parquet").num_rows,
        pq.read_metadata(interim / "graph_edges.parquet").num_rows,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1m", help="benchmark region (benchmarks/regions)")
    parser.add_argument("--runs", type=int, default=3, help="runs per stage; medians")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/heatlink_pbf_roads"))
    parser.add_argument("--only", choices=("gpkg", "pbf"), help="time one input only")
    parser.add_argument(
        "--package", type=Path, help="a `pipeline` directory to run instead of this checkout's"
    )
    args = parser.parse_args(argv)
    roots = prepare(args.size, args.workdir, args.package)
    kinds = [args.only] if args.only else ["gpkg", "pbf"]
    print(f"{'input':6} {'stage':18} {'wall s':>8} {'in-proc s':>10} {'peak MB':>8}")
    for kind in kinds:
        timings = time_stages(sys.executable, roots[kind], args.runs)
        total = 0.0
        for stage, children in timings.items():
            wall = statistics.median(c.wall_s for c in children)
            inproc = statistics.median(c.inproc_s for c in children)
            peak = max(c.rss_mb for c in children)
            total += wall
            print(f"{kind:6} {stage:18} {wall:8.2f} {inproc:10.2f} {peak:8.0f}")
        nodes, edges = graph_size(roots[kind])
        print(f"{kind:6} {'both':18} {total:8.2f}   graph: {nodes} nodes, {edges} edges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
