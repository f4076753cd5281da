"""Command line: ``python -m pipeline STAGE --region R`` or ``--config FILE``.

``STAGE`` is one of the stages in :data:`pipeline.stages.STAGES`, ``all`` to run them
in order, or ``configure`` (used by the Makefile) to write the region's make variables
and per-section config files. User errors end with one line on stderr and exit status 2;
unexpected errors exit 1 with the traceback in the stage log.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import RegionFile, load_region_file
from pipeline.errors import InputError
from pipeline.io import atomic_path
from pipeline.paths import RegionPaths
from pipeline.stages import CONFIG_SECTIONS, STAGES

log = logging.getLogger("heatlink")

REGIONS_DIR = Path("data") / "regions"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="heatlink",
        description="Route data-centre waste heat to heat networks along roads.",
    )
    p.add_argument("stage", choices=[*STAGES, "all", "configure"], help="stage to run")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", help="a region in data/regions/ (name without .yml)")
    where.add_argument("--config", type=Path, help="a region file anywhere")
    p.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="project root: relative paths and data/, outputs/ start here (default: .)",
    )
    return p


def _region_file(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return args.config
    path = args.root / REGIONS_DIR / f"{args.region}.yml"
    if not path.is_file():
        known = sorted(p.stem for p in (args.root / REGIONS_DIR).glob("*.yml"))
        raise InputError(
            f"unknown region '{args.region}'",
            where=path,
            fix=f"choose one of: {', '.join(known) or '(none)'}, or pass --config FILE",
        )
    return path


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"[{record.name.removeprefix('heatlink.') or 'heatlink'}] {record.getMessage()}"


def _setup_logging(paths: RegionPaths, stage: str) -> logging.Handler:
    """Log to stderr and to outputs/<region>/logs/<stage>.log; return the file handler."""
    log.setLevel(logging.INFO)
    log.propagate = False
    _close_handlers()
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(_OneLine())
    paths.logs.mkdir(parents=True, exist_ok=True)
    fh = logging.FileHandler(paths.logs / f"{stage}.log", mode="w", encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(err)
    log.addHandler(fh)
    return fh


def run_stage(stage: str, paths: RegionPaths, cfg: RegionFile) -> None:
    """Run one stage with logging and timing."""
    module = importlib.import_module(f"pipeline.stages.{stage}")
    _setup_logging(paths, stage)
    t0 = time.perf_counter()
    log.info("%s: region %s", stage, cfg.region.name)
    module.run(paths, cfg)
    log.info("%s: done in %.2f s", stage, time.perf_counter() - t0)


def configure(paths: RegionPaths, cfg: RegionFile, region_file: Path) -> None:
    """Write the region's make variables and one JSON file per config section.

    A section file is rewritten only when its content changes, so ``make`` reruns
    only the stages that depend on the changed section.
    """
    paths.config_slices.mkdir(parents=True, exist_ok=True)
    for section in {s for secs in CONFIG_SECTIONS.values() for s in secs}:
        value = getattr(cfg, section)
        dumped = value.model_dump(mode="json") if value is not None else None
        text = json.dumps(dumped, indent=1, sort_keys=True)
        target = paths.config_slices / f"{section}.json"
        if not target.is_file() or target.read_text() != text:
            with atomic_path(target) as tmp:
                tmp.write_text(text)

    def rel(ps: list[Path]) -> str:
        return " ".join(
            os.path.relpath(p, paths.root) if not p.is_absolute() else str(p) for p in ps
        )

    networks = [cfg.existing_networks.path] if cfg.existing_networks else []
    lines = [
        f"# written by `heatlink configure` from {region_file}; do not edit",
        f"SOURCES_IN := {rel(cfg.sources.input_paths())}",
        f"ROADS_IN := {rel([cfg.roads.path] if cfg.roads.path else [])}",
        f"HEAT_IN := {rel(cfg.heat_demand.input_paths())}",
        f"NETWORKS_IN := {rel(networks)}",
    ]
    with atomic_path(paths.interim / "inputs.mk") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``heatlink`` and ``python -m pipeline``; returns the exit status."""
    args = _parser().parse_args(argv)
    current = args.stage
    paths: RegionPaths | None = None
    try:
        region_file = _region_file(args)
        cfg = load_region_file(region_file, root=args.root)
        paths = RegionPaths(cfg.region.name, args.root)
        if args.stage == "configure":
            configure(paths, cfg, region_file)
            return 0
        for current in STAGES if args.stage == "all" else (args.stage,):
            run_stage(current, paths, cfg)
        if args.stage == "export_geopackage":
            print(paths.geopackage)
        return 0
    except InputError as exc:
        _log_to_file_only(logging.ERROR, exc.one_line())
        print(f"heatlink: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("heatlink: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _log_to_file_only(logging.ERROR, "unexpected error", exc_info=True):
            raise
        where = paths.logs / f"{current}.log" if paths else "the stage log"
        print(
            f"heatlink: unexpected error in {current}: {exc!r}. "
            f"The traceback is in {where}; please report it.",
            file=sys.stderr,
        )
        return 1
    finally:
        _close_handlers()


def _log_to_file_only(level: int, msg: str, *, exc_info: bool = False) -> bool:
    files = [h for h in log.handlers if isinstance(h, logging.FileHandler)]
    for h in files:
        record = log.makeRecord(log.name, level, __file__, 0, msg, (), None)
        if exc_info:
            record.exc_info = sys.exc_info()
        h.handle(record)
    return bool(files)


def _close_handlers() -> None:
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
