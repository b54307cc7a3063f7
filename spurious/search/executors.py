"""Where chunks of a search run: in this process, in a local process pool, or on a Dask cluster.

All three yield :class:`~spurious.search.multistart.ChunkResult` objects as chunks complete; the caller merges
them in chunk order, so the answer does not depend on the executor. A chunk whose worker fails (an exception, a
dead process, a lost Dask worker) is run again, up to ``retries`` times, and never silently dropped.
Closing the generator (e.g. after a KeyboardInterrupt) cancels the chunks not yet done.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from ..errors import InputError, SpuriousError

__all__ = ["iter_chunks"]


def _init_worker():
    """Pool workers: one torch thread each (one process per core), and Ctrl-C is the parent's business."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def _serial(spec, indices, retries):
    from .multistart import run_chunk

    for i in indices:
        for attempt in range(retries + 1):
            try:
                yield run_chunk(spec, i)
                break
            except Exception:
                if attempt == retries:
                    raise


def _pool(spec, indices, workers, retries):
    import multiprocessing as mp

    from .multistart import run_chunk

    todo = list(indices)[::-1]
    attempts = {}
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)
    running = {}
    try:
        while todo or running:
            while todo and len(running) < 2 * workers:
                i = todo.pop()
                running[pool.submit(run_chunk, spec, i)] = i
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                if fut not in running:  # resubmitted after a broken pool
                    continue
                i = running.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:
                    attempts[i] = attempts.get(i, 0) + 1
                    if attempts[i] > retries:
                        raise SpuriousError(f"chunk {i} failed {attempts[i]} times: {exc}") from exc
                    if pool._broken:  # a worker died: start a fresh pool, resubmit everything in flight
                        todo.extend(running.values())
                        running.clear()
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                                   initializer=_init_worker)
                    todo.append(i)
                    continue
                yield result
    finally:
        if running:  # closed early (interrupt or error): do not wait for chunks nobody will read
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)


def _dask(spec, indices, scheduler, client, retries):
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise InputError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    from .multistart import run_chunk

    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler: cannot connect to {scheduler}: {exc}") from None
    token = spec.token()
    futures = [client.submit(run_chunk, spec, i, key=f"spurious-chunk-{token}-{i}", retries=retries, pure=False)
               for i in indices]
    try:
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.cancel([f for f in futures if not f.done()])
        if own:
            client.close()


def iter_chunks(spec, indices, workers=1, scheduler=None, client=None, retries=2):
    """Generator of chunk results (completion order) from the chosen executor."""
    if not isinstance(workers, int) or workers < 1 or workers > 4096:
        raise InputError(f"--workers: expected an integer from 1 to 4096, got {workers!r}")
    if scheduler is not None or client is not None:
        return _dask(spec, indices, scheduler, client, retries)
    if workers == 1:
        return _serial(spec, indices, retries)
    return _pool(spec, indices, min(workers, os.cpu_count() or workers), retries)
