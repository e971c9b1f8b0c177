"""Worker processes for the parallel verification paths (``verify.decide`` with
``workers``, ``certified.certified_accuracy``): one helper, started and shut down by its
caller, that an interrupt stops cleanly.

``worker_pool(workers)`` is a context manager around a ``concurrent.futures``
``ProcessPoolExecutor`` of spawned processes::

    with worker_pool(2) as pool:
        answers = list(pool.map(job, jobs))

The workers ignore SIGINT (Ctrl-C in a terminal reaches the whole process group; the
parent decides), exit by themselves if their parent dies, and run HiGHS on one thread
each. When the block ends
normally the pool is shut down; when it ends by an exception (``KeyboardInterrupt``
from Ctrl-C or JupyterLab's "Interrupt kernel", or an error) the workers are terminated
at once, without waiting for their jobs, and no process is left behind: neither the
workers nor multiprocessing's resource tracker, if the pool started it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import resource_tracker
from typing import Callable, Iterator, Optional


def _exit_with(parent: int) -> None:
    """Exit this worker when its parent (process ``parent``) is gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _start_worker(parent: int, initializer: Optional[Callable], initargs: tuple) -> None:
    from .solvers import fix_highs_threads
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    fix_highs_threads(1)                  # the workers share the cores
    if initializer is not None:
        initializer(*initargs)


def _tracker_pid() -> Optional[int]:
    """The pid of this process's multiprocessing resource tracker, if it runs one."""
    return getattr(resource_tracker._resource_tracker, "_pid", None)


def _terminate(pool: ProcessPoolExecutor, before: set) -> None:
    """Stop the pool now: cancel what has not started, terminate its processes."""
    pool.shutdown(wait=False, cancel_futures=True)
    started = set(multiprocessing.active_children()) - before
    for process in started:
        process.terminate()
    for process in started:
        process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join()
    pool.shutdown(wait=True)


@contextmanager
def worker_pool(workers: int, initializer: Optional[Callable] = None, initargs: tuple = ()
                ) -> Iterator[ProcessPoolExecutor]:
    """``workers`` spawned worker processes for the ``with`` block (see the module's
    docstring). ``initializer(*initargs)`` runs once in each worker (picklable: a
    module-level function), e.g. to set torch's thread count."""
    from .threat import check_count      # here: a worker imports this module, and must not need torch
    workers = check_count(workers, "workers", 1)
    if initializer is not None and not callable(initializer):
        raise ValueError(f"initializer must be a function (module-level, picklable) or None, got {initializer!r}")
    before = set(multiprocessing.active_children())
    tracker = _tracker_pid()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(), initializer, initargs))
    try:
        yield pool
    except BaseException:
        _terminate(pool, before)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        del pool
        if tracker is None and _tracker_pid() is not None:
            _stop_tracker()


def _stop_tracker() -> None:
    """Stop the resource tracker that the pool started (it would outlive the pool as a
    child of this process). Its semaphores are released by then; a later pool starts
    another one."""
    import gc
    gc.collect()
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        stop()
