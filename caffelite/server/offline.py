"""Running jobs without a server (``caffelite demo``): the same runner,
workers and job folders as ``caffelite serve``, driven to completion from a
plain function. ``report(event, data)`` sees the jobs' events (see
caffelite.server.events) as they come."""
import asyncio

from .events import ALL_JOBS, EventBus
from .executor import LocalExecutor
from .runner import Runner


async def _run(store, job, report):
    bus = EventBus()
    runner = Runner(store, bus, LocalExecutor())
    queue = bus.subscribe(ALL_JOBS)
    task = runner.submit(job)
    while not (task.done() and queue.empty()):
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait([getter, task], return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            report(*getter.result())
        else:
            getter.cancel()
    await task


def run_job(store, job, report=lambda event, data: None):
    """Run ``job`` (saved in ``store``) to its end; returns its status."""
    asyncio.run(_run(store, job, report))
    return job['status']
