"""Command line: ``python -m pipeline STAGE --region R`` or ``--config FILE``.

``STAGE`` is one of the stages in :data:`pipeline.stages.STAGES`, ``all`` to run them
in order, or ``configure`` (used by the Makefile) to write the region's Make rules,
input links and per-section config files. User errors end with one line on stderr and exit status 2;
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
from pipeline.executor import EXECUTORS, ExecutorOptions, open_executor, peak_rss_mb
from pipeline.io import atomic_path
from pipeline.paths import RegionPaths
from pipeline.readers.extent import with_region_extent
from pipeline.stages import BY_NAME, STAGE_NAMES, STAGES, region_input_files

log = logging.getLogger("heatlink")

REGIONS_DIR = Path("data") / "regions"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="heatlink",
        description="Route data-centre waste heat to heat networks along roads.",
    )
    p.add_argument("stage", choices=[*STAGE_NAMES, "all", "configure"], help="stage to run")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", help="a region in data/regions/ (name without .yml)")
    where.add_argument("--config", type=Path, help="a region file anywhere")
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=os.environ.get("HEATLINK_EXECUTOR") or "local",
        help="where the stages that can distribute their work run it: here (local, the "
        "default) or on a Dask cluster (dask); the outputs are the same",
    )
    p.add_argument(
        "--scheduler",
        default=os.environ.get("HEATLINK_DASK_SCHEDULER") or None,
        metavar="ADDRESS",
        help="with --executor dask: a running Dask scheduler (tcp://host:8786); "
        "without it a LocalCluster with one worker per core is started",
    )
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


def _executor_options(args: argparse.Namespace) -> ExecutorOptions:
    if args.executor not in EXECUTORS:  # from HEATLINK_EXECUTOR, which argparse does not check
        raise InputError(
            f"unknown executor '{args.executor}'",
            where="--executor / EXECUTOR",
            fix=f"choose one of: {', '.join(EXECUTORS)}",
        )
    if args.scheduler and args.executor != "dask":
        raise InputError(
            "a Dask scheduler is given but the executor is local",
            where="--scheduler / DASK_SCHEDULER",
            fix="add --executor dask (EXECUTOR=dask), or drop the scheduler",
        )
    return ExecutorOptions(kind=args.executor, scheduler=args.scheduler)


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


def run_stage(
    stage: str,
    paths: RegionPaths,
    cfg: RegionFile,
    *,
    note: str | None = None,
    executor: ExecutorOptions | None = None,
) -> None:
    """Run one stage with logging and timing; ``note`` is logged first when given. A
    stage declared ``distributed`` runs its tasks on ``executor``."""
    module = importlib.import_module(f"pipeline.stages.{stage}")
    _setup_logging(paths, stage)
    t0 = time.perf_counter()
    log.info("%s: region %s", stage, cfg.region.name)
    if note and "region" in BY_NAME[stage].config:
        log.info("%s", note)
    if BY_NAME[stage].distributed:
        with open_executor(executor or ExecutorOptions()) as ex:
            module.run(paths, cfg, executor=ex)
    else:
        module.run(paths, cfg)
    log.info(
        "%s: done in %.2f s; peak memory of this process %.0f MB",
        stage,
        time.perf_counter() - t0,
        peak_rss_mb(),
    )


def configure(
    paths: RegionPaths, cfg: RegionFile, region_file: Path, *, extent_from_inputs: bool
) -> None:
    """Write what ``make`` needs to run the region: config slices, input links and rules.

    - one JSON file per config section, rewritten only when its content changes, so that
      ``make`` reruns only the stages that read the changed section;
    - a link per input file under ``data/interim/<region>/inputs/``, named by the config
      key that names the file, so that inputs in folders with spaces or non-ASCII names
      work as Make prerequisites (the real path stays in the provenance);
    - ``stages.mk``: one rule per stage, derived from :data:`pipeline.stages.STAGES`.
    """
    for section in {s for stage in STAGES for s in stage.config}:
        value = getattr(cfg, section)
        dumped = value.model_dump(mode="json") if value is not None else None
        _write_if_changed(
            paths.config_slices / f"{section}.json", json.dumps(dumped, indent=1, sort_keys=True)
        )
    _link_inputs(paths, region_input_files(cfg))
    rules = stage_rules(paths, cfg, region_file=region_file)
    if extent_from_inputs:  # the region's extent comes from the input files
        links = " ".join(_rel(paths.input_links / k, paths.root) for k in region_input_files(cfg))
        mk = _rel(paths.stages_mk, paths.root)
        rules += f"\n# region.bbox is not set: its extent comes from the inputs\n{mk}: {links}\n"
    if not _write_if_changed(paths.stages_mk, rules):
        paths.stages_mk.touch()  # up to date with the region file, so make need not rerun this


def _write_if_changed(target: Path, text: str) -> bool:
    """Write ``text`` to ``target`` unless it holds it already; True when written."""
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return True


def _link_inputs(paths: RegionPaths, files: dict[str, Path]) -> None:
    """Point ``inputs/<config key>`` at each input file; remove links no key names."""
    paths.input_links.mkdir(parents=True, exist_ok=True)
    for old in paths.input_links.iterdir():
        if old.name not in files:
            old.unlink()
    for key, real in files.items():
        link = paths.input_links / key
        target = os.path.relpath(Path(real).absolute(), link.parent.absolute())
        if link.is_symlink() and os.readlink(link) == target:
            continue
        with atomic_path(link) as tmp:
            tmp.symlink_to(target)


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def stage_rules(paths: RegionPaths, cfg: RegionFile, *, region_file: Path) -> str:
    """The Make rules of every stage, from the stages' declarations.

    Each stage's targets are its declared outputs; its prerequisites are the outputs of
    the stages it reads, links to its input files, its config slices, its module and
    its package files. Several outputs make a grouped target (``&:``).
    """
    lines = [f"# written by `heatlink configure` from {region_file}; do not edit", ""]
    links = [_rel(paths.input_links / key, paths.root) for key in region_input_files(cfg)]
    lines += [f"INPUT_LINKS := {' '.join(links)}", ""]  # the Makefile's fresh-run needs them
    for stage in STAGES:
        targets = [_rel(getattr(paths, name), paths.root) for name in stage.writes]
        prereqs = [
            *(_rel(getattr(paths, name), paths.root) for name in stage.reads),
            *(_rel(paths.input_links / key, paths.root) for key in stage.input_files(cfg)),
            *(_rel(paths.config_slices / f"{s}.json", paths.root) for s in stage.config),
            stage.module_file,
            *(f"$(wildcard {g})" for g in stage.package_files),
        ]
        sep = "&:" if len(targets) > 1 else ":"
        lines += [
            f"{' '.join(targets)} {sep} {' '.join(prereqs)}",
            f"\t$(HEATLINK) {stage.name} --region $(REGION)",
            "",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``heatlink`` and ``python -m pipeline``; returns the exit status."""
    args = _parser().parse_args(argv)
    current = args.stage
    paths: RegionPaths | None = None
    try:
        region_file = _region_file(args)
        cfg, note = with_region_extent(load_region_file(region_file, root=args.root))
        paths = RegionPaths(cfg.region.name, args.root)
        if args.stage == "configure":
            configure(paths, cfg, region_file, extent_from_inputs=note is not None)
            return 0
        executor = _executor_options(args)
        for current in STAGE_NAMES if args.stage == "all" else (args.stage,):
            run_stage(current, paths, cfg, note=note, executor=executor)
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
