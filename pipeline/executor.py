"""Where a stage's independent tasks run: in this process, or on a Dask cluster.

The executor is an option of the run (``heatlink STAGE --executor dask --scheduler
ADDRESS``, ``make all EXECUTOR=dask DASK_SCHEDULER=...``), not of the region: a stage
maps the same pure function over the same tasks either way, so the outputs are the same.

- ``local``: the tasks run one after another here, with a tqdm progress bar.
- ``dask``: a ``dask.distributed`` client, to the scheduler at ``--scheduler`` or to a
  ``LocalCluster`` started here with one single-threaded worker process per core. Tasks
  are retried on error (``retries``) and rescheduled if their worker dies; the terminal
  shows the dashboard link and Dask's progress bar.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pipeline.errors import InputError

log = logging.getLogger("heatlink.executor")

EXECUTORS = ("local", "dask")
RETRIES = 2  # a task that raises is run up to this many more times


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB (Linux ``ru_maxrss``)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class ExecutorOptions:
    """How to run a stage's tasks: ``kind`` local or dask, and a Dask scheduler's address
    (``tcp://host:8786``; none starts a LocalCluster)."""

    kind: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    n_workers: int | None = None  # LocalCluster workers; default one per core


class Executor(Protocol):
    name: str
    in_process: bool  # whether tasks run in this process (and can share its memory)

    def map(self, fn: Callable, items: Sequence, *, desc: str, shared: Any = None) -> list: ...


class LocalExecutor:
    """Run the tasks here, in order."""

    name = "local"
    in_process = True

    def map(self, fn: Callable, items: Sequence, *, desc: str, shared: Any = None) -> list:
        """``[fn(shared, item) for item in items]``, with a progress bar."""
        from tqdm import tqdm

        bar = tqdm(items, desc=desc, unit=" tasks", mininterval=2, leave=False, disable=None)
        return [fn(shared, item) for item in bar]


class DaskExecutor:
    """Run the tasks on a Dask cluster through ``client``."""

    name = "dask"
    in_process = False

    def __init__(self, client: Any) -> None:
        self.client = client

    def map(self, fn: Callable, items: Sequence, *, desc: str, shared: Any = None) -> list:
        """``fn(shared, item)`` for each item as Dask tasks; the results in item order.

        Each task is keyed by its position, so a retried or rescheduled task replaces
        its own result and never adds one.
        """
        from distributed import progress

        futures = self.client.map(
            fn,
            [shared] * len(items),
            items,
            key=[f"{desc}-{i}" for i in range(len(items))],
            retries=RETRIES,
            pure=False,
        )
        log.info("%s: %d tasks on %s", desc, len(futures), self.client.scheduler.address)
        if items and sys.stderr.isatty() and os.environ.get("HEATLINK_DASK_PROGRESS") != "0":
            progress(futures, notebook=False)
        return self.client.gather(futures)

    def log_worker_memory(self) -> None:
        """Log each worker's peak resident memory (a restarted worker's since restart)."""
        try:
            peaks = self.client.run(peak_rss_mb)
        except Exception as exc:  # a worker lost at the end must not fail the stage
            log.info("Dask workers' peak memory: not known (%s)", exc)
            return
        log.info(
            "Dask workers' peak memory: %s",
            ", ".join(f"{addr} {mb:.0f} MB" for addr, mb in sorted(peaks.items())),
        )


@contextmanager
def open_executor(options: ExecutorOptions) -> Iterator[Executor]:
    """The executor ``options`` ask for; a cluster it started is closed on exit."""
    if options.kind == "local":
        yield LocalExecutor()
        return
    from distributed import Client, LocalCluster

    cluster = None
    if options.scheduler:
        try:  # the wait is Dask's distributed.comm.timeouts.connect (30 s by default)
            client = Client(options.scheduler)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {options.scheduler} ({exc})",
                where="--scheduler / DASK_SCHEDULER",
                fix="start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                "or leave it empty to start a LocalCluster",
            ) from exc
    else:
        n = options.n_workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(cluster)
    log.info(
        "Dask: %d workers at %s; dashboard %s",
        len(client.scheduler_info().get("workers", {})),
        client.scheduler.address,
        client.dashboard_link,
    )
    executor = DaskExecutor(client)
    try:
        yield executor
        executor.log_worker_memory()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
