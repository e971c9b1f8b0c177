"""Worker processes for the parallel verification paths (``verify.decide`` with
``workers``, ``certified.certified_accuracy``): one helper, started and shut down by its
caller, that an interrupt stops cleanly.

``worker_pool(workers)`` is a context manager around a ``concurrent.futures``
``ProcessPoolExecutor`` of spawned processes::

    with worker_pool(2) as pool:
        answers = list(results_in_order([pool.submit(job, j) for j in jobs]))

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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing import resource_tracker
from typing import Any, Callable, Iterable, Iterator, Optional

POLL_S = 0.2
"""How often a caller waiting for workers wakes up (seconds): the longest an interrupt waits."""


THREAD_JOIN_S = 1.0
"""How long an interrupted pool waits for each of its threads to end (seconds)."""


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
    call_queue = getattr(pool, "_call_queue", None)     # (shutdown forgets these)
    manager = getattr(pool, "_executor_manager_thread", None)
    if call_queue is not None:
        call_queue.cancel_join_thread()
    pool.shutdown(wait=False, cancel_futures=True)
    started = set(multiprocessing.active_children()) - before
    for process in started:
        process.terminate()
    for process in started:
        process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join()
    # A job being written to the workers' pipe when they died blocks the queue's feeder
    # thread for ever while this process still holds the pipe's reading end, and the
    # pool's shutdown (and the interpreter's exit) waits for that thread on Python 3.10.
    # Closing our end makes the write fail instead (what Python 3.11 does itself).
    reader = getattr(call_queue, "_reader", None)
    if reader is not None:
        reader.close()
    pool.shutdown(wait=True)
    # The pool's threads hold its queues (and their semaphores) until they end: wait for
    # them, so that the semaphores are released before the resource tracker is stopped
    # (one released later would start a new tracker, left running).
    for thread in (manager, getattr(call_queue, "_thread", None)):
        if thread is not None:
            thread.join(THREAD_JOIN_S)


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


def completed(futures: Iterable[Future], poll: float = POLL_S) -> Iterator[Future]:
    """The futures as they finish (cancelled ones included), like ``as_completed``, but
    waking every ``poll`` seconds: on Python 3.10 a SIGINT that another thread of the
    process receives does not wake a main thread blocked in a wait, so an interrupt
    would wait for the next result (or for ever)."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
        yield from done


def results_in_order(futures: Iterable[Future], poll: float = POLL_S) -> Iterator[Any]:
    """The futures' results in the order given (like ``Executor.map``), waking every
    ``poll`` seconds while it waits (see ``completed``)."""
    for future in futures:
        while not future.done():
            wait([future], timeout=poll)
        yield future.result()
